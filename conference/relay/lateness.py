"""How late a publication's packets reach the relay, read from their RTP timestamps. Pure, no I/O.

A packet's transit, the time it is handled minus its timestamp in seconds, is its delay plus a constant nobody
knows (the publisher's clock started anywhere). The smallest transit seen is the stream's quickest delivery; a packet
whose transit exceeds it by seconds waited that long somewhere: mostly in the kernel's queue while the relay was busy
(161 handshakes at the start of a meeting leave seconds of the chair's packets queued). Forwarding such packets makes
everyone watch the past for as long as the queue takes to work off, at full cost; skipping them costs nothing and
brings everyone back to now.
"""

from __future__ import annotations

STALE_AFTER = 2.0  # seconds behind the quickest delivery; well above a slow line's key frame, which takes ~1 s
DRIFT_ALLOWANCE = 0.001  # seconds a second the baseline may creep up: two clocks drift apart over a long meeting
GIVE_UP_AFTER = 10.0  # seconds of nothing but late packets: no queue lasts that long once its packets are skipped
# (a join storm's lasts a few seconds); the publisher's clock must have jumped, and its new pace becomes the baseline


class Lateness:
    def __init__(self, clock_rate: int) -> None:
        self._clock_rate = clock_rate
        self._last_timestamp: int | None = None
        self._timestamp = 0  # extended past 32-bit wrap-around
        self._baseline: float | None = None
        self._checked = 0.0
        self._late_since: float | None = None
        self.behind = 0.0  # seconds the latest packet came after the quickest delivery: how far behind the relay is

    def behind_at(self, now: float) -> float:
        """``behind`` while the stream flows; a stream silent for a second is behind on nothing."""
        return self.behind if now - self._checked < 1.0 else 0.0

    def late(self, timestamp: int, now: float) -> bool:
        """Whether the packet stamped ``timestamp``, handled at ``now`` (monotonic seconds), is too late to forward."""
        transit = now - self._extend(timestamp) / self._clock_rate
        baseline = transit if self._baseline is None else self._baseline + DRIFT_ALLOWANCE * (now - self._checked)
        self._baseline = baseline = min(baseline, transit)
        self._checked = now
        self.behind = transit - baseline
        if self.behind <= STALE_AFTER:
            self._late_since = None
            return False
        if self._late_since is None:
            self._late_since = now
        elif now - self._late_since > GIVE_UP_AFTER:
            self._baseline, self._late_since = transit, None
            return False
        return True

    def _extend(self, timestamp: int) -> int:
        if self._last_timestamp is None:
            self._last_timestamp, self._timestamp = timestamp, timestamp
            return timestamp
        step = ((timestamp - self._last_timestamp + 0x80000000) & 0xFFFFFFFF) - 0x80000000  # signed: may go back
        if step > 0:
            self._last_timestamp = timestamp
            self._timestamp += step
            return self._timestamp
        return self._timestamp + step
