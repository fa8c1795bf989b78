"""Tuning: every hand-set number of the answer path, named and documented in one record.

Retrieval and the composition read their numbers from a ``Tuning``; the assistant passes one
record down (``DEFAULT`` unless a caller, a test or a benchmark, gives another:
``dataclasses.replace(DEFAULT, max_sentences=1)``). Where each value comes from is recorded in
``docs/evaluation.md`` (the row that chose it). How a sentence scores and whether a question is
answered are not here: the trained scorer decides (``ranking.py``, ``answerability.py``), on the
score scale that ``best_score`` and ``score_spread`` fix.
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

    # --- the score scale (``evaluation/sentences.fit_ranker``)
    #: The trained ranker's scores are put on this scale: the training questions' best sentences
    #: score ``best_score`` on average, and the fourth best ``score_spread`` below the best.
    #: These are the averages the hand-weighted scores had with multilingual-e5-small when the
    #: learned ranker replaced them (row 124), so the composition's gaps below kept their meaning.
    best_score: float = 0.731
    score_spread: float = 0.167

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
