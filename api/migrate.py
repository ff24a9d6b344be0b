"""Schema migrations (Alembic): `upgrade` brings any database to the models' schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", "api:migrations")
    return cfg


def _run(engine: Engine, step: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    # env.py runs the Alembic command on the connection handed over in cfg.attributes, in one transaction.
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        step(cfg, *args, **kwargs)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` on `engine`'s database."""
    _run(engine, command.upgrade, revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new migration from the difference between `engine`'s schema and the models."""
    _run(engine, command.revision, message=message, autogenerate=True)


def stamp(engine: Engine, revision: str = "head") -> None:
    """Record `revision` as applied without running it (for a schema built by `create_all` in tests)."""
    _run(engine, command.stamp, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Revert migrations down to `revision` ("base" empties the schema)."""
    _run(engine, command.downgrade, revision)
