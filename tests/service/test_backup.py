"""Backup while the service runs, restore on a new data dir: meetings, accounts, attendance and the signing key
come back, and an attendance export signed before the backup still verifies against the restored server."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from scheduler.store import EmbeddedValkey
from tests.conftest import Client, signed_in
from tests.live import free_port, serving
from web.accounts import AccountStore
from web.keys import STORE

GIAOBAN = [sys.executable, "-m", "web"]
REDIS_SERVER = "/usr/bin/redis-server"  # Debian's Redis 7


def giaoban(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GIAOBAN, *args], capture_output=True, text=True, timeout=120)


async def test_a_backup_restores_into_a_new_data_dir(client: Client, held_meeting: dict, valkey: EmbeddedValkey,
                                                      tmp_path: Path) -> None:  # fmt: skip
    await signed_in(client, "secretary")
    meeting_id = held_meeting["id"]
    export = await (await client.get(f"/api/meetings/{meeting_id}/attendance.csv")).read()
    signature = await (await client.get(f"/api/meetings/{meeting_id}/attendance.csv.sig")).read()
    (tmp_path / "attendance.csv").write_bytes(export)
    (tmp_path / "attendance.csv.sig").write_bytes(signature)
    await AccountStore(client.app[STORE].redis).add("vanthu", "secretary", "mật-khẩu-văn-thư", replace=True)
    recordings = tmp_path / "recordings"
    (recordings / meeting_id).mkdir(parents=True)
    (recordings / meeting_id / "program.webm").write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00" * 1000)
    keys_before = await client.app[STORE].redis.dbsize()

    archive = tmp_path / "giaoban.backup"
    made = giaoban("backup", str(archive), "--recordings", "--redis-url", valkey.url, "--data-dir",
                   str(tmp_path / "old"), "--recordings-dir", str(recordings))  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert f"backed up {keys_before} keys and 1 files" in made.stdout
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest["keys"] == keys_before and "recordings/" + meeting_id + "/program.webm" in tar.getnames()

    new = tmp_path / "new"
    restored = giaoban("restore", str(archive), "--data-dir", str(new))  # the embedded store of a new data dir
    assert restored.returncode == 0, restored.stderr
    assert (new / "recordings" / meeting_id / "program.webm").read_bytes()[:4] == b"\x1a\x45\xdf\xa3"
    again = giaoban("restore", str(archive), "--data-dir", str(new))
    assert again.returncode == 1 and "not empty" in again.stderr  # never over a store in use

    verified = giaoban("verify", str(tmp_path / "attendance.csv"), str(tmp_path / "attendance.csv.sig"),
                       "--data-dir", str(new))  # the restored server's own key  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    report_before = await (await client.get(f"/api/meetings/{meeting_id}/attendance")).json()
    with serving(new) as server:
        base = f"http://127.0.0.1:{server.port}"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            account = {"username": "vanthu", "password": "mật-khẩu-văn-thư"}
            async with http.post(f"{base}/api/session", json=account) as response:
                assert response.status == 200  # the account signs in on the restored server
            async with http.get(f"{base}/api/meetings/{meeting_id}/attendance") as response:
                assert await response.json() == report_before  # the meeting and its attendance, as held


def test_a_damaged_or_foreign_archive_is_refused_plainly(tmp_path: Path) -> None:
    (tmp_path / "not.backup").write_bytes(b"hello")
    refused = giaoban("restore", str(tmp_path / "not.backup"), "--data-dir", str(tmp_path / "d"))
    assert refused.returncode == 1 and "is not a giaoban backup" in refused.stderr and "Traceback" not in refused.stderr
    evil = tmp_path / "evil.backup"
    with tarfile.open(evil, "w:gz") as tar:
        for name, data in [("manifest.json", b'{"format": "giaoban-backup/1"}'), ("store.jsonl", b""),
                           ("tls/../../escape.txt", b"x")]:  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    refused = giaoban("restore", str(evil), "--data-dir", str(tmp_path / "d2"))
    assert refused.returncode == 1 and "which a restore does not write" in refused.stderr
    assert not (tmp_path / "escape.txt").exists()


@contextlib.contextmanager
def redis_7(folder: Path) -> Iterator[str]:
    """Debian's Redis 7 on a free port, without persistence, for as long as the block runs; its URL."""
    if shutil.which(REDIS_SERVER) is None:
        pytest.fail(f"{REDIS_SERVER} is missing: install Debian's redis-server (.ci/run does)")
    port = free_port()
    redis = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):
            ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
            if ping.stdout.strip() == "PONG":
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        redis.terminate()
        redis.wait(timeout=10)


async def test_an_archive_of_the_embedded_store_restores_into_redis_7(
    client: Client, held_meeting: dict, valkey: EmbeddedValkey, tmp_path: Path
) -> None:
    """Keys are archived as what they hold, not in Valkey's own DUMP format, so a province can move to Redis."""
    await signed_in(client, "secretary")
    meeting_id = held_meeting["id"]
    report_before = await (await client.get(f"/api/meetings/{meeting_id}/attendance")).json()
    (tmp_path / "a.csv").write_bytes(await (await client.get(f"/api/meetings/{meeting_id}/attendance.csv")).read())
    (tmp_path / "a.sig").write_bytes(await (await client.get(f"/api/meetings/{meeting_id}/attendance.csv.sig")).read())
    archive = tmp_path / "giaoban.backup"
    assert giaoban("backup", str(archive), "--redis-url", valkey.url, "--data-dir", str(tmp_path)).returncode == 0
    with redis_7(tmp_path) as url:
        restored = giaoban("restore", str(archive), "--redis-url", url, "--data-dir", str(tmp_path / "r"))
        assert restored.returncode == 0, restored.stderr
        assert giaoban("verify", str(tmp_path / "a.csv"), str(tmp_path / "a.sig"), "--redis-url", url).returncode == 0
        with serving(tmp_path / "served", "--redis-url", url) as server:
            base = f"http://127.0.0.1:{server.port}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                account = {"username": "secretary1", "password": "secretary-password"}
                async with http.post(f"{base}/api/session", json=account) as response:
                    assert response.status == 200
                async with http.get(f"{base}/api/meetings/{meeting_id}/attendance") as response:
                    assert await response.json() == report_before
