"""The store killed under the running service: the mail sender and the program worker fail, are run again, and
deliver what waited.

Real pieces: the store is an embedded Valkey of this test's own, killed with SIGKILL and started again on its
append-only file; mail goes to aiosmtpd on loopback.
"""

from __future__ import annotations

import asyncio
import os
import signal
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import av
from aiosmtpd.controller import Controller
from redis.asyncio import Redis

from scheduler.directory.units import parse_units_csv
from scheduler.meetings.model import VIETNAM
from scheduler.recordings.catalogue import Recording, RecordingCatalogue, new_recording_id
from scheduler.recordings.jobs import ProgramJobs
from scheduler.store import EmbeddedValkey
from tests.conftest import signed_in
from tests.live import Server, alive, children_of, free_port
from tests.recorded import synthetic_session
from tests.service.test_invitations import DIRECTORY, MEETING, NOW, Inbox
from tests.waiting import until
from web.keys import BACKGROUND, CLOCK, UNITS


async def test_a_killed_store_restarts_the_mail_sender_and_queued_mail_is_delivered(  # type: ignore[no-untyped-def]
    client_with, tmp_path: Path
) -> None:
    own = EmbeddedValkey(tmp_path / "own", appendfsync="always")
    await own.start()
    inbox, smtp_port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    try:
        client = await client_with(redis_url=own.url, smtp_host="127.0.0.1", smtp_port=smtp_port,
                                   smtp_from="giaoban@laocai.example", mail_retry_seconds=1)  # fmt: skip
        client.app[CLOCK].set(NOW)
        await client.app[UNITS].import_units(parse_units_csv(DIRECTORY.encode()))
        csrf = await signed_in(client, "host")
        meeting = await (await client.post("/api/meetings", json=MEETING, headers={"X-CSRF-Token": csrf})).json()
        queued = await client.post(f"/api/meetings/{meeting['id']}/invitations/send", headers={"X-CSRF-Token": csrf})
        assert (await queued.json()) == {"queued": 4}  # the SMTP server is not up yet: the mail waits

        os.kill(own.pid, signal.SIGKILL)  # type: ignore[arg-type]
        await own.stop()  # reaps it, releases its lock
        sender = client.app[BACKGROUND].tasks["mail-sender"]
        await until(lambda: sender.restarts >= 1, timeout=40)  # its next claim meets a dead store
        health = await (await client.get("/healthz")).json()
        assert health["status"] == "unavailable" and health["background"]["mail-sender"]["restarts"] >= 1

        back = EmbeddedValkey(tmp_path / "own", appendfsync="always")
        await back.start()
        try:
            smtp.start()
            await inbox.wait_for(4, seconds=90)  # delivered after the outage: nothing lost
            assert {recipient for recipient, _ in inbox.messages} == {
                "vanphong@laocai.example", "ubnd@bacha.example", "chanh.vanphong@bacha.example",
                "nahoi@bacha.example"}  # fmt: skip
            metrics = await (await client.get("/metrics")).text()
            assert restarts_in(metrics, "mail-sender") >= 1
            health = await (await client.get("/healthz")).json()
            assert health["status"] == "ok"  # and every loop of the service runs again, none left failing
            assert {task["state"] for task in health["background"].values()} == {"running"}, health["background"]
            assert len(health["background"]) == 10  # with the node's heartbeat and its bus reader and writer
        finally:
            smtp.stop()
            await back.stop()
    finally:
        await own.stop()


