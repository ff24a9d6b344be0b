"""Anonymous viewers of public openings: the sweep that ends them when their link stops working.

A public viewer holds its link's token. Every `SWEEP_SECONDS` (only while anonymous viewers are
connected) the hub asks the database, in a worker thread, which of those links still work
(openings.service.live_tokens: not revoked, within the window, the room still a bid-opening room
without an evaluation) and ends the sessions of the others: a revoked link or an opening that is
over stops being watched within seconds, in every process that serves it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from sqlmodel import Session

from av_monitor.sfu_hub import SfuHub
from av_monitor.webrtc import RoomHub
from config import clock, db
from openings import service as openings

logger = logging.getLogger(__name__)
SWEEP_SECONDS = 5.0
_sweeps: weakref.WeakKeyDictionary[RoomHub | SfuHub, asyncio.Task[None]] = weakref.WeakKeyDictionary()


def _live(tokens: set[str]) -> set[str]:
    with Session(db.get_engine()) as session:
        return openings.live_tokens(session, tokens=tokens, now=clock.now())


def public_sessions(hub: RoomHub | SfuHub) -> dict[str, tuple[str, str]]:
    """Anonymous viewer sessions: session id -> (room code, token)."""
    return hub.public_sessions()


async def sweep_once(hub: RoomHub | SfuHub) -> int:
    """End the anonymous sessions whose links no longer work; returns how many ended."""
    sessions = public_sessions(hub)
    if not sessions:
        return 0
    live = await asyncio.to_thread(_live, {token for _, token in sessions.values()})
    ended = 0
    for session_id, (room_code, token) in sessions.items():
        if token not in live and await hub.stop_viewing(room_code, session_id):
            ended += 1
    if ended:
        logger.info("public openings: %d anonymous viewers disconnected (link revoked or opening over)", ended)
    return ended


async def _sweep(hub: RoomHub | SfuHub) -> None:
    while public_sessions(hub):
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await sweep_once(hub)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not stop the sweep; the next pass retries
            logger.exception("public openings: the links could not be checked")


def ensure_sweep(hub: RoomHub | SfuHub) -> None:
    """Run the sweep on the hub's loop while anonymous viewers are connected (call on that loop)."""
    task = _sweeps.get(hub)
    if task is None or task.done():
        _sweeps[hub] = hub.spawn(_sweep(hub))  # the hub's task set: cancelled when the hub closes
