"""A receiving slot: one stream a subscriber negotiated, fed by whichever publication the room chose.

The slot forwards the publisher's RTP payloads as they arrive, under its own stream's header: sequence numbers and
timestamps continue across changes of source, so the subscriber sees one unbroken stream. After a change of source
(and at the start) a video slot stays silent until the new source's next key frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from conference.layout import Source
from conference.relay.rtp import ForwardedPacket, HeaderWriter, seq_after

JOIN_HORIZON = 4096  # packets after a join; a packet that late is refused by SRTP's replay window anyway


class Outlet(Protocol):
    def send(self, header: bytes, payload: bytes, sequence_number: int, timestamp: int, ntp: int) -> bool: ...


class Slot:
    def __init__(self, kind: str, writer: HeaderWriter, outlet: Outlet, *, mime_type: str, clock_rate: int,
                 want_keyframe: Callable[[Slot], None], first_sequence_number: int = 0) -> None:  # fmt: skip
        self.kind = kind
        self.mime_type = mime_type.lower()
        self.source_key: Source | None = None
        self.forwarded = 0
        self.dropped = 0
        self._writer = writer
        self._outlet = outlet
        self._clock_rate = clock_rate
        self._want_keyframe = want_keyframe
        self._waiting = True  # for the source's first packet we may start at
        self._seq_offset = 0
        self._ts_offset = 0
        self._first_in = 0  # the source's first sequence number we forwarded; anything older is not ours
        self._joining = False  # still close enough to _first_in for "older" to mean something
        self._last_in = 0
        self._next_out = first_sequence_number & 0xFFFF
        self._last_ts = 0
        self._last_ntp = 0

    def restart(self, source_key: Source | None) -> None:
        """A new source: wait for its next key frame (audio: its next packet) and carry on our numbering from there."""
        self.source_key = source_key
        self._waiting = True

    def push(self, packet: ForwardedPacket) -> None:
        if self._waiting:
            if not packet.picture_start:
                return
            self._join(packet)
        elif not packet.payload:
            self._skip_padding(packet)
            return
        elif self._joining and self._before_join(packet.sequence_number):
            return  # a late packet from before we joined this source
        sequence_number = (packet.sequence_number + self._seq_offset) & 0xFFFF
        timestamp = (packet.timestamp + self._ts_offset) & 0xFFFFFFFF
        header = self._writer.header(sequence_number, timestamp, packet.marker, packet.abs_send_time)
        if not self._outlet.send(header, packet.payload, sequence_number, timestamp, packet.ntp):
            self.dropped += 1
            return
        self.forwarded += 1
        if seq_after(packet.sequence_number, self._last_in):
            self._last_in = packet.sequence_number
            self._next_out = (sequence_number + 1) & 0xFFFF
            self._last_ts, self._last_ntp = timestamp, packet.ntp

    def request_keyframe(self) -> None:
        """The subscriber lost the picture (PLI/FIR): only the publisher can make a key frame."""
        if self.kind == "video":
            self._want_keyframe(self)

    def _join(self, packet: ForwardedPacket) -> None:
        """Number the new source's packets on from ours, and its clock on from ours by the time that has passed."""
        self._waiting = False
        self._joining = True
        self._first_in = packet.sequence_number
        self._last_in = (packet.sequence_number - 1) & 0xFFFF
        self._seq_offset = (self._next_out - packet.sequence_number) & 0xFFFF
        elapsed = (packet.ntp - self._last_ntp) * self._clock_rate >> 32 if self._last_ntp else 0
        self._ts_offset = (self._last_ts + max(1, elapsed) - packet.timestamp) & 0xFFFFFFFF

    def _before_join(self, sequence_number: int) -> bool:
        """Sequence numbers wrap: "before the join" only means something for the first few thousand packets."""
        if (self._last_in - self._first_in) & 0xFFFF > JOIN_HORIZON:
            self._joining = False
            return False
        return sequence_number != self._first_in and not seq_after(sequence_number, self._first_in)

    def _skip_padding(self, packet: ForwardedPacket) -> None:
        """A padding-only packet carries nothing for the subscriber: close the gap it would leave in the numbers."""
        if packet.sequence_number == (self._last_in + 1) & 0xFFFF:
            self._last_in = packet.sequence_number
            self._seq_offset = (self._seq_offset - 1) & 0xFFFF
