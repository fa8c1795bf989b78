"""Training the sentence ranker (``espoo-assistant train-scorer``, with the answerability model).

Every question of the project's question files is run once through retrieval and the evidence
step; each candidate sentence keeps its ``features.FEATURES`` and a label: whether it
holds one of the question's ``answer_any`` strings (``matching.states_any``: numbers and dates
in any of the three languages' notation). The ranker is a pairwise logistic regression
(scikit-learn, deterministic): for each answerable question, every labelled sentence against
every other one, each question weighing the same. Its raw scores are then put on the score scale:
the training questions' best sentences score 0 on average, and the fourth best one unit lower
(``SPREAD_RANK``), the unit in which the composition reads its gaps.

Validation is grouped by file: each file in turn is held out, the ranker is fitted on the others,
and the held-out file's answerable questions count how often the best sentence (and the best
two) hold the answer, beside the order of semantic similarity alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..answer import ranking
from ..answer.assistant import Assistant
from ..answer.evidence import Candidate
from ..answer.features import FEATURES
from ..answer.question import Question, read_question
from ..answer.ranking import SentenceRanker
from ..answer.refusals import elsewhere_places
from ..answer.tuning import DEFAULT
from .matching import states_any
from .questions import Question as EvalQuestion
from .questions import load_questions

#: Inverse regularisation strength of the pairwise logistic regression.
RANKER_REGULARISATION = 1.0
_SEMANTIC = FEATURES.index("semantic")
#: The score scale's unit is the average gap between the best sentence and the first one an answer
#: cannot show (0 is the best; the default ``max_sentences`` sentences can be shown): a further
#: sentence within one unit of the best joins the answer (row 128).
SPREAD_RANK = DEFAULT.max_sentences


@dataclass(frozen=True)
class Scored:
    """One question as the evidence step saw it: its candidates, their labels, its bar."""

    file: str
    answerable: bool
    #: The candidates' ``FEATURES``, one row each.
    table: np.ndarray
    #: Which candidates hold one of the question's answer strings.
    labels: np.ndarray
    language: str
    #: Refused by the place rule (another city), whatever the scores.
    elsewhere: bool
    #: The question as read (what the reader reads) and the candidates' sentences.
    question: str = ""
    texts: tuple[str, ...] = ()


def evidence_of(
    assistant: Assistant, files: Sequence[Path], *, progress: bool = True
) -> Iterator[tuple[Path, EvalQuestion, Question, list[Candidate]]]:
    """Each question of ``files`` that reaches the evidence step: its file, itself, how it was
    read, and its sentences best first (in ``assistant``'s ranker's order)."""
    from tqdm import tqdm

    settings, version = assistant.settings, assistant.version
    jobs = [(path, q) for path in files for q in load_questions(path)]
    for path, q in tqdm(jobs, desc="Questions", unit="q", disable=not progress):
        asked = read_question(
            q.question,
            q.history[-settings.max_history :],
            max_chars=settings.max_question_chars,
            only_in=version.lexical.only_in,
            spellings=version.lexical.respellings,
            tuning=assistant.tuning,
        )
        if not asked.text or asked.live or asked.override:
            continue  # the hard rules refuse these
        ranked, _ = assistant.evidence(version, asked)
        if ranked:
            yield path, q, asked, ranked


def collect(assistant: Assistant, files: Sequence[Path], *, progress: bool = True) -> list[Scored]:
    """A ``Scored`` per question of ``files`` that reaches the evidence step."""
    return [
        Scored(
            file=path.stem,
            answerable=q.answerable,
            table=np.array([c.features for c in ranked], dtype=np.float64),
            labels=np.array([states_any(c.text, q.answer_any) for c in ranked]),
            language=asked.language,
            elsewhere=bool(elsewhere_places(asked, ranked)),
            question=assistant.reader_question(asked),
            texts=tuple(c.text for c in ranked),
        )
        for path, q, asked, ranked in evidence_of(assistant, files, progress=progress)
    ]


def _ranked(question: Scored) -> bool:
    """Whether the question can teach the ranker: answerable, with sentences of both labels."""
    return bool(question.answerable and question.labels.any() and not question.labels.all())


def fit_ranker(
    questions: Sequence[Scored],
    model: str,
    *,
    trained_on: Sequence[str] = (),
) -> SentenceRanker:
    """The pairwise ranker of ``questions`` (deterministic), on the score scale."""
    from sklearn.linear_model import LogisticRegression

    usable = [q for q in questions if _ranked(q)]
    if not usable:
        raise ValueError("training the ranker needs answerable questions with labelled sentences")
    x = np.vstack([ranking.columns(q.table) for q in usable])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    pairs, weights = [], []
    for q in usable:
        z = (ranking.columns(q.table) - mean) / scale
        good, bad = z[q.labels], z[~q.labels]
        difference = (good[:, None, :] - bad[None, :, :]).reshape(
            -1, len(ranking.SENTENCE_FEATURES)
        )
        pairs.append(difference)
        weights.append(np.full(len(difference), 1.0 / len(difference)))
    d, w = np.vstack(pairs), np.concatenate(weights)
    regression = LogisticRegression(C=RANKER_REGULARISATION, fit_intercept=False, max_iter=5000)
    regression.fit(np.vstack([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))], np.r_[w, w])
    coef = regression.coef_[0]
    # The composition reads the gaps below the best sentence: put the scores on the scale (the
    # training questions' best score on average is 0, the average gap to the fourth best is 1).
    raw = [np.sort(((ranking.columns(q.table) - mean) / scale) @ coef)[::-1] for q in questions]
    deep = [r for r in raw if len(r) >= SPREAD_RANK + 1]
    factor = 1.0 / float(np.mean([r[0] - r[SPREAD_RANK] for r in deep]) or 1.0)
    offset = -factor * float(np.mean([r[0] for r in raw]))
    return SentenceRanker(
        model=model,
        features=ranking.SENTENCE_FEATURES,
        mean=tuple(round(float(v), 10) for v in mean),
        scale=tuple(round(float(v), 10) for v in scale),
        coef=tuple(round(float(v), 10) for v in coef),
        offset=round(offset, 6),
        factor=round(factor, 6),
        trained_on=tuple(trained_on),
    )


def _hits(question: Scored, scores: np.ndarray) -> tuple[bool, bool]:
    order = np.argsort(-scores, kind="stable")
    return bool(question.labels[order[0]]), bool(question.labels[order[:2]].any())


def cross_validate_ranker(questions: Sequence[Scored], model: str) -> list[dict[str, Any]]:
    """Per held-out file, the share of answerable questions whose best sentence (and best two)
    hold the answer, by the learned ranker and by semantic similarity alone."""
    rows: list[dict[str, Any]] = []
    totals = {"learned": [0, 0, 0], "semantic": [0, 0, 0]}
    for name in sorted({q.file for q in questions}):
        ranker = fit_ranker([q for q in questions if q.file != name], model)
        counts = {"learned": [0, 0, 0], "semantic": [0, 0, 0]}  # top 1, top 2, questions
        for q in questions:
            if q.file != name or not q.answerable:
                continue
            for method, scores in (
                ("learned", ranker.raw(q.table)),
                ("semantic", q.table[:, _SEMANTIC]),
            ):
                one, two = _hits(q, scores)
                for k, v in enumerate((one, two, True)):
                    counts[method][k] += v
                    totals[method][k] += v
        rows.append({"file": name, **{m: _shares(c) for m, c in counts.items()}})
    rows.append({"file": "all", **{m: _shares(c) for m, c in totals.items()}})
    return rows


def _shares(c: list[int]) -> dict[str, Any]:
    return {
        "top1": round(c[0] / c[2], 3) if c[2] else None,
        "top2": round(c[1] / c[2], 3) if c[2] else None,
        "questions": c[2],
    }
