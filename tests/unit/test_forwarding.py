"""How a slot rewrites a publisher's packets as its subscriber's stream: headers, numbering, joining, switching."""

from __future__ import annotations

import itertools

from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from pylibsrtp import Policy, Session

from conference.layout import Source
from conference.relay.rtp import ABS_SEND_TIME_URI, MID_URI, ForwardedPacket, HeaderWriter, vp8_starts_keyframe
from conference.relay.slot import Slot
from conference.relay.srtp import Protector
from web.bench.clips import video_clip

NTP_SECOND = 1 << 32


def parse(data: bytes) -> RtpPacket:
    extensions = HeaderExtensionsMap()
    ids = [RTCRtpHeaderExtensionParameters(id=4, uri=MID_URI),
           RTCRtpHeaderExtensionParameters(id=3, uri=ABS_SEND_TIME_URI)]  # fmt: skip
    extensions.configure(RTCRtpParameters(headerExtensions=ids))
    return RtpPacket.parse(data, extensions)


def test_headers_parse_back_with_every_field_and_extension() -> None:
    writer = HeaderWriter(96, 0xDEADBEEF, mid="12", mid_id=4, abs_send_time_id=3)
    packet = parse(writer.header(65535, 0xFFFFFFFF, 1, 0xABCDEF) + b"payload")
    assert (packet.payload_type, packet.ssrc, packet.sequence_number, packet.timestamp, packet.marker) == (
        96, 0xDEADBEEF, 65535, 0xFFFFFFFF, 1)  # fmt: skip
    assert (packet.extensions.mid, packet.extensions.abs_send_time, packet.payload) == ("12", 0xABCDEF, b"payload")
    bare = parse(HeaderWriter(111, 7).header(1, 2, 0, 5) + b"x")
    assert (bare.extensions.mid, bare.extensions.abs_send_time, bare.payload) == (None, None, b"x")


def test_keyframe_starts_are_found_in_aiortcs_own_vp8_packets() -> None:
    clip = video_clip(width=320, height=240, seconds=1, keyframe_every=10)
    encoder = Vp8Encoder()
    for frame in clip.frames[:12]:
        payloads, _ = encoder.pack(frame)
        assert vp8_starts_keyframe(payloads[0]) == frame.keyframe
        assert not any(vp8_starts_keyframe(p) for p in payloads[1:])
    assert sum(f.keyframe for f in clip.frames[:12]) == 2


class Wire:
    """Stands for the subscriber's socket: what the slot sent, decoded back; ``full`` refuses everything."""

    def __init__(self) -> None:
        self.packets: list[RtpPacket] = []
        self.full = False
        self.paused = True

    def pause(self, paused: bool) -> None:
        self.paused = paused

    def send(self, header: bytes, payload: bytes, sequence_number: int, timestamp: int, ntp: int) -> bool:
        if self.full:
            return False
        self.packets.append(parse(header + payload))
        return True


def packets(first_seq: int, first_ts: int, count: int, *, at: float, key_at: int = 0) -> list[ForwardedPacket]:
    """A publisher's video: one packet a frame (33 ms), a key frame at ``key_at``."""
    return [ForwardedPacket((first_seq + i) & 0xFFFF, (first_ts + 3000 * i) & 0xFFFFFFFF, 1, b"frame%d" % i,
                            picture_start=i == key_at, ntp=int((at + i / 30) * NTP_SECOND))
            for i in range(count)]  # fmt: skip


A, B = Source("a", "video"), Source("b", "video")
A_SMALL = Source("a", "video-small")


def slot(wire: Wire, requests: list[Slot]) -> Slot:
    return Slot("video", HeaderWriter(96, 42), wire, mime_type="video/VP8", clock_rate=90_000,
                want_keyframe=requests.append, first_sequence_number=65530)  # fmt: skip


