"""What a subscriber's line carries: an estimate the relay trusts, from what it sent and what the browser reports.

Pure: the relay feeds it RTCP receiver-report blocks (cumulative loss and highest sequence number per stream, and
the round trip), the browser's receive estimate (REMB) and its own byte count, and asks it twice a second what the
line carries. aiortc gives no transport-wide feedback, so this is the classic loss-based controller of libwebrtc with
a REMB cap, and it climbs only by probing, as SFUs do:

- **Overload**: the loss of the last reports is well over the line's own baseline (``loss > baseline + margin``):
  the estimate falls at once to what actually got through, so the relay picks the size that fits at the next
  judgement (browsers report about once a second). Or the browser's estimate, not rising, says it
  takes far less than we send (its queue is filling before anything is lost).
- **Baseline**: loss the line has even when it is not full (3 % of random loss on a radio link) is learnt while the
  line is not overloaded and never causes a downgrade.
- **Probing**: the estimate only rises when a probe shows the line carries more. The relay pads the subscriber's
  stream (RTX padding, never media), ramping up to the next step's rate (or, when that is further than
  ``PROBE_REACH`` times the estimate, to a stage on the way) for ~2 s; no extra loss in a report about the time it
  was at that rate, and the estimate becomes what the probe carried. A failed probe doubles the wait before the
  next (up to ``PROBE_WAIT_MAX``) and the next overshoots less, as does a relapse soon after a climb: a line that
  only just fails does not flicker.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

TICK_SECONDS = 0.5  # how often the relay asks
START_KBPS = 700.0  # before anything is known: the chair's medium picture and a small floor picture fit
MIN_KBPS = 30.0
MAX_KBPS = 5000.0
REPORT_WINDOW = 1.6  # seconds of report blocks judged together: a browser reports each stream about once a second
MIN_REPORT_SPAN = 0.9  # seconds of a stream's reports, at least, judged together (see _recent)
MIN_EXPECTED = 20  # packets; fewer say too little about loss
LOSS_MARGIN = 0.05  # over the baseline: overload
MIN_OVERLOAD_LOSS = 0.08  # and at least this much (a clean line's odd bad second is not overload)
PROBE_LOSS_MARGIN = 0.03  # over the baseline during a probe: the line does not carry the next step
BASELINE_ALPHA = 0.15  # per report window while the line is not overloaded
BASELINE_STEP = 0.015
MAX_BASELINE = 0.08  # a line that loses more than this at rest is poor, whatever its rate
HEAVY_LOSS = 0.2  # this much lost says plainly what the line carries: what got through
VERY_HEAVY_LOSS = 0.5
VERY_HEAVY_SHARE = 0.7
OUTAGE_LOSS = 0.9
DELIVERED_SHARE = 0.9  # after an overload, what got through, less a margin for the queue to drain
REMB_SQUEEZED = 0.6  # a browser estimate below this share of what we send is a sign, when it is not rising
REMB_FRESH = 3.0  # seconds
REMB_FALL = 0.25  # of what we send: a fall of the browser's estimate this deep is news
REMB_SUSTAINED = 2.5  # seconds
REMB_MEANINGFUL = 150.0  # kbit/s sent, at least, for a browser's estimate below it to say anything
PADDED_SHARE = 0.7  # of a probe's padding, at least, in the receiver's report on it, for the report to judge it
REMB_CATCH_UP = 4.0  # seconds after we send more (a picture resumed, a size up) before a low estimate counts: the
# receiver's estimator follows the incoming rate only gradually (aiortc's stayed at an audio-only line's ~80 kbit/s
# for seconds after the small picture resumed, and the line was dropped to audio only again, on a clean line)
DECREASE_HOLD = 0.5  # seconds after a decrease before the next (and only on reports about the time after it)
SWITCH_SECONDS = 0.5  # after a decrease, until the smaller size flows (it starts at its next key frame)
PROBE_RAMP = 1.0  # seconds over which a probe's rate rises to its target: it crosses a line's rate gently, and the
# first report that shows loss stops it before it has filled the line's queue
PROBE_SECONDS = 2.0
PROBE_MAX_SECONDS = 5.0  # waiting for a report that covers the top of the ramp
DRAIN_SECONDS = 0.5  # after a failed probe, until the queue it filled in the line has drained
PROBE_HEADROOM = 1.1  # a probe goes a tenth above the step it tests
PROBE_REACH = 2.75  # at most this many times the estimate: a step further away is probed for in stages, so that a
# probe overshoots a line that cannot take it by little, and the voice hardly suffers
PROBE_REACH_AFTER_FAILURE = 1.25  # a line near its limit learns it in small stages: on 300 kbit/s the estimate
# climbs to ~260 instead of sitting at the smallest picture's cost, and a report's chance loss no longer dips it
# below that picture
PROBE_STRETCH = 1.2  # a stage this close to the step it is on the way to goes all the way
PROBE_MIN_REACH = 150.0  # kbit/s: from a very low estimate (after a stall), the smallest picture in one probe
PROBE_WAIT = 0.5  # seconds before the next probe, after one that succeeded
PROBE_WAIT_AFTER_DECREASE = 3.0
PROBE_WAIT_MAX = 5.0  # a line that recovers gets its picture back within ~20 s even after many failed probes (the
# first probe after the recovery, then one per size: ~3 s each)
RELAPSE_SECONDS = 10.0  # a decrease this soon after a climb: the climb was wrong


@dataclass(frozen=True)
class LinkView:
    """The estimator's answer at one moment."""

    estimate_kbps: float
    sent_kbps: float  # what we sent it, everything included (media, retransmissions, padding)
    media_kbps: float  # of which media and retransmissions: what a probe pads up from
    loss: float | None  # fraction lost in the reports of the last ~1.6 s (None: too few)
    baseline_loss: float
    rtt_ms: float | None
    remb_kbps: float | None  # the browser's own estimate, while fresh
    probe_kbps: float | None  # pad up to this while probing


