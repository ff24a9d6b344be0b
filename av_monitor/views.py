"""HTTP routes of live A/V: WHIP ingest (RFC 9725), WHEP viewing, and a room's stream state.

`POST /api/rooms/{code}/whip` takes the SDP offer of the room's terminal (bearer token, or the
console cookie with X-CSRF-Token) and answers 201 with the SDP answer and the session's resource
URL (`Location`), which DELETE ends. WHEP is the same for viewers (supervisors, coordinators,
admins whose scope covers the room's site; others get a ledgered 404). ICE does not trickle: the
answer holds every candidate, so PATCH on a resource gets 405 with `Allow` (RFC 9725 asks this of
a server without trickle ICE or ICE restarts). OPTIONS answers with `Allow` and `Accept-Post`;
CORS preflights and the ICE server `Link` headers are av_monitor/whip_http.py. Every view is
written to the ledger (`av.view`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, select

from access.deps import SessionDep, Staff, deny_out_of_scope, require
from access.errors import error
from access.service import Principal
from av_monitor import service
from av_monitor.models import StreamState
from av_monitor.rooms import NotPublishing, OfferError, TooManyViewers, Unavailable
from av_monitor.webrtc import get_hub
from av_monitor.whip_http import ENDPOINT_ALLOW, RESOURCE_ALLOW, ice_links
from venues.models import Room

router = APIRouter(prefix="/api", tags=["av_monitor"])
Terminal = Annotated[Principal, Depends(require("terminal"))]

ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
SDP_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/sdp": {"schema": {"type": "string", "description": "The SDP offer."}}}}}
CREATED: dict[int | str, dict[str, Any]] = {
    201: {"description": "The SDP answer; `Location` is the session's resource URL (DELETE ends it).",
          "content": {"application/sdp": {"schema": {"type": "string"}}},
          "headers": {"Location": {"schema": {"type": "string"}, "description": "The session's resource URL."}}},
    413: {"description": "The offer is too large", "content": ERROR_REF},
    415: {"description": "The body is not `application/sdp`", "content": ERROR_REF},
    503: {"description": "The SFU cannot be reached (av_backend=janus)", "content": ERROR_REF},
}
ENDED: dict[int | str, dict[str, Any]] = {200: {"description": "The session has ended."}}


def _not_found(field: str, message: str) -> HTTPException:
    return HTTPException(status_code=404, detail=[{"loc": [field], "msg": message}])


def _room(session: Session, request: Request, who: Principal, code: str, *, publisher: bool) -> Room:
    """The room when the caller may publish to it (its own terminal) or view it (site in scope)."""
    room = session.exec(select(Room).where(Room.code == code)).first()
    if room is None:
        raise _not_found("code", f"no room with code {code!r}")
    allowed = who.room_id == room.id if publisher else who.sees_site(room.site_id)
    if not allowed:
        deny_out_of_scope(session, request, who, f"room:{code}")
        session.commit()
        raise _not_found("code", f"no room with code {code!r}")
    return room


def publisher_room(code: str, request: Request, session: SessionDep, who: Terminal) -> Room:
    """The room of the calling terminal (else a ledgered 404)."""
    return _room(session, request, who, code, publisher=True)


def viewer_room(code: str, request: Request, session: SessionDep, who: Staff) -> Room:
    """A room whose site the calling staff member oversees (else a ledgered 404)."""
    return _room(session, request, who, code, publisher=False)


async def read_offer(request: Request, max_bytes: int) -> str | Response:
    """The request's SDP offer, or the error answer."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/sdp":
        return error(415, "content-type", f"send the SDP offer as application/sdp, not {kind or 'nothing'}")
    too_big = error(413, "body", f"the SDP offer exceeds {max_bytes} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        return too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # read no more than the limit, whatever the client sends
        size += len(chunk)
        if size > max_bytes:
            return too_big
        chunks.append(chunk)
    body = b"".join(chunks)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return error(400, "sdp", "the SDP offer is not UTF-8 text")


def created(request: Request, session_id: str, answer: str) -> Response:
    location = f"{request.url.path}/{session_id}"
    response = Response(content=answer, status_code=201, media_type="application/sdp",
                        headers={"Location": location, "ETag": f'"{session_id}"'})
    for link in ice_links(get_hub().settings):
        response.headers.append("Link", link)
    return response


@router.options("/rooms/{code}/whip", include_in_schema=False)
@router.options("/rooms/{code}/whep", include_in_schema=False)
def endpoint_options(code: str) -> Response:
    """What the endpoint accepts (no authentication: the answer is the same for every room)."""
    return Response(status_code=204, headers={"Allow": ENDPOINT_ALLOW, "Accept-Post": "application/sdp"})


@router.options("/rooms/{code}/whip/{session_id}", include_in_schema=False)
@router.options("/rooms/{code}/whep/{session_id}", include_in_schema=False)
def resource_options(code: str, session_id: str) -> Response:
    """What a session resource accepts."""
    return Response(status_code=204, headers={"Allow": RESOURCE_ALLOW})


# Out of the OpenAPI document like OPTIONS: it is the protocol's "not supported" answer, the same for
# every caller, not an operation anyone can perform.
@router.patch("/rooms/{code}/whip/{session_id}", include_in_schema=False)
@router.patch("/rooms/{code}/whep/{session_id}", include_in_schema=False)
def session_patch(code: str, session_id: str) -> Response:
    """Trickle ICE and ICE restarts are not supported: the answer already holds every candidate (405)."""
    refused = error(405, "method", "ICE candidates do not trickle and ICE does not restart here: the SDP answer "
                                   "holds every candidate; to reconnect, DELETE the session and POST a new offer")
    refused.headers["Allow"] = RESOURCE_ALLOW
    return refused


@router.post("/rooms/{code}/whip", status_code=201, response_class=Response, responses=CREATED,
             openapi_extra=SDP_BODY)
async def whip_publish(code: str, request: Request, room: Annotated[Room, Depends(publisher_room)],
                       who: Terminal) -> Response:
    """Publish the room's camera and microphone (WHIP): SDP offer in, SDP answer out; replaces a publisher."""
    hub = get_hub()
    offer = await read_offer(request, hub.settings.webrtc_max_sdp_bytes)
    if isinstance(offer, Response):
        return offer
    try:
        session_id, answer = await hub.publish(room.code, offer, actor=who.actor)
    except OfferError as exc:
        return error(400, exc.field, str(exc))
    except Unavailable as exc:
        return error(503, "sfu", f"live video is unavailable for a moment ({exc}); try again")
    return created(request, session_id, answer)


@router.delete("/rooms/{code}/whip/{session_id}", response_class=Response, responses=ENDED)
async def whip_stop(session_id: str, room: Annotated[Room, Depends(publisher_room)]) -> Response:
    """Stop publishing (the recording stays open for a reconnect, see webrtc_recording_linger_seconds)."""
    if not await get_hub().unpublish(room.code, session_id):
        raise _not_found("session_id", "no such publishing session in this room")
    return Response(status_code=200)


Layer = Annotated[Literal["full", "thumb"], Query(
    description="full: the room's own stream; thumb: the wall tile's small picture, one encode per room")]


@router.post("/rooms/{code}/whep", status_code=201, response_class=Response, responses={
    **CREATED, 429: {"description": "The room has the most viewers allowed", "content": ERROR_REF},
    409: {"description": "The room is not publishing (SFU back end only)", "content": ERROR_REF}},
    openapi_extra=SDP_BODY)
async def whep_view(code: str, request: Request, session: SessionDep, room: Annotated[Room, Depends(viewer_room)],
                    who: Staff, layer: Layer = "full") -> Response:
    """Watch the room live (WHEP): SDP offer (receive only) in, SDP answer out. The view is ledgered."""
    hub = get_hub()
    offer = await read_offer(request, hub.settings.webrtc_max_sdp_bytes)
    if isinstance(offer, Response):
        return offer
    try:
        session_id, answer = await hub.view(room.code, offer, actor=who.actor, layer=layer)
    except OfferError as exc:
        return error(400, exc.field, str(exc))
    except Unavailable as exc:
        return error(503, "sfu", f"live video is unavailable for a moment ({exc}); try again")
    except TooManyViewers as exc:
        return error(429, "code", str(exc))
    except NotPublishing as exc:
        return error(409, "code", str(exc))

    def log() -> None:
        service.log_view(session, room_code=room.code, actor=who.actor, session_id=session_id)
        session.commit()

    try:
        await run_in_threadpool(log)
    except BaseException:
        await hub.stop_viewing(room.code, session_id)  # an unlogged view must not go on
        raise
    return created(request, session_id, answer)


@router.delete("/rooms/{code}/whep/{session_id}", response_class=Response, responses=ENDED)
async def whep_stop(session_id: str, room: Annotated[Room, Depends(viewer_room)]) -> Response:
    """Stop watching."""
    if not await get_hub().stop_viewing(room.code, session_id):
        raise _not_found("session_id", "no such viewing session in this room")
    return Response(status_code=200)


@router.get("/rooms/{code}/stream", response_model=StreamState)
async def stream_state(room: Annotated[Room, Depends(viewer_room)]) -> StreamState:
    """The room's live stream: publishing, viewers, recording id, last frame, alerts."""
    return get_hub().state(room.code)
