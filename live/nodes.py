"""This process as a node of the cluster: an id, a heartbeat with its load, and the other nodes as Redis has them.

Every ``giaoban serve`` process is a node. Nothing elects or manages them: a node is in the cluster while its
heartbeat key lives, and out when it expires (a killed process), or at once when it says goodbye (a clean stop,
or the ``--workers`` parent that saw its worker die).

Keys:

- ``giaoban:nodes`` (sorted set): node id → when its heartbeat runs out (unix seconds), for listing.
- ``giaoban:node:<id>`` (hash, expires with the heartbeat): its address, process id and load (see ``NodeLoad``),
  and for a server of another place linked in over the WAN (a district server, ``live/downlinks.py``) the node it
  is reached through (``via``): such a node carries its own browsers only, never a meeting's room.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

NODES_KEY = "giaoban:nodes"
NODE_KEY = "giaoban:node:{}"
HEARTBEAT_SECONDS = 2.0
NODE_TTL_SECONDS = 8.0  # four missed heartbeats: a node that stops beating is out of the cluster within 10 s


def new_node_id() -> str:
    """Readable in ``giaoban nodes`` and in logs: which machine and which process, and unique across restarts."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class NodeLoad:
    endpoints: int = 0  # signaling connections it serves (edge or origin)
    origin_rooms: int = 0  # meetings whose rules and media it holds
    edge_rooms: int = 0  # meetings it only carries connections of
    relay_cpu: float = 0.0  # share of one core its process used over the last heartbeat
    packets_per_second: float = 0.0  # RTP packets its relay received
    link_publications_in: int = 0  # publications crossing node links into it now
    link_publications_out: int = 0  # and out of it
    link_packets_in: int = 0  # RTP packets over node links since it started
    link_packets_out: int = 0


@dataclass(frozen=True)
class NodeInfo:
    id: str
    url: str
    started: float
    expires: float
    load: NodeLoad
    via: str = ""  # a district server: the node of this cluster whose link reaches it
    pid: int = 0  # its process on its machine (the one its id names)


class NodeRegistry:
    def __init__(self, redis: Redis, node_id: str, url: str) -> None:
        self._redis = redis
        self.id = node_id
        self.url = url
        self.started = time.time()

    async def beat(self, load: NodeLoad) -> None:
        await beat(self._redis, self.id, {"url": self.url, "started": self.started, "pid": os.getpid()}, load)

    async def leave(self) -> None:
        await forget(self._redis, self.id)

    async def alive(self, node_id: str) -> bool:
        return bool(await self._redis.exists(NODE_KEY.format(node_id)))

    async def nodes(self) -> list[NodeInfo]:
        return await list_nodes(self._redis)


async def beat(redis: Redis, node_id: str, facts: dict[str, Any], load: NodeLoad) -> None:
    """One heartbeat of a node: its facts (url, started, via) and its load, alive for ``NODE_TTL_SECONDS``."""
    expires = time.time() + NODE_TTL_SECONDS
    key = NODE_KEY.format(node_id)
    values = {**{k: str(v) for k, v in facts.items()}, **{k: str(v) for k, v in asdict(load).items()}}
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping=values)
        pipe.pexpire(key, int(NODE_TTL_SECONDS * 1000))
        pipe.zadd(NODES_KEY, {node_id: expires})
        pipe.zremrangebyscore(NODES_KEY, "-inf", time.time())  # whoever beats tidies the listing
        await pipe.execute()


async def forget(redis: Redis, node_id: str) -> None:
    """Take a node out now (its process is known to be gone)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(NODE_KEY.format(node_id))
        pipe.zrem(NODES_KEY, node_id)
        await pipe.execute()


async def list_nodes(redis: Redis) -> list[NodeInfo]:
    """The nodes whose heartbeat lives, least loaded first."""
    ids = await redis.zrangebyscore(NODES_KEY, time.time(), "+inf", withscores=True)
    found = []
    for node_id, expires in ids:
        values = await redis.hgetall(NODE_KEY.format(node_id))
        if values:
            found.append(NodeInfo(node_id, values.get("url", ""), float(values.get("started", 0)), expires,
                                  load_of(values), values.get("via", ""), int(values.get("pid", 0) or 0)))  # fmt: skip
    return sorted(found, key=lambda node: (node.load.endpoints, node.id))


def load_of(values: dict[str, Any]) -> NodeLoad:
    def number(name: str) -> float:
        try:
            return float(values.get(name, 0))
        except ValueError:
            return 0.0

    return NodeLoad(endpoints=int(number("endpoints")), origin_rooms=int(number("origin_rooms")),
                    edge_rooms=int(number("edge_rooms")), relay_cpu=number("relay_cpu"),
                    packets_per_second=number("packets_per_second"),
                    link_publications_in=int(number("link_publications_in")),
                    link_publications_out=int(number("link_publications_out")),
                    link_packets_in=int(number("link_packets_in")),
                    link_packets_out=int(number("link_packets_out")))  # fmt: skip
