"""The operation log page: ledger entries in the user's scope with filters, chain verification, evidence link.

Searches and the scope rules are audit.query's; every view is ledgered (`audit.view`, via
"page"), a filter outside the user's scope shows the ledgered 404 page, the verify button is a
POST form checked against the session's CSRF token.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from access.deps import SessionDep
from api.pages.common import bad_csrf, console_user, error_page, fmt_dt, hide, in_range, local_tz, render, safe_next
from audit import query
from audit.views import run_verify

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100
PAYLOAD_CHARS = 240
FLASH = "audit_verify"
SHOWN_PROBLEMS = 5


def _day(value: str | None) -> date | None | str:
    """A YYYY-MM-DD date, None when empty, "bad" when malformed or out of range."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return "bad"
    return day if in_range(day) else "bad"


def _row(entry: query.Row) -> dict[str, Any]:
    text = entry.payload
    # An edited row that is no longer JSON is shown as stored; verification reports it.
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), ensure_ascii=False, separators=(", ", ": "))
    project = entry.subject.removeprefix("project:") if entry.subject.startswith("project:") else None
    return {"seq": entry.seq, "time": fmt_dt(entry.when, "%Y-%m-%d %H:%M:%S") or entry.ts, "actor": entry.actor,
            "kind": entry.kind, "subject": entry.subject, "project": project, "hash": entry.hash,
            "payload": text if len(text) <= PAYLOAD_CHARS else text[:PAYLOAD_CHARS] + "…", "payload_full": text}


@router.get("/audit")
def audit_page(request: Request, session: SessionDep, project: str | None = None, site: str | None = None,
               actor: str | None = None, kind: str | None = None, since: str | None = None,
               until: str | None = None, after: str | None = None) -> Response:
    """The operation log in the user's scope, filtered and paged by seq (ledgered)."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    form = {"project": (project or "").strip(), "site": (site or "").strip(), "actor": (actor or "").strip(),
            "kind": (kind or "").strip(), "since": since or "", "until": until or ""}
    for name, most in (("project", 60), ("site", 60), ("actor", 128), ("kind", 64)):
        if len(form[name]) > most:
            return error_page(request, who, 422, "error.422", field=f"{name} (≤ {most})")
    first, last = _day(since), _day(until)
    if isinstance(first, str):
        return error_page(request, who, 422, "error.422", field="since (YYYY-MM-DD)")
    if isinstance(last, str) or (first and last and last < first):
        return error_page(request, who, 422, "error.422", field="until (YYYY-MM-DD)")
    if after and (not after.isdigit() or len(after) > 18):
        return error_page(request, who, 422, "error.422", field="after")
    tz = local_tz()
    q = query.LedgerQuery(
        project=form["project"] or None, site=form["site"] or None, actor=form["actor"] or None,
        kind=form["kind"] or None, since=datetime.combine(first, time(0), tz) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(0), tz) if last else None,
        after_seq=int(after or 0), limit=PAGE_SIZE)
    try:
        page = query.search(session, who=who, query=q)
    except query.OutOfScope as exc:
        return hide(request, session, who, f"{exc.field}:{exc.value}")
    query.record_view(session, who=who, query=q, via="page")
    session.commit()
    kept = {k: v for k, v in form.items() if v}
    flash = request.session.pop(FLASH, None)
    return render(request, "audit_log.html", {
        "form": form, "rows": [_row(e) for e in page.entries],
        "next_url": "/audit?" + urlencode({**kept, "after": page.next_after_seq}) if page.next_after_seq else None,
        "first_url": "/audit?" + urlencode(kept) if after else None,
        "back": "/audit" + ("?" + urlencode(kept) if kept else ""),
        "evidence_url": f"/api/projects/{quote(form['project'], safe='')}/evidence.zip" if form["project"] else None,
        "verified": flash if isinstance(flash, dict) else None,
    }, who=who)


@router.post("/audit/verify")
def audit_verify(request: Request, session: SessionDep, csrf_token: str | None = Form(default=None),
                 back: str | None = Form(default=None)) -> Response:
    """Verify the whole chain (as `yidi audit verify`), ledgered; the result shows on the log page."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    refused = bad_csrf(request, session, who, csrf_token)
    if refused is not None:
        return refused
    result = run_verify(session, who, None, "page")
    # The session cookie carries the outcome to the page: a few problems only, it must stay small.
    request.session[FLASH] = {"ok": result.ok, "entries": result.entries, "head": result.head,
                              "problems": result.problems[:SHOWN_PROBLEMS], "more": len(result.problems)}
    target = safe_next(back)
    return RedirectResponse(target if target.startswith("/audit") else "/audit", status_code=303)
