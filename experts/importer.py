"""Import experts from CSV (UTF-8, with or without BOM) or Excel (.xlsx) with row-level error reports.

Columns (header row, any order, case-insensitive): code, name, birth_date, region, lat, lon and
specialties (`;`-separated) are required; employer_code, id_number, email, phone and status may be
left out. Rows are numbered as
in a spreadsheet: the header is row 1. A bad row is reported as {row, column, message} and
skipped; the good rows are created, or updated by code, in one transaction. Empty optional cells
(employer_code, id_number, email, phone, status) leave an existing expert's value unchanged.
Row messages never repeat personal data (id numbers, e-mail addresses, phone numbers).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import date, datetime
from typing import Any, Protocol

from openpyxl import load_workbook
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

import ledger
from api.operations import service as operations
from api.operations.models import Operation
from config import db
from config.settings import get_settings
from experts.exceptions import ImportConflictError
from experts.models import SPECIALTY_PATTERN, Expert, ExpertCreate, Organisation, normalise_id_number
from experts.service import set_specialties

logger = logging.getLogger(__name__)
COLUMNS: tuple[str, ...] = ("code", "name", "birth_date", "region", "lat", "lon", "employer_code", "specialties",
                            "id_number", "email", "phone", "status")
REQUIRED: tuple[str, ...] = ("code", "name", "birth_date", "region", "lat", "lon", "specialties")
OPTIONAL_KEPT: tuple[str, ...] = ("employer_code", "id_number", "email", "phone", "status")
Row = tuple[int, dict[str, str]]
# Cells read per spreadsheet row: the columns above and room for a few unknown ones to report.
MAX_COLUMNS = 40


class Progress(Protocol):
    """Where the import reports how many rows it has checked (api.operations.service.Progress)."""

    def set_total(self, total: int) -> None: ...

    def advance(self, units: int = 1) -> None: ...


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not CSV/XLSX, wrong header, too many rows); answered 422."""

    field = "file"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header(cells: list[str]) -> list[str]:
    names = [c.strip().lower() for c in cells]
    missing = [c for c in REQUIRED if c not in names]
    unknown = [c for c in names if c and c not in COLUMNS]
    if missing or unknown or len(set(names) - {""}) != len([n for n in names if n]):
        parts = [f"missing columns: {', '.join(missing)}" if missing else "",
                 f"unknown columns: {', '.join(unknown[:10])}" if unknown else "",
                 "a column appears twice" if not missing and not unknown else ""]
        raise ImportFileError(f"wrong header ({'; '.join(p for p in parts if p)}); required "
                              f"{','.join(REQUIRED)}, optional {','.join(OPTIONAL_KEPT)}")
    return names


def _rows(records: list[tuple[int, list[str]]]) -> list[Row]:
    if not records:
        raise ImportFileError("the file is empty: a header row is required")
    names = _header(records[0][1])
    limit = get_settings().import_max_rows
    out: list[Row] = []
    for number, cells in records[1:]:
        if not any(cells):
            continue
        if len(out) >= limit:
            raise ImportFileError(f"more than {limit} data rows; split the file")
        values = {n: (cells[i] if i < len(cells) else "") for i, n in enumerate(names) if n}
        if len(cells) > len(names) and any(cells[len(names):]):
            values["*"] = "extra"
        out.append((number, values))
    return out


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = book.active
            if sheet is None:
                raise ImportFileError("the workbook has no sheet")
            # Lazily and bounded: a small compressed sheet can hold millions of (empty) cells.
            records: list[tuple[int, list[str]]] = []
            limit = get_settings().import_max_rows + 1
            for i, row in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), 1):
                records.append((i, [_cell(v) for v in row]))
                if i == 1:
                    _header(records[0][1])
                if i > limit:
                    raise ImportFileError(f"more than {limit - 1} data rows; split the file")
        finally:
            book.close()
    except ImportFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl/zipfile raise many kinds on a damaged file
        raise ImportFileError(f"not a readable .xlsx workbook ({exc.__class__.__name__})") from exc
    return records


def _read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError("neither an .xlsx workbook nor UTF-8 CSV text") from exc
    if "\x00" in text:
        raise ImportFileError("neither an .xlsx workbook nor CSV text (binary content)")
    try:
        return [(i, [c.strip() for c in rec]) for i, rec in enumerate(csv.reader(io.StringIO(text)), 1)]
    except csv.Error as exc:
        raise ImportFileError(f"malformed CSV: {exc}") from exc


def read_file(data: bytes) -> list[Row]:
    """The data rows of a CSV or .xlsx file as (row number, {column: text}); ImportFileError if unreadable."""
    records = _read_xlsx(data) if data[:4] == b"PK\x03\x04" else _read_csv(data)
    return _rows(records)


