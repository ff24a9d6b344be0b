"""Database engine and sessions: SQLite (embedded default) or PostgreSQL (production)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from config.settings import get_settings

logger = logging.getLogger(__name__)
_engines: dict[str, Engine] = {}


def make_engine(url: str) -> Engine:
    """Create an engine for `url`, with SQLite tuned for a small multi-threaded service."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine(url: str | None = None) -> Engine:
    """Return the cached engine for `url` (default: the configured database)."""
    url = url or get_settings().database_url
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    with Session(engine or get_engine()) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


def flush_unique(session: Session, obj: object, error: Exception) -> None:
    """Add and flush `obj`, raising `error` (a domain error) if a unique constraint trips.

    Callers check codes first; this only catches a concurrent insert of the same code.
    PostgreSQL aborts the transaction on any error, so it is rolled back before re-raising.
    """
    from sqlalchemy.exc import IntegrityError

    session.add(obj)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise error from None
