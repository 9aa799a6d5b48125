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
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription, sdp

from conference.layout import kind_of, publishes, slots
from conference.relay.frames import EncodedFrame
from conference.relay.outlet import SilentTrack, ice_connection
from conference.relay.peer import media_configuration
from conference.relay.rtp import is_rtp
from conference.relay.tap import tap
from web.bench.clips import Clip, ClipTrack

GATHER_SECONDS = 0.01  # how long a header-counting reader lets datagrams gather in the kernel between reads


class SyntheticEndpoint:
    def __init__(self, role: str, clips: dict[str, Clip], *, keep_video: bool = False, publish: bool = True,
                 count_headers: SocketReader | None = None) -> None:  # fmt: skip
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
        self._keep_video = keep_video
        for name in publishes(role):
            transceiver = self.pc.addTransceiver(kind_of(name), direction="sendonly")
            clip = clips.get(name) if publish else None
            if clip is not None:
                track = self.tracks[name] = ClipTrack(clip)
                transceiver.sender.replaceTrack(track)
                transceiver.sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
            else:  # a sender without a track polls every 20 ms; a hundred of them would load the machine
                transceiver.sender.replaceTrack(SilentTrack(kind_of(name)))
        for name in slots(role):
            tap(self.pc.addTransceiver(kind_of(name), direction="recvonly").receiver, self._counter(name))

    def set_sending(self, track: str, on: bool) -> None:
        """The relay's ``publish`` message: nobody receives this track any more (or someone does again)."""
        if track in self.tracks:
            self.tracks[track].pause(not on)

    async def connect(self, answer: Callable[[str], Awaitable[str]]) -> None:
        """Offer, let ``answer`` carry the offer to the relay, then apply the relay's answer."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer_sdp = await answer(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def wait_connected(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.pc.connectionState != "connected":
            if time.monotonic() > deadline or self.pc.connectionState in ("failed", "closed"):
                raise TimeoutError(f"media connection {self.pc.connectionState}")
            await asyncio.sleep(0.05)
        if self._count_headers is not None and self.headers is None:
            self.headers = HeaderCounter(self._slot_ssrcs(), self.received)
            self.headers.install(ice_connection(self.pc), self._count_headers)

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

        return count


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
        transport.pause_reading()  # the event loop stops reading it; this thread reads it
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
