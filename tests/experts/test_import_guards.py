"""Expert import guards: GB18030 CSV, a NUL cell as a row error, and zip bombs refused before openpyxl reads them."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy.engine import Engine

from config.settings import get_settings
from experts import importer
from tests.api_support import app_client, bearer
from tests.experts.test_expert_routes import _upload, _wait

HEADER = "code,name,birth_date,region,lat,lon,specialties\n"
GOOD = "G01,张三,1970-01-01,370102,36.6,117.1,A0801\n"


def _no_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        pytest.fail("openpyxl was asked to read a workbook the zip directory already condemns")

    monkeypatch.setattr(importer, "load_workbook", refuse)


def _bomb(expanded: int) -> bytes:
    """A workbook-shaped zip whose shared strings expand to `expanded` bytes from a few kilobytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/sharedStrings.xml", b"A" * expanded)
    return buf.getvalue()


def test_gb18030_csv_is_read_and_the_report_says_so(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        coord = bearer(c, "coord")
        op = _wait(c, _upload(c, (HEADER + GOOD).encode("gbk"), coord).json(), coord)
        assert op["status"] == "done" and op["report"]["created"] == 1, op
        assert (op["report"]["format"], op["report"]["encoding"]) == ("csv", "gb18030")
        assert c.get("/api/experts/G01", headers=coord).json()["name"] == "张三"
        op = _wait(c, _upload(c, "\ufeff".encode() + (HEADER + GOOD).encode(), coord).json(), coord)
        assert (op["report"]["encoding"], op["report"]["updated"]) == ("utf-8", 1)


def test_a_nul_in_one_cell_is_that_rows_error(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (HEADER + GOOD + "G02,bad\x00name,1970-01-01,370102,36.6,117.1,A0801\n").encode()
    with app_client(engine, monkeypatch) as c:
        coord = bearer(c, "coord")
        op = _wait(c, _upload(c, data, coord).json(), coord)
        assert op["status"] == "done" and op["report"]["created"] == 1, op
        assert [(e["row"], e["column"]) for e in op["report"]["errors"]] == [(3, "name")]
        assert "NUL" in op["report"]["errors"][0]["message"]
        assert c.get("/api/experts/G02", headers=coord).status_code == 404


@pytest.mark.parametrize("data", [
    (HEADER + GOOD).encode("utf-16-le"),  # NULs everywhere, the header included: not CSV text
    (HEADER + GOOD).encode("utf-16"),  # a BOM neither UTF-8 nor GB18030 can read
])
def test_binary_or_utf16_files_stay_refused_as_a_whole(data: bytes) -> None:
    with pytest.raises(importer.ImportFileError):
        importer.read_file(data)


def test_an_absurdly_compressed_part_is_refused_unread(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _bomb(8 * 1024 * 1024)
    assert len(data) < 64 * 1024
    with app_client(engine, monkeypatch) as c:
        _no_openpyxl(monkeypatch)
        r = _upload(c, data, bearer(c, "coord"), "bomb.xlsx")
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["file"], r.text
        assert "sharedStrings" in r.json()["detail"][0]["msg"]


def test_a_workbook_over_the_expansion_cap_is_refused_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.strip().split(","))
    buf = io.BytesIO()
    book.save(buf)
    expanded = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(buf.getvalue())).infolist())
    monkeypatch.setenv("YIDI_IMPORT_MAX_UNCOMPRESSED_BYTES", str(expanded - 1))
    get_settings.cache_clear()
    try:
        _no_openpyxl(monkeypatch)
        with pytest.raises(importer.ImportFileError, match="expands to"):
            importer.read_file(buf.getvalue())
    finally:
        monkeypatch.delenv("YIDI_IMPORT_MAX_UNCOMPRESSED_BYTES")
        get_settings.cache_clear()
    monkeypatch.undo()
    rows = importer.read_file(buf.getvalue())  # the same workbook under the default cap
    assert (list(rows), rows.file_format, rows.encoding) == ([], "xlsx", None)
