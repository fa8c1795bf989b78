"""Answerability: a learned estimate of whether the documents answer a question at all.

The best sentence's score alone cannot tell a question whose words the corpus never uses
("kunnallisveroprosentti", "building permit fee") from one whose words it uses in passing. A
logistic regression over what the evidence step already measured (the best sentence's score, the
best similarity and word overlap, the share of the question's words that the corpus never uses,
whether the best sentences hold the kind of answer asked for, the passages' dense and BM25
scores, the question's language) gives the probability that the question is answerable; the
assistant refuses below a threshold that was picked for a stated false-refusal rate on the
training questions in the question's language (so that the rate holds for Finnish and Swedish
questions too). It was trained on the order of the sentence ranker (``ranking.py``) it is
shipped with.

The weights are a small JSON file per encoder (``weights.py``) written by ``espoo-assistant
train-scorer`` (``evaluation/training.py``); reading them needs numpy only (``scorer.py`` picks
the file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .evidence import Candidate
from .features import FEATURES
from .tuning import DEFAULT
from .weights import SCORERS, LinearWeights, weights_path

#: The weights file's format; a file of another format is not read (2: a threshold per language;
#: 3: the best score itself, no hand-set bar; 4: ``top_near_answer``; 5: ``margin``;
#: 6: ``best_known_held``; 7: ``cost_unheld``; 8: ``unit_unheld``; 9: ``count_unheld``;
#: 10: ``best_twin``; 11: ``terms`` uncapped; 12: a year in a sentence's heading is held;
#: 13: ``latest_old``; 14: the five ``*_gap`` features).
FORMAT = 14
#: The kind (``weights.weights_path``) of the weights file of the model that weighs the reader.
READER_KIND = "reader"
#: How many of the best sentences the answerability model looks into for the kind of answer, the
#: year and the amount of money asked for: as many as an answer shows (part of the model:
#: changing the default means retraining).
TOP = DEFAULT.max_sentences
#: What the answerability model reads about a question and its evidence, in order.
QUESTION_FEATURES = (
    "best_score",  # the best sentence's score (the ranker's)
    "top_semantic",  # the highest similarity of any sentence
    "top_overlap",  # the highest word overlap of any sentence
    "best_semantic",  # the best sentence's similarity
    "best_overlap",  # the best sentence's word overlap
    "unknown_share",  # the IDF share of the question's words that the corpus never uses
    "unknown_terms",  # how many of its topic words the corpus never uses
    "terms",  # how many topic words it has
    "focus_missing",  # its rarest known word is in none of the passages
    "kinds_asked",  # how many kinds of answer it asks for (a date, a number...)
    "kinds_held",  # the most of those that one of the three best sentences holds
    "top_dense",  # the best passage's dense similarity
    "top_lexical",  # log(1 + the best passage's BM25 score)
    "english",  # the question is in English
    "kinds_unheld",  # it asks for kinds of answer and none of the three best sentences holds one
    "year_unheld",  # it names a year and none of the three best (nor their headings) names it
    "top_near_answer",  # how close the question's words stand to the answer in the three best
    "margin",  # how far the best sentence's score stands above the second best's
    "best_known_held",  # the share of the question's known words the best one's passage holds
    "cost_unheld",  # it asks what something costs and none of the three best states an amount
    "unit_unheld",  # it names a unit and no sentence states a number in it (for the year asked)
    "count_unheld",  # it asks how many of something and no sentence states a number of it
    "best_twin",  # the best sentence's cosine with the question read as a passage
    "latest_old",  # it asks for the current state and the three best are older than the newest
    # How far the best sentence scores above the best one that holds what the question asks for
    # (above the lowest when none does; 0 when the question does not ask for it):
    "year_gap",  # the year it names (in the sentence or its heading)
    "cost_gap",  # an amount of money, when it asks what something costs
    "count_gap",  # a number of the thing it counts ("how many visitors")
    "unit_gap",  # a number in the unit it names
    "kinds_gap",  # a kind of answer it asks for (a number, a date...)
)
#: The features of the model that also weighs the reader (``Settings.reader``): its logit that
#: the best sentence answers the question (``reader.py``), after the others.
READER_FEATURES = (*QUESTION_FEATURES, "reader")
#: Each ``*_gap`` feature: what the question asks for, and what a sentence that holds it has.
_GAPS = (
    ("asks_year", ("same_year", "heading_year")),
    ("asks_cost", ("money_held",)),
    ("asks_count", ("count_held",)),
    ("asks_unit", ("unit_held",)),
    ("kinds_asked", ("kinds_held",)),
)
_COLUMN = {name: i for i, name in enumerate(FEATURES)}


def question_features(table: np.ndarray, scores: np.ndarray, language: str) -> np.ndarray:
    """The ``QUESTION_FEATURES`` of a question whose sentences' ``FEATURES`` are the rows of
    ``table`` and whose sentences score ``scores`` (both best first)."""
    table = np.asarray(table, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    best_score = float(scores[0])
    best = table[0]
    top = table[:TOP]

    def col(name: str) -> int:
        return _COLUMN[name]

    return np.array(
        [
            best_score,
            table[:, col("semantic")].max(),
            table[:, col("overlap")].max(),
            best[col("semantic")],
            best[col("overlap")],
            best[col("unknown_share")],
            best[col("unknown_terms")],
            best[col("terms")],
            best[col("focus_missing")],
            best[col("kinds_asked")],
            top[:, col("kinds_held")].max(),
            table[:, col("dense")].max(),
            best[col("top_lexical")],
            float(language == "en"),
            float(best[col("kinds_asked")] > 0 and top[:, col("kinds_held")].max() == 0),
            float(
                best[col("asks_year")] > 0
                and top[:, [col("same_year"), col("heading_year")]].max() == 0
            ),
            top[:, col("near_answer")].max(),
            float(scores[0] - scores[1]) if len(scores) > 1 else 0.0,
            best[col("known_held")],
            float(best[col("asks_cost")] > 0 and top[:, col("money_held")].max() == 0),
            float(best[col("asks_unit")] > 0 and table[:, col("unit_held")].max() == 0),
            float(best[col("asks_count")] > 0 and table[:, col("count_held")].max() == 0),
            best[col("twin")],
            best[col("asks_latest")] * (1.0 - top[:, col("recency")].max()),
            *(_gap(table, scores, asked, held) for asked, held in _GAPS),
        ]
    )


def _gap(table: np.ndarray, scores: np.ndarray, asked: str, held: tuple[str, ...]) -> float:
    """How far the best score stands above the best of the sentences with any of ``held``
    (above the lowest when none has it); 0 when the question's ``asked`` is 0."""
    if not table[0, _COLUMN[asked]]:
        return 0.0
    holding = table[:, [_COLUMN[name] for name in held]].max(axis=1) > 0
    return float(scores[0] - (scores[holding].max() if holding.any() else scores.min()))


