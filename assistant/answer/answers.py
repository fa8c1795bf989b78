"""The reply to a question: its shape (``Answer``, also the API's JSON) and how an answered one
is built and streamed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..index.store import IndexVersion
from .composition import Citation
from .notes import source_language_note
from .question import Question


@dataclass(frozen=True)
class Answer:
    """The reply to one question."""

    text: str
    citations: tuple[Citation, ...]
    refused: bool
    timings: dict[str, float] = field(default_factory=dict)
    note: str = ""
    index_version: str = ""
    query: str = ""
    passages: tuple[str, ...] = ()
    #: How sure the assistant is that the documents answer the question: the learned probability
    #: (``answerability.py``).
    confidence: float = 0.0
    #: The language the question was asked in (and answered in where the sources allow).
    language: str = "en"

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape shared by ``ask --json`` and ``POST /api/ask``."""
        return {
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "note": self.note,
            "index_version": self.index_version,
            "confidence": round(self.confidence, 3),
            "language": self.language,
        }


def answered(
    version: IndexVersion,
    asked: Question,
    text: str,
    citations: tuple[Citation, ...],
    timings: dict[str, float],
    passages: tuple[str, ...],
    confidence: float,
    *,
    note: str = "",
) -> Answer:
    """The Answer for an answered question (a note says when the source is in another language)."""
    return Answer(
        text=text,
        citations=citations,
        refused=False,
        timings=timings,
        note=" ".join(n for n in (note, source_language_note(asked.language, citations)) if n),
        index_version=version.name,
        query=asked.query,
        passages=passages,
        confidence=confidence,
        language=asked.language,
    )


def pieces(text: str) -> Iterator[str]:
    """Stream an extractive answer a few words at a time."""
    words = re.findall(r"\S+\s*", text)
    for i in range(0, len(words), 4):
        yield "".join(words[i : i + 4])
