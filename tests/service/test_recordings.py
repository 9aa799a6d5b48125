"""Recording through the real service: the record button, the catalogue, downloads with Range, who may do what,
refusing to record on a full disk, retention."""

from __future__ import annotations

import asyncio
import re
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest

from scheduler.recordings.catalogue import Recording, RecordingCatalogue, new_recording_id
from scheduler.recordings.jobs import ProgramJobs
from scheduler.store import EmbeddedValkey, Store
from tests.conftest import Client, signed_in
from tests.live import Server, alive, children_of
from tests.recorded import synthetic_session
from tests.service.conftest import START, LiveMeeting, joined, media_joined, next_of, plan_live_meeting
from web.bench.clips import Clip, audio_clip, video_clip
from web.bench.endpoint import SyntheticEndpoint
from web.keys import ATTENDANCE, CONFIG, RECORDINGS
from web.recordings import delete_expired


@pytest.fixture(scope="module")
def clips() -> dict[str, dict[str, Clip]]:
    return {
        "chair": {"audio": audio_clip(), "video": video_clip(seconds=2, keyframe_every=30),
                  "video-medium": video_clip(width=240, height=180, seconds=2, keyframe_every=30),
                  "video-small": video_clip(width=160, height=120, seconds=2, keyframe_every=30)},
        "commune": {"audio": audio_clip(tone_hz=660), "video": video_clip(seconds=2, keyframe_every=30, shade=0.3)},
    }  # fmt: skip


