"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from api.migrate import downgrade, upgrade
from api.schema import import_models
from config.db import make_engine


def _fresh(engine: Engine, tmp_path) -> Engine:  # type: ignore[no-untyped-def]
    if engine.dialect.name == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    url = engine.url
    name = f"{url.database}_mig"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return create_engine(url.set(database=name))


def test_migrations_match_models(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fresh = _fresh(engine, tmp_path)
    try:
        upgrade(fresh)
        downgrade(fresh, "base")  # every revision reverts cleanly …
        assert set(inspect(fresh).get_table_names()) <= {"alembic_version"}
        upgrade(fresh)  # … and applies again
        upgrade(fresh)  # idempotent: already at head
        import_models()
        with fresh.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    SQLModel.metadata)
        assert diff == [], diff
        assert "alembic_version" in inspect(fresh).get_table_names()
    finally:
        fresh.dispose()
        if engine.dialect.name != "sqlite":
            admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{engine.url.database}_mig" WITH (FORCE)'))
            admin.dispose()
