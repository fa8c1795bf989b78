"""Alembic's environment: migrate the connection the assistant hands over (``Database``), or,
when run as ``alembic upgrade head`` from the repository, the database the settings name."""

from alembic import context
from sqlalchemy import Connection, create_engine

from assistant.web.database import metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        from assistant.config import Settings
        from assistant.web.database import database_url

        url = database_url(Settings.from_env())
    with create_engine(url).begin() as own:
        _run_on(own)


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER on SQLite
    )
    with context.begin_transaction():
        context.run_migrations()


run()
