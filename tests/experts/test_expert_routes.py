"""Routes of the expert pool and its CSV/Excel import (both databases)."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import ledger
from experts.models import Expert
from tests.api_support import app_client, bearer

HEADER = "code,name,birth_date,region,lat,lon,employer_code,specialties,id_number,email,phone,status"
NEW = {"code": "E99", "name": "王五", "birth_date": "1975-03-04", "region": "370102", "lat": 36.5, "lon": 117.1,
       "specialties": ["A0801"], "id_number": "370102197503040011", "email": "w@example.test"}


def _wait(c: TestClient, op: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while op["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, op
        time.sleep(0.05)
        op = c.get(f"/api/operations/{op['id']}", headers=headers).json()
    return op


def _upload(c: TestClient, data: bytes, headers: dict[str, str], name: str = "pool.csv") -> Any:
    return c.post("/api/experts/import", files={"file": (name, data, "application/octet-stream")}, headers=headers)


def test_list_filter_read_without_id_number(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        auxa = bearer(c, "coord_auxa")
        page = c.get("/api/experts?limit=4&offset=2", headers=auxa).json()
        assert page["total"] == 15 and [e["code"] for e in page["items"]] == ["E03", "E04", "E05", "E06"]
        b01 = c.get("/api/experts?specialty=B01", headers=auxa).json()
        assert [e["code"] for e in b01["items"]] == ["E12", "E13", "E14", "E15"]
        assert c.get("/api/experts?region=370102", headers=auxa).json()["total"] == 1
        assert c.get("/api/experts?q=e1", headers=auxa).json()["total"] == 6
        assert c.get("/api/experts?specialty=a08", headers=auxa).status_code == 422
        assert c.get("/api/experts", headers=bearer(c, "super")).status_code == 403
        admin = bearer(c, "admin")
        r = c.post("/api/experts", json=NEW, headers=admin)
        assert r.status_code == 201, r.text
        assert "id_number" not in r.json() and r.json()["specialties"] == ["A0801"]
        got = c.get("/api/experts/E99", headers=auxa).json()
        assert "id_number" not in got and got["email"] == "w@example.test"
        assert "370102197503040011" not in c.get("/api/experts?q=E99", headers=auxa).text
        assert c.get("/api/experts/NOPE", headers=auxa).status_code == 404
    with Session(engine) as s:
        entries = [e for e in ledger.entries(s) if e.kind.startswith("expert.")]
        assert [e.kind for e in entries] == ["expert.create"]
        assert "370102197503040011" not in entries[0].payload and "王五" not in entries[0].payload


def test_writes_need_a_centre_wide_coordinator(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        auxa, coord = bearer(c, "coord_auxa"), bearer(c, "coord")
        assert c.post("/api/experts/E01/suspend", headers=auxa).status_code == 403
        assert c.post("/api/experts", json=NEW, headers=auxa).status_code == 403
        assert c.post("/api/experts/E01/suspend", headers=coord).json()["status"] == "suspended"
        assert c.get("/api/experts?status=suspended", headers=auxa).json()["total"] == 1
        assert c.post("/api/experts/E01/reinstate", headers=coord).json()["status"] == "active"
        r = c.patch("/api/experts/E01", json={"phone": "+86 531 1234567", "region": "370103"}, headers=coord)
        assert r.status_code == 200 and r.json()["region"] == "370103"
        assert c.patch("/api/experts/E01", json={"lat": 99}, headers=coord).status_code == 422
        leave = c.post("/api/experts/E01/leave", json={"from_date": "2026-11-20", "to_date": "2026-11-25"},
                       headers=coord)
        assert leave.status_code == 201
        assert c.post("/api/experts/E01/leave", json={"from_date": "2026-11-20", "to_date": "2026-11-01"},
                      headers=coord).status_code == 422
        assert len(c.get("/api/experts/E01/leave", headers=auxa).json()) == 1
        rel = c.post("/api/experts/E01/relations", json={"org_code": "BID1", "kind": "director"}, headers=coord)
        assert rel.status_code == 201 and rel.json()["org_code"] == "BID1"
        assert c.post("/api/experts/E01/relations", json={"org_code": "NOPE", "kind": "director"},
                      headers=coord).status_code == 404
        assert [x["kind"] for x in c.get("/api/experts/E01/relations", headers=auxa).json()] == ["director"]
        pen = c.post("/api/experts/E01/penalties", json={"date": "2026-01-02", "reason": "串标"}, headers=coord)
        assert pen.status_code == 201
        assert [p["date"] for p in c.get("/api/experts/E01/penalties", headers=auxa).json()] == ["2026-01-02"]
    with Session(engine) as s:
        entries = [e for e in ledger.entries(s) if e.kind.startswith("expert.")]
        assert [e.kind for e in entries] == ["expert.suspend", "expert.reinstate", "expert.update", "expert.leave",
                                             "expert.relation", "expert.penalty"]
        assert all("531" not in e.payload and "串标" not in e.payload for e in entries)


CSV_ROWS = [
    HEADER,
    "N01,新专家一,1980-01-02,370102,36.6,117.0,EMP01,A0801;B0101,370102198001020011,n1@example.test,,",
    "N02,bad date,1980-02-30,370102,36.6,117.0,,A0801,,,,",
    "N03,bad specialty,1980-01-02,370102,36.6,117.0,,a08x,,,,",
    "N04,dup id,1980-01-02,370102,36.6,117.0,,A0801,370102198001020011,,,",
    "N05,,1980-01-02,370102,36.6,117.0,,A0801,,,,",
    "E02,E02 renamed,1970-05-01,371302,36.45,117.37,,A0601,,,,suspended",
]


def test_csv_import_reports_bad_rows_and_imports_the_good(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    data = ("\ufeff" + "\n".join(CSV_ROWS) + "\n").encode("utf-8")
    with app_client(engine, monkeypatch) as c:
        coord = bearer(c, "coord")
        r = _upload(c, data, coord)
        assert r.status_code == 202, r.text
        op = _wait(c, r.json(), coord)
        assert op["status"] == "done" and (op["total"], op["done"]) == (6, 6)
        report = op["report"]
        assert (report["created"], report["updated"], report["skipped"]) == (1, 1, 4)
        assert [(e["row"], e["column"]) for e in report["errors"]] == [
            (3, "birth_date"), (4, "specialties"), (5, "id_number"), (6, "name")]
        assert all("370102198001020011" not in e["message"] for e in report["errors"])
        # Only the creator and admins see the operation.
        assert c.get(f"/api/operations/{op['id']}", headers=bearer(c, "coord_auxa")).status_code == 404
        assert c.get(f"/api/operations/{op['id']}", headers=bearer(c, "admin")).status_code == 200
        assert _upload(c, data, bearer(c, "coord_auxa")).status_code == 403
    with Session(engine) as s:
        n01 = s.exec(select(Expert).where(Expert.code == "N01")).one()
        assert (n01.name, n01.id_number, n01.employer_id is not None) == ("新专家一", "370102198001020011", True)
        e02 = s.exec(select(Expert).where(Expert.code == "E02")).one()
        assert (e02.name, e02.status) == ("E02 renamed", "suspended")
        assert s.exec(select(Expert).where(Expert.code.in_(["N02", "N03", "N04", "N05"]))).all() == []  # type: ignore[attr-defined]


def test_xlsx_import(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    sheet.append(["X01", "表格专家", "1981-07-08", "370102", 36.6, 117.0, None, "A0602", None, None, None, None])
    sheet.append(["X02", "no lat", "1981-07-08", "370102", "north", 117.0, None, "A0602", None, None, None, None])
    buf = io.BytesIO()
    book.save(buf)
    with app_client(engine, monkeypatch) as c:
        admin = bearer(c, "admin")
        op = _wait(c, _upload(c, buf.getvalue(), admin, "pool.xlsx").json(), admin)
        assert op["status"] == "done"
        assert op["report"]["created"] == 1 and [(e["row"], e["column"]) for e in op["report"]["errors"]] == [
            (3, "lat")]
        got = c.get("/api/experts/X01", headers=admin).json()
        assert (got["name"], got["specialties"]) == ("表格专家", ["A0602"])


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\x00\x00garbage",
    b"PK\x03\x04truncated zip",
    b"code,name,birth\nX,Y,Z\n",
    b"",
])
def test_unreadable_files_are_422_naming_the_file(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                  data: bytes) -> None:
    with app_client(engine, monkeypatch) as c:
        r = _upload(c, data, bearer(c, "coord"))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["file"], r.text
