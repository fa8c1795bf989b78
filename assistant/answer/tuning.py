"""Tuning: every hand-set number of the answer path, named and documented in one record.

Retrieval, the composition and the reading of the question read their numbers from a
``Tuning``; the assistant passes one record down (``DEFAULT`` unless a caller, a test or a
benchmark, gives another: ``dataclasses.replace(DEFAULT, max_sentences=1)``). Where each value
comes from is recorded in ``docs/evaluation.md`` (the row that chose it). How a sentence scores
and whether a question is answered are not here: the trained scorer decides (``ranking.py``,
``answerability.py``), and the numbers that define its features (``answerability.TOP`` and the
training's ``SPREAD_RANK``, both the default ``max_sentences``)
belong to the trained weights: changing one means retraining. Its scores are on a scale whose
unit is the training questions' average gap between the best sentence and the first one an
answer cannot show, the fourth best (``evaluation/sentences.SPREAD_RANK``): a
sentence within one unit of the best is a near rival (``composition.close_to``): the sentence
right after the best joins the answer that close, and a passage in the question's language that
close is preferred.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tuning:
    """The answer path's hand-set numbers."""

    # --- retrieval (``retrieval.py``)
    #: The dense side's share of the min-max normalised score blend that fuses the two rankings.
    blend_dense_weight: float = 0.5
    #: Candidates each side (dense, BM25) returns before fusion (at least k).
    candidates: int = 100
    #: At most this many passages of one document in the top k (row 5).
    max_per_document: int = 3
    #: Passages read for answer sentences beyond the top k (a document's third passage, say).
    extra_evidence: int = 3
    #: And this many passages the per-document cap held back although they score as well (row
    #: 48; all of them, measured in row 139, put more rivals before the answer).
    held_back_evidence: int = 1

    # --- the answer (``composition.py``, ``assistant.py``)
    #: Two sentences whose vectors are this close (cosine) say the same thing.
    redundant: float = 0.9
    #: Two sentences in different languages that name the same numbers say the same thing at
    #: this cosine: a translation's vector is further from its original than a restatement's.
    translated: float = 0.75
    #: The most sentences of an extractive answer.
    max_sentences: int = 3
    #: A further sentence joins the best one when it scores within this of it (row 128); the
    #: sentence right after the best, or one of its section holding the kind of answer asked
    #: for, joins within one unit (``composition.close_to``).
    join_gap: float = 0.75

    # --- the reader (``Settings.reader``, ``assistant.py``)
    #: With the reader on, it reads this many of the best sentences and puts them in the order
    #: of the ranker's score plus ``reader_weight`` times its logit (row 188): the sentence that
    #: answers leads more often than in the ranker's order, which prefers shared words.
    reader_reorders: int = 4
    #: The reader's logit's weight in that order, in units of the ranker's score (row 188).
    reader_weight: float = 0.5

    # --- reading the question (``language.py``, ``conversation.py``, ``places.py``, ``wording.py``)
    #: GeoNames places this close to Espoo's centre are its own districts (Helsinki's is 16 km).
    local_radius_km: float = 10.0
    #: Finnish towns of this many people or more are other places a question may ask about.
    town_population: int = 15_000
    #: Finnish cities this large are also found by their other names ("Vanda", "Åbo") and, in a
    #: Finnish question, inflected ("Vantaalla").
    major_city_population: int = 50_000
    #: Cities abroad need this many people to count: smaller ones are often English words.
    abroad_population: int = 500_000


#: The numbers the assistant answers with.
DEFAULT = Tuning()