def test_a_slot_starts_at_a_key_frame_and_numbers_on_across_a_change_of_source() -> None:
    wire, requests = Wire(), []
    forwarding = slot(wire, requests)
    forwarding.restart(A)
    for packet in packets(100, 5000, 10, at=1000.0, key_at=3):
        forwarding.push(packet, A)
    assert [p.payload for p in wire.packets] == [b"frame%d" % i for i in range(3, 10)]
    forwarding.restart(B)
    for packet in packets(40000, 2**32 - 6000, 10, at=1001.0, key_at=2):  # another publisher's numbers and clock
        forwarding.push(packet, B)
    sent = wire.packets
    assert [p.payload for p in sent[7:]] == [b"frame%d" % i for i in range(2, 10)]
    assert [p.sequence_number for p in sent] == [(65530 + i) & 0xFFFF for i in range(len(sent))]  # wraps, no gap
    assert {p.ssrc for p in sent} == {42}
    steps = [(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(sent)]
    assert steps[:6] == [3000] * 6 and steps[7:] == [3000] * 7
    assert 90_000 * 0.7 < steps[6] < 90_000 * 0.8  # the switch: the wall-clock time that passed (~0.77 s)
    forwarding.request_keyframe()
    assert requests == [forwarding]


def test_late_and_padding_packets_leave_no_holes_and_refused_sends_are_counted() -> None:
    wire, requests = Wire(), []
    forwarding = slot(wire, requests)
    forwarding.restart(A)
    stream = packets(10, 0, 6, at=0.0, key_at=1)
    for packet in [stream[1], stream[0], stream[2]]:  # the packet before the key frame arrives late
        forwarding.push(packet, A)
    padding = ForwardedPacket(13, stream[2].timestamp, 0, b"", picture_start=False, ntp=stream[2].ntp)
    forwarding.push(padding, A)
    for packet in stream[4:]:  # 14, 15: numbered on from 12 as if 13 never was
        forwarding.push(packet, A)
    assert [p.payload for p in wire.packets] == [b"frame1", b"frame2", b"frame4", b"frame5"]
    numbers = [p.sequence_number for p in wire.packets]
    assert numbers == [65530, 65531, 65532, 65533]
    wire.full = True
    forwarding.push(packets(16, 18000, 1, at=0.2)[0], A)
    assert (forwarding.forwarded, forwarding.dropped) == (4, 1)


def test_after_an_outage_upstream_the_slot_waits_for_a_key_frame_and_numbers_on_without_a_gap() -> None:
    wire, requests = Wire(), []
    forwarding = slot(wire, requests)
    forwarding.restart(A)
    stream = packets(1000, 0, 400, at=0.0, key_at=0)
    for packet in stream[:10]:
        forwarding.push(packet, A)
    for packet in stream[13:20]:  # three lost on the way to the relay: a gap the subscriber sees and asks for
        forwarding.push(packet, A)
    assert wire.packets[10].sequence_number - wire.packets[9].sequence_number == 4
    requests.clear()
    # five seconds never arrived (a node link cut); what comes after is no key frame until the one asked for
    resumed = packets(1000 + 170, 3000 * 170, 20, at=170 / 30, key_at=5)
    for packet in resumed:
        forwarding.push(packet, A)
    assert requests == [forwarding]  # asked at once
    after = wire.packets[17:]
    assert [p.payload for p in after] == [b"frame%d" % i for i in range(5, 20)]  # from the key frame on
    assert after[0].sequence_number == (wire.packets[16].sequence_number + 1) & 0xFFFF  # no gap: no loss counted
    assert [b.sequence_number - a.sequence_number for a, b in itertools.pairwise(after)] == [1] * 14
    assert 90_000 * 5 < (after[0].timestamp - wire.packets[16].timestamp) & 0xFFFFFFFF < 90_000 * 6  # time passed
    forwarding.request_keyframe()  # the subscriber asks too, within 2 s: one request is enough
    forwarding.pending_key = A_SMALL  # its line now takes another size: that size's first key frame is asked at once
    forwarding.request_keyframe()
    assert requests == [forwarding, forwarding]


def test_a_long_stream_keeps_flowing_past_half_the_sequence_space() -> None:
    wire, requests = Wire(), []
    forwarding = slot(wire, requests)
    forwarding.restart(A)
    for packet in packets(60000, 0, 40000, at=0.0):  # wraps at 65536 and runs far past 60000 + 32768
        forwarding.push(packet, A)
    assert forwarding.forwarded == 40000 and forwarding.dropped == 0
    assert len(wire.packets) == 40000
    forwarding.push(packets(60000 + 39999 - 10, 0, 1, at=0.0)[0], A)  # a late (reordered) recent packet still goes
    assert forwarding.forwarded == 40001


def test_numbering_and_clock_run_on_without_a_jump_across_sizes_and_pauses() -> None:
    """What the subscriber's browser counts as loss is a jump in the numbers: across a change of size (taken at the
    new size's key frame, the old size going on till then), a pause and a resume there must be none."""
    wire, switches = Wire(), []
    forwarding = Slot("video", HeaderWriter(96, 42), wire, mime_type="video/VP8", clock_rate=90_000,
                      want_keyframe=lambda s: None, switched=lambda s, before: switches.append(before),
                      first_sequence_number=65000)  # fmt: skip
    forwarding.restart(A)
    assert not wire.paused
    full = packets(100, 1000, 20, at=50.0)
    small = packets(7000, 900_000, 20, at=50.0, key_at=12)  # its own numbers and clock, a key frame at the 12th
    forwarding.push(full[0], A)
    forwarding.pending_key = A_SMALL  # what Relay.subscribe does for another size of the same picture
    for big, little in zip(full[1:], small[1:], strict=True):
        forwarding.push(little, A_SMALL)
        forwarding.push(big, A)
    payloads = [p.payload for p in wire.packets]
    assert payloads == [b"frame%d" % i for i in range(12)] + [b"frame%d" % i for i in range(12, 20)]
    assert (forwarding.source_key, forwarding.pending_key, switches) == (A_SMALL, None, [A])
    forwarding.restart(None)  # audio only: paused, and the outlet told so
    assert wire.paused
    for packet in small[:5]:
        forwarding.push(packet, A_SMALL)
    forwarding.restart(A)  # the picture comes back, at the full size's next key frame
    for packet in packets(200, 500_000, 10, at=60.0, key_at=3):
        forwarding.push(packet, A)
    sent = wire.packets
    assert [p.sequence_number for p in sent] == [(65000 + i) & 0xFFFF for i in range(len(sent))]  # no jump
    steps = [(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(sent)]
    assert all(0 < step < 0x80000000 for step in steps)  # always forward
    paused_for = (60 + 3 / 30) - (50 + 19 / 30)  # from the last small frame to the full size's key frame
    assert abs(steps[19] - paused_for * 90_000) < 100  # the time that passed, not a stray jump


def srtp_session(key: bytes, direction: int) -> Session:
    return Session(Policy(key=key, ssrc_type=direction, srtp_profile=Policy.SRTP_PROFILE_AES128_CM_SHA1_80))


def test_the_protector_writes_what_pylibsrtp_would_and_refuses_a_replay() -> None:
    key = bytes(range(30))
    ours, theirs = Protector(srtp_session(key, Policy.SSRC_ANY_OUTBOUND)), srtp_session(key, Policy.SSRC_ANY_OUTBOUND)
    receiver = srtp_session(key, Policy.SSRC_ANY_INBOUND)
    writer = HeaderWriter(96, 42, mid="1", mid_id=4)
    for sequence_number in range(5):
        header, payload = writer.header(sequence_number, 3000 * sequence_number, 1, 0), b"picture %d" % sequence_number
        protected = ours.protect(header, payload)
        assert protected is not None and protected == theirs.protect(header + payload)
        assert payload not in protected and len(protected) == len(header) + len(payload) + 10  # encrypted, tagged
        assert receiver.unprotect(protected) == header + payload
    assert ours.protect(writer.header(2, 6000, 1, 0), b"again") is None  # libsrtp's replay check, as None
    assert ours.protect(writer.header(5, 15000, 1, 0), bytes(1400)) is None  # longer than a packet can be


def test_a_key_frames_only_slot_sends_whole_key_frames_numbered_without_gaps() -> None:
    wire, requests = Wire(), []
    forwarding = slot(wire, requests)
    forwarding.keyframes_only = True
    forwarding.restart(A)
    # three packets a frame; key frames at frames 0 and 4 (packets 0-2 and 12-14)
    stream = [ForwardedPacket(500 + i, 3000 * (i // 3), 1 if i % 3 == 2 else 0, b"p%d" % i,
                              picture_start=i in (0, 12), ntp=int((1 + i / 90) * NTP_SECOND))
              for i in range(18)]  # fmt: skip
    for packet in stream:
        forwarding.push(packet, A)
    assert [p.payload for p in wire.packets] == [b"p0", b"p1", b"p2", b"p12", b"p13", b"p14"]
    numbers = [p.sequence_number for p in wire.packets]
    assert numbers == [(65530 + i) & 0xFFFF for i in range(6)]  # the browser counts nothing lost
    assert [p.timestamp - wire.packets[0].timestamp for p in wire.packets[::3]] == [0, 12000]
    forwarding.keyframes_only = False  # the line carries it all again: every frame from now on
    forwarding.push(ForwardedPacket(518, 18000, 1, b"p18", picture_start=False, ntp=stream[-1].ntp), A)
    assert wire.packets[-1].payload == b"p18" and wire.packets[-1].sequence_number == (65530 + 6) & 0xFFFF