class _Checker:
    """Validates rows against the database and the rows before them."""

    def __init__(self, session: Session) -> None:
        self.orgs = dict(session.exec(select(Organisation.code, Organisation.id)).all())
        self.experts = {e.code: e for e in session.exec(select(Expert)).all()}
        self.id_owner = {e.id_number: e.code for e in self.experts.values() if e.id_number}
        self.seen_codes: dict[str, int] = {}

    def check(self, number: int, values: dict[str, str]) -> tuple[ExpertCreate | None, list[dict[str, Any]]]:
        errors: list[dict[str, Any]] = []

        def bad(column: str, message: str) -> None:
            errors.append({"row": number, "column": column, "message": message})

        if values.pop("*", None):
            bad("*", "more cells than header columns")
        for column in REQUIRED:
            if not values.get(column):
                bad(column, "a value is required")
        given = {k: v for k, v in values.items() if v}
        specialties = [s.strip() for s in given.pop("specialties", "").split(";") if s.strip()]
        wrong = [s for s in specialties if not re.match(SPECIALTY_PATTERN, s)]
        if wrong:
            bad("specialties", f"not a specialty code: {', '.join(wrong[:5])} (e.g. A0801)")
        code = given.get("code", "")
        if code in self.seen_codes:
            bad("code", f"the code appears again (first in row {self.seen_codes[code]})")
        if given.get("employer_code") and given["employer_code"] not in self.orgs:
            bad("employer_code", f"no organisation with code {given['employer_code']!r}")
        if given.get("id_number"):
            given["id_number"] = normalise_id_number(given["id_number"])
        id_number = given.get("id_number")
        if id_number and self.id_owner.get(id_number, code) != code:
            bad("id_number", "another expert (in the pool or an earlier row) already has this id_number")
        reported = {e["column"] for e in errors}
        data = None
        try:
            data = ExpertCreate.model_validate({**given, "specialties": [] if wrong else specialties})
        except ValidationError as exc:
            for err in exc.errors(include_input=False, include_url=False):
                column = str(err["loc"][0]) if err["loc"] else "*"
                if column not in reported:
                    reported.add(column)
                    bad(column, err["msg"])
        if errors:
            return None, errors
        self.seen_codes[code] = number
        if id_number:
            self.id_owner[id_number] = code
        return data, []


def _apply(session: Session, checker: _Checker, data: ExpertCreate, given: dict[str, str]) -> bool:
    """Create or update one expert; True when created."""
    fields = data.model_dump(exclude={"employer_code", "specialties"})
    employer_id = checker.orgs.get(data.employer_code) if data.employer_code else None
    expert = checker.experts.get(data.code)
    created = expert is None
    if expert is None:
        expert = Expert.model_validate(fields, update={"employer_id": employer_id})
    else:
        for key, value in fields.items():
            if key in OPTIONAL_KEPT and not given.get(key):
                continue
            setattr(expert, key, value)
        if data.employer_code:
            expert.employer_id = employer_id
    session.add(expert)
    session.flush()
    set_specialties(session, expert=expert, codes=data.specialties)
    return created


def run_import(session: Session, *, rows: list[Row], progress: Progress, actor: str) -> dict[str, Any]:
    """Check every row (progress = rows checked), then write the good ones in one transaction; the report."""
    progress.set_total(len(rows))
    checker = _Checker(session)
    good: list[tuple[ExpertCreate, dict[str, str]]] = []
    errors: list[dict[str, Any]] = []
    for number, values in rows:
        data, row_errors = checker.check(number, dict(values))
        if data is not None:
            good.append((data, values))
        errors.extend(row_errors)
        progress.advance()
    created = 0
    try:
        for data, values in good:
            created += _apply(session, checker, data, values)
        ledger.append(session, kind="expert.import", subject="experts", actor=actor,
                      payload={"rows": len(rows), "created": created, "updated": len(good) - created,
                               "skipped": len(rows) - len(good)})
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ImportConflictError("the import clashed with a concurrent change to the pool; nothing was imported, "
                             "try again") from exc
    cap = get_settings().import_max_errors
    logger.info("expert import: %d rows, %d created, %d updated, %d skipped", len(rows), created,
                len(good) - created, len(rows) - len(good))
    return {"rows": len(rows), "created": created, "updated": len(good) - created,
            "skipped": len(rows) - len(good), "errors": errors[:cap], "errors_total": len(errors)}


def start_import(session: Session, *, rows: list[Row], actor: str) -> Operation:
    """Start importing read `rows` as a long operation (kind `expert.import`) on its own session; its id is polled.

    A conflict in the data fails the operation with its message; the API and the console both start it here.
    """
    def work(progress: operations.Progress) -> dict[str, Any]:
        with Session(db.get_engine()) as own:
            try:
                return run_import(own, rows=rows, progress=progress, actor=actor)
            except ImportConflictError as exc:
                raise operations.OperationError(str(exc)) from exc

    return operations.start(session, kind="expert.import", created_by=actor, work=work, total=len(rows))
