"""One browser's media connection to the relay: its published tracks in, its fixed receiving slots out."""

from __future__ import annotations

import logging
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping
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

from conference.allocation import Choice, Want, allocate, next_step, presentation_ladder
from conference.layout import (
    AUDIO_KBPS,
    LINK,
    PRESENTATION,
    SCREEN,
    SCREEN_KEYFRAME_SECONDS,
    SCREEN_KEYFRAMES,
    Source,
    kind_of,
    publishes,
    slots,
    video_limits_kbps,
)
from conference.line_test import LineTest
from conference.link import START_KBPS, LinkEstimator, LinkView
from conference.members import LINK_GOOD, LINK_POOR, LINK_WEAK
from conference.relay.consent import keep_consent_patiently
from conference.relay.outlet import Budget, SenderOutlet, SilentTrack, ice_connection
from conference.relay.relay import Relay
from conference.relay.rtp import ABS_SEND_TIME_URI, MID_URI, HeaderWriter
from conference.relay.slot import Slot
from conference.relay.sockets import QueueWait, read_in_batches
from conference.relay.tap import tap
from scheduler.errors import Conflict, ProtocolError

log = logging.getLogger(__name__)
SOCKET_RECEIVE_BUFFER = 2 * 1024 * 1024  # bytes; ~1 s of a busy publisher and its subscribers' reports
MAX_SDP_CHARS = 48_000  # 160 slots would be ~40 KB; a browser's has at most 20 m-lines
MAX_LINK_SDP_CHARS = 200_000  # a node link's 48 (it comes from a node of the cluster, not a browser)
# A participant's pictures, in the order its line's budget goes to them (after every voice it hears): a
# presentation (what a briefing is about), the chair's, then the floor holder's. The chair's own line is judged,
# and shown, but it always gets what it plans: its console.
ADAPTED_SLOTS = (PRESENTATION, "chair-video", "floor-video")
RETRANSMIT_SHARE = 0.15  # of the line's estimate, at most, for answering NACKs
# A node link is not judged as a line (its slots are not adapted): its retransmissions get a fixed allowance, about
# what a meeting's pictures take between two servers, so a cut link's catching up cannot flood the uplink.
LINK_RETRANSMIT_BYTES_PER_SECOND = 10_000_000 / 8
MIN_PADDING = 300  # bytes owed before a probe packet goes
PAD_WINDOW = 0.5  # seconds over which a probe's rate is kept


@dataclass(frozen=True)
class LinkFigures:
    """What the chair's console shows of a unit's line."""

    rtt_ms: float | None
    loss: float  # fraction lost in the latest reports
    kbps: float  # sent to it and received from it
    estimate_kbps: float  # what the relay believes its line carries
    layer: str | None  # the size of the chair's picture it gets now (None: audio only)


def _nobody(level: str) -> None:
    pass


def _unheard() -> None:
    pass


def tune_sockets(pc: RTCPeerConnection, queue_wait: QueueWait) -> None:
    """A publisher's packets wait in the kernel while the relay forwards the ones before them to every subscriber;
    the default buffer (~90 packets) overflows during one busy moment (the kernel caps the size at
    net.core.rmem_max). And each socket is read in batches (see sockets.py)."""
    for protocol in ice_connection(pc)._protocols:
        transport = protocol.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_RECEIVE_BUFFER)
            read_in_batches(transport, queue_wait)


