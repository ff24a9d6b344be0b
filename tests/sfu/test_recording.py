"""Recording through the SFU, and kill -9 of the process that makes the segments.

Two service processes (recording_mode "always", 1-second segments) on one database and the real
Janus. A terminal publishes a frame counter and a tone through A. Janus records the publisher; the
process holding the room's lease turns Janus's files into the same fMP4 segments as the embedded
back end, each hashed and ledgered (`av.segment`, video and audio remuxed). That process is killed
(SIGKILL): every segment it ledgered is on disk unaltered and decodes with rising counters, the
console's verify agrees, and once the lease runs out the other process records the room on, in a
new recording, while the publisher never stopped.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx

from sfu.janus_conf import JanusProcess
from tests.av_monitor.crash_support import Service, ledger_payloads, login, prepare_database, publish
from tests.av_monitor.media_support import CounterVideoTrack, ToneAudioTrack, decode_bytes
from tests.av_monitor.test_crash import check_with_recordings_verify, wait_for
from tests.sfu_fixtures import sfu_env

ROOM = "MAIN-R1"


def _decoded_counters(folder: Path, facts: list[dict[str, object]]) -> list[int]:
    init = folder / str(facts[0]["init"])
    whole = decode_bytes(init.read_bytes() + b"".join((folder / str(f["file"])).read_bytes() for f in facts))
    assert whole.audio is not None and whole.audio.size > 0, "the tone is in the recording"
    return [n for _, n, _ in whole.video if n is not None]


def test_janus_records_and_a_kill_of_the_segment_maker_loses_no_ledgered_segment(tmp_path: Path,
                                                                                   janus: JanusProcess) -> None:
    database, recordings = tmp_path / "yidi.db", tmp_path / "recordings"
    prepare_database(database)
    env = sfu_env(janus, YIDI_SFU_RECORDING_LEASE_SECONDS="6")
    services = [Service(database, recordings, tmp_path / f"{n}.log", segment_seconds=1.0, extra_env=env)
                for n in "ab"]
    for s in services:
        s.start()

    async def scenario() -> None:
        a, b = services
        async with httpx.AsyncClient(base_url=a.base, timeout=30) as ca:
            pc, _ = await publish(ca, await login(ca, "term1"), [CounterVideoTrack(), ToneAudioTrack()], ROOM,
                                  video_codec="video/H264")
            try:
                assert await wait_for(lambda: len(ledger_payloads(database, "av.segment")) >= 4, 60), \
                    a.log.read_text()[-2000:] + b.log.read_text()[-2000:]
                facts = ledger_payloads(database, "av.segment")
                assert {f["video"] for f in facts} == {"remux"} and {f.get("audio") for f in facts} == {"remux"}
                holder = next(s for s in services if "started through the SFU" in s.log.read_text())
                other = b if holder is a else a
                assert holder.kill() == -9
                first = {f["recording_id"] for f in facts}
                assert await wait_for(lambda: {f["recording_id"] for f in ledger_payloads(database, "av.segment")}
                                      - first, 40), "the other process did not take the recording over"
                async with httpx.AsyncClient(base_url=other.base, timeout=30) as co:
                    state = (await co.get(f"/api/rooms/{ROOM}/stream", headers=await login(co, "super"))).json()
                assert state["publishing"] and state["recording"] and state["recording_id"] not in first, state
                assert pc.connectionState == "connected", "the publisher never stopped"
            finally:
                await pc.close()

    try:
        asyncio.run(scenario())
    finally:
        for s in services:
            s.stop()
    facts = ledger_payloads(database, "av.segment")
    recording_ids = list(dict.fromkeys(f["recording_id"] for f in facts))
    assert len(recording_ids) == 2
    # Janus's files of the recording that finished are removed; the killed process's stay (the gap's seconds).
    left = {p.name for p in (recordings / ".janus" / ROOM).glob("*.mjr")}
    assert left and all(recording_ids[0] in name for name in left), left
    for recording_id in recording_ids:
        mine = [f for f in facts if f["recording_id"] == recording_id]
        folder = recordings / ROOM / recording_id
        assert [f["index"] for f in mine] == list(range(len(mine)))
        for f in mine:
            assert hashlib.sha256((folder / f["file"]).read_bytes()).hexdigest() == f["sha256"], f["file"]
        counters = _decoded_counters(folder, mine)
        assert len(counters) >= 15 and counters == sorted(counters), recording_id
        check_with_recordings_verify(database, recordings, recording_id, mine)
