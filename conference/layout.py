"""The fixed shape of every media connection, shared by the room, the relay and the browser.

Each browser negotiates once: first the tracks it publishes, then a fixed set of receiving slots. The relay then only
switches which publisher feeds a slot; nobody renegotiates when the floor moves, which keeps old browsers and the
relay simple.
"""

from __future__ import annotations

from typing import NamedTuple

AUDIO_SLOTS = 4  # floor holders heard at once (one, unless the chair opens a discussion)
GRID_SLOTS = 12  # small pictures on one page of the chair's console

CHAIR_PUBLISHES = ("audio", "video", "video-small")
PARTICIPANT_PUBLISHES = ("audio", "video")

# The most a browser may spend on each picture it sends, kbit/s. The chair's is everyone's main view; the small copy
# is what weak lines get; a commune's picture is mostly a small one on the chair's console and its uplink is shared
# (what its picture takes, its voice and its neighbours lose); twelve of them fill the chair's downlink.
CHAIR_VIDEO_KBPS = 1200
SMALL_VIDEO_KBPS = 150
PARTICIPANT_VIDEO_KBPS = 400


class Source(NamedTuple):
    """A published track: whose connection, and which of its tracks."""

    connection: str
    track: str


def floor_slots() -> list[str]:
    return [*(f"floor-audio-{i}" for i in range(AUDIO_SLOTS)), "floor-video"]


def participant_slots() -> list[str]:
    return ["chair-audio", "chair-video", *floor_slots()]


def chair_slots() -> list[str]:
    return [*floor_slots(), *(f"grid-{i}" for i in range(GRID_SLOTS))]


def publishes(role: str) -> tuple[str, ...]:
    return CHAIR_PUBLISHES if role == "chair" else PARTICIPANT_PUBLISHES


def video_limits_kbps(role: str) -> dict[str, int]:
    """The cap on each video track the role publishes."""
    if role == "chair":
        return {"video": CHAIR_VIDEO_KBPS, "video-small": SMALL_VIDEO_KBPS}
    return {"video": PARTICIPANT_VIDEO_KBPS}


def slots(role: str) -> list[str]:
    return chair_slots() if role == "chair" else participant_slots()


def kind_of(name: str) -> str:
    """``audio`` or ``video`` for a published track or a slot name."""
    return "audio" if "audio" in name else "video"
