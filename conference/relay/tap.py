"""Take a publisher's packets, and its encoded frames, out of an aiortc receiver before they reach a decoder.

aiortc's ``RTCRtpReceiver`` decrypts each packet, answers it with NACKs and receiver reports, unwraps retransmissions
and hands it to its jitter buffer, which reassembles frames and puts ``(codec, frame)`` on a queue that a decoder
thread reads. We stand in two places. In front of the jitter buffer, each packet goes to the subscribers' slots as it
arrives (the relay forwards packets: nothing waits for a whole frame). In place of the decoder queue, each
reassembled frame goes to the recorder; the decoder thread finds that queue empty and ends at once, so no decoder is
ever created. This relies on two private attributes, checked at import so an aiortc upgrade that moves them fails
loudly instead of silently decoding.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import aiortc.rtcrtpreceiver
from aiortc import RTCRtpReceiver
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcrtpreceiver import StreamStatistics

from conference.relay.frames import EncodedFrame, is_keyframe

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"


class FrameTap:
    """Stands where the receiver's decoder queue was; hands each reassembled frame to ``deliver``."""

    def __init__(self, deliver: Callable[[EncodedFrame], None]) -> None:
        self._deliver = deliver
        self._time_bases: dict[int, Fraction] = {}

    def put(self, item: tuple[Any, Any] | None) -> None:
        if item is None:  # the receiver stopped
            return
        codec, jitter_frame = item
        time_base = self._time_bases.get(codec.clockRate)
        if time_base is None:
            time_base = self._time_bases[codec.clockRate] = Fraction(1, codec.clockRate)
        data = jitter_frame.data
        self._deliver(EncodedFrame(data, jitter_frame.timestamp, time_base, is_keyframe(codec.mimeType, data)))

    def get(self) -> None:
        """What the receiver's decoder thread reads first: nothing, so it ends without making a decoder."""
        return None


Forward = Callable[[Any, str], None]  # (aiortc's RtpPacket, its codec's MIME type)


class PacketTap:
    """Stands in front of the receiver's jitter buffer: every packet goes to ``forward`` first, then on as before."""

    def __init__(self, jitter_buffer: Any, mime_types: dict[int, str], forward: Forward) -> None:
        self._jitter_buffer = jitter_buffer
        self._mime_types = mime_types
        self._forward = forward

    def add(self, packet: Any) -> Any:
        mime_type = self._mime_types.get(packet.payload_type, None if self._mime_types else "")
        if mime_type is not None:
            self._forward(packet, mime_type)
        return self._jitter_buffer.add(packet)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._jitter_buffer, name)


def tap(receiver: RTCRtpReceiver, deliver: Callable[[EncodedFrame], None], forward: Forward | None = None,
        mime_types: dict[int, str] | None = None) -> None:  # fmt: skip
    """Route ``receiver``'s frames to ``deliver`` and, given ``forward``, its packets (of the payload types in
    ``mime_types``; without any, all, with no MIME type) to ``forward``. Call before the receiver starts (right after
    negotiation)."""
    setattr(receiver, _DECODER_QUEUE, FrameTap(deliver))
    if forward is not None:
        jitter_buffer = getattr(receiver, _JITTER_BUFFER)
        setattr(receiver, _JITTER_BUFFER, PacketTap(jitter_buffer, mime_types or {}, forward))


class LazyBitrateEstimator(RemoteBitrateEstimator):
    """aiortc gives every video receiver a REMB estimator up front, ~96 KiB each (a 1000-bucket rate window). Most of
    the relay's receivers never receive anything (a subscriber's slots only send), so this one is built on the first
    packet: ~100 KiB less per video slot, and less work while a province joins at once."""

    def __init__(self) -> None:  # deliberately not the parent's: nothing until a packet comes
        self._built = False

    def add(
        self, arrival_time_ms: int, abs_send_time: int, payload_size: int, ssrc: int
    ) -> tuple[int, list[int]] | None:
        if not self._built:
            super().__init__()
            self._built = True
        return super().add(arrival_time_ms, abs_send_time, payload_size, ssrc)


class ToldStatistics(StreamStatistics):
    """aiortc's statistics of a stream it receives, whose receiver reports can say more loss than the relay saw.

    A publisher's Opus encoder adds in-band FEC (and spends bits on it) as the loss its receiver reports: the relay's
    own is near zero, but the listeners behind it may be on lines that lose 3-10 %. The relay tells each voice's
    publisher the worst of its listeners' loss through the fraction-lost of its receiver reports."""

    told = 0  # 8-bit fixed point, as RTCP carries it

    @property
    def fraction_lost(self) -> int:
        return max(super().fraction_lost, self.told)


def tell_loss(receiver: RTCRtpReceiver, loss: float) -> None:
    """From now on the receiver's reports say at least ``loss`` (a fraction) lost."""
    for statistics in getattr(receiver, _REMOTE_STREAMS).values():
        if isinstance(statistics, ToldStatistics):
            statistics.told = min(255, int(loss * 256))


aiortc.rtcrtpreceiver.RemoteBitrateEstimator = LazyBitrateEstimator  # type: ignore[attr-defined]  # all receivers
aiortc.rtcrtpreceiver.StreamStatistics = ToldStatistics  # type: ignore[misc]  # every stream aiortc receives
