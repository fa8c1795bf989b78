"""Chat feedback: thumbs up or down and a comment, kept with the question and answer they rate.

``FeedbackStore`` writes to the ``feedback`` table of the ``Database`` (SQLite beside the index,
or the PostgreSQL that ``ASSISTANT_DATABASE_URL`` names). The chat (``ui``) and
``POST /api/feedback`` write to it; ``all()`` reads it back for the editors
(``GET /api/admin/feedback``).
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from .database import Database, feedback, utc


class FeedbackStore:
    """Thumbs up/down and comments, with the question, answer and citations."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, record: dict[str, Any], rating: str | None, comment: str = "") -> None:
        """Store feedback on ``record`` ({"question", "answer": Answer.to_dict()})."""
        answer = record["answer"]
        row = {
            "created_at": datetime.now(UTC),
            "rating": rating,
            "comment": comment.strip()[:2000],
            "question": record["question"],
            "answer": answer["answer"],
            "citations": answer["citations"],
            "index_version": str(answer.get("index_version", ""))[:64],
        }
        with self.database.engine.begin() as connection:
            connection.execute(insert(feedback), row)

    def all(self) -> list[dict[str, Any]]:
        """Every rating, oldest first, with ``created_at`` as an ISO time in UTC."""
        with self.database.engine.connect() as connection:
            rows = [
                dict(r._mapping)
                for r in connection.execute(select(feedback).order_by(feedback.c.id))
            ]
        for row in rows:
            row["created_at"] = utc(row["created_at"]).isoformat(timespec="seconds")
        return rows
