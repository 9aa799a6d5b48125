"""One reporter for all sender reports: each outlet about once a second, in slices, and nothing after it is gone."""

from __future__ import annotations

import asyncio

from conference.relay.reports import REPORT_SECONDS, SLICES, Reporter
from tests.waiting import until


class Counting:
    def __init__(self, fails: bool = False) -> None:
        self.reports = 0
        self._fails = fails

    async def report(self) -> None:
        self.reports += 1
        if self._fails:
            raise ConnectionError("its transport closed under it")


async def test_every_outlet_reports_in_turn_and_a_removed_one_stops() -> None:
    reporter = Reporter()
    outlets = [Counting(fails=i == 3) for i in range(25)]
    for outlet in outlets:
        reporter.add(outlet)
    await until(lambda: all(outlet.reports >= 2 for outlet in outlets))  # the failing one is not skipped either
    assert max(outlet.reports for outlet in outlets) <= 3  # in turn: nobody reports twice while another waits
    reporter.remove(outlets[0])
    gone, before = outlets[0].reports, outlets[1].reports
    await until(lambda: outlets[1].reports >= before + 2)
    assert outlets[0].reports == gone
    await reporter.close()
    stopped = [outlet.reports for outlet in outlets]
    await asyncio.sleep(REPORT_SECONDS / SLICES * 3)
    assert [outlet.reports for outlet in outlets] == stopped
