"""Chat feedback: thumbs up or down and a comment, kept with the question and answer they rate.

``FeedbackStore`` writes to the ``feedback`` table of the ``Database`` (SQLite beside the index,
or the PostgreSQL that ``ASSISTANT_DATABASE_URL`` names). The chat (``ui``) and
``POST /api/feedback`` write to it; ``all()`` reads it back for the editors
(``GET /api/admin/feedback``).
"""

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import insert, select
from starlette.concurrency import run_in_threadpool

from ..config import Settings
from .database import Database, feedback, utc

#: The longest answer text ``POST /api/feedback`` takes.
MAX_ANSWER = 20_000


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


def add_feedback_route(app: FastAPI, settings: Settings, limited: list[Any]) -> None:
    """``POST /api/feedback`` into ``app.state.feedback``, rate-limited by ``limited``."""
    max_chars = settings.max_question_chars

    # FastAPI reads the route's annotations when it is added: no ``from __future__ import
    # annotations`` in this module, so that they name this local class.
    class FeedbackRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")

        question: str = Field(min_length=1, max_length=max_chars)
        answer: str = Field(min_length=1, max_length=MAX_ANSWER)
        citations: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
        rating: Literal["up", "down"] | None = None
        comment: str = Field(default="", max_length=2000)
        index_version: str = Field(default="", max_length=64)

        @model_validator(mode="after")
        def _something(self) -> "FeedbackRequest":
            if self.rating is None and not self.comment.strip():
                raise ValueError("Give a rating (up or down), a comment, or both.")
            return self

    @app.post("/api/feedback", status_code=201, dependencies=limited, tags=["ask"])
    async def give_feedback(body: FeedbackRequest, request: Request) -> dict[str, Any]:
        """Thumbs up or down and/or a comment on an answer (its question, text and citations,
        as ``/api/ask`` returned them); the editors read it at ``/api/admin/feedback``."""
        record = {
            "question": body.question,
            "answer": {
                "answer": body.answer,
                "citations": body.citations,
                "index_version": body.index_version,
            },
        }
        store: FeedbackStore = request.app.state.feedback
        await run_in_threadpool(store.add, record, body.rating, body.comment)
        return {"saved": True}
