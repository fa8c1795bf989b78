"""Similarity scales: one encoder's cosines put on the scale the answer step's weights assume.

Encoders differ in how alike unrelated texts look: two random sentences of the corpus have a
cosine of about 0.30 with all-MiniLM-L6-v2 but 0.81 with multilingual-e5-small (whose vectors
all lie in a narrow cone). The answer step's weights and thresholds (the semantic weight, "near
word" at 0.8, "redundant" at 0.9, the refusal bar) were set on MiniLM's scale. ``Scale`` maps a
cosine to that scale by standardising it against the background of random pairs from the same
table (the corpus's own sentences or words) and restoring MiniLM's background: no question or
answer is involved, so it holds for any corpus and any encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The encoder the answer step's numbers were set with: its cosines are used as they are.
REFERENCE_MODEL = "all-MiniLM-L6-v2"
#: Mean and standard deviation of the cosine of random pairs with all-MiniLM-L6-v2 over the
#: default corpus (measured 2026-12-04), the scale the answer step's numbers were set on.
REFERENCE_SENTENCES = (0.30, 0.16)
REFERENCE_WORDS = (0.24, 0.096)
#: The backgrounds (mean and standard deviation of random pairs' cosines) of the built-in
#: multilingual encoder over the default corpus, its sentences and its words (measured
#: 2026-12-05): a property of the encoder, used for every corpus. Measured on a small corpus on
#: one topic, whose random sentences are alike, they would make every sentence look far from any
#: question. An encoder of one's own is measured on its corpus.
KNOWN_BACKGROUNDS = {
    "multilingual-e5-small": {"sentences": (0.7919, 0.0386), "words": (0.8336, 0.0213)},
}
#: Random pairs drawn to measure a table's background (fixed seed: the same table, the same scale).
PAIRS = 4000


@dataclass(frozen=True)
class Scale:
    """An affine map from an encoder's cosine to the reference scale."""

    mean: float
    sd: float
    reference_mean: float
    reference_sd: float

    def __call__(self, cosines: np.ndarray) -> np.ndarray:
        """``cosines`` on the reference scale."""
        return self.reference_mean + (cosines - self.mean) * (self.reference_sd / self.sd)

    def raw(self, value: float) -> float:
        """The encoder's cosine that maps to ``value`` on the reference scale."""
        return self.mean + (value - self.reference_mean) * (self.sd / self.reference_sd)


def background_scale(
    vectors: np.ndarray,
    reference: tuple[float, float],
    *,
    model: str = "",
    table: str = "sentences",
) -> Scale:
    """The scale of a ``table`` ("sentences" or "words") of unit vectors, from ``PAIRS`` random
    pairs of distinct rows (the identity for ``REFERENCE_MODEL``, on whose own scale the numbers
    were set; a built-in encoder's ``KNOWN_BACKGROUNDS``)."""
    name = model.removeprefix("sentence-transformers/")
    if name in KNOWN_BACKGROUNDS:
        return Scale(*KNOWN_BACKGROUNDS[name][table], *reference)
    if len(vectors) < 2 or name == REFERENCE_MODEL:
        return Scale(*reference, *reference)
    rng = np.random.default_rng(0)
    i = rng.integers(0, len(vectors), PAIRS)
    j = rng.integers(0, len(vectors), PAIRS)
    keep = i != j
    a = np.asarray(vectors[i[keep]], dtype=np.float32)
    b = np.asarray(vectors[j[keep]], dtype=np.float32)
    cosines = (a * b).sum(axis=1)
    return Scale(float(cosines.mean()), max(float(cosines.std()), 1e-6), *reference)
