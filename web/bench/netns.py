"""A commune's line, made real on this machine: a network namespace behind a veth pair, shaped by the kernel.

The commune's endpoint (an aiortc process, or Chromium) runs inside the namespace; the service stays outside. What
the line carries each way is held to its rate by a token bucket (``tc tbf``: what does not fit is dropped, as on a
shared commune line), and random loss is added by nftables inside the namespace (this kernel has no netem). There is
no kernel way to add delay here. Needs root; everything made is removed on close.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

BURST = "6kb"  # a few packets: a token bucket with a deep burst would hide the rate for a while
UNLIMITED = "10gbit"
LATENCY = "200ms"  # the queue the line holds before it drops, as a shared line's modem does


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


@dataclass
class CommuneLine:
    namespace: str
    near: str  # our end of the veth pair
    far: str  # the commune's end, inside the namespace
    near_address: str  # where the commune reaches the service
    far_address: str

    def exec(self, *command: str) -> list[str]:
        """``command`` run inside the namespace."""
        return ["ip", "netns", "exec", self.namespace, *command]

    def shape(self, kbps: int | None, loss_percent: float = 0.0) -> None:
        """Hold both directions to ``kbps`` (None: as fast as the machine goes) and lose ``loss_percent`` of the
        packets each way at random (the receiver's side: what the line delivers). The bucket is changed in place,
        never removed: removing it would drop what it holds, a loss no line recovering would cause."""
        rate = f"{kbps}kbit" if kbps is not None else UNLIMITED
        for device, inside in ((self.near, False), (self.far, True)):
            prefix = self.exec() if inside else []
            _run(*prefix, "tc", "qdisc", "replace", "dev", device, "root", "tbf", "rate", rate, "burst",
                 BURST if kbps is not None else "1mb", "latency", LATENCY)  # fmt: skip
        subprocess.run(self.exec("nft", "delete", "table", "inet", "line"), capture_output=True)
        if loss_percent > 0:
            per_ten_thousand = round(loss_percent * 100)
            rules = "\n".join(
                f"  chain {hook} {{ type filter hook {hook} priority 0; numgen random mod 10000 < {per_ten_thousand} "
                "drop; }"
                for hook in ("input", "output")
            )
            script = f"table inet line {{\n{rules}\n}}\n"
            subprocess.run(self.exec("nft", "-f", "-"), input=script.encode(), check=True, capture_output=True)


@contextlib.contextmanager
def commune_line(tag: str = "line") -> Iterator[CommuneLine]:
    """A fresh namespace and veth pair on a private /24 of our own, removed afterwards whatever happens."""
    suffix = os.getpid() % 100_000
    namespace, near, far = f"gb-{tag}-{suffix}", f"gb{tag[:3]}{suffix}a", f"gb{tag[:3]}{suffix}b"
    subnet = f"10.{suffix % 200 + 20}.{suffix // 200 % 250}"
    line = CommuneLine(namespace, near, far, f"{subnet}.1", f"{subnet}.2")
    _run("ip", "netns", "add", namespace)
    try:
        _run("ip", "link", "add", near, "type", "veth", "peer", "name", far)
        _run("ip", "link", "set", far, "netns", namespace)
        _run("ip", "addr", "add", f"{line.near_address}/24", "dev", near)
        _run("ip", "link", "set", near, "up")
        _run(*line.exec("ip", "addr", "add", f"{line.far_address}/24", "dev", far))
        _run(*line.exec("ip", "link", "set", far, "up"))
        _run(*line.exec("ip", "link", "set", "lo", "up"))
        yield line
    finally:
        subprocess.run(["ip", "link", "del", near], capture_output=True)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
