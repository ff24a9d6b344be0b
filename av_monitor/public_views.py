"""The watch link of a public opening: anonymous WHEP viewing of a bid-opening room (开标直播).

`GET /api/watch/{token}` tells the public what the link shows (title, window, status);
`POST /api/watch/{token}/whep` with an SDP offer (receive only) answers 201, the SDP answer and the
session's resource URL, which DELETE ends. No login and no cookie: the token is the link's secret,
valid from `opening_lead_minutes` before the opening's start to its end, while the room is still a
bid-opening room holding no evaluation (checked on every request and by av_monitor.public's sweep,
which disconnects viewers of a revoked or finished opening). Anonymous viewers forward the
publisher's packets like every viewer and count against `opening_max_viewers`, apart from staff.
Each view adds to the opening's counts (views, peak at once); it is not ledgered one by one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from access.deps import SessionDep
from access.errors import error
from av_monitor import public
from av_monitor.rooms import NotPublishing, OfferError, TooManyViewers, Unavailable
from av_monitor.views import CREATED, ENDED, ERROR_REF, SDP_BODY, created, read_offer
from av_monitor.webrtc import get_hub
from av_monitor.whip_http import ENDPOINT_ALLOW, RESOURCE_ALLOW
from config import clock, db
from openings import service as openings
from openings.models import OpeningFacts

router = APIRouter(prefix="/api/watch", tags=["public openings"])
_REFUSED: dict[int | str, dict[str, Any]] = {403: {"description": "The opening is not on now", "content": ERROR_REF},
            404: {"description": "No opening has this link, or it was revoked", "content": ERROR_REF}}


def _live_room(token: str, session: SessionDep) -> tuple[int, str]:
    """(opening id, room code) while the link may be watched; else 403/404 naming `token`."""
    opening, room = openings.watchable(session, token=token, now=clock.now())
    assert opening.id is not None
    return opening.id, room.code


LiveRoom = Annotated[tuple[int, str], Depends(_live_room)]


@router.get("/{token}", response_model=OpeningFacts, responses={404: _REFUSED[404]})
def watch_facts(token: str, session: SessionDep) -> OpeningFacts:
    """What the link shows: the opening's title, window and status (no login)."""
    return openings.facts(openings.by_token_or_error(session, token=token), now=clock.now())


@router.options("/{token}/whep", include_in_schema=False)
def endpoint_options(token: str) -> Response:
    """What the endpoint accepts."""
    return Response(status_code=204, headers={"Allow": ENDPOINT_ALLOW, "Accept-Post": "application/sdp"})


@router.options("/{token}/whep/{session_id}", include_in_schema=False)
def resource_options(token: str, session_id: str) -> Response:
    """What a session resource accepts."""
    return Response(status_code=204, headers={"Allow": RESOURCE_ALLOW})


def _count(opening_id: int, watching: int) -> None:
    with Session(db.get_engine()) as session:
        openings.count_view(session, opening_id=opening_id, watching=watching)
        session.commit()


Layer = Annotated[Literal["full", "thumb"], Query(description="full: the room's stream; thumb: its low layer")]


@router.post("/{token}/whep", status_code=201, response_class=Response, openapi_extra=SDP_BODY, responses={
    **CREATED, **_REFUSED, 429: {"description": "The opening has the most viewers allowed", "content": ERROR_REF},
    409: {"description": "The room is not publishing (SFU back end only)", "content": ERROR_REF}})
async def watch(token: str, request: Request, live: LiveRoom, layer: Layer = "full") -> Response:
    """Watch the public opening live (WHEP, no login): SDP offer (receive only) in, SDP answer out."""
    opening_id, room_code = live
    hub = get_hub()
    offer = await read_offer(request, hub.settings.webrtc_max_sdp_bytes)
    if isinstance(offer, Response):
        return offer
    try:
        session_id, answer = await hub.view(room_code, offer, actor="public", layer=layer, opening=token)
    except OfferError as exc:
        return error(400, exc.field, str(exc))
    except Unavailable as exc:
        return error(503, "sfu", f"live video is unavailable for a moment ({exc}); try again")
    except TooManyViewers:
        return error(429, "token", f"the opening has the most viewers allowed ({hub.settings.opening_max_viewers}); "
                                   "try again in a while")
    except NotPublishing:
        return error(409, "token", "the opening's camera is not on yet; try again in a moment")
    public.ensure_sweep(hub)
    try:
        await run_in_threadpool(_count, opening_id, hub.state(room_code).public_viewers)
    except BaseException:
        await hub.stop_viewing(room_code, session_id)  # an uncounted view must not go on
        raise
    return created(request, session_id, answer)


@router.delete("/{token}/whep/{session_id}", response_class=Response, responses=ENDED)
async def stop_watching(token: str, session_id: str) -> Response:
    """Stop watching (also after the opening is over)."""
    hub = get_hub()
    found = public.public_sessions(hub).get(session_id)
    # Only the link's own sessions: a public token never ends a staff member's view.
    if found is None or found[1] != token or not await hub.stop_viewing(found[0], session_id):
        raise HTTPException(status_code=404, detail=[{"loc": ["session_id"], "msg": "no such viewing session"}])
    return Response(status_code=200)
