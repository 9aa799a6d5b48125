"""The store killed under the running service: the mail sender fails, is run again, and delivers what waited.

Real pieces: the store is an embedded Valkey of this test's own, killed with SIGKILL and started again on its
append-only file; mail goes to aiosmtpd on loopback.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from aiosmtpd.controller import Controller

from scheduler.directory.units import parse_units_csv
from scheduler.store import EmbeddedValkey
from tests.conftest import signed_in
from tests.live import free_port
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
            counter = 'giaoban_background_restarts_total{task="mail-sender"}'
            assert float(next(x for x in metrics.splitlines() if x.startswith(counter)).split()[-1]) >= 1
            health = await (await client.get("/healthz")).json()
            assert health["status"] == "ok"
        finally:
            smtp.stop()
            await back.stop()
    finally:
        await own.stop()
