"""Alembic environment: the target metadata is every SQLModel table of the project."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from api.schema import import_models
from config.db import get_engine

import_models()
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Run migrations on the connection handed over by api.migrate (or the configured database)."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        with get_engine(context.config.get_main_option("sqlalchemy.url") or None).connect() as conn:
            _run(conn)
            conn.commit()
    else:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
