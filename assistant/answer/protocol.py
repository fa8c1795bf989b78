"""``AnswerService``: what the web layer needs from an assistant, and nothing more.

The API routes and the Gradio chat only ask questions and read the served index version and the
settings; they never swap versions, warm up models or reach into the retriever (``web.live`` and
``web.server`` own that lifecycle and take the concrete ``Assistant``). A ``Protocol`` rather than
the ``Assistant`` class states that contract where a reader of the web layer can see it, keeps the
class free to change behind it, and lets anything of the same shape be served: a test's failing
fake, a cached or remote service. It has its own module so that the contract reads on one screen
and ``assistant.py`` (which implements it) need not grow.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from ..config import Settings
from ..index.store import IndexVersion
from .answers import Answer
from .conversation import Turn


class AnswerService(Protocol):
    """Answers questions from one live index version (``Assistant`` is the implementation)."""

    @property
    def settings(self) -> Settings:
        """The limits the web layer enforces too (``max_question_chars``, ``max_history``)."""
        ...

    @property
    def version(self) -> IndexVersion:
        """The index version now served (for ``/api/health`` and the chat's about panel)."""
        ...

    def ask(
        self, question: str, history: Sequence[Turn | dict[str, str]] = (), *, language: str = ""
    ) -> Answer:
        """The answer to ``question``, given the conversation so far; ``language`` ("fi", "sv",
        "en") is the asker's interface language ("" when unknown)."""
        ...

    def stream(
        self, question: str, history: Sequence[Turn | dict[str, str]] = (), *, language: str = ""
    ) -> Iterator[str | Answer]:
        """Text pieces as they are ready, then the final ``Answer``."""
        ...
