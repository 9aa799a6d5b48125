"""The relay's use of asyncio's UDP transport beyond its public face: its socket, and reading it in batches.

Everything private to asyncio that the relay needs is here, checked at import so a Python that moves it fails loudly.

asyncio's UDP transport reads one datagram each time its socket is ready, and the event loop then serves every
other ready socket before it comes back. A province's relay has 161 sockets; the chair's carries ~165 packets a
second, and each of them costs its fan-out to 160 subscribers. One datagram per round, the chair's socket falls
behind whenever a key frame arrives in a burst, and whatever waits behind the media waits too: the STUN consent
answers (aioice gives each 0.5 s), so after ~25 s of that the chair's connection was declared dead. Read in
batches, the socket is emptied each round, as fast as the relay can forward.

When the relay cannot forward as fast as media comes (a small machine, a busy moment), reading faster does not help:
the queue grows and the consent answers wait behind it all the same. So the reader also notes how long each datagram
waited in the kernel's queue (its receive timestamp, SO_TIMESTAMP), and a publication skips media that waited too
long (relay.py): skipped, a packet costs a decryption instead of its fan-out, and the queue is worked off at once.
"""

from __future__ import annotations

import asyncio
import platform
import socket
import struct
import sys
import time
from typing import Any

READ_BATCH = 64  # datagrams at most per round: a key frame's burst, without starving the other sockets
MAX_DATAGRAM = 65_536  # bytes, a UDP payload's largest. asyncio reads into 256 KiB, a buffer malloc maps and unmaps
# for every datagram: ~28 µs a read here, against ~5 µs for 64 KiB
SO_TIMESTAMP = 29  # Linux's number for it (and SCM_TIMESTAMP's) on x86 and arm; Python's socket module names neither
TIMEVAL = struct.Struct("@ll")  # the kernel's struct timeval: seconds, microseconds
TIMESTAMPS = sys.platform == "linux" and platform.machine() in {"x86_64", "aarch64", "i686", "armv7l"}


class QueueWait:
    """How long the datagrams being handled waited in the kernel's queue before the relay read them: one per
    media connection, set by its reader, read by its publications (0 where the kernel does not say)."""

    def __init__(self) -> None:
        self.seconds = 0.0


def udp_socket(transport: asyncio.BaseTransport) -> socket.socket | None:
    """The socket under asyncio's UDP transport, to write to without asyncio's per-packet checks; None for any
    other transport (a TURN allocation's wraps what it sends)."""
    if not isinstance(transport, _DATAGRAM_TRANSPORT):
        return None
    sock: socket.socket = transport._sock
    return sock


def read_in_batches(transport: asyncio.BaseTransport, wait: QueueWait, batch: int = READ_BATCH) -> None:
    """Make ``transport`` (asyncio's selector UDP transport) read up to ``batch`` datagrams each time it is ready,
    noting in ``wait`` how long they waited."""
    sock = udp_socket(transport)
    if sock is None:
        return  # not asyncio's UDP transport (a TURN relay's, say): leave it as it is
    private: Any = transport
    protocol = private._protocol
    ancillary_size = socket.CMSG_SPACE(TIMEVAL.size) if TIMESTAMPS else 0
    if TIMESTAMPS:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)

    def read_ready() -> None:
        now = time.time()  # the kernel stamps with the wall clock; one reading serves the batch (read in ~0.3 ms)
        for _ in range(batch):
            if private._conn_lost:
                return
            try:
                data, ancillary, _, address = sock.recvmsg(MAX_DATAGRAM, ancillary_size)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                protocol.error_received(error)
                return
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP and len(value) == TIMEVAL.size:
                    seconds, microseconds = TIMEVAL.unpack(value)
                    wait.seconds = now - seconds - microseconds / 1e6
            protocol.datagram_received(data, address)

    private._read_ready = read_ready  # what a later resume_reading() registers (Python >= 3.11.7)
    private._loop._add_reader(private._sock_fd, read_ready)  # replaces the transport's reader now: ours


def stop_reading(transport: asyncio.BaseTransport) -> None:
    """The event loop stops reading the UDP transport's socket: its datagrams wait in the kernel (asyncio's own
    ``pause_reading()`` exists for UDP only from Python 3.11.7: Debian 12 has 3.11.2)."""
    private: Any = transport
    private._loop._remove_reader(private._sock_fd)


def start_reading(transport: asyncio.BaseTransport) -> None:
    """The event loop reads the socket again, with the transport's reader (ours after ``read_in_batches``)."""
    private: Any = transport
    private._loop._add_reader(private._sock_fd, private._read_ready)


_DATAGRAM_TRANSPORT: Any = asyncio.selector_events._SelectorDatagramTransport  # type: ignore[attr-defined]  # compat.py checks it
