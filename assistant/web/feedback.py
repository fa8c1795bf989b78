"""Chat feedback: thumbs up or down and a comment, kept with the question and answer they rate.

``FeedbackStore`` appends to a SQLite file (``feedback_path``: beside the index). The chat
(``ui``) writes to it; ``all()`` reads it back for the editors (``GET /api/admin/feedback``).
"""

import json
import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Settings

FEEDBACK_FILE = "feedback.sqlite"


def feedback_path(settings: Settings) -> Path:
    """Where chat feedback is stored: ``<index folder>/feedback.sqlite`` (git-ignored)."""
    return settings.index / FEEDBACK_FILE


class FeedbackStore:
    """Thumbs up/down and comments, with the question, answer and citations, in a SQLite file."""

    _SCHEMA = """CREATE TABLE IF NOT EXISTS feedback (
        id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, rating TEXT, comment TEXT NOT NULL,
        question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL,
        index_version TEXT)"""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def add(self, record: dict[str, Any], rating: str | None, comment: str = "") -> None:
        """Store feedback on ``record`` ({"question", "answer": Answer.to_dict()})."""
        answer = record["answer"]
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            rating,
            comment.strip()[:2000],
            record["question"],
            answer["answer"],
            json.dumps(answer["citations"], ensure_ascii=False),
            answer.get("index_version", ""),
        )
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path)) as db, db:
                db.execute(self._SCHEMA)
                db.execute(
                    "INSERT INTO feedback (created_at, rating, comment, question, answer,"
                    " citations, index_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                )

    def all(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with closing(sqlite3.connect(self.path)) as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM feedback ORDER BY id")]
