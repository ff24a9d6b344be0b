"""Database fixtures for every DB test: `engine` runs each test on SQLite and on PostgreSQL.

Register suite-wide with `pytest_plugins = ["tests.db_fixtures"]` in the root conftest.

- sqlite: a fresh temp-file database per test (WAL, as in production via config.db.make_engine).
- postgresql: one throw-away database per test session, created on the server at
  `YIDI_TEST_PG_URL` (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres) and dropped at
  the end; every table is emptied (identities restarted) after each test. When the server is
  unreachable the postgresql case is skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine

from config.db import make_engine

logger = logging.getLogger(__name__)

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
def load_models() -> None:
    """Import every table module, so SQLModel.metadata knows all tables."""
    from api.schema import import_models

    import_models()


def _pg_unavailable(reason: str) -> None:
    """Skip the postgresql case locally; fail it in CI, which must run both databases."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable ({reason}); set YIDI_TEST_PG_URL or start the server")


def _truncate_all(engine: Engine) -> None:
    """Empty every table of the metadata that exists, restarting identities."""
    with engine.begin() as conn:
        query = text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        existing = set(conn.execute(query).scalars())
        names = [t.name for t in SQLModel.metadata.sorted_tables if t.name in existing]
        if names:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            quoted = ", ".join(f'"{n}"' for n in names)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """URL of a uniquely named, throw-away PostgreSQL database for this test session."""
    admin_url = make_url(os.environ.get("YIDI_TEST_PG_URL", DEFAULT_PG_URL))
    name = f"yidi_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        _pg_unavailable(f"{admin_url.render_as_string(hide_password=True)}: {exc.__class__.__name__}: {exc}")
    logger.info("created test database %s", name)
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine with every table created, on a clean SQLite file or PostgreSQL database."""
    load_models()
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        eng = make_engine(request.getfixturevalue("pg_database_url"))
    SQLModel.metadata.create_all(eng)
    try:
        yield eng
    finally:
        eng.dispose()
        if request.param == "postgresql":
            _truncate_all(eng)
            eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on `engine`, closed (rolling back anything uncommitted) after the test."""
    with Session(engine) as s:
        yield s