async def test_a_program_job_finishes_after_the_store_was_killed_under_it(tmp_path: Path) -> None:
    """The worker composing a program loses the store: it fails (and stops its composer), is run again, and once
    the store is back the job is taken again and finished."""
    own = EmbeddedValkey(tmp_path / "own", appendfsync="always")
    await own.start()
    redis = Redis.from_url(own.url, decode_responses=True)
    recordings = tmp_path / "service" / "recordings"
    manifest = await asyncio.to_thread(synthetic_session, recordings / "m1" / "s1", 40.0)
    catalogue = RecordingCatalogue(redis)
    program = Recording(new_recording_id(), "m1", "s1", "program", "laocai", "program", manifest.started_at,
                        40.0, 0, "queued", "m1/s1/program.mp4")  # fmt: skip
    await catalogue.add(program)
    await ProgramJobs(redis).enqueue(program.id)
    server = await asyncio.to_thread(Server, tmp_path / "service", "--redis-url", own.url)
    back = EmbeddedValkey(tmp_path / "own", appendfsync="always")
    try:
        while (await catalogue.get(program.id)).progress < 0.05:
            assert server.process.poll() is None
            await asyncio.sleep(0.1)
        [composer] = children_of(server.process.pid)
        os.kill(own.pid, signal.SIGKILL)  # type: ignore[arg-type]
        await own.stop()
        await redis.aclose()
        await until(lambda: not alive(composer), timeout=30)  # the failed worker stopped its composer
        async with asyncio.timeout(10):  # and was counted as it went back to its supervisor
            while await asyncio.to_thread(restarts, server.port, "program-worker") < 1:
                await asyncio.sleep(0.1)

        await back.start()
        redis = Redis.from_url(back.url, decode_responses=True)
        catalogue = RecordingCatalogue(redis)
        async with asyncio.timeout(180):  # the lease runs out, the job is taken again and composed
            while (done := await catalogue.get(program.id)).status not in ("ready", "failed"):
                await asyncio.sleep(0.3)
        assert done.status == "ready" and done.bytes > 50_000
        with av.open(str(recordings / done.file)) as container:
            assert abs(float(container.duration or 0) / av.time_base - 40) < 1
    finally:
        server.stop()
        await redis.aclose()
        await back.stop()


def restarts(port: int, task: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return restarts_in(response.read().decode(), task)


def restarts_in(metrics: str, task: str) -> float:
    """The restart counter of one background loop, read from /metrics text."""
    counter = f'giaoban_background_restarts_total{{task="{task}"}}'
    return float(next(line for line in metrics.splitlines() if line.startswith(counter)).split()[-1])


async def test_reminders_go_out_after_the_store_was_down_when_they_fell_due(  # type: ignore[no-untyped-def]
    client_with, tmp_path: Path, monkeypatch
) -> None:
    """The reminder scan meets a dead store (and says so), runs on, and queues the reminders once it is back."""
    monkeypatch.setattr("web.lifecycle.REMINDER_SCAN_SECONDS", 0.3)
    own = EmbeddedValkey(tmp_path / "own", appendfsync="always")
    await own.start()
    inbox, smtp_port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    back = EmbeddedValkey(tmp_path / "own", appendfsync="always")
    try:
        client = await client_with(redis_url=own.url, smtp_host="127.0.0.1", smtp_port=smtp_port,
                                   smtp_from="giaoban@laocai.example", mail_retry_seconds=1)  # fmt: skip
        start = datetime.now(VIETNAM).replace(second=0, microsecond=0) + timedelta(minutes=10)
        client.app[CLOCK].set(start - timedelta(days=1))  # the scan sees nothing due yet
        await client.app[UNITS].import_units(parse_units_csv(DIRECTORY.encode()))
        csrf = await signed_in(client, "host")
        body = {**MEETING, "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}  # fmt: skip
        meeting = await (await client.post("/api/meetings", json=body, headers={"X-CSRF-Token": csrf})).json()
        await client.post(f"/api/meetings/{meeting['id']}/invitations/send", headers={"X-CSRF-Token": csrf})
        await inbox.wait_for(4)

        os.kill(own.pid, signal.SIGKILL)  # type: ignore[arg-type]
        await own.stop()
        client.app[CLOCK].set(None)  # now: 10 minutes before the start, the reminders are due
        await asyncio.sleep(2)  # a few scans meet the dead store
        await back.start()
        await inbox.wait_for(8, seconds=60)
        subjects = [message["Subject"] for _, message in inbox.messages[4:]]
        assert len(subjects) == 4 and len(set(subjects)) == 1 and subjects[0] != inbox.messages[0][1]["Subject"]
        assert client.app[BACKGROUND].tasks["reminders"].state == "running"
    finally:
        smtp.stop()
        await back.stop()
        await own.stop()
