"""The public transparency page (no login): the log's verifier keys and its latest witnessed checkpoint.

Public facts only: the keys, and the checkpoint's size, root, signed note and time-stamp. What an
inspector compares an evidence zip or a witness's mail with, and the key to pin in `yidi verify-evidence`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from access.deps import SessionDep
from api.pages.common import render
from audit import witness

router = APIRouter(include_in_schema=False)


@router.get("/transparency")
def transparency_page(request: Request, session: SessionDep) -> Response:
    """The keys and the latest time-stamped (else the latest) checkpoint, for anyone."""
    return render(request, "transparency.html", {"facts": witness.facts(session)})
