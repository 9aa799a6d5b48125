"""One browser's media connection to the relay: its published tracks in, its fixed receiving slots out."""

from __future__ import annotations

import logging
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
    sdp,
)

from conference.layout import Source, kind_of, publishes, slots
from conference.relay.outlet import SenderOutlet, SilentTrack, ice_connection
from conference.relay.relay import Relay
from conference.relay.rtp import ABS_SEND_TIME_URI, MID_URI, HeaderWriter
from conference.relay.slot import Slot
from conference.relay.sockets import QueueWait, read_in_batches
from conference.relay.tap import tap
from scheduler.errors import Conflict, ProtocolError

log = logging.getLogger(__name__)
SOCKET_RECEIVE_BUFFER = 2 * 1024 * 1024  # bytes; ~1 s of a busy publisher and its subscribers' reports
MAX_SDP_CHARS = 48_000  # 160 slots would be ~40 KB; ours has at most 19 m-lines
ESTIMATE_FRESH_SECONDS = 5.0  # browsers send REMB about every second, and at once when it drops


@dataclass(frozen=True)
class LinkSample:
    """One look at a subscriber's link, from the RTCP its browser sent back."""

    rtt_ms: float | None
    loss: float  # fraction of our packets the browser reported lost, worst stream
    sent_kbps: float  # what we send it
    received_kbps: float  # what it publishes to us
    estimate_kbps: float | None = None  # what its browser says it can receive (REMB), if it said so lately


