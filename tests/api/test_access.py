"""Every API operation tried by every role and scope: refusals are 401/403/404, ledgered, and leak nothing.

The operations come from the OpenAPI document, so a new route without a POLICY entry fails this
test until its access rule is declared here. The invariants checked for each (operation, user):
  1. anonymous callers get 401 (the token endpoint and a public opening's watch link excepted);
  2. a role outside the operation's roles gets 403 naming `authorization`;
  3. users whose scope holds neither project P1 (sites MAIN, AUXA, AUXB) nor site MAIN — `coord_off`,
     `super_off` — never get a 2xx on an operation aimed at P1, its draw or MAIN, and lists show them
     nothing of P1; `coord_auxa` (AUXA, an auxiliary site of P1) may read P1 but never act on it;
  4. a user in role and scope never gets 401, a 403 for `authorization`, or a 5xx;
  5. no refused answer names an expert, and every refusal adds an `auth.denied` ledger entry.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from ledger.models import LedgerEntry
from tests.api_support import app_client, bearer

ALL = {"admin", "coordinator", "supervisor", "expert", "terminal"}
STAFF = {"admin", "coordinator", "supervisor"}
COORD = {"admin", "coordinator"}
ADMIN = {"admin"}
ROLE = {"admin": "admin", "coord": "coordinator", "coord_auxa": "coordinator", "coord_off": "coordinator",
        "super": "supervisor", "super_off": "supervisor", "expert1": "expert", "term1": "terminal"}
OUTSIDE = {"coord_off", "super_off"}  # scope holds nothing of P1 nor MAIN
EXPERT_CODE = re.compile(r"\bE(0[1-9]|1[0-5])\b")
START, END = "2026-11-23T07:00:00+08:00", "2026-11-23T20:00:00+08:00"

# (method, path) -> (roles, target): target "P1" read of P1 / its draw; "P1w" acting on P1 (main site
# only); "MAIN" acting on site MAIN; "own" the caller's own object; "pool" the province-wide pool;
# "centre" needs a centre-wide (all sites) user; "open" public facts anyone reads; None: not tied to one site.
POLICY: dict[tuple[str, str], tuple[set[str], str | None]] = {
    ("GET", "/api/auth/me"): (ALL, None),
    ("GET", "/api/me/engagements"): ({"expert"}, None),
    ("POST", "/api/me/engagements/{ref}/confirm"): ({"expert"}, None),
    ("POST", "/api/me/engagements/{ref}/decline"): ({"expert"}, None),
    ("GET", "/api/users"): (ADMIN, None),
    ("POST", "/api/users"): (ADMIN, None),
    ("PATCH", "/api/users/{username}"): (ADMIN, None),
    ("POST", "/api/draws"): (COORD, "P1w"),
    ("POST", "/api/draws/commitments"): (COORD, "P1w"),
    ("POST", "/api/draws/{draw_id}/run"): (COORD, "P1w"),
    ("GET", "/api/draws/{draw_id}"): (STAFF, "P1"),
    ("POST", "/api/draws/{draw_id}/reveal"): (STAFF, "P1"),
    ("POST", "/api/draws/{draw_id}/replacements"): (COORD, "P1w"),
    ("POST", "/api/draws/{draw_id}/notifications"): (COORD, "P1w"),
    ("GET", "/api/draws/{draw_id}/notifications"): (COORD, "P1"),
    ("POST", "/api/projects"): (COORD, "MAIN"),
    ("GET", "/api/projects"): (STAFF, None),
    ("GET", "/api/projects/{code}"): (STAFF, "P1"),
    ("PATCH", "/api/projects/{code}"): (COORD, "P1w"),
    ("POST", "/api/projects/{code}/cancel"): (COORD, "P1w"),
    ("POST", "/api/projects/{code}/bidders"): (COORD, "P1w"),
    ("POST", "/api/replan"): (COORD, "MAIN"),
    ("POST", "/api/replan/closures/{closure_id}"): (COORD, "MAIN"),
    ("GET", "/api/jobs"): (ADMIN, None),
    ("GET", "/api/stats"): (STAFF, None),
    ("GET", "/api/sites"): (STAFF, None),
    ("POST", "/api/sites"): (COORD, "centre"),
    ("GET", "/api/sites/{code}"): (STAFF, None),
    ("PATCH", "/api/sites/{code}"): (COORD, "MAIN"),
    ("GET", "/api/sites/{code}/rooms"): (STAFF, None),
    ("POST", "/api/sites/{code}/rooms"): (COORD, "MAIN"),
    ("GET", "/api/rooms/{code}"): (STAFF, None),
    ("PATCH", "/api/rooms/{code}"): (COORD, "MAIN"),
    ("GET", "/api/closures"): (STAFF, None),
    ("POST", "/api/closures"): (COORD, "MAIN"),
    ("DELETE", "/api/closures/{closure_id}"): (COORD, "MAIN"),
    ("GET", "/api/experts"): (COORD, "pool"),
    ("POST", "/api/experts"): (COORD, "centre"),
    ("POST", "/api/experts/import"): (COORD, "centre"),
    ("GET", "/api/experts/{code}"): (COORD, "pool"),
    ("PATCH", "/api/experts/{code}"): (COORD, "centre"),
    ("POST", "/api/experts/{code}/suspend"): (COORD, "centre"),
    ("POST", "/api/experts/{code}/reinstate"): (COORD, "centre"),
    ("GET", "/api/experts/{code}/leave"): (COORD, "pool"),
    ("POST", "/api/experts/{code}/leave"): (COORD, "centre"),
    ("GET", "/api/experts/{code}/relations"): (COORD, "pool"),
    ("POST", "/api/experts/{code}/relations"): (COORD, "centre"),
    ("GET", "/api/experts/{code}/penalties"): (COORD, "pool"),
    ("POST", "/api/experts/{code}/penalties"): (COORD, "centre"),
    ("POST", "/api/experts/{code}/face"): (COORD, "centre"),
    ("DELETE", "/api/experts/{code}/face"): (COORD, "centre"),
    ("GET", "/api/experts/{code}/face"): (COORD, "centre"),
    ("GET", "/api/operations/{operation_id}"): (ALL, "own"),  # its creator (coord here) and admins
    ("GET", "/api/checkin/terminal"): ({"terminal"}, None),
    ("POST", "/api/checkin/challenges"): ({"terminal"}, None),
    ("POST", "/api/checkin/attempts"): ({"terminal"}, None),
    ("POST", "/api/checkin/signoffs"): ({"terminal"}, None),
    ("POST", "/api/checkin/manual"): ({"admin", "supervisor"}, "MAIN"),
    ("GET", "/api/checkin/rooms/{room_code}"): (STAFF | {"terminal"}, "MAIN"),  # a terminal: its own room only
    ("POST", "/api/projects/{code}/report"): (COORD, "P1w"),
    ("GET", "/api/projects/{code}/report"): (STAFF, "P1"),
    ("GET", "/api/projects/{code}/report/file"): (STAFF, "P1"),
    ("POST", "/api/rooms/{code}/whip"): ({"terminal"}, None),  # the room's own terminal only
    ("DELETE", "/api/rooms/{code}/whip/{session_id}"): ({"terminal"}, None),
    ("POST", "/api/rooms/{code}/whep"): (STAFF, "MAIN"),
    ("DELETE", "/api/rooms/{code}/whep/{session_id}"): (STAFF, "MAIN"),
    ("GET", "/api/rooms/{code}/stream"): (STAFF, "MAIN"),
    ("PUT", "/api/rooms/{code}/purpose"): (ADMIN, "MAIN"),
    ("GET", "/api/rooms/{code}/openings"): (STAFF, "MAIN"),
    ("POST", "/api/rooms/{code}/openings"): (COORD, "MAIN"),
    ("DELETE", "/api/openings/{opening_id}"): (COORD, None),
    # A public opening's watch link: anyone, no login; the token is the link's secret (here an unknown one).
    ("GET", "/api/watch/{token}"): (ALL, "public"),
    ("POST", "/api/watch/{token}/whep"): (ALL, "public"),
    ("DELETE", "/api/watch/{token}/whep/{session_id}"): (ALL, "public"),
    ("GET", "/api/ledger/entries"): (STAFF, None),
    ("POST", "/api/ledger/verify"): (STAFF, None),
    ("GET", "/api/ledger/checkpoints"): (STAFF, None),
    ("GET", "/api/ledger/proofs/inclusion"): (STAFF, None),
    ("GET", "/api/ledger/proofs/consistency"): (STAFF, None),
    ("GET", "/api/ledger/keys"): (ALL, "open"),
    ("GET", "/api/ledger/checkpoints/latest"): (ALL, "open"),
    ("GET", "/api/projects/{code}/evidence.zip"): (STAFF, "P1"),
    ("GET", "/api/rooms/{code}/recordings"): (STAFF, "MAIN"),
    ("GET", "/api/recordings/{room}/{recording_id}/runs/{number}.mp4"): (STAFF, "MAIN"),
    ("GET", "/api/recordings/{room}/{recording_id}/{name}"): (STAFF, "MAIN"),
    ("POST", "/api/recordings/{room}/{recording_id}/verify"): (STAFF, "MAIN"),
}
# Destructive operations run last, so every other one still finds P1 and the closure.
LAST = [("DELETE", "/api/closures/{closure_id}"), ("POST", "/api/projects/{code}/cancel")]
CSV = b"code,name,birth_date,region,lat,lon,specialties\nE90,New,1970-01-01,370102,36.6,117.0,A0801\n"


def _request(c: TestClient, method: str, path: str, ids: dict[str, Any], headers: dict[str, str]) -> Any:
    """Call one operation with path parameters aimed at P1 / MAIN and a body that passes validation."""
    code = "P1" if "/projects/" in path else "MAIN" if "/sites/" in path else "E02" if "/experts/" in path \
        else "MAIN-R1"
    url = path.format(draw_id=ids["draw"], code=code, username="coord_off", closure_id=ids["closure"],
                      operation_id=ids["operation"], room_code="MAIN-R1", session_id="0" * 32,
                      room="MAIN-R1", recording_id="none", number=0, name="index.m3u8", ref="0" * 64,
                      token="0" * 32, opening_id=1)
    body: dict[str, Any] | None = {
        ("POST", "/api/users"): {"username": "new_user", "password": "long-enough-password", "role": "supervisor"},
        ("PATCH", "/api/users/{username}"): {"display_name": "x"},
        ("POST", "/api/draws"): {"project_codes": ["P1"]},
        ("POST", "/api/draws/commitments"): {"project_codes": ["P1"]},
        ("POST", "/api/draws/{draw_id}/replacements"): {"project_code": "P1", "expert_code": "E01",
                                                        "reason": "declined"},
        ("POST", "/api/projects"): {"code": "PX", "procedure": "gp_negotiation", "budget": 1000, "region": "370102",
                                    "start": START, "end": END, "size": 2, "representatives": 0,
                                    "tenderer_code": "TEND", "main_site_code": "MAIN", "aux_site_codes": [],
                                    "needs": [{"specialty": "A0801", "count": 2}]},
        ("PATCH", "/api/projects/{code}"): {"name": "renamed"},
        ("POST", "/api/projects/{code}/bidders"): {"bidder_codes": ["BID1"]},
        ("POST", "/api/replan"): {"site_code": "MAIN", "start": START, "end": END},
        ("POST", "/api/sites"): {"code": "NEW", "region": "370102", "lat": 36.6, "lon": 117.0},
        ("PATCH", "/api/sites/{code}"): {"name": "renamed"},
        ("POST", "/api/sites/{code}/rooms"): {"code": "MAIN-R9", "seats": 4},
        ("PATCH", "/api/rooms/{code}"): {"seats": 8},
        ("PUT", "/api/rooms/{code}/purpose"): {"purpose": "evaluation"},
        ("POST", "/api/rooms/{code}/openings"): {"title": "开标", "start": START, "end": END},
        ("POST", "/api/closures"): {"site_code": "MAIN", "start": START, "end": END, "reason": "test"},
        ("POST", "/api/experts"): {"code": "E91", "birth_date": "1970-01-01", "region": "370102", "lat": 36.6,
                                   "lon": 117.0, "specialties": ["A0801"]},
        ("PATCH", "/api/experts/{code}"): {"name": "renamed"},
        ("POST", "/api/experts/{code}/leave"): {"from_date": "2027-01-01", "to_date": "2027-01-02"},
        ("POST", "/api/experts/{code}/relations"): {"org_code": "BID1", "kind": "avoid"},
        ("POST", "/api/experts/{code}/penalties"): {"date": "2026-01-01", "reason": "late"},
        ("POST", "/api/checkin/challenges"): {"id_number": "370102198001010028"},
        ("POST", "/api/checkin/manual"): {"room_code": "MAIN-R1", "expert_code": "E01", "reason": "camera broken"},
    }.get((method, path))
    if (method, path) == ("POST", "/api/projects/{code}/report"):
        return c.post(url, headers=headers, files={"file": ("report.pdf", io.BytesIO(b"%PDF-1.4 report"))})
    if (method, path) in (("POST", "/api/checkin/attempts"), ("POST", "/api/checkin/signoffs")):
        return c.post(url, headers=headers, data={"token": "x", "id_number": "370102198001010028",
                                                  "report_sha256": "0" * 64},
                      files=[("frames", ("f.jpg", io.BytesIO(b"not a jpeg"), "image/jpeg"))] * 6)
    if (method, path) == ("POST", "/api/experts/import"):
        return c.post(url, headers=headers, files={"file": ("pool.csv", io.BytesIO(CSV), "text/csv")})
    return c.request(method, url, headers=headers, json=body)


def _authz_403(r: Any) -> bool:
    return r.status_code == 403 and any(d.get("loc") == ["authorization"] for d in r.json().get("detail", []))


def _denied(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(LedgerEntry)
                          .where(LedgerEntry.kind == "auth.denied")).one())


def test_every_operation_by_every_role(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        heads = {u: bearer(c, u) for u in ROLE}
        admin = heads["admin"]
        draw = c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=admin).json()["id"]
        closure = c.post("/api/closures", json={"site_code": "MAIN", "start": "2026-12-01T08:00:00+08:00",
                                                "end": "2026-12-01T18:00:00+08:00", "reason": "x"},
                         headers=admin).json()["id"]
        op = c.post("/api/experts/import", headers=heads["coord"],
                    files={"file": ("pool.csv", io.BytesIO(CSV), "text/csv")}).json()["id"]
        ids = {"draw": draw, "closure": closure, "operation": op}
        ops = [(m.upper(), p) for p, item in c.get("/openapi.json").json()["paths"].items() if p.startswith("/api/")
               for m in item if (m.upper(), p) != ("POST", "/api/auth/token")]
        undeclared = sorted(set(ops) - set(POLICY))
        assert not undeclared, f"declare the access rule of {undeclared} in POLICY"
        ops = [o for o in ops if o not in LAST] + LAST
        # Refused callers first, so that state changes by allowed ones come after.
        users = ["anonymous", "expert1", "term1", "coord_off", "super_off", "super", "coord_auxa", "coord", "admin"]
        problems: list[str] = []
        for method, path in ops:
            roles, target = POLICY[method, path]
            for user in users:
                before = _denied(engine)
                r = _request(c, method, path, ids, heads.get(user, {}))
                where = f"{user} {method} {path} -> {r.status_code} {r.text[:120]}"
                if r.status_code >= 500:
                    problems.append("5xx: " + where)
                    continue
                role = ROLE.get(user)
                refused = r.status_code == 401 or _authz_403(r) or r.status_code == 404
                must_refuse = True
                if target == "public":  # anyone may try a watch link: an unknown one is a plain 404, never more
                    must_refuse = False
                    ok = r.status_code == 404 and not EXPERT_CODE.search(r.text)
                elif target == "open":  # public facts (the ledger's keys and checkpoint): anyone, no login
                    must_refuse = False
                    ok = r.status_code in (200, 404) and not EXPERT_CODE.search(r.text)
                elif user == "anonymous":
                    ok = r.status_code == 401
                elif role not in roles:
                    ok = _authz_403(r)
                elif user in OUTSIDE and target in ("P1", "P1w", "MAIN") or \
                        user == "coord_auxa" and target in ("P1w", "MAIN") or \
                        user in OUTSIDE | {"coord_auxa"} and target == "centre" or \
                        target == "own" and user not in ("coord", "admin"):
                    ok = refused
                else:
                    must_refuse = False
                    ok = r.status_code != 401 and not _authz_403(r)
                if not ok:
                    problems.append("policy: " + where)
                if must_refuse and ok:
                    if EXPERT_CODE.search(r.text):
                        problems.append("leak: " + where)
                    if _denied(engine) <= before:
                        problems.append("not ledgered: " + where)
        assert not problems, "\n".join(problems)


def test_lists_show_nothing_out_of_scope(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=bearer(c, "admin"))
        for user in OUTSIDE:
            h = bearer(c, user)
            assert c.get("/api/projects", headers=h).json()["total"] == 0
            stats = c.get("/api/stats", params={"from": "2026-11-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"},
                          headers=h)
            assert stats.status_code == 200 and "P1" not in stats.text and not EXPERT_CODE.search(stats.text)
        inside = c.get("/api/projects", headers=bearer(c, "coord_auxa")).json()
        assert [p["code"] for p in inside["items"]] == ["P1"]


def _page_routes() -> list[str]:
    from api import pages

    def walk(router: Any) -> list[tuple[set[str], str]]:
        out: list[tuple[set[str], str]] = []
        for r in router.routes:
            if hasattr(r, "original_router"):
                out += walk(r.original_router)
            elif hasattr(r, "methods"):
                out.append((set(r.methods), r.path))
        return out

    return sorted({p for m, p in walk(pages.router) if "GET" in m and p != "/login"})


# Console pages: the roles that may open each (by GET); "P1" pages must stay hidden from OUTSIDE users.
PAGES: dict[str, set[str]] = {
    "/": STAFF, "/calendar": STAFF, "/projects/{code}": STAFF, "/rooms/day": STAFF, "/stats": STAFF,
    "/sites": STAFF, "/closures": STAFF, "/projects/new": COORD, "/projects/{code}/edit": COORD, "/dayplan": COORD,
    "/experts": COORD, "/sites/new": COORD, "/sites/{code}/edit": COORD, "/users": ADMIN,
    "/terminal": {"terminal"}, "/me": {"expert"}, "/checkin/rooms/{room_code}": STAFF, "/audit": STAFF,
    "/terminal/stream": {"terminal"}, "/wall/projects/{code}": STAFF, "/wall/sites/{code}": STAFF,
    "/recordings": STAFF, "/recordings/{room_code}/{recording_id}": STAFF, "/rooms/{code}/openings": STAFF,
    "/watch/{token}": ALL,  # a public opening's watch page: anyone, no login (here an unknown link: 404)
    "/transparency": ALL,  # the ledger's keys and latest witnessed checkpoint: anyone, no login
}


def test_every_page_by_every_role(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages: anonymous users go to the login, other roles are refused (ledgered), scope holds, nothing sealed shows."""
    with app_client(engine, monkeypatch) as c:
        c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=bearer(c, "admin"))
        routes = _page_routes()
        assert not sorted(set(routes) - set(PAGES)), f"declare the access rule of {sorted(set(routes) - set(PAGES))}"
        problems: list[str] = []
        for user in ["anonymous", *ROLE]:
            c.cookies.clear()
            if user != "anonymous":
                page = c.get("/login")
                token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
                c.post("/login", data={"username": user, "password": "correct-horse-battery", "csrf_token": token})
            for path in routes:
                code = "P1" if "projects" in path else "MAIN-R1" if path.startswith("/rooms/{") else "MAIN"
                url = path.format(code=code, room_code="MAIN-R1", recording_id="none", token="0" * 32)
                before = _denied(engine)
                r = c.get(url, headers={"Accept": "text/html"}, follow_redirects=False)
                where = f"{user} GET {url} -> {r.status_code}"
                role = ROLE.get(user)
                if r.status_code >= 500:
                    problems.append("5xx: " + where)
                elif path == "/watch/{token}":
                    if r.status_code != 404:
                        problems.append("an unknown watch link is not a plain 404: " + where)
                elif path == "/transparency":
                    if r.status_code != 200 or "yidi.local/ledger+" not in r.text:
                        problems.append("the public transparency page is not shown to everyone: " + where)
                elif user == "anonymous":
                    if r.status_code != 303 or "/login" not in r.headers.get("location", ""):
                        problems.append("no login redirect: " + where)
                elif role not in PAGES[path]:
                    if r.status_code != 403 or _denied(engine) <= before:
                        problems.append("role not refused or not ledgered: " + where)
                elif user in OUTSIDE and ("{code}" in path or "{room_code}" in path) or \
                        user == "coord_auxa" and (path.endswith("/edit") or "{room_code}" in path):
                    if r.status_code != 404 or _denied(engine) <= before:
                        problems.append("scope not refused or not ledgered: " + where)
                elif user in OUTSIDE and 'href="/projects/P1"' in r.text:
                    problems.append("P1 shown out of scope: " + where)
                if r.status_code == 200 and path != "/experts" and EXPERT_CODE.search(r.text):
                    problems.append("expert named before the start: " + where)
        assert not problems, "\n".join(problems)
