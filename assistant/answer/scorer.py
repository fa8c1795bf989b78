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


def find_scorer(
    model: str, folders: list[Path], reader: bool = False, *, own: Path | None = None
) -> Scorer | None:
    """The first folder of ``folders`` that holds both of ``model``'s current models: its
    sentence ranker and its answerability model (the one that weighs the reader, when
    ``reader``); None when there is none. The two always come from one folder, and ``own``
    (``Settings.scorer_weights``) is never passed over: with its ranker but without the model
    asked for, None, so one's own ranker is never replaced by another folder's."""
    for folder in folders:
        ranker = load_ranker(model, folder)
        answerability = load_answerability(model, folder, reader)
        if ranker is not None and answerability is not None:
            return Scorer(ranker, answerability, str(folder))
        if ranker is not None and own is not None and folder == own:
            return None
    return None


def own_folder(settings: Settings) -> Path | None:
    """The folder of the settings' own weights (``ASSISTANT_SCORER_WEIGHTS``), if any."""
    return Path(settings.scorer_weights).expanduser() if settings.scorer_weights else None


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
    found = find_scorer(settings.model, folders, settings.reader, own=own_folder(settings))
    if found is None and settings.reader:
        raise ConfigError(
            f"ASSISTANT_READER is on, but there is no answerability model that "
            f"weighs the reader for {settings.model} in {', '.join(map(str, folders))}. "
            "`make run` or `espoo-assistant serve` trains one on first start, or train it: "
            "espoo-assistant train-scorer --reader --out FOLDER, then set "
            "ASSISTANT_SCORER_WEIGHTS=FOLDER; or set ASSISTANT_READER=false."
        )
    if found is None:
        raise ConfigError(
            f"No trained scorer for {settings.model} in {', '.join(map(str, folders))}: "
            "`make run` or `espoo-assistant serve` trains one on first start, or train it: "
            "espoo-assistant train-scorer --out FOLDER, then set ASSISTANT_SCORER_WEIGHTS=FOLDER."
        )
    return found
