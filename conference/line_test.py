"""The line test of a technical check: what the relay can send to one browser, through the real media path.

Pure. The check's connection receives its own camera back from the relay (a small picture, ~100 kbit/s), and the
relay pads that stream (RTX padding, as a probe does) up to the rate each of the meeting's needs takes, one stage
after another, smallest first: audio only, then the small picture, then the chair's full picture. The browser's
receiver reports say what was lost of each stage. A stage the line does not carry ends the test (the rest would
only fill its queue); what passed says which picture the meeting will give this line.

A stage passes when the loss of the reports about its time stays under ``PASS_LOSS``: a line's own random loss
(a few per cent on a radio link) passes, a line overfilled by the stage loses far more (at twice its rate, half).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from conference.layout import AUDIO_KBPS, CHAIR_LAYERS

HEADROOM = 1.1  # each stage sends a tenth more than the need it tests (the line must carry it with room to spare)
STAGE_SECONDS = 3.0
SETTLE_SECONDS = 0.5  # of a stage, before its reports count (the previous stage's queue drains, the rate rises)
MAX_WAIT_SECONDS = 2.0  # more, when no report about the stage's time has come yet
WARM_UP_SECONDS = 1.0  # before the first stage: the echoed picture starts, the first reports come
PASS_LOSS = 0.10
MIN_EXPECTED = 20  # packets a stage's reports must cover to say anything

# What a participant of a meeting receives at each level: the chair's and the floor's voices, plus a picture.
VOICES = 2
NEEDS_KBPS = {
    "audio": VOICES * AUDIO_KBPS,
    "small": VOICES * AUDIO_KBPS + CHAIR_LAYERS[0].kbps,
    "full": VOICES * AUDIO_KBPS + CHAIR_LAYERS[-1].kbps,
}


@dataclass
class StageResult:
    level: str
    target_kbps: float
    sent_kbps: float = 0.0
    expected: int = 0
    lost: int = 0

    @property
    def loss(self) -> float | None:
        return self.lost / self.expected if self.expected >= MIN_EXPECTED else None

    @property
    def passed(self) -> bool:
        return self.loss is not None and self.loss <= PASS_LOSS


@dataclass(frozen=True)
class LineResult:
    level: str  # the most the line carried: "none", or a key of NEEDS_KBPS
    rtt_ms: float | None
    loss: float | None  # the first stage's: the line's own loss when it is not full
    carried_kbps: float  # what got through of the highest stage passed
    stages: tuple[StageResult, ...]
    uplink_kbps: float = 0.0  # what the relay received of the browser's picture meanwhile

    def to_json(self) -> dict[str, object]:
        return {"level": self.level, "rtt_ms": _rounded(self.rtt_ms), "loss": _rounded(self.loss, 4),
                "carried_kbps": round(self.carried_kbps), "uplink_kbps": round(self.uplink_kbps),
                "stages": [{"level": s.level, "target_kbps": round(s.target_kbps), "sent_kbps": round(s.sent_kbps),
                            "loss": _rounded(s.loss, 4), "passed": s.passed} for s in self.stages]}  # fmt: skip


def _rounded(value: float | None, digits: int = 0) -> float | None:
    return round(value, digits) if value is not None else None


@dataclass
class _Stage:
    result: StageResult
    started: float
    sent_at_start: int = 0
    blocks: list[tuple[float, float, int, int]] = field(default_factory=list)  # (since, when, expected, lost)


class LineTest:
    def __init__(self, now: float, needs: dict[str, float] | None = None) -> None:
        self._needs = needs or dict(NEEDS_KBPS)
        self._started = now
        self._stage: _Stage | None = None
        self._done: list[StageResult] = []
        self._finished = False
        self._streams: dict[int, tuple[int, int, float]] = {}  # ssrc → (highest, lost, when): its last block
        self._rtts: list[float] = []
        self._sent = 0

    @property
    def done(self) -> bool:
        return self._finished

    def progress(self, now: float) -> float:
        """From 0 to 1, for the page's progress bar."""
        if self._finished:
            return 1.0
        total = WARM_UP_SECONDS + len(self._needs) * STAGE_SECONDS
        return min(0.99, (now - self._started) / total)

    def target_kbps(self, now: float) -> float | None:
        """What to send now, padding included (None: nothing beyond the echoed picture)."""
        self._advance(now)
        return self._stage.result.target_kbps if self._stage is not None else None

    def sent(self, now: float, sent_bytes: int) -> None:
        """Everything the relay has sent the browser so far (media, padding)."""
        self._sent = sent_bytes
        self._advance(now)

    def report_block(self, now: float, ssrc: int, highest: int, lost: int, rtt_ms: float | None) -> None:
        if rtt_ms is not None and 0 <= rtt_ms < 10_000:
            self._rtts.append(rtt_ms)
        before = self._streams.get(ssrc)
        self._streams[ssrc] = (highest, lost, now)
        if before is None or self._stage is None:
            return
        expected = highest - before[0]
        if 0 < expected < 0x8000:
            self._stage.blocks.append((before[2], now, expected, max(0, min(expected, lost - before[1]))))
        self._advance(now)

    def result(self) -> LineResult:
        passed = [stage for stage in self._done if stage.passed]
        level = passed[-1].level if passed else "none"
        first = self._done[0].loss if self._done else None
        carried = passed[-1].sent_kbps * (1 - (passed[-1].loss or 0.0)) if passed else 0.0
        rtt = statistics.median(self._rtts) if self._rtts else None
        return LineResult(level, rtt, first, carried, tuple(self._done))

    def _advance(self, now: float) -> None:
        if self._finished:
            return
        if self._stage is None:
            if now - self._started >= WARM_UP_SECONDS:
                self._begin(now, 0)
            return
        stage = self._stage
        elapsed = now - stage.started
        counted = [b for b in stage.blocks if b[0] >= stage.started + SETTLE_SECONDS]
        expected = sum(b[2] for b in counted)
        if elapsed >= STAGE_SECONDS and (expected >= MIN_EXPECTED or elapsed >= STAGE_SECONDS + MAX_WAIT_SECONDS):
            stage.result.expected, stage.result.lost = expected, sum(b[3] for b in counted)
            stage.result.sent_kbps = (self._sent - stage.sent_at_start) * 8 / 1000 / max(elapsed, 1e-3)
            self._done.append(stage.result)
            index = len(self._done)
            if stage.result.passed and index < len(self._needs):
                self._begin(now, index)
            else:
                self._stage, self._finished = None, True

    def _begin(self, now: float, index: int) -> None:
        level, need = list(self._needs.items())[index]
        self._stage = _Stage(StageResult(level, need * HEADROOM), now, self._sent)