def media_configuration(ice_servers: list[RTCIceServer]) -> RTCConfiguration:
    """iceServers always explicit: left empty, aiortc would reach for a public STUN server. MAX_BUNDLE because
    aiortc's default (BALANCED) leaves a second video m-line on a transport that bundling then abandons."""
    return RTCConfiguration(iceServers=ice_servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


class MediaPeer:
    def __init__(self, relay: Relay, *, connection: str, role: str, ice_servers: list[RTCIceServer]) -> None:
        self.connection = connection
        self.role = role
        self.pc = RTCPeerConnection(media_configuration(ice_servers))
        self.slots: dict[str, Slot] = {}
        self._relay = relay
        self._plan: dict[str, Source | None] = {}
        self._published: list[Source] = []
        self._last_sample: tuple[float, int, int] | None = None
        self._estimate: tuple[float, float] | None = None  # (when, kbit/s): the subscriber's latest REMB
        self._outlets: list[SenderOutlet] = []
        self._queue_wait = QueueWait()  # how long its datagrams wait for the relay: its publications skip when behind

    async def answer(self, offer_sdp: str) -> str:
        """Accept the browser's offer: its tracks in the order of ``publishes(role)``, then ``slots(role)``."""
        if self.pc.remoteDescription is not None:
            raise Conflict("This connection has already negotiated its media")
        if len(offer_sdp) > MAX_SDP_CHARS:
            raise ProtocolError("The offer is too large")
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except (ValueError, KeyError, IndexError) as error:
            log.info("connection %s: unusable offer: %s", self.connection, error)
            raise ProtocolError("The media offer could not be read") from error
        self._take_transceivers()
        await self._add_bundled_candidates(offer_sdp)
        await self.pc.addIceCandidate(None)  # browsers' SDP carries no end-of-candidates
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        self._tune_sockets()
        self.forward(self._plan)
        return self.pc.localDescription.sdp

    def forward(self, plan: Mapping[str, Source | None]) -> None:
        """Switch each slot to the publisher the room chose. Before negotiation the plan waits."""
        self._plan = dict(plan)
        for name, slot in self.slots.items():
            self._relay.subscribe(slot, self._plan.get(name))

    async def sample(self) -> LinkSample:
        report = await self.pc.getStats()
        rtts = [s.roundTripTime for s in report.values() if s.type == "remote-inbound-rtp" and s.roundTripTime]
        # RTCP carries "fraction lost" as 8-bit fixed point (RFC 3550 §6.4.1): 64 means a quarter.
        losses = [s.fractionLost / 256 for s in report.values() if s.type == "remote-inbound-rtp"]
        sent = sum(s.bytesSent for s in report.values() if s.type == "outbound-rtp")
        # aiortc's inbound-rtp stats count packets, not bytes; its transport counts the bytes it received
        received = sum(s.bytesReceived for s in report.values() if s.type == "transport")
        now = time.monotonic()
        sent_kbps = received_kbps = 0.0
        if self._last_sample is not None:
            then, sent_before, received_before = self._last_sample
            elapsed = max(now - then, 1e-3)
            sent_kbps = (sent - sent_before) * 8 / 1000 / elapsed
            received_kbps = (received - received_before) * 8 / 1000 / elapsed
        self._last_sample = (now, sent, received)
        estimate_kbps = None  # unless the browser said lately what it can receive
        if self._estimate is not None and now - self._estimate[0] < ESTIMATE_FRESH_SECONDS:
            estimate_kbps = self._estimate[1]
        return LinkSample(rtt_ms=max(rtts) * 1000 if rtts else None, loss=max(losses, default=0.0),
                          sent_kbps=sent_kbps, received_kbps=received_kbps, estimate_kbps=estimate_kbps)  # fmt: skip

    def _estimated(self, bits_per_second: int) -> None:
        self._estimate = (time.monotonic(), bits_per_second / 1000)

    async def close(self) -> None:
        for outlet in self._outlets:
            self._relay.reports.remove(outlet)
        for slot in self.slots.values():
            self._relay.close_slot(slot)
        for key in self._published:
            self._relay.unpublish(key)
        await self.pc.close()

    async def _add_bundled_candidates(self, offer_sdp: str) -> None:
        """aiortc reads a shared transport's candidates from the *last* m-section only; a bundling browser puts
        them in the first. Hand every m-section's candidates to the one transport."""
        media = sdp.SessionDescription.parse(offer_sdp).media
        primary_mid = self.pc.getTransceivers()[0].mid
        seen = {(c.ip, c.port, c.protocol) for c in media[-1].ice_candidates} if media else set()
        for section in media[:-1]:
            for candidate in section.ice_candidates:
                if (candidate.ip, candidate.port, candidate.protocol) not in seen:
                    seen.add((candidate.ip, candidate.port, candidate.protocol))
                    candidate.sdpMid = primary_mid
                    await self.pc.addIceCandidate(candidate)

    def _tune_sockets(self) -> None:
        """A publisher's packets wait in the kernel while the relay forwards the ones before them to every
        subscriber; the default buffer (~90 packets) overflows during one busy moment (the kernel caps the size at
        net.core.rmem_max). And each socket is read in batches (see sockets.py)."""
        for protocol in ice_connection(self.pc)._protocols:
            transport = protocol.transport
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_RECEIVE_BUFFER)
                read_in_batches(transport, self._queue_wait)

    def _take_transceivers(self) -> None:
        transceivers = self.pc.getTransceivers()
        published, received = publishes(self.role), slots(self.role)
        names = [*published, *received]
        if [t.kind for t in transceivers] != [kind_of(name) for name in names]:
            raise ProtocolError("The media offer must list {tracks}", tracks=", ".join(names))
        for name, transceiver in zip(names, transceivers, strict=True):
            if not transceiver._codecs or transceiver._codecs[0].payloadType is None:
                raise ProtocolError("The media offer has no codec we can forward for {track}", track=name)
            if name in published:
                self._publish(Source(self.connection, name), transceiver)
            else:
                self.slots[name] = self._slot(transceiver)

    def _publish(self, key: Source, transceiver: RTCRtpTransceiver) -> None:
        mime_types = {c.payloadType: c.mimeType for c in transceiver._codecs if c.payloadType is not None}
        codec = transceiver._codecs[0]
        publication = self._relay.publish(key, transceiver.receiver, codec.mimeType, codec.clockRate, self._queue_wait)
        tap(transceiver.receiver, publication.deliver, publication.forward, mime_types)
        self._published.append(key)

    def _slot(self, transceiver: RTCRtpTransceiver) -> Slot:
        """A receiving slot sends through its ``RTCRtpSender``'s stream (SSRC, payload type, extensions)."""
        codec, sender = transceiver._codecs[0], transceiver.sender
        assert codec.payloadType is not None  # checked with the offer
        extensions = {extension.uri: extension.id for extension in transceiver._headerExtensions}
        writer = HeaderWriter(codec.payloadType, sender._ssrc, mid=transceiver.mid or "",
                              mid_id=extensions.get(MID_URI, 0),
                              abs_send_time_id=extensions.get(ABS_SEND_TIME_URI, 0))  # fmt: skip
        outlet = SenderOutlet(sender, self._estimated)
        self._relay.reports.add(outlet)
        self._outlets.append(outlet)
        slot = Slot(transceiver.kind, writer, outlet, mime_type=codec.mimeType,
                    clock_rate=codec.clockRate, want_keyframe=self._relay.request_keyframe,
                    first_sequence_number=secrets.randbits(16))  # fmt: skip
        sender.replaceTrack(SilentTrack(transceiver.kind))
        transceiver.direction = "sendonly"
        # A PLI/FIR from the browser asks our sender for a keyframe it cannot make: pass it to the publisher.
        sender._send_keyframe = slot.request_keyframe  # type: ignore[method-assign]
        return slot
