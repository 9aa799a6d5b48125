"""When the relay skips a publisher's packets as too late: a backlog it is working off, never a stream on time.
Late is told by the packets' RTP stamps (lateness.py) and by how long they waited in the kernel's queue."""

from __future__ import annotations

import random

import pytest

from conference.layout import Source
from conference.relay.lateness import GIVE_UP_AFTER, Lateness
from conference.relay.relay import QUEUED_TOO_LONG, Publication, RelayStats
from conference.relay.rtp import HeaderWriter
from conference.relay.slot import Slot

VIDEO_HZ = 90_000


def stamp(seconds: float, start: int = 0) -> int:
    return (start + int(seconds * VIDEO_HZ)) & 0xFFFFFFFF


def test_a_stream_on_time_is_never_late_jitter_wrap_and_drift_included() -> None:
    lateness, jitter = Lateness(VIDEO_HZ), random.Random(7)
    start = 0xFFFFFFFF - 5 * VIDEO_HZ  # wraps after 5 s
    for frame in range(2 * 3600 * 30):  # two hours at 30 frames a second
        captured = frame / 30
        handled = 1000.0 + captured * (1 + 50e-6) + jitter.uniform(0, 0.8)  # a clock 50 ppm fast, a jittery line
        assert not lateness.late(stamp(captured, start), handled), frame


def test_a_backlog_is_skipped_until_the_relay_is_back_to_now() -> None:
    lateness = Lateness(VIDEO_HZ)
    decisions = [lateness.late(stamp(i / 30), 50.0 + i / 30) for i in range(60)]  # 2 s on time
    # the relay is busy for 5 s, then works through the queue at 10x real time
    backlog = [lateness.late(stamp((60 + i) / 30), 57.0 + i / 300) for i in range(150 + 50)]
    assert not any(decisions)
    late = [i for i, skipped in enumerate(backlog) if skipped]
    assert late and late[0] < 10  # the oldest queued packets (~5 s late) are skipped
    assert not any(backlog[late[-1] + 1 :]) and late[-1] == len(late) - 1  # then everything is on time again
    assert lateness.behind_at(57.0 + 199 / 300) < 0.1  # and /metrics says the relay has caught up
    assert lateness.behind_at(60.0) == 0.0  # a stream that stopped is behind on nothing


def test_how_far_behind_the_relay_is_is_measured() -> None:
    lateness = Lateness(VIDEO_HZ)
    for i in range(30):
        lateness.late(stamp(i / 30), 10.0 + i / 30)
    lateness.late(stamp(30 / 30), 10.0 + 30 / 30 + 1.5)  # this one waited 1.5 s in a queue
    assert lateness.behind_at(12.6) == pytest.approx(1.5, abs=0.01)


def test_a_publisher_whose_clock_jumps_is_believed_after_a_while() -> None:
    lateness = Lateness(VIDEO_HZ)
    for i in range(30):
        lateness.late(stamp(i / 30), 10.0 + i / 30)
    jumped = [lateness.late(stamp(i / 30 - 3600), 11.0 + i / 30) for i in range(int(GIVE_UP_AFTER * 30) + 60)]
    assert jumped[0] and not jumped[-1]  # an hour back: late at first, then the new pace is the baseline
    assert sum(jumped) <= GIVE_UP_AFTER * 30 + 1


class Wire:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def send(self, header: bytes, payload: bytes, sequence_number: int, timestamp: int, ntp: int) -> bool:
        self.sent.append(sequence_number)
        return True

    def pause(self, paused: bool) -> None:
        pass


class Packet:
    """aiortc's ``RtpPacket`` as a publication reads it."""

    def __init__(self, sequence_number: int, timestamp: int, payload: bytes) -> None:
        self.sequence_number, self.timestamp, self.marker, self.payload = sequence_number, timestamp, 1, payload


KEY, DELTA = b"\x10\x00\x9d\x01\x2a", b"\x10\x01\x00\x00"  # VP8: a key frame's first packet, an inter frame's


def watched_publication(stats: RelayStats) -> tuple[Publication, Wire]:
    publication = Publication(Source("chair", "video"), stats, set())
    publication.mime_type = "video/vp8"
    wire = Wire()
    slot = Slot("video", HeaderWriter(96, 1), wire, mime_type="video/VP8", clock_rate=VIDEO_HZ,
                want_keyframe=lambda _: None)  # fmt: skip
    slot.restart(publication.key)
    publication.slots.add(slot)
    return publication, wire


def test_a_publication_skips_late_packets_and_its_slots_resume_at_a_key_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("conference.relay.relay.time.monotonic", lambda: now[0])
    stats = RelayStats()
    publication, wire = watched_publication(stats)

    def feed(frame: int, payload: bytes) -> None:
        publication.forward(Packet(frame, stamp(frame / 30), payload), "video/VP8")

    for frame in range(30):
        now[0] = 100.0 + frame / 30
        feed(frame, KEY if frame == 0 else DELTA)
    assert len(wire.sent) == 30
    now[0] = 106.0  # 5 s busy: the next packets are 5 s old when the relay gets to them
    for frame in range(30, 40):
        feed(frame, DELTA)
    assert len(wire.sent) == 30 and stats.packets_late == 10 and stats.keyframe_requests == 0  # no receiver here
    for frame in range(180, 183):  # back to now, but no key frame yet: the slot waits rather than show garbage
        now[0] = 100.0 + frame / 30
        feed(frame, DELTA)
    assert len(wire.sent) == 30
    now[0] = 100.0 + 183 / 30
    feed(183, KEY)
    feed(184, DELTA)
    assert wire.sent[30:] == [30, 31]  # numbering carries on without a gap


def test_packets_that_waited_too_long_in_the_kernel_are_skipped_though_their_stamps_look_on_time() -> None:
    stats = RelayStats()
    publication, wire = watched_publication(stats)
    frames = iter(range(1_000))

    def feed(payload: bytes, waited: float) -> None:
        publication.queue_wait.seconds = waited
        frame = next(frames)
        publication.forward(Packet(frame, stamp(frame / 30), payload), "video/VP8")

    feed(KEY, 0.01)
    feed(DELTA, QUEUED_TOO_LONG * 0.9)
    assert len(wire.sent) == 2 and stats.packets_late == 0
    feed(DELTA, QUEUED_TOO_LONG * 1.2)
    feed(KEY, QUEUED_TOO_LONG * 2)  # even a key frame: what waited that long is what keeps the queue long
    assert len(wire.sent) == 2 and stats.packets_late == 2
    feed(DELTA, 0.0)  # worked off; the slot waits for a picture it can start at
    feed(KEY, 0.0)
    assert wire.sent == [0, 1, 2]
