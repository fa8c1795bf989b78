"""Scorer: the trained sentence ranker and answerability model an assistant answers with.

Both are trained together for one encoder (``espoo-assistant train-scorer``) and shipped for the
packaged encoders in ``answer/scorers/``. They are looked for in ``Settings.scorer_weights``,
then beside the index (``<index>/scorers/``), then in the package. An encoder with none (a local
model folder) gets its own on first start (``evaluation/first_start.py``), since one encoder's
weights do not carry over to another's similarities (row 124 of docs/evaluation.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..errors import ConfigError
from .answerability import QUESTION_FEATURES, Answerability, load_answerability
from .ranking import SENTENCE_FEATURES, SentenceRanker, load_ranker
from .weights import SCORERS


@dataclass(frozen=True)
class Scorer:
    """A sentence ranker and the answerability model trained on its order."""

    ranker: SentenceRanker
    answerability: Answerability
    #: The folder the weights were read from ("" for ``untrained_scorer``).
    folder: str


def scorer_folders(scorer_weights: str, index: Path) -> list[Path]:
    """Where an encoder's weights are looked for, in order."""
    folders = [Path(scorer_weights).expanduser()] if scorer_weights else []
    return [*folders, index / "scorers", SCORERS]


def find_scorer(model: str, folders: list[Path], reader: bool = False) -> Scorer | None:
    """The weights of ``model`` in the first of ``folders`` that holds its current sentence
    ranker, with its answerability model there (the one that weighs the reader, when
    ``reader``); None when that folder lacks it or no folder has one: weights of one's own are
    never paired with the package's."""
    for folder in folders:
        ranker = load_ranker(model, folder)
        if ranker is not None:
            answerability = load_answerability(model, folder, reader)
            return Scorer(ranker, answerability, str(folder)) if answerability else None
    return None


def untrained_scorer(model: str) -> Scorer:
    """A scorer that needs no weights, for collecting training data (``train-scorer``): sentences
    in order of semantic similarity, and every question answered."""
    n, m = len(SENTENCE_FEATURES), len(QUESTION_FEATURES)
    similarity = tuple(float(name == "semantic") for name in SENTENCE_FEATURES)
    ranker = SentenceRanker(
        model=model,
        features=SENTENCE_FEATURES,
        mean=(0.0,) * n,
        scale=(1.0,) * n,
        coef=similarity,
        offset=0.0,
        factor=1.0,
    )
    answerability = Answerability(
        model=model,
        features=QUESTION_FEATURES,
        mean=(0.0,) * m,
        scale=(1.0,) * m,
        coef=(0.0,) * m,
        intercept=0.0,
        threshold=0.0,
        false_refusal_target=0.0,
    )
    return Scorer(ranker, answerability, "")


def scorer_for(settings: Settings) -> Scorer:
    """The weights trained for the settings' encoder (``find_scorer``, with the reader's
    answerability model when ``Settings.reader``); a ``ConfigError`` that says how to get them."""
    folders = scorer_folders(settings.scorer_weights, settings.index)
    found = find_scorer(settings.model, folders, settings.reader)
    if found is None and settings.reader:
        raise ConfigError(
            f"ASSISTANT_READER is on, but there is no answerability model that weighs the reader "
            f"for {settings.model} in {', '.join(map(str, folders))}: train one with "
            "espoo-assistant train-scorer --reader --out FOLDER and set "
            "ASSISTANT_SCORER_WEIGHTS=FOLDER, or switch ASSISTANT_READER off."
        )
    if found is None:
        raise ConfigError(
            f"No trained scorer for {settings.model} in {', '.join(map(str, folders))}: "
            "`make run` or `espoo-assistant serve` trains one on first start, or train it: "
            "espoo-assistant train-scorer --out FOLDER, then set ASSISTANT_SCORER_WEIGHTS=FOLDER."
        )
    return found
