"""Node links: a publication of one node's relay that another node's browsers receive crosses between them once.

Each direction between two nodes is one WebRTC connection (DTLS-SRTP, like a browser's: media between machines is
never in the clear) with a fixed set of slots (``conference.layout.link_slots``), negotiated once over the node
bus, like Jitsi's bridge-to-bridge relay or mediasoup's pipe transports:

- the **sending** node answers with a ``MediaPeer`` of role ``link``: its slots are fed from its relay like any
  subscriber's (``LinkOut``), so pause, key frames, sender reports and NACKs work as they do for a browser;
- the **receiving** node offers (``LinkIn``) and publishes what arrives on each slot into its own relay under the
  publication's own key (connection, track): its browsers' slots subscribe to it as if its publisher were here.

Which node has a publication: a browser connected here has its own; at an edge, everything else comes from the
meeting's origin (the star: origin ↔ each edge); at the origin, a browser of an edge publishes there. A relay tells
us what it receives (``Relay.wanted``: that key is brought, e.g. the small picture of a commune on the chair's
grid) and which pictures are planned for browsers whose line picks the size (``Relay.hold``: every size is
brought, so that each line can be given the size it carries without another round trip); what nothing uses is
let go a few seconds later (a floor passed back and forth does not flap the link). Envelopes on the bus, by
``t``: ``link-offer`` and ``link-answer`` (the SDP), ``pull`` and ``drop`` (keys wanted, no longer wanted),
``carry`` (this key now comes on that slot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCIceServer, RTCPeerConnection, RTCRtpReceiver, RTCRtpTransceiver, RTCSessionDescription

from conference.layout import LINK, VIDEO_TRACKS, Source, kind_of, link_slots, video_limits_kbps
from conference.relay.consent import keep_consent_patiently
from conference.relay.outlet import ice_connection
from conference.relay.peer import MediaPeer, media_configuration, tune_sockets
from conference.relay.relay import Publication, Relay
from conference.relay.sockets import QueueWait
from conference.relay.tap import tap
from live.bus import Envelope, NodeBus

log = logging.getLogger(__name__)

LET_GO_SECONDS = 5.0  # a picture nobody here receives any more is kept coming this long (the floor may come back)
SLOT_REST_SECONDS = 2.0  # a slot let go carries nothing for this long before it carries another key
KBPS = {track: max(video_limits_kbps("chair").get(track, 0), video_limits_kbps("participant").get(track, 0))
        for track in VIDEO_TRACKS}  # fmt: skip


def _key(raw: list[str]) -> Source:
    return Source(str(raw[0]), str(raw[1]))


def _picture(key: Source) -> list[Source]:
    """What is brought for a key: every size of a picture, a voice alone."""
    if key.track in VIDEO_TRACKS:
        return [Source(key.connection, track) for track in VIDEO_TRACKS]
    return [key]


class LinkOut:
    """At the sending node: the link's slots, each fed with one key of this relay."""

    def __init__(self, relay: Relay, node: str, ice_servers: list[RTCIceServer]) -> None:
        self.peer = MediaPeer(relay, connection=f"link:{node}", role=LINK, ice_servers=ice_servers)
        self.plan: dict[str, Source | None] = dict.fromkeys(link_slots())
        self._resting: dict[str, float] = {}  # slot → until when it rests

    def carry(self, key: Source) -> str | None:
        """The slot that carries ``key`` (a free one, if it was not carried yet); None when every slot is taken."""
        for name, carried in self.plan.items():
            if carried == key:
                return name
        now = time.monotonic()
        for name, carried in self.plan.items():
            if carried is None and kind_of(name) == kind_of(key.track) and self._resting.get(name, 0) <= now:
                self.plan[name] = key
                self.peer.forward(self.plan)
                return name
        log.warning("node link to %s: no free %s slot for %s", self.peer.connection, kind_of(key.track), key)
        return None

    def packets(self) -> int:
        return sum(slot.forwarded for slot in self.peer.slots.values())

    def bytes(self) -> int:
        return sum(outlet.wire_bytes for outlet in self.peer._outlets.values())

    def rtt_ms(self) -> float | None:
        """From the other node's receiver reports on what we send it."""
        return self.peer.figures().rtt_ms

    def let_go(self, key: Source) -> None:
        for name, carried in self.plan.items():
            if carried == key:
                self.plan[name] = None
                self._resting[name] = time.monotonic() + SLOT_REST_SECONDS
        self.peer.forward(self.plan)


