"""FastAPI dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Path
from sqlmodel import Session

from config.db import get_engine


def get_session() -> Iterator[Session]:
    """A database session per request."""
    with Session(get_engine()) as session:
        yield session


# Database ids in paths: bounded so an out-of-range number is a 422, not a database overflow.
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
