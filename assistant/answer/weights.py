"""Weights files: where the learned models' trained weights live, and how they are read.

Each learned model (``ranking.SentenceRanker``, ``answerability.Answerability``) is a frozen
dataclass written as one small JSON file per encoder in ``answer/scorers/`` (or the folder of
``Settings.scorer_weights``); reading one needs the standard library and numpy only. A file of
another format, or of other features than the code's, is not read: the rules decide until the
model is retrained (``espoo-assistant train-scorer``).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

#: The package's weights files, named after their encoder (``weights_path``).
SCORERS = Path(__file__).parent / "scorers"
#: The fields written as JSON lists and read back as tuples.
_TUPLES = ("features", "mean", "scale", "coef", "trained_on")


def weights_path(model: str, folder: Path = SCORERS, kind: str = "") -> Path:
    """The weights file of the encoder ``model`` (a name or a folder path); ``kind`` "sentences"
    names the ranker's file, "" the answerability model's."""
    name = re.sub(r"[^\w.-]+", "_", Path(model).name or model)
    return folder / f"{name}{'.' + kind if kind else ''}.json"


@dataclass(frozen=True, kw_only=True)
class LinearWeights:
    """Trained linear weights over standardised features, as written to a weights file; each
    learned model adds what it needs (an intercept and a threshold, a map onto a scale)."""

    model: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    #: The question files it was trained on.
    trained_on: tuple[str, ...] = ()
    format: int = 1

    def linear(self, x: np.ndarray) -> np.ndarray:
        """``x`` (one row of ``features`` or a matrix of them) standardised and weighed."""
        z = (np.asarray(x, dtype=np.float64) - np.array(self.mean)) / np.array(self.scale)
        return np.asarray(z @ np.array(self.coef))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Self:
        data: dict[str, Any] = json.loads(text)
        for key in _TUPLES:
            data[key] = tuple(data.get(key, ()))
        return cls(**data)

    @classmethod
    def read(cls, path: Path, features: tuple[str, ...], format: int) -> Self | None:
        """The weights in ``path``; None when there is no such file, or it was written for
        another format or other features."""
        if not path.is_file():
            return None
        trained = cls.from_json(path.read_text(encoding="utf-8"))
        if trained.format != format or trained.features != features:
            return None
        return trained