async def recordings_of(client: Client, meeting_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/meetings/{meeting_id}/recordings")
    assert response.status == 200, await response.text()
    return list((await response.json())["recordings"])


async def program_when_done(client: Client, meeting_id: str, timeout: float = 90) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            found = [r for r in await recordings_of(client, meeting_id) if r["kind"] == "program"]
            if found and found[0]["status"] in ("ready", "failed"):
                return found[0]
            await asyncio.sleep(0.3)


async def test_the_chair_records_and_the_catalogue_offers_tracks_and_program(
    client: Client, live: LiveMeeting, clips: dict[str, dict[str, Clip]]
) -> None:
    endpoints: list[SyntheticEndpoint] = []
    try:
        chair, _ = await media_joined(client, live, "laocai", clips["chair"], endpoints)
        commune, _ = await media_joined(client, live, "sa-pa", clips["commune"], endpoints)
        await chair.send_json({"type": "record", "on": True})
        while not (await next_of(commune, "state"))["recording"]:
            pass
        await asyncio.sleep(2)
        await chair.send_json({"type": "give-floor", "unit": "sa-pa"})
        await asyncio.sleep(2)
        await chair.send_json({"type": "record", "on": False})
        while (await next_of(commune, "state"))["recording"]:
            pass
    finally:
        for endpoint in endpoints:
            await endpoint.close()

    program = await program_when_done(client, live.id)
    assert program["status"] == "ready" and program["bytes"] > 10_000 and program["unit"] == "laocai"
    assert 3 < program["duration_seconds"] < 6
    tracks = {(r["unit"], r["track"]) for r in await recordings_of(client, live.id) if r["kind"] == "track"}
    assert tracks == {("laocai", "audio"), ("laocai", "video"), ("sa-pa", "audio"), ("sa-pa", "video")}
    events = [(e.type, e.unit) for e in await client.app[ATTENDANCE].events(live.id)]
    assert ("recording_started", "laocai") in events and ("recording_stopped", "laocai") in events

    whole = await client.get(program["url"])
    body = await whole.read()
    assert whole.status == 200 and whole.headers["Content-Type"] == "video/mp4" and len(body) == program["bytes"]
    part = await client.get(program["url"], headers={"Range": "bytes=100-1099"})
    assert part.status == 206 and part.headers["Content-Range"] == f"bytes 100-1099/{len(body)}"
    assert await part.read() == body[100:1100]
    saved = Path(client.app[CONFIG].recordings_path / (await client.app[RECORDINGS].get(program["id"])).file)
    with av.open(str(saved)) as container:
        assert container.streams.video[0].codec_context.name == "h264"

    page = await (await client.get(f"/meetings/{live.id}/recordings")).text()
    assert 'data-testid="program-player"' in page and "Lý Thị Hoa" in page  # who had the floor, by name
    # at what time: Vietnam time (08:01 on the meeting's clock; the manifest keeps UTC, 01:01)
    shown = re.search(r'data-testid="floor-timeline">\s*<li>(\d\d:\d\d):\d\d', page)
    assert shown and shown[1] in ("08:01", "08:02"), page


async def test_recording_is_refused_with_a_reason_when_the_disk_is_nearly_full(
    client_with: Any, clips: dict[str, dict[str, Clip]]
) -> None:
    client = await client_with(recording_min_free_mb=10_000_000)  # 10 TB free needed
    live = await plan_live_meeting(client)
    endpoints: list[SyntheticEndpoint] = []
    try:
        chair, _ = await media_joined(client, live, "laocai", clips["chair"], endpoints)
        await chair.send_json({"type": "record", "on": True})
        error = await next_of(chair, "error")
        assert error["code"] == "conflict" and error["request"] == "record"
        assert "10000000 MB" in error["message"] and "ghi hình" in error["message"]  # said in Vietnamese
        await chair.send_json({"type": "lock", "locked": False})  # any change: the next state says not recording
        assert (await next_of(chair, "state"))["recording"] is False
    finally:
        for endpoint in endpoints:
            await endpoint.close()
    assert await recordings_of(client, live.id) == []


async def test_a_meeting_set_to_record_starts_when_the_chair_joins(client: Client) -> None:
    live = await plan_live_meeting(client, auto_record=True)
    commune = await joined(client, live, "sa-pa")
    assert (await next_of(commune, "state"))["recording"] is False  # in the lobby, before the chair
    await joined(client, live, "laocai")
    while not (await next_of(commune, "state"))["recording"]:
        pass


async def add_recording(client: Client, meeting_id: str, *, days_old: int = 0, size: int = 5000) -> Recording:
    """A catalogued file of known bytes (for HTTP and retention; the content is not media)."""
    session = new_recording_id()
    relative = f"{meeting_id}/{session}/laocai-chair-video.webm"
    path = client.app[CONFIG].recordings_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    recording = Recording(new_recording_id(), meeting_id, session, "track", "laocai", "video",
                          START - timedelta(days=days_old), 10.0, size, "ready", relative)  # fmt: skip
    await client.app[RECORDINGS].add(recording)
    return recording


async def test_only_hosts_admins_and_secretaries_reach_recordings(client: Client, live: LiveMeeting) -> None:
    recording = await add_recording(client, live.id)
    file_url = f"/api/recordings/{recording.id}/file"
    await client.delete("/api/session", headers={"X-CSRF-Token": await signed_in(client, "host")})
    assert (await client.get(f"/api/meetings/{live.id}/recordings")).status == 401
    assert (await client.get(file_url)).status == 401

    csrf = await signed_in(client, "secretary")
    assert [r["id"] for r in await recordings_of(client, live.id)] == [recording.id]
    assert (await client.get(file_url)).status == 200
    assert (await client.delete(f"/api/recordings/{recording.id}", headers={"X-CSRF-Token": csrf})).status == 403
    assert (await client.get(f"/api/recordings/{'x' * 24}/file")).status == 404  # not guessable, not found

    csrf = await signed_in(client, "host")
    assert (await client.delete(f"/api/recordings/{recording.id}", headers={"X-CSRF-Token": csrf})).status == 204
    assert (await client.get(file_url)).status == 404
    assert not (client.app[CONFIG].recordings_path / recording.file).exists()
    assert not (client.app[CONFIG].recordings_path / live.id).exists()  # the emptied folders go too


async def test_range_requests_return_the_asked_bytes(client: Client, live: LiveMeeting) -> None:
    recording = await add_recording(client, live.id, size=70_000)
    content = (client.app[CONFIG].recordings_path / recording.file).read_bytes()
    url = f"/api/recordings/{recording.id}/file"
    for asked, start, end in (("bytes=0-0", 0, 0), ("bytes=65530-", 65530, 69_999), ("bytes=-10", 69_990, 69_999)):
        response = await client.get(url, headers={"Range": asked})
        assert response.status == 206, asked
        assert response.headers["Content-Range"] == f"bytes {start}-{end}/70000"
        assert await response.read() == content[start : end + 1]
    assert (await client.get(url, headers={"Range": "bytes=80000-"})).status == 416


async def test_retention_deletes_old_recordings_and_keeps_recent_ones(client: Client, live: LiveMeeting) -> None:
    old = await add_recording(client, live.id, days_old=400)
    recent = await add_recording(client, live.id, days_old=10)
    days = client.app[CONFIG].recording_retention_days
    deleted = await delete_expired(client.app[RECORDINGS], client.app[CONFIG].recordings_path,
                                   START - timedelta(days=days))  # fmt: skip
    assert deleted == 1
    assert [r["id"] for r in await recordings_of(client, live.id)] == [recent.id]
    assert not (client.app[CONFIG].recordings_path / old.file).exists()
    assert (client.app[CONFIG].recordings_path / recent.file).exists()


async def test_a_restart_during_composition_still_yields_the_program(
    store: Store, valkey: EmbeddedValkey, tmp_path: Path
) -> None:
    """The service is killed (SIGKILL) while it composes; the restarted service takes the job again and ends it."""
    recordings = tmp_path / "service" / "recordings"
    manifest = await asyncio.to_thread(synthetic_session, recordings / "m1" / "s1", 60.0)
    catalogue = RecordingCatalogue(store.redis)
    program = Recording(new_recording_id(), "m1", "s1", "program", "laocai", "program", manifest.started_at,
                        60.0, 0, "queued", "m1/s1/program.mp4")  # fmt: skip
    await catalogue.add(program)
    await ProgramJobs(store.redis).enqueue(program.id)
    serve = ("--redis-url", valkey.url)

    first = await asyncio.to_thread(Server, tmp_path / "service", *serve)
    while (await catalogue.get(program.id)).progress < 0.05:
        assert first.process.poll() is None
        await asyncio.sleep(0.1)
    [composer] = children_of(first.process.pid)
    first.stop(signal.SIGKILL)
    async with asyncio.timeout(15):  # the orphaned composer notices and stops by itself
        while alive(composer):
            await asyncio.sleep(0.1)
    assert (await catalogue.get(program.id)).status == "composing"  # nobody is on it now

    second = await asyncio.to_thread(Server, tmp_path / "service", *serve)
    try:
        async with asyncio.timeout(120):  # the dead worker's lease runs out, then the job is done again
            while (done := await catalogue.get(program.id)).status not in ("ready", "failed"):
                await asyncio.sleep(0.3)
    finally:
        second.stop()
    assert done.status == "ready" and done.bytes > 100_000
    with av.open(str(recordings / done.file)) as container:
        assert abs(float(container.duration or 0) / av.time_base - 60) < 1
    assert not list((recordings / "m1" / "s1").glob("*.part"))
