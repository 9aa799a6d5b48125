"""How a subscriber's line is shared out: the voices first, then each picture at the largest size that still fits.

Pure. The order is the meeting's: what a commune must not lose comes first (every voice it hears), then a
presentation while one runs (all of it, or its key frames alone), then the chair's picture, then the floor
holder's. A picture gets the largest of its publisher's sizes that fits what is left of the budget, or nothing.
``next_step`` is the smallest budget that would give something more, one size of one picture:
what a probe must show the line carries before the relay sends it (never straight past a size).

A picture is not taken away while the budget stays within ``HOLD_SHARE`` of what the subscriber gets now: an estimate
that dips by a report's chance loss keeps a line's last picture, only one that falls clearly below it does not (on
300 kbit/s with 3 % loss a 2 % dip took the smallest picture away, and it came back only 7 s later, after a probe).
A smaller size is taken at once: it keeps the picture going, and a line that falls from the full picture gets there
a report sooner.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conference.layout import SCREEN_KEYFRAMES, SCREEN_KEYFRAMES_KBPS, Layer

Choice = Mapping[str, str | None]  # slot → the track it gets (a size of the planned picture), or None

HOLD_SHARE = 0.9  # of what the current choice costs: a budget above this keeps it


@dataclass(frozen=True)
class Want:
    """A receiving slot that should show a picture, and the sizes its publisher offers, smallest first."""

    slot: str
    ladder: tuple[Layer, ...]


def allocate(budget_kbps: float, audio_kbps: float, wants: Sequence[Want],
             held: Choice | None = None) -> dict[str, str | None]:  # fmt: skip
    """The largest sizes that fit ``budget_kbps``; or what is ``held`` now, while the budget is only a little short
    of it and what fits would take one of its pictures away."""
    choice = _fit(budget_kbps, audio_kbps, wants)
    if held is None:
        return choice
    kept = {want.slot: held.get(want.slot) for want in wants}
    offered = {want.slot: {layer.track for layer in want.ladder} for want in wants}
    if any(track is not None and track not in offered[slot] for slot, track in kept.items()):
        return choice  # a size its publisher no longer sends
    taken_away = any(kept[slot] is not None and choice[slot] is None for slot in kept)
    cost = cost_kbps(kept, audio_kbps, wants)
    dipped = HOLD_SHARE * cost <= budget_kbps < cost  # (a budget that affords it may buy another share-out)
    return kept if taken_away and dipped else choice


def _fit(budget_kbps: float, audio_kbps: float, wants: Sequence[Want]) -> dict[str, str | None]:
    left = budget_kbps - audio_kbps
    choice: dict[str, str | None] = {}
    for want in wants:
        fitting = [layer for layer in want.ladder if layer.kbps <= left]
        choice[want.slot] = fitting[-1].track if fitting else None
        if fitting:
            left -= fitting[-1].kbps
    return choice


def cost_kbps(choice: Choice, audio_kbps: float, wants: Sequence[Want]) -> float:
    """What a choice sends: its voices and the pictures at their chosen sizes."""
    rates = {(want.slot, layer.track): layer.kbps for want in wants for layer in want.ladder}
    return audio_kbps + sum(rates[(slot, track)] for slot, track in choice.items() if track is not None)


def next_step(budget_kbps: float, audio_kbps: float, wants: Sequence[Want]) -> float | None:
    """The smallest budget above what ``budget_kbps`` buys that buys something else, or None at the top."""
    now = allocate(budget_kbps, audio_kbps, wants)
    spent = cost_kbps(now, audio_kbps, wants)
    sizes = [[0, *(layer.kbps for layer in want.ladder)] for want in wants]
    candidates = sorted({audio_kbps + sum(combination) for combination in itertools.product(*sizes)})
    for candidate in candidates:
        if candidate > spent and allocate(candidate, audio_kbps, wants) != now:
            return candidate
    return None


def presentation_ladder(screen: Sequence[Layer]) -> tuple[Layer, ...]:
    """A presentation's sizes: its key frames alone below the whole of it (none while it is not sent)."""
    return (Layer(SCREEN_KEYFRAMES, SCREEN_KEYFRAMES_KBPS, 0, 0), *screen) if screen else ()