class LinkIn:
    """At the receiving node: a connection whose slots bring keys of another node into this relay."""

    def __init__(self, relay: Relay, ice_servers: list[RTCIceServer]) -> None:
        self._relay = relay
        self.pc = RTCPeerConnection(media_configuration(ice_servers))
        self.queue_wait = QueueWait()
        self.routes: dict[str, Publication] = {}  # slot → the publication it feeds now
        self.packets = 0  # received on every slot
        self.bytes = 0
        self.carried: dict[Source, str] = {}  # key → its slot
        self._transceivers: dict[str, RTCRtpTransceiver] = {}
        for name in link_slots():
            transceiver = self.pc.addTransceiver(kind_of(name), direction="recvonly")
            _prefer_forwardable(transceiver)
            self._transceivers[name] = transceiver

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        keep_consent_patiently(ice_connection(self.pc))  # before the answer starts ICE
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        for name, transceiver in self._transceivers.items():
            self._tap(name, transceiver)
        tune_sockets(self.pc, self.queue_wait)

    def carry(self, name: str, key: Source) -> None:
        """``key`` comes on slot ``name`` from now on: published here as if its browser were connected here."""
        transceiver = self._transceivers[name]
        if self.carried.get(key) == name:
            return
        self.drop(key)
        codec = transceiver._codecs[0] if transceiver._codecs else None
        mime, clock = (codec.mimeType, codec.clockRate) if codec is not None else ("", 90_000)
        publication = self._relay.publish(key, transceiver.receiver, mime, clock, self.queue_wait,
                                          kbps=KBPS.get(key.track, 0))  # fmt: skip
        self.routes[name] = publication
        self.carried[key] = name
        publication.request_keyframe()

    def drop(self, key: Source) -> None:
        name = self.carried.pop(key, None)
        if name is not None:
            self.routes.pop(name, None)
            self._relay.unpublish(key)

    async def close(self) -> None:
        for key in list(self.carried):
            self.drop(key)
        await self.pc.close()

    def _tap(self, name: str, transceiver: RTCRtpTransceiver) -> None:
        mime_types = {c.payloadType: c.mimeType for c in transceiver._codecs if c.payloadType is not None}
        routes = self.routes

        def forward(packet: Any, mime_type: str) -> None:
            self.packets += 1
            self.bytes += len(packet.payload) + 12
            publication = routes.get(name)
            if publication is not None:  # before its carry message, a slot's packets have no key yet
                publication.forward(packet, mime_type)

        def deliver(frame: Any) -> None:
            publication = routes.get(name)
            if publication is not None:
                publication.deliver(frame)

        tap(transceiver.receiver, deliver, forward, mime_types)


def _prefer_forwardable(transceiver: RTCRtpTransceiver) -> None:
    """VP8 (with its retransmissions) and Opus: what browsers publish to the relay, so what a link must carry."""
    wanted = ("video/vp8", "video/rtx") if transceiver.kind == "video" else ("audio/opus",)
    capabilities = RTCRtpReceiver.getCapabilities(transceiver.kind)
    codecs = [c for c in capabilities.codecs if c.mimeType.lower() in wanted] if capabilities else []
    with contextlib.suppress(Exception):
        transceiver.setCodecPreferences(codecs)


@dataclass
class _Wants:
    """At the receiving node: the keys of one other node this relay receives, and since when each is unused."""

    keys: set[Source] = field(default_factory=set)
    idle_since: dict[Source, float] = field(default_factory=dict)


