"""A province's server and a district server cascaded under it, as two machines would run them: each on its own
embedded store, the district's with the province's as upstream, both with the cluster secret. The province's has
the demo (its directory, accounts and meetings); the district's has nothing of its own."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.live import Node, Server, run

SECRET = "lao-cai-and-bac-ha-share-this-secret"
DISTRICT_NODE = "district-bac-ha"


@dataclass
class Cascade:
    province: Node
    district: Node
    province_dir: Path


@contextlib.contextmanager
def cascaded(folder: Path, *extra: str) -> Iterator[Cascade]:
    """Both servers, once the district's has linked in; ``extra``: flags for both."""
    province = Server(folder / "province", "--demo", "--node-id", "province", "--cluster-secret", SECRET, *extra)
    district = None
    try:
        district = Server(folder / "district", "--node-id", DISTRICT_NODE, "--cluster-secret", SECRET,
                          "--upstream-url", f"http://127.0.0.1:{province.port}", *extra)  # fmt: skip
        made = Cascade(Node.of(province), Node.of(district), folder / "province")
        deadline = time.monotonic() + 15
        while DISTRICT_NODE not in listed(made.province_dir):
            assert time.monotonic() < deadline, "the district server did not link in within 15 s"
            time.sleep(0.2)
        yield made
    finally:
        for server in (district, province):
            if server is not None and server.process.poll() is None:
                server.stop()


def listed(data_dir: Path) -> str:
    """What ``giaoban nodes`` says of a server's cluster."""
    done = run("nodes", "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    return done.stdout
