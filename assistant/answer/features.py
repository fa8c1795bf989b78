"""Features: what the evidence step records about each candidate sentence, for learned models.

``evidence.EvidenceScorer.rank`` measures these while it scores a sentence by the rules; each
``Candidate`` keeps them, in ``FEATURES`` order, and ``answerability.py`` reads them. A feature is
named once here, so the training data and the served model cannot disagree about the order.
"""

from __future__ import annotations

import math

#: A candidate's features, in order.
FEATURES = (
    "semantic",  # the sentence's similarity to the question, on the encoder's scale
    "overlap",  # the IDF share of the question's words the sentence and its headings hold
    "rank",  # 1 / (1 + its passage's rank)
    "recency",  # how recent its latest year is among the candidates' (0 oldest, 1 newest)
    "kinds_held",  # how many kinds of answer asked for (date, number...) it holds
    "kinds_asked",  # how many kinds the question asks for
    "focus_missing",  # the question's rarest known word is in none of the passages
    "stale",  # its document marks it as replaced
    "dense",  # its passage's dense similarity (the encoder's cosine)
    "lexical",  # its passage's BM25 score, relative to the best passage's
    "fused",  # its passage's fused retrieval score
    "unknown_share",  # the IDF share of the question's words that the corpus never uses
    "terms",  # how many topic words the question has
    "position",  # the sentence's position in its passage (0 = first)
    "length",  # its length in characters
    "top_lexical",  # log(1 + the best passage's BM25 score): the question's words in the corpus
    "unknown_terms",  # how many of the question's topic words the corpus never uses
    "asks_latest",  # the question asks for the current state ("now", "latest")
    "same_year",  # it names a year the question names
    "heading_year",  # its section heading names a year the question names ("The 2017 ... trial")
    "asks_year",  # the question names a year
    "near_answer",  # how close the question's words stand to the kind of answer asked for in it
    "known_held",  # the IDF share of the question's corpus-known words its passage holds
    "asks_cost",  # the question asks what something costs
    "money_held",  # it states an amount of money
    "asks_unit",  # the question names a unit of measure ("in tonnes")
    "unit_held",  # it states a number in that unit (and the year asked, if any)
    "asks_count",  # the question asks how many of something ("how many visitors")
    "count_held",  # it states a number of that thing (its word or a synonym, one word apart)
    "twin",  # its cosine with the question read as a passage (e5's other prompt; else the query)
)


def question_part(
    *,
    unknown_share: float,
    unknown_terms: int,
    terms: int,
    kinds_asked: int,
    asks_latest: bool,
    asks_year: bool,
    top_lexical: float,
    asks_cost: bool,
    asks_unit: bool,
    asks_count: bool,
) -> dict[str, float]:
    """The features every sentence of one question shares."""
    return {
        "unknown_share": unknown_share,
        "unknown_terms": float(unknown_terms),
        "terms": float(terms),
        "kinds_asked": float(kinds_asked),
        "asks_latest": float(asks_latest),
        "asks_year": float(asks_year),
        "asks_cost": float(asks_cost),
        "asks_unit": float(asks_unit),
        "asks_count": float(asks_count),
        "top_lexical": math.log1p(max(top_lexical, 0.0)),
        "top_lexical_raw": max(top_lexical, 0.0),
    }


def sentence_features(shared: dict[str, float], **own: float) -> tuple[float, ...]:
    """One candidate's ``FEATURES``: the question's ``shared`` part and its ``own`` values
    (``lexical`` is made relative to the best passage's BM25 score here)."""
    values = {**shared, **{k: float(v) for k, v in own.items()}}
    values["lexical"] = values["lexical"] / (shared["top_lexical_raw"] or 1.0)
    missing = [name for name in FEATURES if name not in values]
    if missing:
        raise ValueError(f"features missing: {', '.join(missing)}")
    return tuple(values[name] for name in FEATURES)
