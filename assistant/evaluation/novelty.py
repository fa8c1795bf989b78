"""Familiar and novel questions: how close each question stands to those the scorer learned from.

A question file written blind can still repeat what the training files ask: helpers who read
the same documents ask "How many people visit Nuuksio?" in set after set. A model able to
remember questions would score better on such repeats than on questions nobody asked before
(row 160 of docs/evaluation.md), so ``eval --novelty`` reports the metrics twice more: for the
questions whose nearest training question is a near twin, and for the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..answer.assistant import Assistant
from ..errors import AssistantError
from ..index.scale import REFERENCE_SENTENCES, background_scale
from .questions import Question, load_questions

#: A question this alike (cosine of the encoder's query vectors, on the reference scale of
#: ``index.scale``) to a training question is its near twin: with multilingual-e5-small,
#: rewordings of one question ("How many visitors does Nuuksio get a year?" / "How many people
#: visit Nuuksio National Park every year?") stand at 0.95 or more, different questions on one
#: topic mostly below.
NEAR_TWIN = 0.95


def training_questions(assistant: Assistant, folder: Path) -> tuple[list[str], list[str]]:
    """The questions of the files the assistant's scorer was trained on, read from ``folder``,
    and the names of those files that ``folder`` lacks."""
    scorer = assistant.scorer
    names = dict.fromkeys([*scorer.ranker.trained_on, *scorer.answerability.trained_on])
    found = [folder / name for name in names if (folder / name).is_file()]
    missing = [name for name in names if not (folder / name).is_file()]
    return [q.question for path in found for q in load_questions(path)], missing


def nearest(
    assistant: Assistant, questions: Sequence[str], references: Sequence[str]
) -> np.ndarray:
    """Each question's cosine with its nearest ``references`` question, on the reference scale."""
    embedder = assistant.retriever.embedder
    asked = embedder.encode(list(questions), role="query")
    known = embedder.encode(list(references), role="query")
    scale = background_scale(known, REFERENCE_SENTENCES, model=assistant.settings.model)
    return np.asarray(scale((asked @ known.T).max(axis=1)))


def familiar(
    assistant: Assistant, questions: Sequence[Question], folder: Path
) -> tuple[list[bool], dict[str, object]]:
    """Which ``questions`` have a near twin among the training questions in ``folder``, and what
    they were compared with."""
    references, missing = training_questions(assistant, folder)
    if not references:
        raise AssistantError(
            f"None of the question files the scorer was trained on is in {folder}: put the "
            "file to evaluate beside them (eval/), or leave out --novelty."
        )
    similarity = nearest(assistant, [q.question for q in questions], references)
    about = {
        "near_twin": NEAR_TWIN,
        "training_questions": len(references),
        "missing_files": missing,
    }
    return [bool(s >= NEAR_TWIN) for s in similarity], about
