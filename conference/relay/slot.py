"""A receiving slot: one stream a subscriber negotiated, fed by whichever publication the room chose.

The slot forwards the publisher's RTP payloads as they arrive, under its own stream's header: sequence numbers and
timestamps continue across changes of source, so the subscriber sees one unbroken stream (a jump would count as
loss in its browser, and the relay would then judge its line by loss it made itself). After a change of source (and
at the start) a video slot stays silent until the new source's next key frame. A change of size of the same picture
is seamless: the current size goes on until the new size's key frame arrives, then the slot switches at once. After
an outage of the source (a long run of its numbers never arrived) the slot starts again as after a change of
source: the subscriber sees no loss that its own line did not cause.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from conference.layout import Source
from conference.relay.rtp import ForwardedPacket, HeaderWriter, seq_after

SUBSCRIBER_KEYFRAME_INTERVAL = 2.0  # seconds
JOIN_HORIZON = 4096  # packets after a join; a packet that late is refused by SRTP's replay window anyway
# A jump this far in the source's numbers is an outage before the relay (a node link cut, a publisher's line down),
# not loss that retransmissions will fill: random loss never takes this many packets in a row (~0.6 s of a full
# picture, 1.3 s of a voice), a lost key frame at most ~40.
OUTAGE_PACKETS = 64


class Outlet(Protocol):
    def send(self, header: bytes, payload: bytes, sequence_number: int, timestamp: int, ntp: int) -> bool: ...

    def pause(self, paused: bool) -> None: ...


def _nothing(slot: Slot, before: Source | None) -> None:
    pass


class Slot:
    def __init__(self, kind: str, writer: HeaderWriter, outlet: Outlet, *, mime_type: str, clock_rate: int,
                 want_keyframe: Callable[[Slot], None], switched: Callable[[Slot, Source | None], None] = _nothing,
                 first_sequence_number: int = 0) -> None:  # fmt: skip
        self.kind = kind
        self.mime_type = mime_type.lower()
        self.source_key: Source | None = None
        self.pending_key: Source | None = None  # another size of the same picture, taken at its next key frame
        self.loss = 0.0  # what the subscriber's line loses, for the publisher's encoder (audio FEC)
        # Only the key frames (each decodes alone): a presentation at a few kbit/s for a line too weak for all of
        # it; the numbering closes over what is left out, so the browser counts no loss.
        self.keyframes_only = False
        self._keyframe_ts: int | None = None
        self.forwarded = 0
        self.dropped = 0
        self._writer = writer
        self._outlet = outlet
        self._clock_rate = clock_rate
        self._want_keyframe = want_keyframe
        self._switched = switched
        self._last_request = -SUBSCRIBER_KEYFRAME_INTERVAL
        self._requested_key: Source | None = None  # what the last request was for
        self._waiting = True  # for the source's first packet we may start at
        self._seq_offset = 0
        self._ts_offset = 0
        self._first_in = 0  # the source's first sequence number we forwarded; anything older is not ours
        self._joining = False  # still close enough to _first_in for "older" to mean something
        self._last_in = 0
        self._next_out = first_sequence_number & 0xFFFF
        self._last_ts = 0
        self._last_ntp = 0

    @property
    def starving(self) -> bool:
        """A picture's slot still waiting for its source's first key frame (the request may have been lost: a
        node link not up yet, a publisher still connecting)."""
        return self.kind == "video" and self._waiting and self.source_key is not None

    @property
    def flowing(self) -> bool:
        """Whether the slot is sending its source now (not waiting for a first key frame)."""
        return not self._waiting and self.source_key is not None

    def restart(self, source_key: Source | None) -> None:
        """A new source: wait for its next key frame (audio: its next packet) and carry on our numbering from there.
        With none, the slot is paused: its outlet answers no retransmission requests (nothing stale)."""
        self.source_key = source_key
        self.pending_key = None
        self._waiting = True
        self._outlet.pause(source_key is None)

    def push(self, packet: ForwardedPacket, source_key: Source) -> None:
        """A packet of ``source_key``: the slot's source, or the size it switches to at that size's key frame."""
        if source_key != self.source_key:
            if source_key != self.pending_key or not packet.picture_start:
                return
            before, self.source_key, self.pending_key = self.source_key, source_key, None
            self._waiting = True
            self._switched(self, before)
        if self._waiting:
            if not packet.picture_start:
                return
            self._join(packet)
        elif not packet.payload:
            self._skip(packet)  # padding carries nothing for the subscriber
            return
        elif self._joining and self._before_join(packet.sequence_number):
            return  # a late packet from before we joined this source
        elif self._after_outage(packet.sequence_number):
            # What the source lost upstream will never come: the numbering closes over it (the subscriber's browser
            # would count it as loss on its own line, and the relay would judge that line weak), and a picture
            # starts again at a key frame, which we ask for now.
            self._waiting = True
            self.request_keyframe()
            if not packet.picture_start:
                return
            self._join(packet)
        if self.keyframes_only and not self._in_keyframe(packet):
            self._skip(packet)
            return
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
        """The subscriber lost the picture (PLI/FIR): only the publisher can make a key frame. A lossy line asks
        often, and each key frame is several frames' worth for every subscriber of that size: at most one request
        from a slot every ``SUBSCRIBER_KEYFRAME_INTERVAL`` seconds for one source (a switch to another size asks
        at once: the picture waits for it)."""
        now, key = time.monotonic(), self.pending_key or self.source_key
        due = now - self._last_request >= SUBSCRIBER_KEYFRAME_INTERVAL
        if self.kind == "video" and (due or key != self._requested_key):  # another size's first: not limited
            self._last_request, self._requested_key = now, key
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

    def _after_outage(self, sequence_number: int) -> bool:
        return seq_after(sequence_number, self._last_in) and (sequence_number - self._last_in) & 0xFFFF > OUTAGE_PACKETS

    def _in_keyframe(self, packet: ForwardedPacket) -> bool:
        if packet.picture_start:
            self._keyframe_ts = packet.timestamp
        return packet.timestamp == self._keyframe_ts

    def _skip(self, packet: ForwardedPacket) -> None:
        """A packet left out (padding, or a frame a key-frames-only slot does not send): close the gap it would
        leave in the numbers."""
        if packet.sequence_number == (self._last_in + 1) & 0xFFFF:
            self._last_in = packet.sequence_number
            self._seq_offset = (self._seq_offset - 1) & 0xFFFF
