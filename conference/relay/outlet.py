"""Sending a subscriber's packets through aiortc without a task, an encoder or a packetizer per packet.

aiortc's ``RTCRtpSender`` turns each frame into new packets in a task per sender, which costs more than everything
else the relay does. A slot already has finished packets (the publisher's payloads under the slot's own header), so
its outlet only protects them with the subscriber's SRTP session and writes them to the selected ICE pair's socket,
all in the call that received them from the publisher. The ``RTCRtpSender`` stays for what it does well: its SSRC in
the SDP, its counters for getStats() and the RTCP it receives (NACK, PLI and REMB come here). Its RTCP task is
replaced by a stand-in: the relay's ``Reporter`` sends every slot's sender reports from one task (``report``).

Everything private to aiortc and aioice that this needs is in this module and checked at import, so an upgrade that
moves it fails loudly (asyncio's is in ``sockets.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from aioice import Connection
from aioice.ice import CandidatePair
from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpByePacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    unpack_remb_fci,
)

from conference.relay.rtp import HeaderWriter, ntp_now
from conference.relay.sockets import udp_socket
from conference.relay.srtp import Protector

log = logging.getLogger(__name__)

HISTORY = 512  # packets kept for retransmission; ~2 s of a 1 Mbit/s picture, as far back as a NACK is useful
_SENDER = "_RTCRtpSender__"
_NTP_TIMESTAMP, _RTP_TIMESTAMP, _LSR = _SENDER + "ntp_timestamp", _SENDER + "rtp_timestamp", _SENDER + "lsr"
_PACKET_COUNT, _OCTET_COUNT = _SENDER + "packet_count", _SENDER + "octet_count"
_LSR_TIME, _CNAME = _SENDER + "lsr_time", _SENDER + "cname"
_RTCP_STARTED, _RTCP_EXITED = _SENDER + "rtcp_started", _SENDER + "rtcp_exited"
_CONNECTED = DtlsState.CONNECTED
_NO_PAIR = object()  # not yet looked at the nominated pair
PADDING = 255  # bytes of padding in one probe packet, the most RTP's one-byte padding count allows
PADDING_PAYLOAD = bytes(PADDING - 1) + bytes([PADDING])  # RFC 3550 §5.1: the last byte counts the padding


class Budget:
    """A token bucket in bytes, shared by a subscriber's outlets: retransmissions may take only a share of what its
    line carries, or a lossy line spends itself on repeating old packets."""

    def __init__(self, bytes_per_second: float = 1e9, burst_seconds: float = 0.5) -> None:
        self._rate = bytes_per_second
        self._burst = burst_seconds
        self._tokens = bytes_per_second * burst_seconds
        self._at = time.monotonic()

    def set_rate(self, bytes_per_second: float) -> None:
        self._refill()
        self._rate = bytes_per_second
        self._tokens = min(self._tokens, bytes_per_second * self._burst)

    def take(self, size: int) -> bool:
        self._refill()
        if self._tokens < size:
            return False
        self._tokens -= size
        return True

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._rate * self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now


Reported = Callable[[int, int, int, float | None], None]  # (ssrc, highest extended sequence, cumulative lost, rtt ms)
Resumed = Callable[[int, int], None]  # (ssrc, the first sequence number sent after a pause)


class SenderOutlet:
    """Writes a slot's packets for one ``RTCRtpSender`` and answers that subscriber's NACKs from a short history."""

    def __init__(self, sender: RTCRtpSender, estimated: Callable[[int], None] | None = None, *,
                 reported: Reported | None = None, resumed: Resumed | None = None, rtx: HeaderWriter | None = None,
                 budget: Budget | None = None) -> None:  # fmt: skip
        """``estimated`` hears each receive estimate (REMB, bits per second) the subscriber sends about us,
        ``reported`` each block of its receiver reports, ``resumed`` the first packet after a pause (the receiver
        counts the packets the line lost just before the pause only once this one arrives); ``rtx`` writes the
        headers of the slot's retransmission stream (probes are padding on it), ``budget`` limits what
        retransmissions spend."""
        self._sender = sender
        self._estimated = estimated
        self._reported = reported
        self._rtx = rtx
        self._rtx_sequence_number = 0
        self._budget = budget
        self._resumed = resumed
        self._paused = True
        self._was_paused = False  # and nothing sent since
        self._history: list[tuple[int, bytes] | None] = [None] * HISTORY
        self.packets = 0
        self.octets = 0
        self.wire_bytes = 0  # everything written: media, retransmissions, padding
        self.padding_bytes = 0
        self._timestamp = 0  # of the latest packet, and when it was sent: what a sender report tells
        self._ntp = 0
        self._protector: Protector | None = None  # once DTLS has made the keys
        self._nominated: dict[int, CandidatePair] = {}
        self._pair: Any = _NO_PAIR
        self._sendto: Callable[[bytes, Any], Any] | None = None
        self._address: Any = None
        self._send_rtcp = sender._send_rtcp
        sender._retransmit = self.retransmit  # type: ignore[method-assign]
        sender._run_rtcp = self._rtcp_stand_in  # type: ignore[method-assign]  # the relay's Reporter reports
        self._handle_rtcp = sender._handle_rtcp_packet
        sender._handle_rtcp_packet = self._received_rtcp  # type: ignore[method-assign]

    def send(self, header: bytes, payload: bytes, sequence_number: int, timestamp: int, ntp: int) -> bool:
        """Protect and send one RTP packet; False when it could not go (not connected yet, or a full socket)."""
        protector = self._protector
        if protector is None or self._sender.transport._state is not _CONNECTED:
            protector = self._connect()
            if protector is None:
                return False
        protected = protector.protect(header, payload)
        if protected is None or not self._write(protected):
            return False
        self._history[sequence_number % HISTORY] = (sequence_number, protected)
        if self._was_paused:
            self._was_paused = False
            if self._resumed is not None:
                self._resumed(self._sender._ssrc, sequence_number)
        self.packets += 1
        self.octets += len(payload)
        self._timestamp = timestamp
        self._ntp = ntp
        return True

    @property
    def can_pad(self) -> bool:
        return self._rtx is not None and self.packets > 0

    padding_packet_bytes = 0  # the size of one padding packet on the wire, once one was sent

    @property
    def padding_ssrc(self) -> int | None:
        """The stream padding goes out on: the slot's retransmission stream."""
        return self._rtx.ssrc if self._rtx is not None else None

    def pad(self, size: int) -> int:
        """Send about ``size`` bytes of padding on the slot's retransmission stream (a probe: the line must carry
        it, the browser's estimate counts it, its picture does not see it); returns the bytes sent."""
        protector, rtx = self._protector, self._rtx
        if protector is None or rtx is None or not self.packets:
            return 0
        sent = 0
        abs_send_time = (ntp_now() >> 14) & 0xFFFFFF
        while sent < size:
            sequence_number = self._rtx_sequence_number = (self._rtx_sequence_number + 1) & 0xFFFF
            header = rtx.header(sequence_number, self._timestamp, 0, abs_send_time)
            protected = protector.protect(bytes([header[0] | 0x20]) + header[1:], PADDING_PAYLOAD)  # P: padding
            if protected is None or not self._write(protected):
                break
            sent += len(protected)
            self.padding_packet_bytes = len(protected)
        self.padding_bytes += sent
        return sent

    def pause(self, paused: bool) -> None:
        """A paused slot sends nothing at all: no retransmission of what it sent before it paused."""
        if paused and not self._paused and self.packets:
            self._was_paused = True
        self._paused = paused
        if paused:
            self._history = [None] * HISTORY

    async def retransmit(self, sequence_number: int) -> None:
        """A NACK: send the same protected bytes again (a receiver that has them drops the copy as a replay)."""
        entry = self._history[sequence_number % HISTORY]
        if self._paused or entry is None or entry[0] != sequence_number:
            return
        if self._budget is None or self._budget.take(len(entry[1])):
            self._write(entry[1])

    async def _received_rtcp(self, packet: Any) -> None:
        """aiortc hands a REMB to its encoder, and we have none: the link estimate takes it instead, and the
        receiver reports' blocks too (loss and round trip of every stream the subscriber receives from us)."""
        if self._estimated is not None and isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                bitrate, ssrcs = 0, []
            if self._sender._ssrc in ssrcs:
                self._estimated(bitrate)
        elif self._reported is not None and isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            middle = (ntp_now() >> 16) & 0xFFFFFFFF  # the middle 32 bits, as LSR and DLSR count (RFC 3550 §6.4.1)
            for block in packet.reports:
                rtt = ((middle - block.lsr - block.dlsr) & 0xFFFFFFFF) / 65.536 if block.lsr else None
                self._reported(block.ssrc, block.highest_sequence, block.packets_lost, rtt)
        await self._handle_rtcp(packet)

    def _connect(self) -> Protector | None:
        """Once DTLS is up: the subscriber's keys, and the ICE connection whose nominated pair we write to."""
        dtls = self._sender.transport
        if dtls._state is not _CONNECTED:
            self._protector = None
            return None
        self._protector = Protector(dtls._tx_srtp)
        self._nominated = dtls.transport._connection._nominated
        # aiortc routes receiver reports to a sender by its media SSRC only: a report about the retransmission
        # stream alone (what a probe's padding travels on) would be lost
        dtls._rtp_router.register_sender(self._sender, self._sender._rtx_ssrc)
        return self._protector

    def _write(self, data: bytes) -> bool:
        pair = self._nominated.get(1)
        if pair is not self._pair:
            self._route(pair)
        if self._sendto is None:
            return False
        try:
            self._sendto(data, self._address)
        except OSError:  # mostly BlockingIOError: the kernel holds all it will for this line, and late media is
            return False  # useless; queueing it would hold the voice behind stale video
        self.wire_bytes += len(data)
        return True

    def _route(self, pair: CandidatePair | None) -> None:
        """Write straight to the pair's UDP socket: asyncio's ``sendto`` is a layer of Python checks per packet, and
        would keep what the kernel refuses. Through a TURN server the allocation's transport wraps the data."""
        self._pair = pair
        self._sendto = None
        if pair is None or pair.protocol.transport is None:
            return
        transport = pair.protocol.transport
        sock = udp_socket(transport)
        self._sendto = sock.sendto if sock is not None else transport.sendto
        self._address = pair.remote_addr

    async def report(self) -> None:
        """A sender report from our counters (aiortc's count packets that never pass through it), for a slot that has
        sent something: most of a commune's slots (the floor's) sit idle."""
        if not self.packets:
            return
        sender = self._sender
        counters = vars(sender)  # what getStats() reads, and the LSR a receiver report echoes for the round trip
        counters[_NTP_TIMESTAMP], counters[_RTP_TIMESTAMP] = self._ntp, self._timestamp
        counters[_PACKET_COUNT], counters[_OCTET_COUNT] = self.packets, self.octets
        counters[_LSR], counters[_LSR_TIME] = (self._ntp >> 16) & 0xFFFFFFFF, time.time()
        info = RtcpSenderInfo(ntp_timestamp=self._ntp, rtp_timestamp=self._timestamp,
                              packet_count=self.packets & 0xFFFFFFFF, octet_count=self.octets & 0xFFFFFFFF)  # fmt: skip
        packets: list[Any] = [RtcpSrPacket(ssrc=sender._ssrc, sender_info=info)]
        if counters[_CNAME] is not None:
            item = (1, counters[_CNAME].encode())
            packets.append(RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=sender._ssrc, items=[item])]))
        await self._send_rtcp(packets)

    async def _rtcp_stand_in(self) -> None:
        """In place of aiortc's RTCP task: it only tells aiortc it runs, and says BYE when the sender stops."""
        counters = vars(self._sender)
        counters[_RTCP_STARTED].set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.get_running_loop().create_future()  # until aiortc's stop() cancels it
        if self.packets:
            with contextlib.suppress(ConnectionError):
                await self._send_rtcp([RtcpByePacket(sources=[self._sender._ssrc])])
        counters[_RTCP_EXITED].set()


def ice_connection(pc: RTCPeerConnection) -> Connection:
    """The aioice connection all of a bundled peer connection's media goes through."""
    return pc.getTransceivers()[0].receiver.transport.transport._connection


class SilentTrack(MediaStreamTrack):
    """The track a slot's ``RTCRtpSender`` reads: nothing, until it stops. Without a track the sender would poll
    every 20 ms; with this one its RTP task just waits."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._stopped = asyncio.Event()

    async def recv(self) -> None:  # type: ignore[override]
        await self._stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._stopped.set()
