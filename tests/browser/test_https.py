"""HTTPS without a proxy: ``--self-signed`` on a LAN address, trusted by Chromium through the printed fingerprint.

A browser gives the camera only to a secure context. The test gives this machine a LAN-like address (a veth
interface, as root: CI is), shows that a plain ``http://`` page there has no camera, then serves giaoban there with
``--self-signed``: Chromium, told to trust only the public key the service printed, opens the chair's and a
commune's links, and the commune decodes the chair's (fake) camera.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import select
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_live_meeting import CHAIR, NA_HOI, decoding, join, plan_meeting_now
from tests.live import Server, free_port

LAN_ADDRESS = "10.231.77.1"
INTERFACE = "gbtls0"


@contextlib.contextmanager
def lan_address() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.fail("this test gives the machine a LAN address and needs root (CI runs as root)")
    subprocess.run(["ip", "link", "del", INTERFACE], capture_output=True)
    subprocess.run(["ip", "link", "add", INTERFACE, "type", "veth", "peer", "name", INTERFACE + "p"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", f"{LAN_ADDRESS}/32", "dev", INTERFACE], check=True)
        for end in (INTERFACE, INTERFACE + "p"):
            subprocess.run(["ip", "link", "set", end, "up"], check=True)
        yield LAN_ADDRESS
    finally:
        subprocess.run(["ip", "link", "del", INTERFACE], capture_output=True)


@contextlib.contextmanager
def plain_page(address: str) -> Iterator[str]:
    """A plain-HTTP page on the LAN address: what a commune PC gets without HTTPS."""
    server = http.server.ThreadingHTTPServer((address, 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{address}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def printed_public_key(server: Server) -> str:
    """The SPKI fingerprint line ``giaoban serve`` printed for staff to check."""
    assert server.process.stdout is not None
    descriptor = server.process.stdout.fileno()  # read unbuffered: select() cannot see a text stream's buffer
    seen = b""
    while select.select([descriptor], [], [], 20)[0]:
        chunk = os.read(descriptor, 65536)
        if not chunk:
            break
        seen += chunk
        found = re.search(rb"public key \(SPKI SHA-256\): (\S+)\n", seen)
        if found:
            return found.group(1).decode()
    raise AssertionError(f"no public key fingerprint printed: {seen.decode(errors='replace')}")


async def test_a_self_signed_service_on_a_lan_address_gives_communes_their_camera(tmp_path: Path) -> None:
    with lan_address() as address, plain_page(address) as plain:
        port = free_port()
        server = Server(tmp_path, "--demo", "--self-signed", "--host", "0.0.0.0", "--public-url",
                        f"https://{address}:{port}", "--log-level", "WARNING", port=port)  # fmt: skip
        try:
            spki = printed_public_key(server)
            assert (tmp_path / "tls" / "cert.pem").exists()
            async with async_playwright() as playwright:
                trusting = [*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={spki}"]
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=trusting)
                try:
                    page = await browser.new_page()
                    await page.goto(plain)
                    assert await page.evaluate("window.isSecureContext") is False
                    assert await page.evaluate("navigator.mediaDevices === undefined")  # no camera over http
                    await page.close()

                    context = await browser.new_context(ignore_https_errors=True)  # only the host API calls
                    _, links = await plan_meeting_now(context, server)
                    assert links[NA_HOI].startswith(f"https://{address}:{port}/j/")
                    chair = await join(browser, links[CHAIR], "Nguyễn Văn Hải")
                    commune = await join(browser, links[NA_HOI], "Vàng Seo Phủ")
                    assert await commune.evaluate("window.isSecureContext") is True
                    assert await decoding(commune, "chair-video", timeout=20) > 10  # the chair's camera, over HTTPS
                    await chair.close()
                    await commune.close()
                    await context.close()
                finally:
                    await browser.close()
        finally:
            server.stop()


async def test_a_browser_that_was_not_told_the_fingerprint_refuses_the_certificate(tmp_path: Path) -> None:
    port = free_port()
    server = Server(tmp_path, "--self-signed", "--log-level", "WARNING", port=port)
    try:
        printed_public_key(server)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                with pytest.raises(Exception, match="ERR_CERT"):
                    await page.goto(f"https://127.0.0.1:{port}/healthz")
            finally:
                await browser.close()
    finally:
        server.stop()
