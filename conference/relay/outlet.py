"""Sending a subscriber's packets through aiortc without a task, an encoder or a packetizer per packet.

aiortc's ``RTCRtpSender`` turns each frame into new packets in a task per sender, which costs more than everything
else the relay does. A slot already has finished packets (the publisher's payloads under the slot's own header), so
its outlet only protects them with the subscriber's SRTP session and writes them to the selected ICE pair's socket,
all in the call that received them from the publisher. The ``RTCRtpSender`` stays for what it does well: its SSRC in
the SDP, its sender reports (fed the counters it would have kept) and the RTCP it receives (NACK and PLI come here).

Everything private to aiortc and aioice that this needs is in this module and checked at import, so an upgrade that
moves it fails loudly.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aioice import Connection
from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdtlstransport import State as DtlsState
from pylibsrtp import Error as SrtpError

log = logging.getLogger(__name__)

HISTORY = 512  # packets kept for retransmission; ~2 s of a 1 Mbit/s picture, as far back as a NACK is useful
# When the kernel will not take more (a slow link's queue is full), asyncio keeps what we send in its own buffer,
# and everything after it, voice included, waits behind it. Media that late is useless: drop beyond a few packets.
MAX_BUFFERED_BYTES = 16 * 1024
_SENDER = "_RTCRtpSender__"
_NTP_TIMESTAMP, _RTP_TIMESTAMP = _SENDER + "ntp_timestamp", _SENDER + "rtp_timestamp"
_PACKET_COUNT, _OCTET_COUNT = _SENDER + "packet_count", _SENDER + "octet_count"


class SenderOutlet:
    """Writes a slot's packets for one ``RTCRtpSender`` and answers that subscriber's NACKs from a short history."""

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self._counters = vars(sender)  # where its name-mangled counters live
        self._history: list[tuple[int, bytes] | None] = [None] * HISTORY
        self.packets = 0
        self.octets = 0
        self._send_rtcp = sender._send_rtcp
        sender._retransmit = self.retransmit  # type: ignore[method-assign]
        sender._send_rtcp = self._send_reports  # type: ignore[method-assign]

    def send(self, data: bytes, sequence_number: int, timestamp: int, ntp: int, payload_size: int) -> bool:
        """Protect and send one RTP packet; False when it could not go (not connected yet, or a full socket)."""
        dtls = self._sender.transport
        if dtls._state is not DtlsState.CONNECTED:
            return False
        try:
            protected = dtls._tx_srtp.protect(data)
        except SrtpError:  # a number sent before: a duplicate from the publisher, or one too late to matter
            return False
        if not self._write(protected):
            return False
        self._history[sequence_number % HISTORY] = (sequence_number, protected)
        self.packets += 1
        self.octets += payload_size
        self._report(timestamp, ntp)
        return True

    async def retransmit(self, sequence_number: int) -> None:
        """A NACK: send the same protected bytes again (a receiver that has them drops the copy as a replay)."""
        entry = self._history[sequence_number % HISTORY]
        if entry is not None and entry[0] == sequence_number:
            self._write(entry[1])

    def _write(self, data: bytes) -> bool:
        pair = self._sender.transport.transport._connection._nominated.get(1)
        if pair is None:
            return False
        transport = pair.protocol.transport
        if transport is None:
            return False
        buffered = getattr(transport, "get_write_buffer_size", None)  # a TURN relay's transport keeps no buffer
        if buffered is not None and buffered() > MAX_BUFFERED_BYTES:
            return False
        transport.sendto(data, pair.remote_addr)
        return True

    def _report(self, timestamp: int, ntp: int) -> None:
        """What the sender's RTCP sender reports and getStats() read (it would have counted them itself)."""
        counters = self._counters
        counters[_NTP_TIMESTAMP] = ntp
        counters[_RTP_TIMESTAMP] = timestamp
        counters[_PACKET_COUNT] = self.packets
        counters[_OCTET_COUNT] = self.octets

    async def _send_reports(self, packets: list[Any]) -> None:
        """A slot nobody has fed yet has nothing to report: most of a commune's slots (the floor's) sit idle."""
        if self.packets:
            await self._send_rtcp(packets)


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


def _check_aiortc() -> None:
    names = RTCRtpSender.__init__.__code__.co_names
    wanted = ["ntp_timestamp", "rtp_timestamp", "packet_count", "octet_count"]
    missing = [name for name in wanted if _SENDER + name not in names]
    if (missing or "_retransmit" not in RTCRtpSender._handle_rtcp_packet.__code__.co_names
            or "_send_rtcp" not in RTCRtpSender._run_rtcp.__code__.co_names):  # fmt: skip
        raise ImportError(f"this aiortc's RTCRtpSender has changed ({missing}); the relay's outlet needs updating")
    if "_nominated" not in Connection.__init__.__code__.co_names:
        raise ImportError("this aioice's Connection no longer has _nominated; the relay's outlet needs updating")


_check_aiortc()
