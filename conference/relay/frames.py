"""Encoded frames as they travel through the relay: payload bytes plus timing, never decoded."""

from __future__ import annotations

from fractions import Fraction


class EncodedFrame:
    """What aiortc's packetizers accept in place of a decoded frame: ``bytes()``, ``pts`` and ``time_base``."""

    __slots__ = ("data", "keyframe", "pts", "time_base")

    def __init__(self, data: bytes, pts: int, time_base: Fraction, keyframe: bool) -> None:
        self.data = data
        self.pts = pts
        self.time_base = time_base
        self.keyframe = keyframe

    def __bytes__(self) -> bytes:
        return self.data

    def shifted(self, offset: int) -> EncodedFrame:
        return EncodedFrame(self.data, self.pts + offset, self.time_base, self.keyframe)


def is_keyframe(mime_type: str, data: bytes) -> bool:
    """Whether a subscriber can start decoding at this frame. Audio frames all stand alone."""
    mime = mime_type.lower()
    if mime == "video/vp8":
        return bool(data) and not data[0] & 0x01  # RFC 6386 §9.1: bit 0 of the frame tag is 0 on key frames
    if mime == "video/h264":
        return b"\x00\x00\x01\x65" in data or b"\x00\x00\x00\x01\x65" in data  # an IDR slice
    return not mime.startswith("video/")


def vp8_size(keyframe: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 key frame header (RFC 6386 §9.1), or None when it is not one."""
    if len(keyframe) < 10 or keyframe[0] & 0x01 or keyframe[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(keyframe[6:8], "little") & 0x3FFF
    height = int.from_bytes(keyframe[8:10], "little") & 0x3FFF
    return width, height
