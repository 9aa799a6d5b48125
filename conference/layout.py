"""The fixed shape of every media connection, shared by the room, the relay and the browser.

Each browser negotiates once: first the tracks it publishes, then a fixed set of receiving slots. The relay then only
switches which publisher feeds a slot; nobody renegotiates when the floor moves, which keeps old browsers and the
relay simple.
"""

from __future__ import annotations

from typing import NamedTuple

AUDIO_SLOTS = 4  # floor holders heard at once (one, unless the chair opens a discussion)
GRID_SLOTS = 12  # small pictures on one page of the chair's console
# A node link (live/links.py) is a media connection between two relays with room for every publication one node
# may want of another: each voice heard, every size of the chair's and the floor holders' pictures, a grid page.
LINK = "link"
LINK_AUDIO_SLOTS = 8
LINK_VIDEO_SLOTS = 40

# Every picture is published in more than one size (separate tracks: aiortc cannot receive simulcast), so that the
# relay can give each subscriber the size its line carries without decoding anything. Smallest first.
SMALL, MEDIUM, FULL = "video-small", "video-medium", "video"
# A presentation (a screen, a window, a tab) is a track of its own, negotiated at join like the others: it carries
# nothing until its unit shares. Tuned for text: a few pictures a second at up to 1280x720.
SCREEN = "screen"
CHAIR_PUBLISHES = ("audio", FULL, MEDIUM, SMALL, SCREEN)
PARTICIPANT_PUBLISHES = ("audio", FULL, SMALL, SCREEN)
PRESENTATION = "presentation"  # the slot every page shows a presentation in
# A technical check (conference/line_test.py) publishes a small picture and receives it back from the relay.
CHECK = "check"
CHECK_PUBLISHES = (SMALL,)
CHECK_SLOT = "check-video"

# What a line must keep for each voice it hears: Opus at ~32 kbit/s with in-band FEC, and 50 packets a second of
# RTP, SRTP, UDP and IP headers (~58 bytes each, ~23 kbit/s)
AUDIO_KBPS = 56
WIRE_SHARE = 1.08  # a picture's packets on the wire: its cap and their headers


class Layer(NamedTuple):
    """One size of a published picture: its track, the most the browser may spend on it, and its frame size."""

    track: str
    kbps: int
    width: int
    height: int


# The chair's is everyone's main view; a commune's picture is mostly a small one on the chair's console (twelve of
# them fill the chair's downlink) and its uplink is shared: what its picture takes, its voice and neighbours lose.
CHAIR_LAYERS = (Layer(SMALL, 150, 320, 180), Layer(MEDIUM, 450, 640, 360), Layer(FULL, 1200, 1280, 720))
PARTICIPANT_LAYERS = (Layer(SMALL, 150, 320, 180), Layer(FULL, 400, 640, 360))
VIDEO_TRACKS = (SMALL, MEDIUM, FULL)  # every picture track name, smallest first
CHECK_LAYERS = (Layer(SMALL, 100, 320, 180),)  # under what an audio-only line carries, so that it tests that too
SCREEN_LAYER = Layer(SCREEN, 500, 1280, 720)  # ~5-15 pictures a second of slides or a document
# A presentation for a line too weak for all of it: its key frames alone, one asked for every few seconds (a slide
# is still: what changes shows within seconds, and each key frame decodes by itself).
SCREEN_KEYFRAMES = "screen-keyframes"
SCREEN_KEYFRAMES_KBPS = 100
SCREEN_KEYFRAME_SECONDS = 3.0


class Source(NamedTuple):
    """A published track: whose connection, and which of its tracks."""

    connection: str
    track: str


def floor_slots() -> list[str]:
    return [*(f"floor-audio-{i}" for i in range(AUDIO_SLOTS)), "floor-video"]


def slot_names() -> dict[str, object]:
    """The slots by what the page shows in them (the page takes these, not copies of the names)."""
    return {"chair_audio": "chair-audio", "chair_video": "chair-video", "floor_video": "floor-video",
            "floor_audio": [f"floor-audio-{i}" for i in range(AUDIO_SLOTS)], "presentation": PRESENTATION,
            "grid": [f"grid-{i}" for i in range(GRID_SLOTS)]}  # fmt: skip


def participant_slots() -> list[str]:
    return ["chair-audio", "chair-video", *floor_slots(), PRESENTATION]


def chair_slots() -> list[str]:
    return [*floor_slots(), *(f"grid-{i}" for i in range(GRID_SLOTS)), PRESENTATION]


def link_slots() -> list[str]:
    return [
        *(f"link-audio-{i}" for i in range(LINK_AUDIO_SLOTS)),
        *(f"link-video-{i}" for i in range(LINK_VIDEO_SLOTS)),
    ]


def publishes(role: str) -> tuple[str, ...]:
    if role == LINK:
        return ()  # the receiving relay offers: it publishes what arrives into its own relay
    if role == CHECK:
        return CHECK_PUBLISHES
    return CHAIR_PUBLISHES if role == "chair" else PARTICIPANT_PUBLISHES


def layers(role: str) -> tuple[Layer, ...]:
    """The sizes of the picture the role publishes, smallest first."""
    if role == CHECK:
        return CHECK_LAYERS
    return CHAIR_LAYERS if role == "chair" else PARTICIPANT_LAYERS


def video_limits_kbps(role: str) -> dict[str, int]:
    """The cap on each video track the role publishes."""
    return {layer.track: layer.kbps for layer in (*layers(role), SCREEN_LAYER)}


def video_sizes(role: str) -> dict[str, list[int]]:
    """The frame size of each video track the role publishes (the page scales its camera, and caps a shared
    screen, to it)."""
    return {layer.track: [layer.width, layer.height] for layer in (*layers(role), SCREEN_LAYER)}


def slots(role: str) -> list[str]:
    if role == LINK:
        return link_slots()
    if role == CHECK:
        return [CHECK_SLOT]
    return chair_slots() if role == "chair" else participant_slots()


def kind_of(name: str) -> str:
    """``audio`` or ``video`` for a published track or a slot name."""
    return "audio" if "audio" in name else "video"