class NodeLinks:
    def __init__(self, relay: Relay, bus: NodeBus, home_of: Callable[[Source], str | None],
                 ice_servers: Callable[[], list[RTCIceServer]] = list) -> None:  # fmt: skip
        """``home_of``: the node a key comes from (None: this one); ``ice_servers``: the service's STUN/TURN servers,
        as its browsers' connections have them: two servers behind NAT (a district's and its province's) meet
        through TURN as a commune does."""
        self._relay = relay
        self._bus = bus
        self._home_of = home_of
        self._ice_servers = ice_servers
        self.outs: dict[str, LinkOut] = {}  # by receiving node
        self.ins: dict[str, LinkIn] = {}  # by sending node
        self._pulled: dict[str, _Wants] = {}  # by sending node
        self._tasks: set[asyncio.Task[None]] = set()

    # --- this relay's wants --------------------------------------------------------------------------------------

    def wanted(self, key: Source, wanted: bool) -> None:
        """From ``Relay.wanted``: something here receives ``key`` now (or nothing does any more: it is let go at a
        heartbeat ``LET_GO_SECONDS`` later if nothing took it again)."""
        if wanted:
            self._pull([key])

    def held(self, key: Source, held: bool) -> None:
        """From ``Relay.hold``: a browser here whose line picks the size is planned on ``key``'s picture: bring every
        size of it (a size not here could not be picked) while it is planned."""
        if held:
            self._pull(_picture(key))

    def _pull(self, keys: list[Source]) -> None:
        node = self._home_of(keys[0])
        if node is None or node == self._bus.node_id:
            return
        pulled = self._pulled.setdefault(node, _Wants())
        for key in keys:
            pulled.idle_since.pop(key, None)
        fresh = [key for key in keys if key not in pulled.keys]
        if fresh:
            pulled.keys.update(fresh)
            self._link_in(node)
            self._bus.send(node, {"t": "pull", "keys": [list(k) for k in fresh]})

    def pulling(self) -> set[str]:
        """The connections elsewhere whose publications this node pulls now."""
        return {key.connection for pulled in self._pulled.values() for key in pulled.keys}

    def let_go_of_unwanted(self) -> None:
        """Every heartbeat: drop what nothing here used for a while. A size is in use while something here
        receives it, or while a browser here that picks its size is planned on its picture."""
        now = time.monotonic()
        for node, pulled in self._pulled.items():
            for key in pulled.keys:
                if self._in_use(key):
                    pulled.idle_since.pop(key, None)
                else:
                    pulled.idle_since.setdefault(key, now)
            stale = [key for key in pulled.keys if now - pulled.idle_since.get(key, now) >= LET_GO_SECONDS]
            if stale:
                for key in stale:
                    pulled.keys.discard(key)
                    pulled.idle_since.pop(key, None)
                    if (link := self.ins.get(node)) is not None:
                        link.drop(key)
                self._bus.send(node, {"t": "drop", "keys": [list(k) for k in stale]})

    def _in_use(self, key: Source) -> bool:
        return self._relay.wanted_here(key) or any(self._relay.held_here(each) for each in _picture(key))

    def _link_in(self, node: str) -> None:
        if node in self.ins:
            return
        link = self.ins[node] = LinkIn(self._relay, self._ice_servers())

        async def negotiate() -> None:
            self._bus.send(node, {"t": "link-offer", "sdp": await link.offer()})

        self._run(negotiate())

    # --- what arrives --------------------------------------------------------------------------------------------

    def delivered(self, sender: str, envelope: Envelope) -> None:
        kind = envelope["t"]
        if kind == "link-offer":
            self._run(self._answer(sender, envelope["sdp"]))
        elif kind == "link-answer" and (link_in := self.ins.get(sender)) is not None:
            self._run(link_in.accept(envelope["sdp"]))
        elif kind == "pull":
            out = self._out_to(sender)
            for raw in envelope["keys"]:
                key = _key(raw)
                if (name := out.carry(key)) is not None:
                    self._bus.send(sender, {"t": "carry", "slot": name, "key": list(key)})
        elif kind == "drop" and (leaving := self.outs.get(sender)) is not None:
            for raw in envelope["keys"]:
                leaving.let_go(_key(raw))
        elif kind == "carry" and (link_in := self.ins.get(sender)) is not None:
            key = _key(envelope["key"])
            if key in self._pulled.get(sender, _Wants()).keys:
                link_in.carry(envelope["slot"], key)

    def _out_to(self, node: str) -> LinkOut:
        """The link to ``node``, made when it is first needed (a pull may come before the link's offer)."""
        if node not in self.outs:
            self.outs[node] = LinkOut(self._relay, node, self._ice_servers())
        return self.outs[node]

    async def _answer(self, node: str, offer_sdp: str) -> None:
        out = self._out_to(node)
        if out.peer.pc.remoteDescription is not None:  # the other node started afresh: so does its link
            plan = out.plan
            await out.peer.close()
            out = self.outs[node] = LinkOut(self._relay, node, self._ice_servers())
            out.plan = plan
        self._bus.send(node, {"t": "link-answer", "sdp": await out.peer.answer(offer_sdp)})

    def forget(self, node: str) -> None:
        """``node`` left the cluster: its links go."""
        self._pulled.pop(node, None)
        if (link_in := self.ins.pop(node, None)) is not None:
            self._run(link_in.close())
        if (out := self.outs.pop(node, None)) is not None:
            self._run(out.peer.close())

    async def close(self) -> None:
        for node in list({*self.ins, *self.outs}):
            self.forget(node)
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _run(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("node link: %s", task.exception(), exc_info=task.exception())

    def publications(self) -> dict[str, int]:
        """Publications crossing now, into this node and out of it."""
        return {"in": sum(len(link.carried) for link in self.ins.values()),
                "out": sum(sum(1 for key in out.plan.values() if key) for out in self.outs.values())}  # fmt: skip

    def packets(self) -> dict[str, int]:
        return {"in": sum(link.packets for link in self.ins.values()),
                "out": sum(out.packets() for out in self.outs.values())}  # fmt: skip

    def bytes(self) -> dict[str, int]:
        """RTP bytes (payload and header; not SRTP's tag, UDP or IP) over node links."""
        return {"in": sum(link.bytes for link in self.ins.values()),
                "out": sum(out.bytes() for out in self.outs.values())}  # fmt: skip

    def round_trips_ms(self) -> dict[str, float]:
        """Each link to another node: its round trip, as that node's receiver reports say."""
        found = {node: out.rtt_ms() for node, out in self.outs.items()}
        return {node: rtt for node, rtt in found.items() if rtt is not None}
