"""Tuning: every hand-set number of the answer path, named and documented in one record.

Retrieval, the rules' sentence score, the refusal bar and the composition read their numbers
from a ``Tuning``; the assistant passes one record down (``DEFAULT`` unless a caller, a test or a
benchmark, gives another: ``dataclasses.replace(DEFAULT, stale_penalty=0.0)``). Where each
value comes from is recorded in ``docs/evaluation.md`` (the row that chose it). With
``Settings.scorer = "learned"`` the weights of the sentence score (``w_*`` and the bonuses and
penalties) are not read: the trained ranker's take their place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tuning:
    """The answer path's hand-set numbers."""

    # --- retrieval (``retrieval.py``)
    #: Reciprocal rank fusion's k (``Settings.fusion = "rrf"``).
    rrf_k: int = 60
    #: The dense side's share of the min-max normalised score blend (``fusion = "blend"``).
    blend_dense_weight: float = 0.5
    #: Candidates each side (dense, BM25) returns before fusion (at least 4 x k).
    candidates: int = 100
    #: At most this many passages of one document in the top k (row 5).
    max_per_document: int = 3
    #: Passages read for answer sentences beyond the top k (a document's third passage, say).
    extra_evidence: int = 3
    #: And this many passages the per-document cap held back although they score as well (row 48).
    held_back_evidence: int = 1

    # --- the rules' sentence score (``evidence.py``)
    #: Weights of semantic similarity, word overlap and passage rank (chosen on questions.jsonl).
    w_semantic: float = 0.75
    w_overlap: float = 0.3
    w_rank: float = 0.05
    #: Penalty when the question's most specific known word is in none of the passages.
    focus_penalty: float = 0.1
    #: Bonus for the most recent years among the candidates (larger when "now" is asked).
    recency_bonus: float = 0.02
    recency_bonus_latest: float = 0.06
    #: Penalty for a statement its document marks as superseded (a bonus when the past is asked).
    stale_penalty: float = 0.05
    #: Bonus per kind of thing asked for (a date, a number, an amount, a name, a place) it holds.
    answer_type_bonus: float = 0.05
    #: Bonus for naming a quantity the question names (row 69).
    same_quantity_bonus: float = 0.08
    #: Bonus for defining what a "what is X" question asks about (row 18).
    definition_bonus: float = 0.08

    # --- the refusal bar (``answerability.required_evidence``)
    #: The bar falls by ``length_allowance`` per topic word beyond ``length_pivot`` (up to
    #: ``length_cap`` words) and rises as much per word below it (row 35).
    length_allowance: float = 0.02
    length_pivot: int = 4
    length_cap: int = 12

    # --- the answer (``composition.py``, ``assistant.py``)
    #: Two sentences this close (vector cosine, or Jaccard of their stems) say the same thing.
    redundant: float = 0.9
    redundant_terms: float = 0.6
    #: Two sentences in different languages that name the same numbers say the same thing at
    #: this cosine: a translation's vector is further from its original than a restatement's.
    translated: float = 0.75
    #: The most sentences and characters of an extractive answer.
    max_sentences: int = 3
    max_answer_chars: int = 700
    #: A further sentence joins if it scores at least ``floor_ratio`` x the best and within
    #: ``floor_gap`` of it.
    floor_ratio: float = 0.8
    floor_gap: float = 0.12
    #: The sentence right after the best joins it when within this of the best (row 7).
    continuation_gap: float = 0.25
    #: A sentence holding the kind of answer asked joins when none does, within this (row 64).
    kind_gap: float = 0.2
    #: A passage in the question's language is preferred when its best sentence scores this
    #: close to the best of all.
    own_language_margin: float = 0.05


#: The numbers the assistant answers with.
DEFAULT = Tuning()
