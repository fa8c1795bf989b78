"""Ranking: a learned score for each candidate sentence, in place of the rules' weighted sum.

The rules score a sentence as a hand-weighted sum (``evidence.py``: similarity, word overlap,
passage rank and five bonuses and penalties). The learned ranker reads the same measurements
(``SENTENCE_FEATURES``, made from the evidence step's ``features.FEATURES``) and weighs them by a
pairwise logistic regression: trained so that, within one question, a sentence that holds the
answer scores above one that does not (``evaluation/sentences.py``). Its scores are put on the
rules' scale (each training question's best sentence: the same mean and spread), so the refusal
bar and the composition's gaps keep their meaning.

The weights are ``answer/scorers/<encoder>.sentences.json``, written by ``espoo-assistant
train-scorer``; reading them needs numpy only. An encoder without a file keeps the rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .features import FEATURES

#: Where the trained weights live, files named after their encoder (``weights_path``).
SCORERS = Path(__file__).parent / "scorers"
#: The ranker file's format; a file of another format is not read.
FORMAT = 1
#: What the ranker reads about a sentence, in order (made from ``FEATURES`` by ``columns``).
SENTENCE_FEATURES = (
    "semantic",  # similarity to the question, on the encoder's scale
    "overlap",  # the IDF share of the question's words it and its headings hold
    "rank",  # 1 / (1 + its passage's rank)
    "recency",  # how recent its latest year is among the candidates' (0-1)
    "recency_now",  # the same, when the question asks for the current state
    "kinds_held",  # how many kinds of answer asked for (a date, a number...) it holds
    "same_quantity",  # it names a quantity the question names
    "same_year",  # it names a year the question names
    "defines",  # it defines what a "what is X" question asks about
    "superseded",  # its document marks it as replaced: +1, or -1 when the question asks the past
    "dense",  # its passage's dense similarity
    "lexical",  # its passage's BM25 score, relative to the best passage's
    "fused",  # its passage's fused retrieval score
    "own_language",  # its passage is in the question's language
    "position",  # its position in its passage (0 = first)
    "length",  # its length in characters / 200
)
_COLUMN = {name: i for i, name in enumerate(FEATURES)}


def columns(table: np.ndarray) -> np.ndarray:
    """The ``SENTENCE_FEATURES`` of candidates whose ``FEATURES`` are the rows of ``table``."""
    t = np.asarray(table, dtype=np.float64).reshape(-1, len(FEATURES))

    def col(name: str) -> np.ndarray:
        return t[:, _COLUMN[name]]

    direct = {name: col(name) for name in SENTENCE_FEATURES if name in _COLUMN}
    direct["recency_now"] = col("recency") * col("asks_latest")
    direct["superseded"] = col("stale") * (1.0 - 2.0 * col("asks_past"))
    return np.column_stack([direct[name] for name in SENTENCE_FEATURES])


@dataclass(frozen=True)
class SentenceRanker:
    """A trained sentence ranker: standardised features, linear weights, the map to the rules'
    scale (``offset + factor * raw``)."""

    model: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    offset: float
    factor: float
    #: The question files it was trained on.
    trained_on: tuple[str, ...] = ()
    format: int = FORMAT

    def raw(self, table: np.ndarray) -> np.ndarray:
        """The learned scores of candidates whose ``FEATURES`` are the rows of ``table``."""
        z = (columns(table) - np.array(self.mean)) / np.array(self.scale)
        return np.asarray(z @ np.array(self.coef))

    def scores(self, table: np.ndarray) -> np.ndarray:
        """The learned scores on the rules' scale."""
        return self.offset + self.factor * self.raw(table)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SentenceRanker:
        data: dict[str, Any] = json.loads(text)
        for key in ("features", "mean", "scale", "coef", "trained_on"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)


def weights_path(model: str, folder: Path = SCORERS, kind: str = "") -> Path:
    """The weights file of the encoder ``model`` (a name or a folder path); ``kind`` "sentences"
    names the ranker's file, "" the answerability model's."""
    name = re.sub(r"[^\w.-]+", "_", Path(model).name or model)
    return folder / f"{name}{'.' + kind if kind else ''}.json"


@lru_cache(maxsize=4)
def load_ranker(model: str, folder: Path = SCORERS) -> SentenceRanker | None:
    """The trained ranker of the encoder ``model``; None when it has none (the rules score)."""
    path = weights_path(model, folder, "sentences")
    if not path.is_file():
        return None
    trained = SentenceRanker.from_json(path.read_text(encoding="utf-8"))
    if trained.format != FORMAT or trained.features != SENTENCE_FEATURES:
        return None  # written by another version: the rules score until it is retrained
    return trained
