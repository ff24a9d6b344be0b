"""The whole schema: every package's tables, imported so SQLModel.metadata knows them all.

It lives in the composition root because only here may one module import every package.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel


def import_models() -> None:
    """Import all table modules so SQLModel.metadata knows every table."""
    import access.models  # noqa: F401
    import api.jobs.models  # noqa: F401
    import checkin.models  # noqa: F401
    import evaluation.models  # noqa: F401
    import experts.face_models  # noqa: F401
    import experts.models  # noqa: F401
    import ledger.models  # noqa: F401
    import notify.models  # noqa: F401
    import openings.models  # noqa: F401
    import operations.models  # noqa: F401
    import sfu.models  # noqa: F401
    import venues.models  # noqa: F401


def create_all(engine: Engine) -> None:
    """Create every table known to the models (imports them so metadata is complete)."""
    import_models()
    SQLModel.metadata.create_all(engine)
