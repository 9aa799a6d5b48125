"""A synthetic meeting endpoint built from aiortc: publishes pre-encoded clips, counts what arrives in its slots.

It negotiates exactly as the browser client does (its published tracks first, then the role's receiving slots), so
tests and benchmarks go through the real relay path. Frames received are counted without decoding; a test can ask
for every video frame to be kept and decode them itself. A benchmark's endpoint can count from RTP headers alone
(SRTP leaves them in the clear): a hundred such endpoints fit in one process, which a full aiortc receive path
(decryption, jitter buffer, reports) per endpoint would not allow on a small machine.
"""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription, sdp
from aiortc.codecs.vpx import VpxPayloadDescriptor

from conference.layout import kind_of, publishes, slots
from conference.relay.consent import keep_consent_patiently
from conference.relay.frames import EncodedFrame, vp8_size
from conference.relay.outlet import SilentTrack, ice_connection
from conference.relay.peer import media_configuration
from conference.relay.rtp import is_rtp
from conference.relay.sockets import stop_reading
from conference.relay.tap import tap
from web.bench.clips import Clip, ClipTrack

GATHER_SECONDS = 0.01  # how long a header-counting reader lets datagrams gather in the kernel between reads


class SyntheticEndpoint:
    def __init__(self, role: str, clips: dict[str, Clip], *, keep_video: bool = False, publish: bool = True,
                 count_headers: SocketReader | None = None, timed: bool = False) -> None:  # fmt: skip
        self.role = role
        self.headers: HeaderCounter | None = None
        self._count_headers = count_headers
        self.pc = RTCPeerConnection(media_configuration([]))
        self.tracks: dict[str, ClipTrack] = {}
        self.received: dict[str, int] = defaultdict(int)
        self.keyframes: dict[str, int] = defaultdict(int)
        self.first_keyframe_at: dict[str, float] = {}
        self.keyframe_arrived: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.kept: dict[str, list[EncodedFrame]] = defaultdict(list)
        # ``timed``: when each video frame arrived, and a checksum of its bytes (the same frame through two relays
        # keeps its bytes, while its RTP numbers are each relay's own)
        self.arrived: dict[str, list[tuple[float, int]]] | None = defaultdict(list) if timed else None
        self.sizes: dict[str, tuple[int, int]] = {}  # the picture size of each video slot's latest key frame
        self._keep_video = keep_video
        self._primary_ssrcs: dict[str, int] = {}  # slot → the SSRC the relay sends it on, once connected
        for name in publishes(role):
            transceiver = self.pc.addTransceiver(kind_of(name), direction="sendonly")
            clip = clips.get(name) if publish else None
            if clip is not None:
                track = self.tracks[name] = ClipTrack(clip)
                transceiver.sender.replaceTrack(track)
                transceiver.sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
            else:  # a sender without a track polls every 20 ms; a hundred of them would load the machine
                transceiver.sender.replaceTrack(SilentTrack(kind_of(name)))
        self.whole: dict[str, int] = defaultdict(int)  # video frames whose every packet arrived (retransmitted too)
        self.voice: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # audio slot → [expected, concealed]
        for name in slots(role):
            receiver = self.pc.addTransceiver(kind_of(name), direction="recvonly").receiver
            if kind_of(name) == "video":
                tap(receiver, self._counter(name), WholeFrames(self.whole, self.sizes, name).add, {})
            else:
                tap(receiver, self._counter(name), VoiceLoss(self.voice, name).add, {})

    def set_sending(self, track: str, on: bool) -> None:
        """The relay's ``publish`` message: nobody receives this track any more (or someone does again)."""
        if track in self.tracks:
            self.tracks[track].pause(not on)

    async def connect(self, answer: Callable[[str], Awaitable[str]]) -> None:
        """Offer, let ``answer`` carry the offer to the relay, then apply the relay's answer."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        keep_consent_patiently(ice_connection(self.pc))  # as a browser keeps it: a late answer counts
        answer_sdp = await answer(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        self._route_retransmissions(answer_sdp)
        self._primary_ssrcs = {name: ssrc for ssrc, name in self._slot_ssrcs().items()}

    def _route_retransmissions(self, answer_sdp: str) -> None:
        """aiortc routes a bundled stream it receives by SSRC, else by payload type, never by MID; every slot shares
        the RTX payload type, so the relay's retransmission streams (NACK answers, probes) would be dropped. A
        browser routes them by their SSRC group; give aiortc's router the same table."""
        receivers = {t.mid: t.receiver for t in self.pc.getTransceivers()}
        for media in sdp.SessionDescription.parse(answer_sdp).media:
            receiver = receivers.get(media.rtp.muxId)
            for group in media.ssrc_group:
                if group.semantic == "FID" and len(group.items) == 2 and receiver is not None:
                    receiver.transport._rtp_router.ssrc_table[int(group.items[1])] = receiver

    async def wait_connected(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.pc.connectionState != "connected":
            if time.monotonic() > deadline or self.pc.connectionState in ("failed", "closed"):
                raise TimeoutError(f"media connection {self.pc.connectionState}")
            await asyncio.sleep(0.05)
        if self._count_headers is not None and self.headers is None:
            self.headers = HeaderCounter(self._slot_ssrcs(), self.received)
            self.headers.install(ice_connection(self.pc), self._count_headers)

    def media_packets(self) -> dict[str, int]:
        """RTP packets received on each slot's media stream (not its retransmission stream), from aiortc's count."""
        counts = {}
        for transceiver, name in zip(self.pc.getTransceivers(), self._names(), strict=True):
            streams = transceiver.receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
            primary = self._primary_ssrcs.get(name)
            if name in slots(self.role) and primary in streams:
                counts[name] = streams[primary].packets_received
        return counts

    def loss(self) -> tuple[int, int]:
        """Packets lost and received on the receiving slots so far (only when counting headers)."""
        return self.headers.loss() if self.headers is not None else (0, 0)

    async def close(self) -> None:
        await self.pc.close()

    def _slot_ssrcs(self) -> dict[int, str]:
        """Which SSRC the relay sends each of our slots on, from its answer."""
        by_mid = {t.mid: name for t, name in zip(self.pc.getTransceivers(), self._names(), strict=True)}
        ssrcs = {}
        for media in sdp.SessionDescription.parse(self.pc.remoteDescription.sdp).media:
            name = by_mid.get(media.rtp.muxId)
            if name in slots(self.role) and media.ssrc:
                ssrcs[media.ssrc[0].ssrc] = name
        return ssrcs

    def _names(self) -> list[str]:
        return [*publishes(self.role), *slots(self.role)]

    def _counter(self, name: str) -> Callable[[EncodedFrame], None]:
        def count(frame: EncodedFrame) -> None:
            self.received[name] += 1
            if frame.keyframe and kind_of(name) == "video":
                self.keyframes[name] += 1
                self.first_keyframe_at.setdefault(name, time.monotonic())
                self.keyframe_arrived[name].set()
            if self._keep_video and kind_of(name) == "video":
                self.kept[name].append(frame)
            if self.arrived is not None and kind_of(name) == "video":
                self.arrived[name].append((time.monotonic(), zlib.crc32(frame.data)))

        return count


class VoiceLoss:
    """What a listener's Opus decoder would have to conceal: a lost packet whose next packet came is recovered from
    that packet's in-band FEC copy; in a run of losses, all but the last are concealed."""

    def __init__(self, counts: dict[str, list[int]], name: str) -> None:
        self._counts = counts
        self._name = name
        self._last: int | None = None

    def add(self, packet: Any, mime_type: str = "") -> None:
        counts = self._counts[self._name]
        if self._last is None:
            self._last = packet.sequence_number
            counts[0] += 1
            return
        step = (packet.sequence_number - self._last) & 0xFFFF
        if not 0 < step < 0x8000:
            return  # a late or repeated packet
        self._last = packet.sequence_number
        counts[0] += step
        counts[1] += max(0, step - 2)  # step - 1 lost, the last of them recovered by this packet's FEC


class WholeFrames:
    """Counts a video stream's frames that arrived whole: every packet from the frame's first (VP8's S bit,
    partition 0) to its last (the marker), retransmissions included. What the line and the relay delivered,
    independent of how long aiortc's jitter buffer waits on a hole (a browser asks for a key frame sooner)."""

    def __init__(self, counts: dict[str, int], sizes: dict[str, tuple[int, int]], name: str) -> None:
        self._counts = counts
        self._sizes = sizes  # the picture size, from each key frame's first packet
        self._name = name
        self._frames: dict[int, tuple[set[int], list[int | None]]] = {}  # timestamp → (sequence numbers, [first, last])
        self._done: set[int] = set()

    def add(self, packet: Any, mime_type: str = "") -> None:
        timestamp = packet.timestamp
        if timestamp in self._done or not packet.payload:
            return
        numbers, ends = self._frames.setdefault(timestamp, (set(), [None, None]))
        numbers.add(packet.sequence_number)
        if packet.payload[0] & 0x17 == 0x10:
            ends[0] = packet.sequence_number
            size = vp8_size(VpxPayloadDescriptor.parse(packet.payload)[1])
            if size is not None:
                self._sizes[self._name] = size
        if packet.marker:
            ends[1] = packet.sequence_number
        first, last = ends
        if first is not None and last is not None and len(numbers) == ((last - first) & 0xFFFF) + 1:
            self._counts[self._name] += 1
            self._done.add(timestamp)
            del self._frames[timestamp]
        if len(self._frames) > 300:  # frames that never completed: forget the oldest
            for stale in list(self._frames)[:100]:
                del self._frames[stale]
        if len(self._done) > 600:
            self._done = set(list(self._done)[-300:])


class HeaderCounter:
    """Counts frames (video: packets that end a frame; audio: packets) and losses from clear-text RTP headers, at the
    socket, before any decryption. RTCP, DTLS and STUN go on to aiortc as before."""

    def __init__(self, names: dict[int, str], frames: dict[str, int]) -> None:
        self._names = names
        self._frames = frames
        self._streams: dict[int, list[int]] = {}  # ssrc -> [first, highest (extended), received]

    def install(self, connection: Any, reader: SocketReader) -> None:
        """On every socket of the ICE connection: the relay may send on any pair it has nominated."""
        for protocol in connection._protocols:
            reader.add(protocol, self)

    def count(self, data: bytes) -> None:
        ssrc = int.from_bytes(data[8:12], "big")
        name = self._names.get(ssrc)
        if name is None:
            return
        sequence_number = int.from_bytes(data[2:4], "big")
        stream = self._streams.get(ssrc)
        if stream is None:
            stream = self._streams[ssrc] = [sequence_number, sequence_number, 0]
        else:
            step = (sequence_number - stream[1]) & 0xFFFF
            if step < 0x8000:
                stream[1] += step
        stream[2] += 1
        if kind_of(name) == "audio" or data[1] & 0x80:
            self._frames[name] += 1

    def loss(self) -> tuple[int, int]:
        received = sum(stream[2] for stream in self._streams.values())
        expected = sum(stream[1] - stream[0] + 1 for stream in self._streams.values())
        return max(0, expected - received), received


class SocketReader:
    """Reads header-counting endpoints' sockets on one thread, many datagrams per wake-up, instead of one event-loop
    callback per datagram: a benchmark's load generators must cost far less than the relay they load. Whatever is
    not RTP (STUN, DTLS, RTCP) is handed back to the event loop, to aiortc, as before."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._poll = select.epoll()
        self._sockets: dict[int, tuple[socket.socket, Any, HeaderCounter]] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-socket-reader", daemon=True)
        self._thread.start()

    def add(self, protocol: Any, counter: HeaderCounter) -> None:
        transport = protocol.transport
        if transport is None:
            return
        own = transport.get_extra_info("socket")
        sock = socket.fromfd(own.fileno(), own.family, own.type)  # the same socket (shared, non-blocking)
        stop_reading(transport)  # the event loop stops reading it; this thread reads it
        self._sockets[sock.fileno()] = (sock, protocol, counter)
        self._poll.register(sock.fileno(), select.EPOLLIN)

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        for sock, _, _ in self._sockets.values():
            sock.close()
        self._poll.close()

    def _run(self) -> None:
        # Sleep, then read whatever gathered. A thread waiting in epoll would be woken for every datagram, and on
        # loopback that wake-up is done inside the relay's own sendto: the relay would pay for its load generators,
        # which a real network card spares it.
        while not self._stopping.wait(GATHER_SECONDS):
            for fd, _ in self._poll.poll(0):
                entry = self._sockets.get(fd)
                if entry is not None:
                    self._drain(*entry)

    def _drain(self, sock: socket.socket, protocol: Any, counter: HeaderCounter) -> None:
        while True:
            try:
                data, addr = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if is_rtp(data):
                counter.count(data)
            else:
                self._loop.call_soon_threadsafe(protocol.datagram_received, data, addr)
