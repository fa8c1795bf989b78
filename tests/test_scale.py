"""Similarity scales (``index.scale``): the built-in multilingual encoder's background is its own,
not the corpus's; an encoder of one's own is measured on its corpus."""

from __future__ import annotations

import numpy as np

from assistant.index.scale import (
    KNOWN_BACKGROUNDS,
    REFERENCE_SENTENCES,
    REFERENCE_WORDS,
    background_scale,
)


def _alike(n: int, spread: float, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors around one direction: a small corpus on one topic."""
    rng = np.random.default_rng(seed)
    base = np.zeros(32)
    base[0] = 1.0
    vectors = base + rng.normal(0, spread, (n, 32))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_small_corpus_on_one_topic_keeps_the_built_in_encoders_background() -> None:
    vectors = _alike(30, 0.05)
    known = background_scale(vectors, REFERENCE_SENTENCES, model="multilingual-e5-small")
    assert (known.mean, known.sd) == KNOWN_BACKGROUNDS["multilingual-e5-small"]["sentences"]
    words = background_scale(vectors, REFERENCE_WORDS, model="multilingual-e5-small", table="words")
    assert (words.mean, words.sd) == KNOWN_BACKGROUNDS["multilingual-e5-small"]["words"]
    # an encoder of one's own is measured on the table: its alike vectors make a high background
    own = background_scale(vectors, REFERENCE_SENTENCES, model="/models/my-encoder")
    assert own.mean > known.mean
    # so the same cosine is worth less against the measured background than against the known one
    assert float(own(np.array([0.9]))[0]) < float(known(np.array([0.9]))[0])


def test_the_reference_encoder_is_its_own_scale() -> None:
    scale = background_scale(_alike(30, 0.5), REFERENCE_SENTENCES, model="all-MiniLM-L6-v2")
    assert abs(float(scale(np.array([0.42]))[0]) - 0.42) < 1e-9
