"""FastAPI dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session

from config.db import get_engine


def get_session() -> Iterator[Session]:
    """A database session per request."""
    with Session(get_engine()) as session:
        yield session
