"""The database behind chat feedback and the question log: one schema, SQLite or PostgreSQL.

``Settings.database_url`` chooses it: empty is the SQLite file ``<index>/assistant.sqlite``;
a PostgreSQL URL (``postgresql+psycopg://user:password@host/db``) lets every replica share one.
The tables are defined once, here, in SQLAlchemy Core; ``Database.engine`` opens the database
on first use and brings its schema up to date with Alembic (``assistant/web/migrations``), under a
lock, so that replicas starting together migrate it once.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    make_url,
    text,
)
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..config import Settings
from ..errors import AssistantError

log = logging.getLogger(__name__)

DATABASE_FILE = "assistant.sqlite"
#: The files feedback and the question log had before they shared one database; their rows are
#: copied in once, then the file is renamed ``*.imported``.
LEGACY_FILES = {"feedback": "feedback.sqlite", "questions": "questions.sqlite"}
#: The PostgreSQL advisory lock that one migrating replica holds (any number, the same for all).
_MIGRATION_LOCK = 0x45_53_50_4F  # "ESPO"

metadata = MetaData()

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rating", String(8)),
    Column("comment", Text, nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("citations", JSON, nullable=False),
    Column("index_version", String(64)),
)

questions = Table(
    "questions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("asked_at", DateTime(timezone=True), nullable=False, index=True),
    Column("question", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("refused", Boolean, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("citations", JSON, nullable=False),
)


def database_url(settings: Settings) -> str:
    """``settings.database_url``, or the SQLite file beside the index when it is empty."""
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{(settings.index / DATABASE_FILE).resolve()}"


def shown(url: str) -> str:
    """``url`` with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


def alembic_config(url: str) -> Config:
    """Alembic's configuration for this package's migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(files("assistant.web").joinpath("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class Database:
    """One database, opened (and migrated) on first use; thread-safe."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(database_url(settings))

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def engine(self) -> Engine:
        """The engine, after the schema is brought up to date; an ``AssistantError`` that says
        what to check when the database cannot be opened."""
        with self._lock:
            if self._engine is None:
                self._engine = self._open()
            return self._engine

    def _open(self) -> Engine:
        try:
            url = make_url(self.url)
        except ArgumentError as exc:
            raise AssistantError(
                f"ASSISTANT_DATABASE_URL is not a database URL ({exc}); use e.g. "
                "postgresql+psycopg://user:password@host/db, or leave it empty for SQLite."
            ) from exc
        sqlite_file = Path(url.database) if self.is_sqlite and url.database else None
        options: dict[str, Any] = {"pool_pre_ping": True}
        if sqlite_file is not None:
            sqlite_file.parent.mkdir(parents=True, exist_ok=True)
            options = {"connect_args": {"timeout": 30}}  # wait for another process's write
        try:
            engine = create_engine(url, **options)
            if sqlite_file is not None:
                with FileLock(f"{sqlite_file}.lock", timeout=60):
                    self._migrate(engine)
                    _import_legacy(engine, sqlite_file.parent)
            else:
                self._migrate(engine)
        except (SQLAlchemyError, OSError, ImportError) as exc:
            raise AssistantError(
                f"Could not open the database {shown(self.url)}: {exc}. Check "
                "ASSISTANT_DATABASE_URL, that the server answers and that the user may create "
                "tables (or run `espoo-assistant migrate` as one that may)."
            ) from exc
        return engine

    def _migrate(self, engine: Engine) -> None:
        config = alembic_config(self.url)
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # one replica migrates, the rest wait
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def revision(self) -> str:
        """The schema's current Alembic revision."""
        with self.engine.connect() as connection:
            row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
        return str(row[0]) if row else ""

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC time (SQLite hands back naive ones, stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _import_legacy(engine: Engine, folder: Path) -> None:
    """Copy the rows of the SQLite files of earlier versions into the shared tables, once."""
    for name, filename in LEGACY_FILES.items():
        path = folder / filename
        if not path.exists():
            continue
        table = feedback if name == "feedback" else questions
        try:
            with closing(sqlite3.connect(path)) as old:
                old.row_factory = sqlite3.Row
                rows = [dict(r) for r in old.execute(f"SELECT * FROM {name} ORDER BY id")]
        except sqlite3.Error as exc:
            log.warning("Not imported: %s (%s); it is left where it is.", path, exc)
            continue
        stamp = "created_at" if name == "feedback" else "asked_at"
        for row in rows:
            row.pop("id", None)
            row[stamp] = utc(datetime.fromisoformat(row[stamp]))
            row["citations"] = json.loads(row["citations"] or "[]")
            if name == "questions":
                row["refused"] = bool(row["refused"])
        with engine.begin() as connection:
            if rows:
                connection.execute(insert(table), rows)
        path.rename(path.with_name(path.name + ".imported"))
        log.info("Imported %d rows from %s into %s.", len(rows), path, DATABASE_FILE)
