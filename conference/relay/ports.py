"""Media on a range of UDP ports (``GIAOBAN_MEDIA_PORTS``), so that a firewall or docker-compose can open them.

aioice binds each ICE socket to port 0 (any) and has no setting for a range. This process's loop binds the
datagram sockets asked for on port 0 to the next free port of the range instead: the relay's (aioice's) are the
only datagram sockets the service opens. Several workers on one machine share the range: a port another has is
skipped. When the range is full, the bind fails as it would with no free port at all.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
from typing import Any


def use_media_ports(loop: asyncio.AbstractEventLoop, ports: tuple[int, int]) -> None:
    first, last = ports
    create = loop.create_datagram_endpoint
    turn = itertools.count()

    async def create_in_range(factory: Any, local_addr: tuple[str, int] | None = None, **kwargs: Any) -> Any:
        if local_addr is None or local_addr[1] != 0 or kwargs.get("sock") is not None:
            return await create(factory, local_addr=local_addr, **kwargs)
        size = last - first + 1
        start = next(turn) % size  # spread over the range: a port just closed is not reused at once
        for step in range(size):
            port = first + (start + step) % size
            try:
                return await create(factory, local_addr=(local_addr[0], port), **kwargs)
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
        raise OSError(errno.EADDRINUSE, f"no free UDP port in {first}-{last} (GIAOBAN_MEDIA_PORTS)")

    loop.create_datagram_endpoint = create_in_range  # type: ignore[method-assign,assignment]
