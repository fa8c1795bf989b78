"""Ranking: a learned score for each candidate sentence.

The ranker reads the evidence step's measurements of a sentence (``SENTENCE_FEATURES``, made
from ``features.FEATURES``) and weighs them by a pairwise logistic regression: trained so that,
within one question, a sentence that holds the answer scores above one that does not
(``evaluation/sentences.py``). Its scores are put on a fixed scale: the training questions' best
sentences score 0 on average, and one unit is their average gap to the fourth best; the
composition's gaps (``Tuning``) are in that unit.

The weights are ``answer/scorers/<encoder>.sentences.json``, written by ``espoo-assistant
train-scorer``; reading them needs numpy only (``scorer.py`` picks the file).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .features import FEATURES
from .weights import SCORERS, LinearWeights, weights_path

#: The ranker file's format; a file of another format is not read (2: no hand-weighted score,
#: no "defines" cue; 3: ``near_answer``, no ``same_quantity``; 4: no ``asks_past``).
FORMAT = 4
#: What the ranker reads about a sentence, in order (made from ``FEATURES`` by ``columns``).
SENTENCE_FEATURES = (
    "semantic",  # similarity to the question, on the encoder's scale
    "overlap",  # the IDF share of the question's words it and its headings hold
    "rank",  # 1 / (1 + its passage's rank)
    "recency",  # how recent its latest year is among the candidates' (0-1)
    "recency_now",  # the same, when the question asks for the current state
    "kinds_held",  # how many kinds of answer asked for (a date, a number...) it holds
    "same_year",  # it names a year the question names
    "superseded",  # its document marks it as replaced
    "dense",  # its passage's dense similarity
    "lexical",  # its passage's BM25 score, relative to the best passage's
    "fused",  # its passage's fused retrieval score
    "position",  # its position in its passage (0 = first)
    "length",  # its length in characters
    "near_answer",  # how close the question's words stand to the kind of answer it holds
)
_COLUMN = {name: i for i, name in enumerate(FEATURES)}


def columns(table: np.ndarray) -> np.ndarray:
    """The ``SENTENCE_FEATURES`` of candidates whose ``FEATURES`` are the rows of ``table``."""
    t = np.asarray(table, dtype=np.float64).reshape(-1, len(FEATURES))

    def col(name: str) -> np.ndarray:
        return t[:, _COLUMN[name]]

    direct = {name: col(name) for name in SENTENCE_FEATURES if name in _COLUMN}
    direct["recency_now"] = col("recency") * col("asks_latest")
    direct["superseded"] = col("stale")
    return np.column_stack([direct[name] for name in SENTENCE_FEATURES])


@dataclass(frozen=True, kw_only=True)
class SentenceRanker(LinearWeights):
    """A trained sentence ranker: linear weights over standardised ``SENTENCE_FEATURES`` and the
    map to the score scale (``offset + factor * raw``)."""

    offset: float
    factor: float
    format: int = FORMAT

    def raw(self, table: np.ndarray) -> np.ndarray:
        """The learned scores of candidates whose ``FEATURES`` are the rows of ``table``."""
        return self.linear(columns(table))

    def scores(self, table: np.ndarray) -> np.ndarray:
        """The learned scores on the score scale."""
        return self.offset + self.factor * self.raw(table)


@lru_cache(maxsize=4)
def load_ranker(model: str, folder: Path = SCORERS) -> SentenceRanker | None:
    """The trained ranker of the encoder ``model`` in ``folder``; None when it has none."""
    path = weights_path(model, folder, "sentences")
    return SentenceRanker.read(path, SENTENCE_FEATURES, FORMAT)
