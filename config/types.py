"""Field types shared by the API's models."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

_D = TypeVar("_D", bound=date)
_NUMBER = re.compile(r"^\s*[-+]?\d+(\.\d*)?\s*$")
# External codes (experts, organisations, sites, rooms, projects): they appear in URL paths, so
# nothing a path or query would split on (/ ? # %), no spaces, and never a bare "." or "..".
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
# Dates the service accepts: far enough for any evaluation, clear of datetime's overflow at the ends
# (a year 1 or 9999 overflows when shifted to another offset or widened by a margin).
FIRST_YEAR, LAST_YEAR = 1900, 9000
# Bidirectional overrides and isolates: they make a name display as something else (Trojan Source).
_BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# The first two digits of a mainland/HK/Macau/Taiwan administrative division code (GB/T 2260).
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82",
})


def _iso_only(value: Any) -> Any:
    # Pydantic's lax mode reads a bare number as a Unix timestamp; an API date-time must be ISO 8601.
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("expected an ISO 8601 date-time with a UTC offset, e.g. 2026-11-23T09:00:00+08:00")
    return value


def year_in_range(value: date) -> bool:
    """True when a date (or datetime) lies in the years FIRST_YEAR..LAST_YEAR the service accepts."""
    return FIRST_YEAR <= value.year <= LAST_YEAR


def _years(value: _D) -> _D:
    if not year_in_range(value):
        raise ValueError(f"the year must lie between {FIRST_YEAR} and {LAST_YEAR}")
    return value


def plain_text(value: str) -> str:
    """`value` when free of control characters and bidirectional overrides; else ValueError."""
    for ch in value:
        if ch in _BIDI or unicodedata.category(ch) == "Cc":
            raise ValueError(f"text must not contain control or bidirectional-override characters "
                             f"(U+{ord(ch):04X})")
    return value


def plausible_region(value: str) -> str:
    """A 6-digit region code whose province prefix exists (GB/T 2260); else ValueError."""
    if value[:2] not in PROVINCES:
        raise ValueError(f"{value!r} is not an administrative region code (unknown province {value[:2]!r})")
    return value


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only), AfterValidator(_years)]
"""An aware ISO 8601 date-time in the years FIRST_YEAR..LAST_YEAR (input: bounded at the door)."""
StoredDatetime = AwareDatetime
"""An aware date-time read back from the database (answers: rows stored before the bounds still read)."""
BoundedDate = Annotated[date, AfterValidator(_years)]
"""A calendar date in the years FIRST_YEAR..LAST_YEAR."""
PlainText = Annotated[str, AfterValidator(plain_text)]
"""Text without control characters or bidirectional overrides (names shown to people)."""
