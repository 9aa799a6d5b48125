"""Take encoded frames out of an aiortc receiver before they reach a decoder.

aiortc's ``RTCRtpReceiver`` reassembles each frame in its jitter buffer and puts ``(codec, frame)`` on a queue that a
decoder thread reads. We put our own object in place of that queue before the receiver starts: frames reach us on the
event loop, in order, as bytes, and the decoder thread (which would read the queue) finds it empty and ends at once.
No decoder is ever created. This relies on one private attribute, checked at import so an aiortc upgrade that moves
it fails loudly instead of silently decoding.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from aiortc import RTCRtpReceiver

from conference.relay.frames import EncodedFrame, is_keyframe

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"


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


def tap(receiver: RTCRtpReceiver, deliver: Callable[[EncodedFrame], None]) -> None:
    """Route ``receiver``'s frames to ``deliver``. Call before the receiver starts (right after negotiation)."""
    setattr(receiver, _DECODER_QUEUE, FrameTap(deliver))


def _check_aiortc() -> None:
    if _DECODER_QUEUE not in RTCRtpReceiver.__init__.__code__.co_names:
        raise ImportError("this aiortc no longer has RTCRtpReceiver.__decoder_queue; the relay needs updating")


_check_aiortc()
