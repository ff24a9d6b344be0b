"""Field types shared by the API's models."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

_NUMBER = re.compile(r"^\s*[-+]?\d+(\.\d*)?\s*$")


def _iso_only(value: Any) -> Any:
    # Pydantic's lax mode reads a bare number as a Unix timestamp; an API date-time must be ISO 8601.
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("expected an ISO 8601 date-time with a UTC offset, e.g. 2026-11-23T09:00:00+08:00")
    return value


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
