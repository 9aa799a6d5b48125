"""A relay socket is emptied each time it is ready, not read one datagram per round of the event loop, and the
reader knows how long what it read waited."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from conference.relay.sockets import READ_BATCH, TIMESTAMPS, QueueWait, read_in_batches
from tests.waiting import until


class Collecting(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append(data)


async def queued(batched: bool, count: int) -> int:
    """How many of ``count`` waiting datagrams one round of the event loop reads."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(Collecting, local_addr=("127.0.0.1", 0))
    try:
        if batched:
            read_in_batches(transport, QueueWait())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for index in range(count):  # the loop runs nothing meanwhile: they gather, as behind a busy moment
                sender.sendto(index.to_bytes(2, "big"), transport.get_extra_info("sockname"))
        time.sleep(0.05)  # noqa: ASYNC251 - the loop is meant to be held
        for _ in range(3):  # the reader is registered, then called once
            await asyncio.sleep(0)
        assert [int.from_bytes(d, "big") for d in protocol.received] == list(range(len(protocol.received)))
        return len(protocol.received)
    finally:
        transport.close()


async def test_a_ready_socket_is_read_in_batches() -> None:
    assert await queued(batched=False, count=40) <= 2  # asyncio's own: a datagram or two
    assert await queued(batched=True, count=40) == 40  # ours: everything waiting, in order
    assert READ_BATCH <= await queued(batched=True, count=READ_BATCH * 3) < READ_BATCH * 3  # a batch a round


async def test_the_reader_notes_how_long_datagrams_waited_in_the_kernel() -> None:
    if not TIMESTAMPS:
        pytest.skip("the kernel's receive timestamps are read on Linux (x86, arm) only")
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(Collecting, local_addr=("127.0.0.1", 0))
    wait = QueueWait()
    read_in_batches(transport, wait)
    address = transport.get_extra_info("sockname")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"held", address)
            time.sleep(0.4)  # noqa: ASYNC251 - the relay busy elsewhere: its loop runs nothing meanwhile
            await until(lambda: protocol.received == [b"held"])
            assert 0.35 <= wait.seconds < 1.5
            sender.sendto(b"fresh", address)
            await until(lambda: protocol.received[-1] == b"fresh")
            assert wait.seconds < 0.1
    finally:
        transport.close()
