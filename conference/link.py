"""Judging a subscriber's link from RTCP: good, weak (the chair's small picture) or poor (audio only).

Two signs: the loss its receiver reports, and its receive estimate (REMB), which a browser lowers below what it
receives when packets start queueing on its line, before they are lost. An estimate is a sign only while it is well
below what we send: a browser receiving audio alone estimates little because little comes, not because its line is
slow.

Pure and slow to change its mind: a link must stay bad for several samples before it is downgraded, and good for
longer before it is upgraded, so a single lost burst does not make pictures flicker on and off.
"""

from __future__ import annotations

from conference.room import LINK_GOOD, LINK_POOR, LINK_WEAK

POOR_LOSS = 0.10
WEAK_LOSS = 0.04
POOR_KBPS = 250.0  # a receive estimate below this carries no picture worth seeing
SQUEEZED = 0.8  # an estimate below this share of what we send: the line cannot take it
SAMPLES_TO_DOWNGRADE = 3
SAMPLES_TO_UPGRADE = 5
# A line too slow for video is loss-free on audio alone; going back to video then fails again. Each relapse soon
# after an upgrade doubles the wait before the next try (up to ~2 min of samples); a long steady spell forgets it.
RELAPSE_SAMPLES = 15
MAX_SAMPLES_TO_UPGRADE = 60
STEADY_SAMPLES = 150


class LinkJudge:
    def __init__(self) -> None:
        self.level = LINK_GOOD
        self._streak_level = LINK_GOOD
        self._streak = 0
        self._samples_to_upgrade = SAMPLES_TO_UPGRADE
        self._since_change = 0
        self._last_change_was_upgrade = False

    def add(self, loss: float, estimate_kbps: float | None = None, sent_kbps: float = 0.0) -> str:
        """One sample: the fraction lost, the receiver's estimate (None if it sent none) and what we sent it."""
        squeezed_to = estimate_kbps if estimate_kbps is not None and estimate_kbps < SQUEEZED * sent_kbps else None
        seen = LINK_GOOD
        if loss > POOR_LOSS or (squeezed_to is not None and squeezed_to < POOR_KBPS):
            seen = LINK_POOR
        elif loss > WEAK_LOSS or squeezed_to is not None:
            seen = LINK_WEAK
        if seen == self._streak_level:
            self._streak += 1
        else:
            self._streak_level, self._streak = seen, 1
        self._since_change += 1
        worse = _rank(seen) > _rank(self.level)
        needed = SAMPLES_TO_DOWNGRADE if worse else self._samples_to_upgrade
        if seen != self.level and self._streak >= needed:
            if worse and self._last_change_was_upgrade and self._since_change <= RELAPSE_SAMPLES:
                self._samples_to_upgrade = min(2 * self._samples_to_upgrade, MAX_SAMPLES_TO_UPGRADE)
            self.level, self._since_change, self._last_change_was_upgrade = seen, 0, not worse
        elif self._since_change >= STEADY_SAMPLES:
            self._samples_to_upgrade = SAMPLES_TO_UPGRADE
        return self.level


def _rank(level: str) -> int:
    return (LINK_GOOD, LINK_WEAK, LINK_POOR).index(level)
