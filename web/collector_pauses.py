"""Python's garbage collector, kept from stalling the relay, and its pauses measured.

A full collection walks every object the process holds; everything start-up made (~150,000 objects: modules,
classes, templates, the relay's tables) lives as long as the process, yet each full collection walked it all again:
100-190 ms on a 2-core machine, in which not one RTP packet was forwarded and no signaling answered. A flood of
small WebSocket messages set one off within a second. Freezing what start-up made (``gc.freeze``) leaves the
collector only what the meetings themselves create. The pauses are a histogram on /metrics, so an operator sees a
stall that comes back.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import CollectorRegistry, Histogram

PAUSE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5)


class CollectorPauses:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.pauses = Histogram("giaoban_gc_pause_seconds", "How long each garbage collection held the process "
                                "(everything else waits)", ["generation"], buckets=PAUSE_BUCKETS,
                                registry=registry)  # fmt: skip
        # bound once: the collector runs this twice for each of its many young-generation passes
        self._by_generation = {generation: self.pauses.labels(str(generation)) for generation in range(3)}
        self._started = 0.0

    def start(self) -> None:
        """Once the service is up: what exists now is kept out of every later collection, whose pauses are timed."""
        gc.freeze()
        gc.callbacks.append(self._observe)

    def stop(self) -> None:
        if self._observe in gc.callbacks:
            gc.callbacks.remove(self._observe)

    def _observe(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._by_generation[info["generation"]].observe(time.perf_counter() - self._started)