def media_configuration(ice_servers: list[RTCIceServer]) -> RTCConfiguration:
    """iceServers always explicit: left empty, aiortc would reach for a public STUN server. MAX_BUNDLE because
    aiortc's default (BALANCED) leaves a second video m-line on a transport that bundling then abandons."""
    return RTCConfiguration(iceServers=ice_servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


class MediaPeer:
    def __init__(self, relay: Relay, *, connection: str, role: str, ice_servers: list[RTCIceServer],
                 told: Callable[[str], None] = _nobody, lost: Callable[[], None] = _unheard,
                 start_kbps: float = START_KBPS) -> None:  # fmt: skip
        """``told`` hears when the line's level changes: good (the full picture), weak (a smaller one), poor (audio
        only because of the line); ``lost``, when the media connection ends without our ``close`` (its ICE consent
        ran out, or the other end closed DTLS): a page would otherwise sit in the room without a picture or a voice
        until its own ICE gave up, ~30 s later; ``start_kbps``: what a new line is taken to carry until it shows
        more."""
        self.connection = connection
        self.role = role
        self.pc = RTCPeerConnection(media_configuration(ice_servers))
        self._closing = False
        self._lost = lost
        self.pc.on("connectionstatechange", self._state_changed)
        self.slots: dict[str, Slot] = {}
        self.estimator = LinkEstimator(time.monotonic(), start_kbps)
        # a technical check's (live/checks.py), once its picture flows: it then sets what padding goes, not the
        # estimator's probes
        self.line_test: LineTest | None = None
        self.view: LinkView | None = None
        self.level = LINK_GOOD
        self._choice: Choice | None = None  # what each adapted slot gets now
        self._told = told
        self._relay = relay
        self._plan: dict[str, Source | None] = {}
        self._held: set[Source] = set()  # the pictures its adapted slots are planned on (Relay.hold)
        self._published: list[Source] = []
        self._outlets: dict[str, SenderOutlet] = {}  # by slot
        self._ssrcs: set[int] = set()  # every stream we send it (media and retransmission): its reports about them
        self._budget = Budget(LINK_RETRANSMIT_BYTES_PER_SECOND) if role == LINK else Budget()
        self._recent: deque[tuple[float, int]] = deque()  # (when, bytes sent so far): what a probe pads up to
        self._received: tuple[float, int] = (time.monotonic(), 0)
        self._received_kbps = 0.0
        self._queue_wait = QueueWait()  # how long its datagrams wait for the relay: its publications skip when behind
        self._last_keyframe_asked = 0.0

    async def answer(self, offer_sdp: str) -> str:
        """Accept the browser's offer: its tracks in the order of ``publishes(role)``, then ``slots(role)``."""
        if self.pc.remoteDescription is not None:
            raise Conflict("This connection has already negotiated its media")
        if len(offer_sdp) > (MAX_LINK_SDP_CHARS if self.role == LINK else MAX_SDP_CHARS):
            raise ProtocolError("The offer is too large")
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except (ValueError, KeyError, IndexError) as error:
            log.info("connection %s: unusable offer: %s", self.connection, error)
            raise ProtocolError("The media offer could not be read") from error
        self._take_transceivers()
        keep_consent_patiently(ice_connection(self.pc))  # before setLocalDescription starts ICE
        await self._add_bundled_candidates(offer_sdp)
        await self.pc.addIceCandidate(None)  # browsers' SDP carries no end-of-candidates
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        self._tune_sockets()
        self.forward(self._plan)
        self._relay.links.add(self)
        return self.pc.localDescription.sdp

    def forward(self, plan: Mapping[str, Source | None]) -> None:
        """Switch each slot to the publisher the room chose (a participant's pictures at the size its line carries).
        Before negotiation the plan waits."""
        self._plan = dict(plan)
        self._hold(self._adapted_plan() if not self._closing else set())
        for name, slot in self.slots.items():
            if not self._adapted(name):
                self._relay.subscribe(slot, self._plan.get(name))
        self._choose(time.monotonic())

    def _adapted_plan(self) -> set[Source]:
        planned = self._plan.items()
        return {key for name, key in planned if key is not None and name in self.slots and self._adapted(name)}

    def _hold(self, keys: set[Source]) -> None:
        """The relay keeps every size of these pictures here (one of another node comes over a node link): the
        line picks among the sizes present, so one not brought could never be picked."""
        for key in keys - self._held:
            self._relay.hold(key, True)
        for key in self._held - keys:
            self._relay.hold(key, False)
        self._held = keys

    # --- the line: judged twice a second by the relay's adapter ------------------------------------------------

    @property
    def probing(self) -> bool:
        return self.estimator.probing or (self.line_test is not None and not self.line_test.done)

    def adapt(self, now: float, may_probe: bool) -> None:
        wants, audio = self._wants(now), self._audio_kbps()
        step = next_step(self.estimator.estimate_kbps, audio, wants) if self.role != "chair" else None
        padding = sum(outlet.padding_bytes for outlet in self._outlets.values())
        judged = self.estimator.estimate_kbps, self.estimator.probing
        sent = self.sent_bytes()
        self.view = view = self.estimator.tick(now, sent, step, may_probe, padding)
        if self.line_test is not None:
            self.line_test.sent(now, sent)
        if (view.estimate_kbps, self.estimator.probing) != judged and log.isEnabledFor(logging.DEBUG):
            log.debug("connection %s: estimate %.0f → %.0f kbit/s, probing %s → %s (loss %s, baseline %.3f, remb %s, "
                      "sent %.0f, media %.0f, next step %s) %s", self.connection, judged[0], view.estimate_kbps,
                      judged[1], self.estimator.probing, view.loss, view.baseline_loss, view.remb_kbps, view.sent_kbps,
                      view.media_kbps, step, self.estimator.reports_text())  # fmt: skip
        self._choose(now, wants)
        if self.role != LINK:
            self._budget.set_rate(view.estimate_kbps * 1000 / 8 * RETRANSMIT_SHARE)
        for slot in self.slots.values():
            slot.loss = view.loss or 0.0
            if slot.starving:
                slot.request_keyframe()  # again, every 2 s at most, until the key frame comes
        self._keep_key_frames_coming(now)
        then, before = self._received
        received = self.received_bytes()
        self._received_kbps = (received - before) * 8 / 1000 / (now - then) if now > then else 0.0
        self._received = (now, received)

    def pad(self, now: float) -> None:
        """A probe's padding, on the first picture's retransmission stream that has one: enough to bring what the
        line got over the last half second up to the probe's rate. Media bursts (a key frame) count, so padding
        fills the gaps between them instead of adding to them."""
        if self.line_test is not None:
            target = self.line_test.target_kbps(now)
        else:
            target = self.view.probe_kbps if self.view is not None else None
        sent = self.sent_bytes()
        if self._recent and now - self._recent[-1][0] > 0.1:
            self._recent.clear()  # a probe starts: only what is sent from now on counts
        self._recent.append((now, sent))
        while len(self._recent) > 2 and self._recent[1][0] <= now - PAD_WINDOW:
            self._recent.popleft()
        if target is None:
            return
        then, before = self._recent[0]
        owed = target * 125 * max(now - then, PAD_WINDOW / 2) - (sent - before)  # kbit/s → bytes over the window
        outlet = next((o for o in self._video_outlets() if o.can_pad), None)
        if owed >= MIN_PADDING and outlet is not None:
            outlet.pad(int(owed))
            if outlet.padding_ssrc is not None and outlet.padding_packet_bytes:
                self.estimator.padding_on(outlet.padding_ssrc, outlet.padding_packet_bytes)

    def figures(self) -> LinkFigures:
        view = self.view
        chair_video = self.slots.get("chair-video")
        layer = chair_video.source_key.track if chair_video and chair_video.source_key else None
        sent = view.sent_kbps if view else 0.0
        return LinkFigures(rtt_ms=view.rtt_ms if view else None, loss=(view.loss or 0.0) if view else 0.0,
                           kbps=sent + self._received_kbps, estimate_kbps=self.estimator.estimate_kbps,
                           layer=layer)  # fmt: skip

    def _adapted(self, slot: str) -> bool:
        return self.role != "chair" and slot in ADAPTED_SLOTS

    def _wants(self, now: float) -> list[Want]:
        wants = []
        for name in ADAPTED_SLOTS:
            planned = self._plan.get(name)
            if name in self.slots and planned is not None and self._adapted(name):
                if name == PRESENTATION:
                    ladder = presentation_ladder(self._relay.ladder(planned.connection, now, (SCREEN,)))
                else:
                    ladder = self._relay.ladder(planned.connection, now)
                if ladder:
                    wants.append(Want(name, ladder))
        return wants

    def _audio_kbps(self) -> float:
        return AUDIO_KBPS * sum(1 for name, key in self._plan.items() if key is not None and kind_of(name) == "audio")

    def _choose(self, now: float, wants: list[Want] | None = None) -> None:
        """Each picture at the size the line's estimate affords (or none); the level the page shows follows."""
        if self.role == "chair" or not self.slots:
            return
        wants = self._wants(now) if wants is None else wants
        self._choice = choice = allocate(self.estimator.estimate_kbps, self._audio_kbps(), wants, self._choice)
        for name in ADAPTED_SLOTS:
            slot, planned, track = self.slots.get(name), self._plan.get(name), choice.get(name)
            if slot is not None:
                if name == PRESENTATION:
                    slot.keyframes_only = track == SCREEN_KEYFRAMES
                    track = SCREEN if track else None
                self._relay.subscribe(slot, Source(planned.connection, track) if planned and track else None)
        chair = next((w for w in wants if w.slot == "chair-video"), None)
        if chair is not None:
            track = choice[chair.slot]
            level = LINK_POOR if track is None else LINK_GOOD if track == chair.ladder[-1].track else LINK_WEAK
            if level != self.level and (level == LINK_GOOD or self.estimator.measured):
                self.level = level
                self._told(level)

    def _keep_key_frames_coming(self, now: float) -> None:
        """A key-frames-only presentation shows what changed when the next key frame comes: ask for one now and
        then (rate-limited at the publication, shared by every such line)."""
        slot = self.slots.get(PRESENTATION)
        due = now - self._last_keyframe_asked >= SCREEN_KEYFRAME_SECONDS
        if slot is not None and slot.keyframes_only and slot.source_key is not None and due:
            self._last_keyframe_asked = now
            self._relay.request_keyframe(slot)

    def received_bytes(self) -> int:
        """Everything the relay received of what the browser publishes."""
        return sum(self._relay.bytes_received(key) for key in self._published)

    def sent_bytes(self) -> int:
        """Everything sent to the browser so far: media, retransmissions, padding."""
        return sum(outlet.wire_bytes for outlet in self._outlets.values())

    def _video_outlets(self) -> list[SenderOutlet]:
        """The pictures' outlets, the chair's first: a probe goes where the picture it tests for will go."""
        order = [*ADAPTED_SLOTS, *(name for name in self.slots if name not in ADAPTED_SLOTS)]
        return [self._outlets[name] for name in order if name in self._outlets and kind_of(name) == "video"]

    def _estimated(self, bits_per_second: int) -> None:
        self.estimator.remb(time.monotonic(), bits_per_second / 1000)

    def _reported(self, ssrc: int, highest: int, lost: int, rtt_ms: float | None) -> None:
        if ssrc in self._ssrcs:
            now = time.monotonic()
            self.estimator.report_block(now, ssrc, highest, lost, rtt_ms)
            if self.line_test is not None:
                self.line_test.report_block(now, ssrc, highest, lost, rtt_ms)

    def _state_changed(self) -> None:
        if self.pc.connectionState in ("failed", "closed") and not self._closing:
            self._closing = True
            log.info("connection %s: media connection %s", self.connection, self.pc.connectionState)
            self._lost()

    async def close(self) -> None:
        self._closing = True
        self._hold(set())
        self._relay.links.remove(self)
        for outlet in self._outlets.values():
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
        tune_sockets(self.pc, self._queue_wait)

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
                self.slots[name] = self._slot(name, transceiver)

    def _publish(self, key: Source, transceiver: RTCRtpTransceiver) -> None:
        mime_types = {c.payloadType: c.mimeType for c in transceiver._codecs if c.payloadType is not None}
        codec = transceiver._codecs[0]
        if codec.mimeType.lower() == "audio/opus":
            # In-band FEC: a voice that reaches a lossy line carries each frame's low-rate copy in the next packet,
            # and the encoder adds it as the loss our receiver reports say (the worst of its listeners', adapter.py).
            # No DTX: a chair's pauses must not sound like a cut line.
            codec.parameters.pop("usedtx", None)
            codec.parameters.update({"minptime": 10, "useinbandfec": 1})
        kbps = video_limits_kbps(self.role).get(key.track, 0)
        publication = self._relay.publish(key, transceiver.receiver, codec.mimeType, codec.clockRate, self._queue_wait,
                                          kbps=kbps)  # fmt: skip
        tap(transceiver.receiver, publication.deliver, publication.forward, mime_types)
        self._published.append(key)

    def _slot(self, name: str, transceiver: RTCRtpTransceiver) -> Slot:
        """A receiving slot sends through its ``RTCRtpSender``'s stream (SSRC, payload type, extensions)."""
        codec, sender = transceiver._codecs[0], transceiver.sender
        assert codec.payloadType is not None  # checked with the offer
        extensions = {extension.uri: extension.id for extension in transceiver._headerExtensions}

        def writer(payload_type: int, ssrc: int) -> HeaderWriter:
            return HeaderWriter(payload_type, ssrc, mid=transceiver.mid or "", mid_id=extensions.get(MID_URI, 0),
                                abs_send_time_id=extensions.get(ABS_SEND_TIME_URI, 0))  # fmt: skip

        # probes are padding on the slot's retransmission stream (RTX, RFC 4588), where the browser negotiated one
        rtx_type = next((c.payloadType for c in transceiver._codecs if c.mimeType.lower().endswith("/rtx")
                         and c.parameters.get("apt") == codec.payloadType), None)  # fmt: skip
        rtx = writer(rtx_type, sender._rtx_ssrc) if rtx_type is not None else None
        self._ssrcs.update({sender._ssrc, sender._rtx_ssrc})
        outlet = SenderOutlet(sender, self._estimated, reported=self._reported, resumed=self.estimator.resumed,
                              rtx=rtx, budget=self._budget)  # fmt: skip
        self._relay.reports.add(outlet)
        self._outlets[name] = outlet
        slot = Slot(transceiver.kind, writer(codec.payloadType, sender._ssrc), outlet, mime_type=codec.mimeType,
                    clock_rate=codec.clockRate, want_keyframe=self._relay.request_keyframe,
                    switched=self._relay.switched, first_sequence_number=secrets.randbits(16))  # fmt: skip
        sender.replaceTrack(SilentTrack(transceiver.kind))
        transceiver.direction = "sendonly"
        # A PLI/FIR from the browser asks our sender for a keyframe it cannot make: pass it to the publisher.
        sender._send_keyframe = slot.request_keyframe  # type: ignore[method-assign]
        return slot
