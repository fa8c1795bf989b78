"""First start with an encoder of one's own: its scorer trained before the assistant answers.

The packaged encoders ship their trained sentence ranker and answerability model; a local model
folder has none, and another encoder's do not carry over to its similarities (row 124 of
docs/evaluation.md). ``assistant_for`` is ``create_assistant`` that, when the encoder has no
weights anywhere (``scorer.scorer_folders``), first trains them on the project's question files
(``eval/`` in the working folder, the blind ones left out) into ``<index>/scorers/``, where the
next start finds them: with the reader on (``ASSISTANT_READER``), the answerability model that
weighs the package's reader.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..answer.answerability import load_answerability
from ..answer.assistant import Assistant
from ..answer.factory import create_assistant
from ..answer.ranking import load_ranker
from ..answer.scorer import (
    Scorer,
    find_scorer,
    own_folder,
    scorer_folders,
    scorer_for,
    untrained_scorer,
)
from ..config import Settings
from ..embed.base import Embedder
from ..errors import ConfigError
from ..index.store import IndexVersion
from .training import answerability_files, train, training_files

log = logging.getLogger(__name__)
#: Where the project's question files are, relative to the working folder (``make run``'s).
QUESTION_FILES = Path("eval")


def assistant_for(
    settings: Settings, *, embedder: Embedder | None = None, version: IndexVersion | None = None
) -> Assistant:
    """``create_assistant`` with the encoder's scorer, trained first if it has none."""
    folders = scorer_folders(settings.scorer_weights, settings.index)
    scorer = find_scorer(settings.model, folders, settings.reader, own=own_folder(settings))
    if scorer is None and settings.scorer_weights:
        # weights of one's own that lack a model are not trained on the first start: says which
        # are missing and how to train them
        scorer_for(settings)
    if scorer is None:
        collecting = create_assistant(
            settings, embedder=embedder, version=version, scorer=untrained_scorer(settings.model)
        )
        scorer = train_scorer(collecting, settings.index / "scorers")
        embedder, version = collecting.retriever.embedder, collecting.version
    return create_assistant(settings, embedder=embedder, version=version, scorer=scorer)


def train_scorer(collecting: Assistant, folder: Path) -> Scorer:
    """Weights for ``collecting``'s encoder, trained on ``QUESTION_FILES`` into ``folder``."""
    model = collecting.settings.model
    files = training_files(QUESTION_FILES) if QUESTION_FILES.is_dir() else []
    if not files:
        raise ConfigError(
            f"No trained scorer for {model}, and no question files in {QUESTION_FILES.resolve()} "
            "to train one. Run from the project folder, or train it: ASSISTANT_MODEL=... "
            "espoo-assistant train-scorer FILES --out FOLDER, then set "
            "ASSISTANT_SCORER_WEIGHTS=FOLDER."
        )
    log.warning(
        "No trained scorer for %s: training one on %d question files into %s (first start "
        "with this encoder only; a few minutes).",
        model,
        len(files),
        folder,
    )
    reader = collecting.settings.reader
    extra = answerability_files(QUESTION_FILES)
    train(collecting, files, out=folder, extra=extra, reader=reader)
    load_ranker.cache_clear()  # "none there" was remembered before training
    load_answerability.cache_clear()
    found = find_scorer(model, [folder], reader)
    if found is None:
        raise ConfigError(f"Training a scorer for {model} into {folder} wrote no weights.")
    return found
