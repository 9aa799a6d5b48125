"""This node among the others: its heartbeat, the meetings it is origin of, and browsers served across nodes.

A browser's WebSocket lands on any node (``--workers`` share one port; a load balancer may spread several
machines). That node is the browser's **edge**: it keeps the socket, applies the connection's limits, reads the
join, and asks ``Placement`` which node is the meeting's **origin**. When that is itself, nothing changes from a
single process. When it is another node, the edge relays the browser's messages to the origin over the node bus
(``live/bus.py``) and the origin's messages back, and the origin serves the connection as if its socket were there
(``RemoteConnection``): the room, its rules and the attendance record are all at the origin. Envelopes, by ``t``:

- edge → origin: ``open`` (connection, address, language, the join; the sender is the edge), ``frame`` (a later
  message), ``gone`` (the socket closed), ``level`` (the line's level, judged by the edge's relay), ``figures``
  (every relayed line's figures, for the chair's console);
- origin → edge: ``send`` (a message on the wire format), ``close`` (with the reason the browser acts on),
  ``forward`` (the room's plan for the browser's slots).

A relayed browser's media goes to its edge: the edge answers its offer, and what its slots receive crosses from
the origin once per edge, however many of the edge's browsers receive it (node links, ``live/links.py``); what it
publishes crosses to the origin only while someone there (or on another edge) receives it.

Failure: every heartbeat each node checks the nodes it relays for. An edge whose origin is gone closes those
browsers with "restarting" (they reconnect, and the join places the room again); an origin whose edge is gone
ends those connections as dropped; a node that finds its lease taken (it was cut off from the store longer than a
lease) hands the room over the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from conference.layout import Source
from conference.relay.peer import MediaPeer
from live.bus import Envelope, NodeBus
from live.downlinks import Downlinks
from live.links import NodeLinks
from live.nodes import HEARTBEAT_SECONDS, NodeLoad, NodeRegistry
from live.placement import Placement
from live.uplink import Uplink
from scheduler.background import Background
from signaling.messages import encode

if TYPE_CHECKING:
    from live.meetings import LiveMeetings

log = logging.getLogger(__name__)

LINK_ENVELOPES = frozenset({"link-offer", "link-answer", "pull", "drop", "carry"})
Frames = asyncio.Queue[str | None]  # a relayed browser's messages at its origin, None when its socket closed
# Serves one relayed browser at the origin until its frames end (signaling/session.py: serve_relayed).
ServeRelayed = Callable[["RemoteConnection", str, str, Frames], Awaitable[None]]


class RemoteConnection:
    """At the origin: a browser whose socket is on another node. The room's ``Peer`` and the session's connection,
    like ``signaling.connection.Connection``; what it sends travels to the edge, which writes the socket."""

    def __init__(self, connection_id: str, edge: str, bus: NodeBus) -> None:
        self.id = connection_id
        self.edge = edge
        self.media: MediaPeer | None = None  # its media is at the edge
        self.figures: dict[str, Any] | None = None  # its line as the edge's relay judges it, for the console
        self.closing: str | None = None
        self.dropped_messages = 0  # counted by the edge, which holds the bounded queue
        self._bus = bus

    def send(self, message: Mapping[str, Any]) -> None:
        if self.closing is None:
            self._bus.send(self.edge, {"t": "send", "c": self.id, "m": encode(message)})

    def forward(self, slots: Mapping[str, Source | None]) -> None:
        plan = {name: list(key) if key else None for name, key in slots.items()}
        self._bus.send(self.edge, {"t": "forward", "c": self.id, "s": plan})

    def close(self, reason: str) -> None:
        if self.closing is None:
            self.closing = reason
            self._bus.send(self.edge, {"t": "close", "c": self.id, "r": reason})

    def attach_media(self, media: MediaPeer) -> None:
        raise AssertionError("a relayed browser's media is answered by its edge")  # session.offer runs there

    async def finish(self) -> None:
        self.close(self.closing or "left")
        if self.media is not None:
            await self.media.close()


@dataclass(frozen=True)
class Upstream:
    """At the edge: where a browser connected here is served, and as what."""

    origin: str
    meeting_id: str
    role: str


class Cluster:
    def __init__(self, redis: Redis, node_id: str, url: str, hub: LiveMeetings, background: Background,
                 serve_relayed: ServeRelayed) -> None:  # fmt: skip
        self.node_id = node_id
        self.registry = NodeRegistry(redis, node_id, url)
        self.placement = Placement(redis, node_id)
        self.bus = NodeBus(redis, node_id, self._delivered)
        self.links = NodeLinks(hub.relay, self.bus, self._home_of, lambda: hub.ice.for_aiortc(time.time(), "node-link"))
        self.downlinks = Downlinks(redis, node_id, self.bus, hub)  # district servers linked in here
        self.uplink: Uplink | None = None  # a district server's, to its province
        self._hub = hub
        self._background = background
        self._serve_relayed = serve_relayed
        self.upstreams: dict[str, Upstream] = {}  # edge side: browser connection → its origin
        self._frames: dict[str, Frames] = {}  # origin side: relayed connection → its messages
        self._sessions: set[asyncio.Task[None]] = set()
        self._homes: dict[str, str] = {}  # edge side: a connection elsewhere → the node its publications come from
        self._plans: dict[str, set[str]] = {}  # edge side: a browser here → the connections elsewhere it is planned
        self._stop = asyncio.Event()
        self._closing = False
        self._cpu = (time.monotonic(), time.process_time(), 0)

    def link_upstream(self, upstream_url: str, secret: str) -> None:
        """A district server: its communes' joins, signaling and media go to its province through one link."""
        facts = {"url": self.registry.url, "started": self.registry.started}
        self.uplink = Uplink(upstream_url, secret, self.node_id, facts, lambda: self.load(update=False),
                             self.bus.delivered)  # fmt: skip
        self.bus.elsewhere = self.uplink

    async def start(self) -> None:
        """Listen, then say we exist: nobody is sent to a node before it can hear."""
        self._reader = self._background.start("node-bus-reader", self.bus.read, stop=self.bus.stop_reading)
        self._writer = self._background.start("node-bus-writer", self.bus.write, stop=self.bus.stop_writing)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.bus.listening.wait(), 5)
        try:
            await self.registry.beat(self.load())
        except (RedisError, OSError):  # the service starts all the same; the heartbeat keeps trying
            log.warning("node %s: the store is unreachable; joining the cluster when it is back", self.node_id)
        self._heartbeat = self._background.start("node-heartbeat", self._heartbeats, stop=self._stop.set)
        if self.uplink is not None:
            self._uplink = self._background.start("uplink", self.uplink.run, stop=self.uplink.stop)

    async def close(self) -> None:
        """After the hub has closed its connections (their goodbyes are queued on the bus): the relayed sessions
        end, the node leaves the cluster and gives its leases back, and the bus stops, the writer last."""
        self._closing = True
        await self._heartbeat.stop()
        await self.downlinks.close()  # closed at shutdown already (web/live.py); a cluster closed alone, here
        if self.uplink is not None:
            await self._uplink.stop()
        for frames in self._frames.values():
            frames.put_nowait(None)
        await asyncio.gather(*list(self._sessions), return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.registry.leave()
            for meeting_id in list(self._hub.rooms):
                await self.placement.release(meeting_id)
        await self.links.close()
        await self._reader.stop()
        await self._writer.stop()

    # --- the edge ------------------------------------------------------------------------------------------------

    async def origin_of(self, meeting_id: str) -> str:
        return await self.placement.origin_of(meeting_id)

    def relay_open(self, connection_id: str, upstream: Upstream, address: str, language: str, join: str) -> None:
        self.upstreams[connection_id] = upstream
        self._to_origin(connection_id, {"t": "open", "a": address, "l": language, "d": join})

    def relay_frame(self, connection_id: str, data: str) -> None:
        self._to_origin(connection_id, {"t": "frame", "d": data})

    def relay_gone(self, connection_id: str) -> None:
        self._to_origin(connection_id, {"t": "gone"})
        self.upstreams.pop(connection_id, None)

    def relay_level(self, connection_id: str, level: str) -> None:
        self._to_origin(connection_id, {"t": "level", "v": level})

    def _to_origin(self, connection_id: str, envelope: Envelope) -> None:
        """About a browser connected here, to the node that serves its meeting (nothing once it is gone)."""
        upstream = self.upstreams.get(connection_id)
        if upstream is not None:
            self.bus.send(upstream.origin, {**envelope, "c": connection_id})

    def _send_figures(self) -> None:
        by_origin: dict[str, dict[str, Any]] = {}
        for connection_id, upstream in self.upstreams.items():
            local = self._hub.local_connection(connection_id)
            if local is not None and local.media is not None:
                by_origin.setdefault(upstream.origin, {})[connection_id] = asdict(local.media.figures())
        for origin, figures in by_origin.items():
            self.bus.send(origin, {"t": "figures", "f": figures})

    def _home_of(self, key: Source) -> str | None:
        """The node a publication comes from: None for one of this node's browsers."""
        connection = self._hub.connections.get(key.connection)
        if isinstance(connection, RemoteConnection):
            return connection.edge
        if connection is not None:
            return None
        return self._homes.get(key.connection)

    # --- what arrives --------------------------------------------------------------------------------------------

    def _delivered(self, envelope: Envelope) -> None:
        kind, connection_id = envelope["t"], envelope.get("c", "")
        if kind in LINK_ENVELOPES:
            self.links.delivered(envelope["n"], envelope)
        elif kind == "forward":
            self._forward(envelope)
        elif kind == "level":
            self._hub.set_level(connection_id, envelope["v"])
        elif kind == "figures":
            for figured, figures in envelope["f"].items():
                if isinstance(remote := self._hub.connections.get(figured), RemoteConnection):
                    remote.figures = figures
        elif kind == "open":
            self._open(envelope)
        elif kind in ("frame", "gone"):
            frames = self._frames.get(connection_id)
            if frames is not None:
                frames.put_nowait(envelope["d"] if kind == "frame" else None)
        elif kind == "send":
            if (local := self._hub.local_connection(connection_id)) is not None:
                local.send_encoded(envelope["m"])
        elif kind == "close" and (local := self._hub.local_connection(connection_id)) is not None:
            local.close(envelope["r"])

    def _forward(self, envelope: Envelope) -> None:
        """At the edge: the room's plan for a browser here. Keys of browsers not here come from the origin."""
        local = self._hub.local_connection(envelope["c"])
        if local is None:
            return
        plan = {name: Source(*raw) if raw else None for name, raw in envelope["s"].items()}
        elsewhere = [key for key in plan.values() if key is not None and key.connection not in self._hub.connections]
        for key in elsewhere:
            self._homes[key.connection] = envelope["n"]
        self._plans[local.id] = {key.connection for key in elsewhere}
        local.forward(plan)  # its media holds what its line picks a size of: the links bring it (NodeLinks.held)

    def _forget_homes(self) -> None:
        """Every heartbeat: forget where the publishers come from that no browser here is planned and no link pulls
        any more (the map would otherwise grow with every floor holder of every meeting the node ever carried)."""
        for gone in [c for c in self._plans if self._hub.local_connection(c) is None]:
            del self._plans[gone]
        kept = set().union(*self._plans.values(), self.links.pulling())
        for connection_id in [c for c in self._homes if c not in kept]:
            del self._homes[connection_id]

    def _open(self, envelope: Envelope) -> None:
        connection_id = envelope["c"]
        if connection_id in self._frames or self._closing:
            return
        connection = RemoteConnection(connection_id, envelope["n"], self.bus)  # the edge: the node that sent it
        frames: Frames = asyncio.Queue()
        frames.put_nowait(envelope["d"])
        self._frames[connection_id] = frames
        self._hub.connections[connection_id] = connection

        async def serve() -> None:
            try:
                await self._serve_relayed(connection, envelope["a"], envelope["l"], frames)
            finally:
                self._frames.pop(connection_id, None)

        task = asyncio.create_task(serve(), name=f"relayed-{connection_id}")
        self._sessions.add(task)
        task.add_done_callback(self._sessions.discard)

    # --- every heartbeat -----------------------------------------------------------------------------------------

    async def _heartbeats(self) -> None:
        while not self._stop.is_set():
            await self.registry.beat(self.load())
            for meeting_id in await self.placement.renew(m for m, room in self._hub.rooms.items() if not room.ended):
                log.warning("meeting %s: another node holds it now; its connections here go there", meeting_id)
                self._hub.hand_over(meeting_id)
            await self._check_peers()
            self.links.let_go_of_unwanted()
            self._forget_homes()
            self._send_figures()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), HEARTBEAT_SECONDS)

    async def _check_peers(self) -> None:
        origins = {upstream.origin for upstream in self.upstreams.values()}
        edges = {c.edge for c in self._hub.connections.values() if isinstance(c, RemoteConnection)}
        for node_id in origins | edges | set(self.links.ins) | set(self.links.outs):
            if await self._alive(node_id):
                continue
            log.warning("node %s is gone: the connections it served with this node are ended", node_id)
            self.links.forget(node_id)
            for connection_id, upstream in list(self.upstreams.items()):
                if upstream.origin == node_id and (local := self._hub.local_connection(connection_id)):
                    local.close("restarting")  # the browser comes back, and its join places the room afresh
            for connection in list(self._hub.connections.values()):
                frames = self._frames.get(connection.id)
                if isinstance(connection, RemoteConnection) and connection.edge == node_id and frames is not None:
                    frames.put_nowait(None)

    async def _alive(self, node_id: str) -> bool:
        if self.uplink is not None and self.uplink.reaches(node_id):  # the province's: not in our store
            return self.uplink.alive(node_id)
        return await self.registry.alive(node_id)

    def load(self, update: bool = True) -> NodeLoad:
        """What the heartbeat tells the others (rates since the last one; ``update=False``: a look that does not
        start a new interval, as a /metrics scrape)."""
        then, cpu_then, packets_then = self._cpu
        now, cpu, packets = time.monotonic(), time.process_time(), self._hub.relay.stats.packets_received
        if update:
            self._cpu = (now, cpu, packets)
        elapsed = max(now - then, 1e-3)
        crossing, packets_crossed = self.links.publications(), self.links.packets()
        return NodeLoad(endpoints=len(self._hub.connections), origin_rooms=len(self._hub.rooms),
                        edge_rooms=len({upstream.meeting_id for upstream in self.upstreams.values()}),
                        relay_cpu=round((cpu - cpu_then) / elapsed, 3),
                        packets_per_second=round((packets - packets_then) / elapsed, 1),
                        link_publications_in=crossing["in"], link_publications_out=crossing["out"],
                        link_packets_in=packets_crossed["in"], link_packets_out=packets_crossed["out"])  # fmt: skip