def candidate_features(
    ranked: Sequence[Candidate], language: str, reader: float | None = None
) -> np.ndarray:
    """``question_features`` of sentences ``ranked`` best first, and the reader's logit after
    them when one is given (``READER_FEATURES``)."""
    table = np.array([c.features for c in ranked], dtype=np.float64)
    x = question_features(table, np.array([c.score for c in ranked]), language)
    return x if reader is None else np.append(x, reader)


@dataclass(frozen=True, kw_only=True)
class Answerability(LinearWeights):
    """A trained answerability model: logistic weights over standardised ``QUESTION_FEATURES``,
    and a threshold."""

    intercept: float
    #: Refuse below this probability (a question in a language without its own threshold).
    threshold: float
    #: The false-refusal rate the thresholds were picked for (on the training questions).
    false_refusal_target: float
    #: Each language's own threshold, picked on its own training questions for the same rate.
    thresholds: dict[str, float] = field(default_factory=dict)
    #: How many of the best sentences the reader reads, its feature the highest of their logits
    #: (a model that ``reads()``; fixed in training).
    sentences_read: int = 1
    format: int = FORMAT

    def threshold_for(self, language: str) -> float:
        """The probability below which a question in ``language`` is refused."""
        return self.thresholds.get(language, self.threshold)

    def reads(self) -> bool:
        """Whether the model weighs the reader's logit (``READER_FEATURES``)."""
        return self.features == READER_FEATURES

    def probability(self, x: np.ndarray) -> float:
        """The probability that a question with features ``x`` is answerable."""
        logit = float(self.linear(x)) + self.intercept
        return float(1.0 / (1.0 + np.exp(-logit)))


@lru_cache(maxsize=4)
def load_answerability(
    model: str, folder: Path = SCORERS, reader: bool = False
) -> Answerability | None:
    """The trained model of the encoder ``model`` in ``folder`` (the one that weighs the reader,
    ``<model>.reader.json``, when ``reader``); None when it has none."""
    if reader:
        path = weights_path(model, folder, READER_KIND)
        return Answerability.read(path, READER_FEATURES, FORMAT)
    return Answerability.read(weights_path(model, folder), QUESTION_FEATURES, FORMAT)
