"""At one of the province's nodes: the district servers whose uplinks (``live/uplink.py``) landed here.

For the province's other nodes a district server is one more node of the cluster: this node keeps it registered
(``giaoban:node:<id>``, its load as it reports it, and ``via``: this node), subscribes its inbox for it and writes
what arrives down its socket, and publishes what it sends to the nodes it names, its own id as the sender. Nobody
places a room on it (``live/placement.py``): it has not the meetings' store. When its socket closes it is taken out
of the cluster at once, and the nodes it served with end those connections (``Cluster._check_peers``).

Which district server it is, the node token it opened the link with says (checked in ``web/live.py`` before the
socket is accepted); an envelope it sends names it as the sender, whatever it says.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from live.bus import INBOX, NodeBus
from live.node_tokens import NODE_ID
from live.nodes import HEARTBEAT_SECONDS, NodeLoad, beat, forget, list_nodes, load_of
from live.outbox import Outbox
from scheduler.errors import GiaobanError, MalformedInput
from scheduler.readiness import Check

if TYPE_CHECKING:
    from live.checks import Checks
    from live.meetings import LiveMeetings

log = logging.getLogger(__name__)

MAX_FACT_LENGTH = 500


class Downlinks:
    def __init__(self, redis: Redis, node_id: str, bus: NodeBus, hub: LiveMeetings) -> None:
        self._redis = redis
        self._node_id = node_id
        self._bus = bus
        self._hub = hub
        self._serving: dict[str, web.WebSocketResponse] = {}  # district server → the link that serves it now
        self.checks: Checks | None = None  # set before the cluster starts (web/live.py)

    @property
    def districts(self) -> list[str]:
        return sorted(self._serving)

    async def serve(self, district: str, socket: web.WebSocketResponse) -> None:
        """Until the socket closes."""
        outbox = Outbox()
        self._serving[district] = socket
        facts: dict[str, Any] = {"url": "", "started": time.time()}
        load = NodeLoad()
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(INBOX.format(district))
        await self._beat(district, facts, load)  # listed before it says anything: it may be sent to at once
        log.info("district server %s linked in", district)

        def beats() -> tuple[dict[str, Any], NodeLoad]:
            return facts, load

        helpers = [asyncio.create_task(outbox.write(socket.send_str)),
                   asyncio.create_task(self._forward(pubsub, outbox, socket)),
                   asyncio.create_task(self._heartbeats(district, beats, outbox))]  # fmt: skip
        asking: set[asyncio.Task[None]] = set()  # its questions being answered
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    break
                try:
                    message = json.loads(frame.data)
                    kind = message["t"]
                    if kind == "to" and isinstance(message["e"], dict) and NODE_ID.fullmatch(message["to"]):
                        self._bus.pass_on(message["to"], {**message["e"], "n": district})
                    elif kind in ("admit", "check", "readiness", "code"):
                        answering = asyncio.create_task(self._answer(message, outbox))
                        asking.add(answering)
                        answering.add_done_callback(asking.discard)
                    elif kind == "load":
                        said = message["facts"]
                        facts = {name: str(said.get(name, ""))[:MAX_FACT_LENGTH] for name in ("url", "started")}
                        load = load_of(message["load"])
                except (ValueError, KeyError, TypeError, AttributeError):
                    log.warning("district server %s sent what this version cannot read: %.200s", district, frame.data)
                    break
        finally:
            for helper in (*helpers, *asking):
                helper.cancel()
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            if self._serving.get(district) is socket:  # not replaced by a newer link meanwhile
                del self._serving[district]
                with contextlib.suppress(RedisError, OSError):
                    await forget(self._redis, district)
            log.info("district server %s: its link closed", district)

    async def close(self) -> None:
        """This node stops: each district server is told to link in again (here when it is back, or elsewhere)."""
        for socket in list(self._serving.values()):
            with contextlib.suppress(Exception):
                await socket.close(code=WSCloseCode.SERVICE_RESTART, message=b"restarting")

    async def _beat(self, district: str, facts: dict[str, Any], load: NodeLoad) -> None:
        await beat(self._redis, district, {**facts, "via": self._node_id}, load)

    async def _heartbeats(self, district: str, now: Callable[[], tuple[dict[str, Any], NodeLoad]],
                          outbox: Outbox) -> None:  # fmt: skip
        """Its registration, as long as its link lasts; and the province's nodes, for it to know whom it reaches."""
        while True:
            try:
                await self._beat(district, *now())
                nodes = [node.id for node in await list_nodes(self._redis) if not node.via]
                outbox.put({"t": "nodes", "ids": nodes})
            except (RedisError, OSError):
                log.warning("district server %s: the store is unreachable; its registration waits", district)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _forward(self, pubsub: Any, outbox: Outbox, socket: web.WebSocketResponse) -> None:
        """What the province's nodes publish for it, batch by batch as published. Without the store nothing comes:
        the link closes, and the district server links in again (here or at another node) once it is back."""
        try:
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "message":
                    data = message["data"]
                    outbox.put_text('{"t":"in","e":' + (data if isinstance(data, str) else data.decode()) + "}")
        except (RedisError, OSError):
            log.warning("district server link: the store is unreachable; the link is closed")
            await socket.close()

    async def _answer(self, message: dict[str, Any], outbox: Outbox) -> None:
        """A question of the district server's about a link a commune brought it (live/uplink.py)."""
        query, token = message.get("q"), str(message.get("token", ""))
        try:
            answer = await self._answer_of(message["t"], token, message)
            outbox.put({"t": "answer", "q": query, **answer})
        except GiaobanError as error:
            outbox.put({"t": "refused", "q": query, "code": error.code, "message": error.message,
                        "params": error.params})  # fmt: skip

    async def _answer_of(self, kind: str, token: str, message: dict[str, Any]) -> dict[str, Any]:
        if kind == "code":  # a short code typed at the district server (which counts the wrong ones)
            return {"token": await self._hub.links.token_of_code(str(message.get("code", "")))}
        if kind == "admit":  # a join: checked here, and its room placed
            grant, meeting = await self._hub.admit(token)
            return {"origin": await self._hub.origin_of(meeting.id), "meeting": meeting.id, "role": grant.role}
        assert self.checks is not None, "set before the cluster starts"
        grant, meeting = await self.checks.admit(token)
        if kind == "check":
            return {"unit": grant.unit, "meeting": meeting.id}
        try:  # "readiness": the verdict of a check the district server ran, for the unit of the link
            check = Check.from_json({**message["check"], "unit": grant.unit})
        except (KeyError, TypeError, ValueError):
            raise MalformedInput("The request could not be understood") from None
        await self.checks.save(meeting.id, check)
        return {}
