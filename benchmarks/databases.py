"""The databases a benchmark runs on: a fresh SQLite file, and a throw-away PostgreSQL database when reachable."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

Target = tuple[str, Callable[[], str]]


def targets(pg_url: str) -> tuple[list[Target], Engine | None]:
    """(name, a function giving a fresh database URL) for SQLite and, if it answers, PostgreSQL; and its admin."""
    out: list[Target] = [("sqlite", lambda: f"sqlite:///{tempfile.mkdtemp()}/bench.db")]
    try:
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - the benchmark just reports SQLite then
        print(f"postgresql skipped: {exc.__class__.__name__}")
        return out, None
    out.append(("postgresql", lambda: _pg_database(admin, pg_url)))
    return out, admin


def _pg_database(admin: Engine, url: str) -> str:
    name = f"yidi_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return str(create_engine(url).url.set(database=name).render_as_string(hide_password=False))


def drop_databases(admin: Engine | None) -> None:
    """Drop every throw-away benchmark database."""
    if admin is None:
        return
    with admin.connect() as conn:
        for (db,) in conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'yidi_bench_%'")):
            conn.execute(text(f'DROP DATABASE "{db}" WITH (FORCE)'))
