"""The question log: what residents ask, for the editors' to-do list, with privacy designed in.

Stored per question: its text, language, time, whether it was refused, the confidence and the
documents cited. Never stored: IP addresses, cookies, user agents or anything else about who
asked. Rows older than ``Settings.log_days`` (default 30) are deleted on every write and at
start-up; ``ASSISTANT_LOG_DAYS=0`` turns the log off. SQLite, beside the index
(``<index>/questions.sqlite``).

``LoggingService`` wraps the assistant for the API and the chat: every final answer is logged.
``content_gaps`` groups refused questions by their topic words, most asked first: what the
documents should say next.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..answer.assistant import Answer
from ..answer.conversation import Turn
from ..answer.protocol import AnswerService
from ..config import Settings
from ..text import content_terms

LOG_FILE = "questions.sqlite"
#: Two refused questions whose topic words overlap this much (Jaccard) ask for the same thing.
SAME_GAP = 0.5

_SCHEMA = """CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY, asked_at TEXT NOT NULL, question TEXT NOT NULL,
    language TEXT NOT NULL, refused INTEGER NOT NULL, confidence REAL NOT NULL,
    citations TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions (asked_at)"""


def log_path(settings: Settings) -> Path:
    """Where the question log is kept: ``<index folder>/questions.sqlite`` (git-ignored)."""
    return settings.index / LOG_FILE


class QuestionLog:
    """Questions and how they were answered, for ``days`` days."""

    def __init__(self, path: Path, days: int) -> None:
        self.path, self.days = path, days
        self._lock = threading.Lock()
        if days > 0:
            self.purge()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path)
        db.executescript(_SCHEMA)
        return db

    def record(self, question: str, answer: Answer) -> None:
        """Log one answered (or refused) question."""
        if self.days <= 0 or not question.strip():
            return
        cited = sorted({c.document for c in answer.citations})
        row = (
            _now().isoformat(timespec="seconds"),
            question.strip()[:2000],
            answer.language,
            int(answer.refused),
            round(float(answer.confidence), 4),
            json.dumps(cited, ensure_ascii=False),
        )
        with self._lock, closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO questions (asked_at, question, language, refused, confidence,"
                " citations) VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
            db.execute("DELETE FROM questions WHERE asked_at < ?", (self._cutoff(),))

    def purge(self) -> int:
        """Delete the rows older than the retention period; how many were deleted."""
        if not self.path.exists():
            return 0
        with self._lock, closing(self._connect()) as db, db:
            return db.execute(
                "DELETE FROM questions WHERE asked_at < ?", (self._cutoff(),)
            ).rowcount

    def questions(
        self, *, days: int | None = None, refused: bool | None = None
    ) -> list[dict[str, Any]]:
        """The logged questions of the last ``days`` days (all kept by default), newest first."""
        if not self.path.exists():
            return []
        since = (_now() - timedelta(days=days)).isoformat() if days else ""
        query = "SELECT * FROM questions WHERE asked_at >= ?"
        args: list[Any] = [since]
        if refused is not None:
            query += " AND refused = ?"
            args.append(int(refused))
        with self._lock, closing(self._connect()) as db:
            db.row_factory = sqlite3.Row
            rows = [dict(r) for r in db.execute(query + " ORDER BY id DESC", args)]
        for row in rows:
            row["refused"] = bool(row["refused"])
            row["citations"] = json.loads(row["citations"])
        return rows

    def _cutoff(self) -> str:
        return (_now() - timedelta(days=self.days)).isoformat(timespec="seconds")


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
