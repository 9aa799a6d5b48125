"""RTP as the relay forwards it: the few header fields it rewrites, and where a VP8 picture can be joined.

Pure functions and small value objects, no I/O. A subscriber's slot sends the publisher's payloads untouched under
its own SSRC, sequence numbers and timestamps (RFC 3550 §5.1), with the header extensions that subscriber negotiated
(RFC 8285 one-byte form).
"""

from __future__ import annotations

import struct
import time
from typing import Any

NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900 (NTP) to 1970 (Unix)
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

_FIXED_HEADER = struct.Struct("!BBHII")


def ntp_now() -> int:
    """The wall clock as a 64-bit NTP timestamp (32.32 fixed point), as RTCP sender reports carry it."""
    return int((time.time() + NTP_EPOCH_OFFSET) * (1 << 32))


class ForwardedPacket:
    """One packet of a publication, read once and shared by every slot it is sent to."""

    __slots__ = ("abs_send_time", "marker", "ntp", "payload", "picture_start", "sequence_number", "timestamp")

    @classmethod
    def read(cls, packet: Any, mime_type: str) -> ForwardedPacket:
        """From aiortc's parsed ``RtpPacket`` of a codec of ``mime_type``, stamped with the time it is forwarded."""
        payload = packet.payload
        return cls(packet.sequence_number, packet.timestamp, packet.marker, payload,
                   picture_start=bool(payload) and picture_start(mime_type, payload), ntp=ntp_now())  # fmt: skip

    def __init__(self, sequence_number: int, timestamp: int, marker: int, payload: bytes, *, picture_start: bool,
                 ntp: int) -> None:  # fmt: skip
        self.sequence_number = sequence_number
        self.timestamp = timestamp
        self.marker = marker
        self.payload = payload
        self.picture_start = picture_start  # a subscriber may start (or switch source) at this packet
        self.ntp = ntp
        self.abs_send_time = (ntp >> 14) & 0xFFFFFF  # 6.18 fixed-point seconds, what abs-send-time carries


def is_rtp(datagram: bytes) -> bool:
    """RTP, as opposed to RTCP, DTLS or STUN sharing the socket (RFC 7983 §7, RFC 5761 §4)."""
    return len(datagram) >= 12 and 127 < datagram[0] < 192 and not 192 <= datagram[1] <= 223


def vp8_starts_keyframe(payload: bytes) -> bool:
    """Whether this VP8 packet is the first of a key frame (RFC 7741 §4.2-4.3): S set, partition 0, P clear."""
    if not payload or not payload[0] & 0x10 or payload[0] & 0x07:
        return False
    index = 1
    if payload[0] & 0x80:  # X: an extension byte follows, then the fields it announces
        if len(payload) < 2:
            return False
        extension = payload[1]
        index = 2
        if extension & 0x80:  # I: picture ID, one byte or two (M bit)
            if len(payload) <= index:
                return False
            index += 2 if payload[index] & 0x80 else 1
        if extension & 0x40:  # L: TL0PICIDX
            index += 1
        if extension & 0x30:  # T or K: TID/Y/KEYIDX
            index += 1
    return len(payload) > index and not payload[index] & 0x01


def picture_start(mime_type: str, payload: bytes) -> bool:
    """Where a subscriber can begin: any audio packet; a video packet that opens a key frame."""
    mime = mime_type.lower()
    if mime.startswith("audio/"):
        return True
    return mime == "video/vp8" and vp8_starts_keyframe(payload)


class HeaderWriter:
    """Writes one subscriber stream's RTP headers: its payload type and SSRC, and the extensions it negotiated
    (an ID of 0 leaves that extension out). Everything but the per-packet fields is laid out once."""

    def __init__(self, payload_type: int, ssrc: int, *, mid: str = "", mid_id: int = 0,
                 abs_send_time_id: int = 0) -> None:  # fmt: skip
        self.payload_type = payload_type
        self.ssrc = ssrc
        before = bytes([(mid_id << 4) | (len(mid.encode()) - 1)]) + mid.encode() if mid_id and mid else b""
        self._with_time = bool(abs_send_time_id)
        if self._with_time:
            before += bytes([(abs_send_time_id << 4) | 2])
        length = len(before) + (3 if self._with_time else 0)
        after = b"\x00" * (-length % 4)
        self._first_byte = 0x90 if length else 0x80  # X: a header extension follows
        self._before = b"\xbe\xde" + ((length + len(after)) // 4).to_bytes(2, "big") + before if length else b""
        self._after = after

    def header(self, sequence_number: int, timestamp: int, marker: int, abs_send_time: int) -> bytes:
        fixed = _FIXED_HEADER.pack(self._first_byte, (marker << 7) | self.payload_type, sequence_number, timestamp,
                                   self.ssrc)  # fmt: skip
        if self._with_time:
            return fixed + self._before + abs_send_time.to_bytes(3, "big") + self._after
        return fixed + self._before + self._after


def seq_after(a: int, b: int) -> bool:
    """Whether 16-bit sequence number ``a`` comes after ``b`` (with wrap-around)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000
