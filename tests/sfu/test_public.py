"""A public bid opening through the SFU: anonymous viewers watch through the link, within their own limit.

The app is served in-process with the SFU back end on the session's Janus. MAIN-R1 is a bid-opening
room with an opening on now; its terminal publishes H.264 through Janus; a viewer without a login
watches through the link's WHEP endpoint and decodes the counter; the next one gets 429, staff still
get in; the revoked link's viewer is disconnected by the sweep, in Janus too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from av_monitor import public, webrtc
from av_monitor.sfu_hub import SfuHub
from config import db
from config.settings import Settings
from openings import service
from openings.models import PublicOpening
from sfu import service as state
from sfu.janus_conf import JanusProcess
from tests.api_support import BEFORE_START
from tests.av_monitor.crash_support import login, publish
from tests.av_monitor.hub_support import counter_at_least, until, watch
from tests.av_monitor.media_support import CounterVideoTrack, ToneAudioTrack
from tests.av_monitor.test_public_openings import _anonymous, _open_now
from tests.e2e.support import serve
from tests.sfu_fixtures import ADMIN_KEY


@pytest.fixture
def hub(janus: JanusProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SfuHub]:
    monkeypatch.setattr(public, "SWEEP_SECONDS", 0.3)
    made = SfuHub(settings=Settings(av_backend="janus", sfu_janus_url=janus.url, sfu_admin_key=ADMIN_KEY,
                                    opening_max_viewers=1, recording_directory=tmp_path / "recordings",
                                    webrtc_record_while_publishing=False))
    monkeypatch.setattr(webrtc, "_hub", made)
    yield made


def test_anonymous_viewers_watch_an_opening_through_janus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          hub: SfuHub) -> None:
    with serve(tmp_path, monkeypatch) as (base, _):
        token = _open_now()

        async def flow() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                term, sup = await login(c, "term1"), await login(c, "super")
                pub, _ = await publish(c, term, [CounterVideoTrack(), ToneAudioTrack()], "MAIN-R1",
                                       video_codec="video/H264")
                first, r1, got = await _anonymous(c, token)
                assert r1.status_code == 201, r1.text
                assert await counter_at_least(got["video"], 10, (320, 240)), "the opening plays through Janus"
                second, r2, _ = await _anonymous(c, token)
                assert r2.status_code == 429, r2.text
                staff, _, _ = await watch(c, sup)  # a crowd never locks supervisors out
                st = (await c.get("/api/rooms/MAIN-R1/stream", headers=sup)).json()
                assert st["viewers"] == 2 and st["public_viewers"] == 1
                with Session(db.get_engine()) as s:
                    opening = s.exec(select(PublicOpening)).one()
                    assert (opening.views, opening.peak_viewers) == (1, 1)
                    service.revoke_opening(s, opening=opening, actor="test", now=BEFORE_START)
                    s.commit()

                async def swept() -> bool:
                    now = (await c.get("/api/rooms/MAIN-R1/stream", headers=sup)).json()
                    return now["public_viewers"] == 0 and now["viewers"] == 1
                assert await until(swept, timeout=10), "the revoked link's viewer is disconnected"
                with Session(db.get_engine()) as s:
                    assert [p.opening for p in state.peers(s, role="viewer")] == [None]
                for pc in (first, second, staff, pub):
                    await pc.close()

        asyncio.run(flow())
