"""The question log: what residents ask, for the editors' to-do list, with privacy designed in.

Stored per question: its text, language, time, whether it was refused, the confidence and the
documents cited. Never stored: IP addresses, cookies, user agents or anything else about who
asked. Rows older than ``Settings.log_days`` (default 30) are deleted on every write and at
start-up; ``ASSISTANT_LOG_DAYS=0`` turns the log off. Kept in the ``questions`` table of the
``Database`` (SQLite beside the index, or PostgreSQL).

``LoggingService`` wraps the assistant for the API and the chat: every final answer is logged.
``content_gaps`` groups refused questions by their topic words, most asked first: what the
documents should say next.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from ..answer.answers import Answer
from ..answer.conversation import Turn
from ..answer.protocol import AnswerService
from ..config import Settings
from ..text import content_terms
from .database import Database, questions, utc

#: Two refused questions whose topic words overlap this much (Jaccard) ask for the same thing.
SAME_GAP = 0.5


class QuestionLog:
    """Questions and how they were answered, for ``days`` days, in ``database``."""

    def __init__(self, database: Database, days: int) -> None:
        self.database, self.days = database, days
        if days > 0:
            self.purge()

    def record(self, question: str, answer: Answer) -> None:
        """Log one answered (or refused) question."""
        if self.days <= 0 or not question.strip():
            return
        row = {
            "asked_at": _now(),
            "question": question.strip()[:2000],
            "language": answer.language[:8],
            "refused": bool(answer.refused),
            "confidence": round(float(answer.confidence), 4),
            "citations": sorted({c.document for c in answer.citations}),
        }
        with self.database.engine.begin() as connection:
            connection.execute(insert(questions), row)
            connection.execute(delete(questions).where(questions.c.asked_at < self._cutoff()))

    def purge(self) -> int:
        """Delete the rows older than the retention period; how many were deleted."""
        with self.database.engine.begin() as connection:
            done = connection.execute(
                delete(questions).where(questions.c.asked_at < self._cutoff())
            )
        return int(done.rowcount)

    def questions(
        self, *, days: int | None = None, refused: bool | None = None
    ) -> list[dict[str, Any]]:
        """The logged questions of the last ``days`` days (all kept by default), newest first."""
        query = select(questions).order_by(questions.c.id.desc())
        if days:
            query = query.where(questions.c.asked_at >= _now() - timedelta(days=days))
        if refused is not None:
            query = query.where(questions.c.refused == refused)
        with self.database.engine.connect() as connection:
            rows = [dict(r._mapping) for r in connection.execute(query)]
        for row in rows:
            row["asked_at"] = utc(row["asked_at"]).isoformat(timespec="seconds")
        return rows

    def _cutoff(self) -> datetime:
        return _now() - timedelta(days=self.days)


def content_gaps(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Refused questions grouped by their topic words (Jaccard ≥ ``SAME_GAP``), most asked
    first: each group's most recent wording, count, languages and a few other wordings."""
    groups: list[dict[str, Any]] = []
    for row in rows:  # newest first
        if not row["refused"]:
            continue
        terms = set(content_terms(row["question"], row["language"]))
        if not terms:
            continue
        for group in groups:
            union = terms | group["terms"]
            if len(terms & group["terms"]) / len(union) >= SAME_GAP:
                group["count"] += 1
                group["languages"].add(row["language"])
                if len(group["examples"]) < 5 and row["question"] not in group["examples"]:
                    group["examples"].append(row["question"])
                break
        else:
            groups.append(
                {
                    "question": row["question"],
                    "count": 1,
                    "last_asked": row["asked_at"],
                    "languages": {row["language"]},
                    "examples": [row["question"]],
                    "terms": terms,
                }
            )
    groups.sort(key=lambda g: g["last_asked"], reverse=True)
    groups.sort(key=lambda g: -g["count"])  # most asked first; the latest first among equals
    return [
        {**{k: v for k, v in g.items() if k != "terms"}, "languages": sorted(g["languages"])}
        for g in groups
    ]


class LoggingService:
    """An ``AnswerService`` that logs every final answer to a ``QuestionLog``."""

    def __init__(self, service: AnswerService, log: QuestionLog) -> None:
        self.service, self.log = service, log

    @property
    def settings(self) -> Settings:
        return self.service.settings

    @property
    def version(self) -> Any:
        return self.service.version

    def ask(
        self, question: str, history: Sequence[Turn | dict[str, str]] = (), *, language: str = ""
    ) -> Answer:
        answer = self.service.ask(question, history, language=language)
        self.log.record(question, answer)
        return answer

    def stream(
        self, question: str, history: Sequence[Turn | dict[str, str]] = (), *, language: str = ""
    ) -> Iterator[str | Answer]:
        for item in self.service.stream(question, history, language=language):
            if isinstance(item, Answer):
                self.log.record(question, item)
            yield item


def _now() -> datetime:
    return datetime.now(UTC)
