"""Import experts from CSV (UTF-8 with or without BOM, or GB18030/GBK) or Excel (.xlsx) with row-level error reports.

Columns (header row, any order, case-insensitive): code, name, birth_date, region, lat, lon and
specialties (`;`-separated) are required; employer_code, id_number, email, phone and status may be
left out. Rows are numbered as in a spreadsheet: the header is row 1. A bad row is reported as
{row, column, message} and skipped; the good rows are created, or updated by code, in one
transaction. Empty optional cells (employer_code, id_number, email, phone, status) leave an
existing expert's value unchanged. Row messages never repeat personal data (id numbers, e-mail
addresses, phone numbers).
CSV text is read as UTF-8 first, then as GB18030 (Excel's "CSV" on Chinese Windows); the report
says which. An .xlsx is measured from its zip directory before openpyxl reads it, so a small file
that would expand to gigabytes (a zip bomb) is refused without being expanded.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from datetime import date, datetime
from typing import Any, Protocol

from openpyxl import load_workbook
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

import ledger
from config import db
from config.settings import get_settings
from experts.exceptions import ImportConflictError
from experts.models import SPECIALTY_PATTERN, Expert, ExpertCreate, Organisation, normalise_id_number
from experts.service import set_specialties
from operations import service as operations
from operations.models import Operation

logger = logging.getLogger(__name__)
COLUMNS: tuple[str, ...] = ("code", "name", "birth_date", "region", "lat", "lon", "employer_code", "specialties",
                            "id_number", "email", "phone", "status")
REQUIRED: tuple[str, ...] = ("code", "name", "birth_date", "region", "lat", "lon", "specialties")
OPTIONAL_KEPT: tuple[str, ...] = ("employer_code", "id_number", "email", "phone", "status")
Row = tuple[int, dict[str, str]]
# Cells read per spreadsheet row: the columns above and room for a few unknown ones to report.
MAX_COLUMNS = 40
# CSV encodings tried in order: UTF-8 (a BOM is dropped), then what Excel writes on Chinese Windows.
ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")
# Workbook parts: an xlsx has a few dozen; a member expanding more than MAX_RATIO times its compressed
# size (once bigger than RATIO_FLOOR) is built to exhaust memory (spreadsheets compress ~5-20:1).
MAX_MEMBERS, MAX_RATIO, RATIO_FLOOR = 1000, 100, 1024 * 1024
NUL_MESSAGE = "text must not contain NUL (U+0000) characters"


class ImportRows(list[Row]):
    """The data rows of a file, with the format and text encoding they were read from (for the report)."""

    def __init__(self, rows: list[Row], *, file_format: str, encoding: str | None) -> None:
        super().__init__(rows)
        self.file_format = file_format
        self.encoding = encoding


class Progress(Protocol):
    """Where the import reports how many rows it has checked (operations.service.Progress)."""

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


def _check_zip(data: bytes) -> None:
    """Refuse a workbook whose parts would expand past the settings' cap or absurdly (zip bomb), unread."""
    cap = get_settings().import_max_uncompressed_bytes
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise ImportFileError(f"not a readable .xlsx workbook ({exc.__class__.__name__})") from exc
    if len(members) > MAX_MEMBERS:
        raise ImportFileError(f"not a plausible .xlsx workbook: {len(members)} parts (at most {MAX_MEMBERS})")
    # zipfile stops each member at its declared file_size, so these sizes bound what openpyxl can read.
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise ImportFileError(f"the workbook part {member.filename[:80]!r} expands {member.file_size} bytes "
                                  f"from {member.compress_size} (more than {MAX_RATIO}:1): refused as a zip bomb")
    if total > cap:
        raise ImportFileError(f"the workbook expands to {total} bytes, more than {cap}; split the file")


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    _check_zip(data)
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


def _decode(data: bytes) -> tuple[str, str]:
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    raise ImportFileError("neither an .xlsx workbook nor CSV text in UTF-8 or GB18030 (GBK)")


def _read_csv(text: str) -> list[tuple[int, list[str]]]:
    # A NUL in the header, or more NULs than lines (UTF-16 text, a binary file), is not CSV at all;
    # a stray NUL in a data cell is that row's error (_Checker), not the file's.
    if "\x00" in text.partition("\n")[0] or text.count("\x00") > text.count("\n") + 1:
        raise ImportFileError("neither an .xlsx workbook nor CSV text (binary content)")
    try:
        return [(i, [c.strip() for c in rec]) for i, rec in enumerate(csv.reader(io.StringIO(text)), 1)]
    except csv.Error as exc:
        raise ImportFileError(f"malformed CSV: {exc}") from exc


def read_file(data: bytes) -> ImportRows:
    """The data rows of a CSV or .xlsx file as (row number, {column: text}); ImportFileError if unreadable."""
    if data[:4] == b"PK\x03\x04":
        return ImportRows(_rows(_read_xlsx(data)), file_format="xlsx", encoding=None)
    text, encoding = _decode(data)
    return ImportRows(_rows(_read_csv(text)), file_format="csv", encoding=encoding)


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
        nul = [column for column, value in values.items() if "\x00" in value]
        if nul:
            # PostgreSQL cannot store U+0000; nothing else of such a row is worth checking.
            for column in nul:
                bad(column, NUL_MESSAGE)
            return None, errors
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
    source = ({"format": rows.file_format, "encoding": rows.encoding} if isinstance(rows, ImportRows)
              else {"format": None, "encoding": None})
    logger.info("expert import (%s, %s): %d rows, %d created, %d updated, %d skipped", source["format"],
                source["encoding"], len(rows), created, len(good) - created, len(rows) - len(good))
    return {"rows": len(rows), "created": created, "updated": len(good) - created,
            "skipped": len(rows) - len(good), "errors": errors[:cap], "errors_total": len(errors), **source}


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
