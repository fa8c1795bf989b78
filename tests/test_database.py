"""Feedback and the question log in one schema, on SQLite and on a real PostgreSQL (Debian's,
started here): Alembic's migrations make exactly the tables the code defines, replicas starting
together migrate once, two replicas see each other's rows, and the files of earlier versions are
imported without losing a row."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from services import postgres_server
from sqlalchemy import create_engine, inspect

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.web.database import Database, database_url, metadata
from assistant.web.feedback import FeedbackStore
from assistant.web.questionlog import QuestionLog

ANSWER = {
    "answer": "Espoo aims to be carbon neutral by 2030.",
    "citations": [{"document": "climate.md", "title": "Climate goals"}],
    "index_version": "v-1",
}


def refused(language: str = "en") -> SimpleNamespace:
    return SimpleNamespace(citations=(), language=language, refused=True, confidence=0.12)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def schema_drift(url: str) -> list[object]:
    """What differs between the migrated database and the tables the code defines."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), metadata))
    finally:
        engine.dispose()


def test_the_default_is_a_sqlite_file_beside_the_index(tmp_path: Path) -> None:
    settings = Settings(documents=tmp_path / "docs", index=tmp_path / "index")
    assert database_url(settings) == f"sqlite:///{(tmp_path / 'index' / 'assistant.sqlite')}"
    database = Database.from_settings(settings)
    FeedbackStore(database).add({"question": "Q?", "answer": ANSWER}, "up", " good ")
    assert (tmp_path / "index" / "assistant.sqlite").is_file()
    assert database.revision() == "0001"
    assert schema_drift(database.url) == []
    [row] = FeedbackStore(database).all()
    assert row["comment"] == "good" and row["citations"] == ANSWER["citations"]
    assert row["created_at"].endswith("+00:00")


def test_a_bad_database_url_says_what_to_check(tmp_path: Path) -> None:
    with pytest.raises(AssistantError, match="not a database URL"):
        Database("no such thing").engine  # noqa: B018
    unreachable = Database("postgresql+psycopg://editor:s3cret@127.0.0.1:1/assistant")
    with pytest.raises(AssistantError, match="ASSISTANT_DATABASE_URL") as caught:
        unreachable.engine  # noqa: B018
    assert "s3cret" not in str(caught.value) and "editor:***@" in str(caught.value)


def test_the_files_of_earlier_versions_are_imported_once(tmp_path: Path) -> None:
    """Before one database, feedback and the log were two SQLite files of their own."""
    index = tmp_path / "index"
    index.mkdir()
    with sqlite3.connect(index / "feedback.sqlite") as old:
        old.execute(
            "CREATE TABLE feedback (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, rating"
            " TEXT, comment TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,"
            " citations TEXT NOT NULL, index_version TEXT)"
        )
        old.execute(
            "INSERT INTO feedback VALUES (7, '2026-11-30T10:00:00+00:00', 'down', 'Väärä',"
            " 'Milloin?', 'Vuonna 2030.', ?, 'v-old')",
            (json.dumps(ANSWER["citations"]),),
        )
    with sqlite3.connect(index / "questions.sqlite") as old:
        old.execute(
            "CREATE TABLE questions (id INTEGER PRIMARY KEY, asked_at TEXT NOT NULL, question"
            " TEXT NOT NULL, language TEXT NOT NULL, refused INTEGER NOT NULL, confidence REAL"
            " NOT NULL, citations TEXT NOT NULL)"
        )
        old.execute(
            "INSERT INTO questions VALUES (3, ?, 'Vad kostar parkering?', 'sv', 1, 0.1, '[]')",
            (_days_ago(1),),
        )
    settings = Settings(documents=tmp_path / "docs", index=index)
    database = Database.from_settings(settings)
    [row] = FeedbackStore(database).all()
    assert (row["rating"], row["comment"], row["question"]) == ("down", "Väärä", "Milloin?")
    assert row["created_at"] == "2026-11-30T10:00:00+00:00"
    assert row["citations"] == ANSWER["citations"]
    [asked] = QuestionLog(database, days=30).questions()
    assert asked["question"] == "Vad kostar parkering?" and asked["refused"] is True
    assert not (index / "feedback.sqlite").exists()
    assert (index / "feedback.sqlite.imported").exists()
    # a second start imports nothing twice
    again = Database.from_settings(settings)
    assert len(FeedbackStore(again).all()) == 1


def _days_ago(days: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


MIGRATE = (
    "import sys; from assistant.web.database import Database; "
    "print(Database(sys.argv[1]).revision())"
)


def migrate_together(url: str, processes: int = 4) -> list[str]:
    """``processes`` Python processes opening (and so migrating) ``url`` at the same moment."""
    started = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(processes)
    ]
    results = []
    for process in started:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        results.append(out.decode().strip())
    return results


def test_replicas_starting_together_migrate_one_sqlite_file_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    assert migrate_together(url) == ["0001"] * 4
    assert schema_drift(url) == []


@pytest.mark.server
def test_postgresql_migrates_once_and_is_shared_by_replicas(postgres: str) -> None:
    assert migrate_together(postgres) == ["0001"] * 4
    assert schema_drift(postgres) == []
    tables = set(inspect(create_engine(postgres)).get_table_names())
    assert {"feedback", "questions", "alembic_version"} <= tables

    one, two = Database(postgres), Database(postgres)  # as two replicas would
    FeedbackStore(one).add({"question": "Milloin?", "answer": ANSWER}, "down", "Puuttuu")
    [seen] = FeedbackStore(two).all()
    assert (seen["rating"], seen["comment"]) == ("down", "Puuttuu")
    assert seen["citations"] == ANSWER["citations"]
    assert seen["created_at"].endswith("+00:00")

    log_one, log_two = QuestionLog(one, days=30), QuestionLog(two, days=30)
    log_one.record("Vad kostar parkering i Tapiola?", refused("sv"))  # type: ignore[arg-type]
    log_two.record("Paljonko pysäköinti maksaa?", refused("fi"))  # type: ignore[arg-type]
    rows = log_one.questions(refused=True)
    assert [r["language"] for r in rows] == ["fi", "sv"]  # newest first, from both replicas
    assert all(r["refused"] is True and r["citations"] == [] for r in rows)

    with create_engine(postgres).begin() as connection:  # a row past its retention
        connection.exec_driver_sql("UPDATE questions SET asked_at = now() - interval '40 days'")
    assert log_two.purge() == 2 and log_one.questions() == []
    one.dispose()
    two.dispose()