@dataclass
class _Probe:
    step_kbps: float  # what the line gets if it carries the probe
    target_kbps: float  # what the probe sends at the top of its ramp: a little more
    from_kbps: float  # what was sent when it started
    started: float
    failed: bool = False
    reached: float | None = None  # when what we sent first came near the target

    def kbps(self, now: float) -> float:
        return self.from_kbps + (self.target_kbps - self.from_kbps) * min(1.0, (now - self.started) / PROBE_RAMP)


class LinkEstimator:
    def __init__(self, now: float, start_kbps: float = START_KBPS) -> None:
        self.estimate_kbps = start_kbps
        self.baseline_loss = 0.0
        # ssrc → (highest extended sequence, cumulative lost, when): the stream's last report block
        self._streams: dict[int, tuple[int, int, float]] = {}
        # (when, expected, lost, since when) per report block: the fresh ones, what decisions read; and all of
        # them, what the console shows
        self._reports: deque[Block] = deque()
        self._seen: deque[Block] = deque()
        self._sent: deque[tuple[float, int, int]] = deque([(now, 0, 0)])  # (when, bytes sent, of which padding)
        self._rtt_ms: float | None = None
        self._rembs: deque[tuple[float, float]] = deque()  # (when, kbit/s), the last few seconds
        self._squeezed_since: float | None = None
        self._remb_low = False  # the browser's estimate, settled and not rising, is well below what we commit to
        self._resumed: dict[int, int] = {}  # streams that send again after a pause → their first sequence number
        self._padding: dict[int, int] = {}  # the streams probes pad on → the size of their packets
        self._committed = (now, 0.0)  # (risen when, kbit/s) we commit to sending about this much
        self._hold_until = now  # no decrease before
        self._fresh_after = now  # a report about a time before this tells of a rate we no longer send
        self._probe: _Probe | None = None
        self._probe_wait = PROBE_WAIT_AFTER_DECREASE
        self._reach = PROBE_REACH
        self._limited = False
        self._failed_since_decrease = False  # a probe failed since the estimate last fell
        self._next_probe = now + PROBE_WAIT_AFTER_DECREASE  # the first size settles before anything more is tried
        self._climbed_at: float | None = None
        self._learnt_upto = now  # reports after this feed the baseline
        self._learnt = 0  # report windows learnt: the first few set the baseline fast

    # --- what comes in -----------------------------------------------------------------------------------------

    def report_block(self, now: float, ssrc: int, highest: int, lost: int, rtt_ms: float | None = None) -> None:
        """One RTCP report block about one of our streams. The same block may come twice (aiortc hands a compound
        packet to every sender it names); only what advanced counts."""
        if rtt_ms is not None and rtt_ms >= 0:
            self._rtt_ms = rtt_ms
        before = self._streams.get(ssrc)
        self._streams[ssrc] = (highest, lost, now)
        if before is None:
            return
        expected = highest - before[0]
        if expected <= 0 or expected > 0x8000:  # nothing new, or a stream that restarted its numbering
            return
        stale = self._stale(ssrc, before[0], highest)
        expected, lost_now = expected - stale, lost - before[1] - stale
        if expected <= 0:
            return
        block = (now, expected, max(0, min(expected, lost_now)), before[2], ssrc)
        self._seen.append(block)
        if before[2] >= self._fresh_after:  # else: it covers a time before the rate changed
            self._reports.append(block)

    def resumed(self, ssrc: int, sequence_number: int) -> None:
        """The stream sends again after a pause, from this (16-bit) sequence number on."""
        self._resumed[ssrc] = sequence_number

    def _stale(self, ssrc: int, before: int, highest: int) -> int:
        """Of what a report counts since the one ``before``, the packets sent before the stream paused: the line lost
        them at the time (the tail of what was queued when it filled), but the receiver counts them only now, once
        a packet after them arrives, and they would be taken for loss of what we send now (a picture back on a
        restored line dropped to audio only again, on 16 % "loss" of its first second)."""
        first = self._resumed.get(ssrc)
        if first is None:
            return 0
        gap = (first - 1 - before) & 0xFFFF  # sent before the pause, after what the receiver had then
        if gap >= 0x8000:
            del self._resumed[ssrc]  # the receiver already has them, or more: nothing stale
            return 0
        if highest < before + gap + 1:
            return 0  # this report is still about the pause: the first packet after it has not arrived
        del self._resumed[ssrc]
        return gap

    def padding_on(self, ssrc: int, packet_bytes: int) -> None:
        """A probe's padding goes out on this stream, in packets of this size: its success waits for the
        receiver's word on it."""
        self._padding[ssrc] = packet_bytes

    def remb(self, now: float, kbps: float) -> None:
        self._rembs.append((now, kbps))
        while self._rembs[0][0] < now - REMB_FRESH:
            self._rembs.popleft()

    # --- what goes out -----------------------------------------------------------------------------------------

    def tick(self, now: float, sent_bytes: int, next_step_kbps: float | None, may_probe: bool = True,
             padding_bytes: int = 0) -> LinkView:  # fmt: skip
        """Judge the line now, from the bytes sent so far (``padding_bytes`` of them a probe's). ``next_step_kbps``:
        what the next size up would need (None: nothing more to give); ``may_probe``: whether the relay can afford a
        probe now (it limits how many run at once)."""
        sent_kbps, media_kbps = self._sent_kbps(now, sent_bytes, padding_bytes)
        for blocks in (self._reports, self._seen):
            while blocks and blocks[0][0] < now - REPORT_WINDOW:
                blocks.popleft()
        loss = _loss(_recent(self._reports))
        while self._rembs and self._rembs[0][0] < now - REMB_FRESH:
            self._rembs.popleft()
        remb = self._rembs[-1][1] if self._rembs else None
        overloaded = self._overloaded(now, loss, remb, media_kbps)
        if overloaded and now >= self._hold_until:
            self._decrease(now, loss, remb, sent_kbps)
        elif not overloaded:
            self._learn_baseline(now, loss)
        self._run_probe(now, loss, sent_kbps, overloaded, next_step_kbps, may_probe)
        probe = self._probe.kbps(now) if self._probe is not None else None
        return LinkView(self.estimate_kbps, sent_kbps, media_kbps, _loss(_recent(self._seen)), self.baseline_loss,
                        self._rtt_ms, remb, probe)  # fmt: skip

    @property
    def probing(self) -> bool:
        return self._probe is not None

    @property
    def measured(self) -> bool:
        """Whether the line has shown a limit: a decrease, or a probe that failed. Until then a smaller size is
        where every line starts, not something to tell its user about."""
        return self._limited

    # --- inside ------------------------------------------------------------------------------------------------

    def _sent_kbps(self, now: float, sent_bytes: int, padding_bytes: int) -> tuple[float, float]:
        """What we sent it over the last second: everything, and the media alone."""
        self._sent.append((now, sent_bytes, padding_bytes))
        while len(self._sent) > 2 and self._sent[1][0] <= now - 1.0:
            self._sent.popleft()
        then, before, padded = self._sent[0]
        if now <= then:
            return 0.0, 0.0
        per_second = 8 / 1000 / (now - then)
        return (sent_bytes - before) * per_second, (sent_bytes - before - padding_bytes + padded) * per_second

    def _noise(self) -> float:
        """How far the loss of the reports in hand strays from the line's own by chance (two standard deviations
        of a binomial count): a hundred packets on a line losing 3 % lose six or more one time in twenty."""
        expected = max(1, sum(r[1] for r in _recent(self._reports)))
        rate = max(self.baseline_loss, 0.01)
        return 2 * math.sqrt(rate * (1 - rate) / expected)

    def _overloaded(self, now: float, loss: float | None, remb: float | None, media_kbps: float) -> bool:
        lossy = loss is not None and loss > max(self.baseline_loss + LOSS_MARGIN, MIN_OVERLOAD_LOSS) + self._noise()
        # below what we commit to sending (not a probe's extra, which the browser's estimate follows only slowly),
        # while that is enough to mean something: a browser that receives little estimates little
        committed = min(media_kbps, self.estimate_kbps)
        if committed > self._committed[1] * 1.25:
            self._committed = (now, committed)
        elif committed < self._committed[1] * 0.5:  # less: the browser's estimate follows at once, no catching up
            self._committed = (self._committed[0], committed)
        settled = now - self._committed[0] >= REMB_CATCH_UP
        squeezed = remb is not None and committed >= REMB_MEANINGFUL and remb < REMB_SQUEEZED * committed
        squeezed = squeezed and not self._remb_rising(now)
        # beside loss, a low estimate that fell says how much less the line gives, however recent the last rise
        self._remb_low = squeezed and (settled or self._remb_fell(committed))
        squeezed = squeezed and settled
        if not squeezed:
            self._squeezed_since = None
        elif self._squeezed_since is None:
            self._squeezed_since = now
        return lossy or self._remb_says_full(now)

    def _remb_says_full(self, now: float) -> bool:
        """A browser's estimate that stays low is a sign; a dip while a key frame crosses a slow line's queue is
        not."""
        return self._squeezed_since is not None and now - self._squeezed_since >= REMB_SUSTAINED

    def _remb_rising(self, now: float) -> bool:
        """Whether the browser's estimate climbs (as Chrome's does, ~8 % a second, after we send it more): below
        what we send, it is then catching up, not saying the line is full."""
        older = [kbps for when, kbps in self._rembs if when <= now - 0.8]
        return bool(older) and self._rembs[-1][1] > older[-1] * 1.03

    def _remb_fell(self, committed: float) -> bool:
        """Whether the browser's estimate fell, within the last few seconds, by a good part of what we commit to: it
        is not lagging behind what we send then, it says the line gives less (aiortc's fell from ~540 to ~50 kbit/s
        within a second or two of its line dropping to 150 kbit/s). An estimate that wanders low after an
        audio-only spell falls by little."""
        return bool(self._rembs) and max(k for _, k in self._rembs) - self._rembs[-1][1] >= REMB_FALL * committed

    def _decrease(self, now: float, loss: float | None, remb: float | None, sent_kbps: float) -> None:
        if self._probe is not None:  # the probe's own extra overloads the line: that is its answer, no more
            self._probe.failed = True
            return
        candidates = [self.estimate_kbps]
        if loss is not None and loss > self.baseline_loss + LOSS_MARGIN:
            # what got through; while the loss is moderate, no deeper than what got through of the estimate: such
            # loss may be a burst, a report's loss lags what we send and the line's queue, and a deeper fall costs
            # seconds of climbing back (a line still overloaded falls again soon)
            # of what we commit to (the last second's rate may still be the size we just left); very heavy loss
            # leaves a wider margin, for the line's queue to drain
            share = DELIVERED_SHARE if loss < VERY_HEAVY_LOSS else VERY_HEAVY_SHARE
            delivered = min(sent_kbps, self.estimate_kbps) * (1 - loss) * share
            if self._remb_low and remb is not None:  # loss, and the browser's settled word agrees: it takes that
                candidates.append(remb)
            if loss >= OUTAGE_LOSS:  # nearly nothing came through: the line (or the machine) stalled, whatever the
                candidates.append(self.estimate_kbps / 2)  # rate; halve, as libwebrtc does, and look again
            elif loss >= HEAVY_LOSS:
                candidates.append(delivered)
            else:
                candidates.append(max(delivered, self.estimate_kbps * (1 - loss)))
        elif self._remb_says_full(now) and remb is not None:
            candidates.append(remb)  # no loss to go by: the browser's own word on what it takes
        lower = max(MIN_KBPS, min(candidates))
        if lower >= self.estimate_kbps:
            return  # the probe's extra was too much; what we commit to is fine
        self.estimate_kbps = lower
        self._limited = True
        self._hold_until = now + DECREASE_HOLD
        self._fresh_after = now + SWITCH_SECONDS
        self._reports.clear()  # what they said is acted on; the next decision waits for new ones
        relapse = self._climbed_at is not None and now - self._climbed_at < RELAPSE_SECONDS
        wait = 2 * max(self._probe_wait, PROBE_WAIT_AFTER_DECREASE) if relapse else PROBE_WAIT_AFTER_DECREASE
        self._probe_wait = min(PROBE_WAIT_MAX, max(self._probe_wait, wait))
        self._climbed_at = None
        self._failed_since_decrease = False
        self._next_probe = now + self._probe_wait

    def _learn_baseline(self, now: float, loss: float | None) -> None:
        """Loss while the line is not overloaded is the line's own: learnt slowly, from reports not yet learnt."""
        fresh = [r for r in self._reports if r[0] > self._learnt_upto]
        expected = sum(r[1] for r in fresh)
        if self._probe is not None or expected < MIN_EXPECTED or loss is None:
            return
        self._learnt_upto = fresh[-1][0]
        self._learnt += 1
        # a window's loss counts for at most a little over the baseline: it climbs to a line's random loss within a
        # few reports, but an overload that stays under the margin cannot teach it to ignore overloads
        lost = min(sum(r[2] for r in fresh) / expected, self.baseline_loss + BASELINE_STEP)
        alpha = max(BASELINE_ALPHA, 1 / self._learnt)
        self.baseline_loss = min(MAX_BASELINE, (1 - alpha) * self.baseline_loss + alpha * lost)

    def _run_probe(self, now: float, loss: float | None, sent_kbps: float, overloaded: bool,
                   next_step_kbps: float | None, may_probe: bool) -> None:  # fmt: skip
        probe = self._probe
        if probe is not None:
            covered = any(r[3] >= probe.started for r in self._reports)
            if loss is not None and covered and loss > self.baseline_loss + PROBE_LOSS_MARGIN + self._noise():
                probe.failed = True  # the first report that covers it says no: stop at once, the voice suffers
            if probe.reached is None and now - probe.started >= PROBE_RAMP and sent_kbps >= 0.7 * probe.target_kbps:
                probe.reached = probe.started + PROBE_RAMP  # the pacer was at the target from then
            # success: a report about a time when what we sent was at the target says no loss, and the receiver has
            # spoken of the padding itself: a first report about a stream only starts its count, so the first
            # verdict would otherwise be the voice's alone, and a line dropping a third of the padding passed
            topped = probe.reached is not None and self._carried(probe.reached)
            topped = topped and all(self._padded(ssrc, probe) for ssrc in self._padding)
            if probe.failed or now - probe.started >= PROBE_MAX_SECONDS:
                self._end_probe(now, success=False)
            elif now - probe.started >= PROBE_SECONDS and topped:
                self._end_probe(now, success=True)
            return
        if next_step_kbps is None or next_step_kbps <= self.estimate_kbps or overloaded or not may_probe:
            return
        # the loss must be known to be fine; or nothing flows at all (a picture paused, no voice), so that only a
        # probe can tell. Or only voices flow, and a browser reports on them only every ~5 s: after a fall to audio
        # only, Chromium's next fresh report came so late that a 300 kbit/s line waited 16 s for its probe, without
        # a picture. The first probe then goes without that report (it stops at the first report on its padding
        # that shows loss); after one that failed, the next waits for the voice's word, which it spares. So does the
        # first, on a line that fell under 150 kbit/s: it carries less than the smallest picture's probe, and each
        # unreported probe there cost the voice ~1 % of its second (5.3 % concealed on 150 kbit/s in CI)
        voices_only = (sent_kbps < PROBE_MIN_REACH and not self._failed_since_decrease
                       and self.estimate_kbps >= PROBE_MIN_REACH)  # fmt: skip
        unknown_but_calm = sent_kbps < MIN_KBPS or voices_only
        calm = loss <= self.baseline_loss + PROBE_LOSS_MARGIN if loss is not None else unknown_but_calm
        if now >= self._next_probe and calm:
            reach = self.estimate_kbps * self._reach
            if self.estimate_kbps < PROBE_MIN_REACH:
                reach = max(reach, self.estimate_kbps + PROBE_MIN_REACH)
            target = min(MAX_KBPS, next_step_kbps * PROBE_HEADROOM, reach)
            if target * PROBE_STRETCH >= next_step_kbps * PROBE_HEADROOM:  # a stage just short of the step: the
                target = next_step_kbps * PROBE_HEADROOM  # step itself, not a probe more for the last few kbit/s
            step = min(next_step_kbps, target)  # what the line gets if it carries the probe: the step, or a stage
            self._probe = _Probe(step, target, sent_kbps, now)

    def reports_text(self) -> str:
        """The latest fresh report block of each stream, for a debug log."""
        return f"reports (when, expected, lost, since, ssrc): {_recent(self._reports)}"

    def _carried(self, since: float) -> bool:
        """Whether the reports about the time from ``since`` on say enough, and say no extra loss: a few packets'
        worth is no word on a probe (a line that dropped half of it once passed on two packets' reports)."""
        loss = _loss(block for block in self._reports if block[3] >= since)
        return loss is not None and loss <= self.baseline_loss + PROBE_LOSS_MARGIN + self._noise()

    def _padded(self, ssrc: int, probe: _Probe) -> bool:
        """Whether the receiver's reports on the padding stream, about the time from the probe's top on, show the
        padding came at (nearly) the probe's rate: a report about the ramp, or about a time the pacer fell short,
        is no word on the target (a third of the target's padding passed once on a line that could not carry it).
        True for a stream the receiver never reports on (some do not report retransmission streams)."""
        if ssrc not in self._streams:
            return True
        needed = max(0.0, probe.target_kbps - probe.from_kbps)
        if probe.reached is None:
            return False
        blocks = [b for b in self._reports if b[4] == ssrc and b[3] >= probe.reached]
        if not blocks:
            return False
        seconds = max(b[0] for b in blocks) - min(b[3] for b in blocks)
        padded_kbps = sum(b[1] for b in blocks) * self._padding[ssrc] * 8 / 1000 / seconds if seconds > 0 else 0.0
        return padded_kbps >= PADDED_SHARE * needed

    def _end_probe(self, now: float, *, success: bool) -> None:
        """Either way the padding stops. A failed probe's loss is its answer, not a reason to go down: the reports
        that tell of it are set aside. After a success they say the line carried more than it now gets."""
        assert self._probe is not None
        if not success:
            self._reports.clear()
            self._fresh_after = max(self._fresh_after, now + DRAIN_SECONDS)
        if success:
            self.estimate_kbps = max(self.estimate_kbps, self._probe.step_kbps)
            self._climbed_at = now
            self._probe_wait, self._reach = PROBE_WAIT, PROBE_REACH
        else:  # wait longer, and overshoot less, next time: the line is near what it carries
            self._limited = self._failed_since_decrease = True
            self._probe_wait = min(PROBE_WAIT_MAX, max(2 * self._probe_wait, PROBE_WAIT_AFTER_DECREASE))
            self._reach = PROBE_REACH_AFTER_FAILURE
        self._next_probe = now + self._probe_wait
        self._probe = None


Block = tuple[float, int, int, float, int]  # (when, expected, lost, since when, ssrc): one report block's news


def _recent(blocks: Iterable[Block]) -> list[Block]:
    """Each stream's news of about the last second: its latest blocks, summed back until they cover
    ``MIN_REPORT_SPAN``. Older ones would water a change down (a line that just filled up, reported beside a second
    before it did); the latest alone may tell of a few milliseconds (Chromium sends a report block with each of its
    retransmission requests: on a lossy line a dozen a second, each about one or two packets)."""
    summed: dict[int, Block] = {}
    for when, expected, lost, since, ssrc in reversed(list(blocks)):  # newest first
        newer = summed.get(ssrc)
        if newer is None:
            summed[ssrc] = (when, expected, lost, since, ssrc)
        elif newer[0] - newer[3] < MIN_REPORT_SPAN:
            summed[ssrc] = (newer[0], newer[1] + expected, newer[2] + lost, since, ssrc)
    return list(summed.values())


def _loss(blocks: Iterable[Block]) -> float | None:
    blocks = list(blocks)
    expected = sum(block[1] for block in blocks)
    return sum(block[2] for block in blocks) / expected if expected >= MIN_EXPECTED else None
