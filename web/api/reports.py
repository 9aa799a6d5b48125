"""GET /api/reports/savings: travel saved per month, for the dashboard."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from aiohttp import web

from scheduler.errors import MalformedInput, Problem
from scheduler.meetings.model import VIETNAM
from scheduler.reports.savings import Savings, meeting_savings
from web.api.attendance import SAVINGS_SCHEMA, attendance_rows, travel_costs
from web.api.meetings import READERS, TIME_QUERY, query_time
from web.endpoints import Endpoint, Reply
from web.keys import CLOCK, CONFIG, MEETINGS, UNITS
from web.responses import json_reply

MAX_RANGE = timedelta(days=3 * 366)
MONTH_SCHEMA = {
    "type": "object",
    "required": ["month", "meetings", "savings"],
    "properties": {"month": {"type": "string"}, "meetings": {"type": "integer"}, "savings": SAVINGS_SCHEMA},
}
SAVINGS_REPORT_SCHEMA = {
    "type": "object",
    "required": ["months", "total"],
    "properties": {"months": {"type": "array", "items": MONTH_SCHEMA}, "total": SAVINGS_SCHEMA},
}


async def savings_by_month(request: web.Request, _: None) -> web.StreamResponse:
    """Meetings that have taken place (not cancelled) in the range, grouped by their month in Vietnam."""
    app = request.app
    now = app[CLOCK].now()
    end = query_time(request, "to", now)
    start = query_time(request, "from", end - timedelta(days=365))
    if end < start or end - start > MAX_RANGE:
        raise MalformedInput("Choose a range of at most {days} days", problems=[Problem("to", "Range too long")],
                             days=MAX_RANGE.days)  # fmt: skip
    months = await monthly_savings(app, start, end)
    ordered = [{"month": m, "meetings": n, "savings": s.rounded()} for m, (n, s) in sorted(months.items())]
    grand = sum((s for _, s in months.values()), Savings())
    return json_reply({"months": ordered, "total": grand.rounded()})


async def monthly_savings(app: web.Application, start: datetime, end: datetime) -> dict[str, tuple[int, Savings]]:
    """ "YYYY-MM" (Vietnam time) → (meetings held, travel saved) for the meetings that took place in the range."""
    now, units, costs = app[CLOCK].now(), await app[UNITS].all(), travel_costs(app[CONFIG])
    months: dict[str, tuple[int, Savings]] = defaultdict(lambda: (0, Savings()))
    for meeting in await app[MEETINGS].between(start, end):
        if meeting.state(now) in ("live", "ended"):
            rows = await attendance_rows(app, meeting, now, units)
            count, total = months[f"{meeting.starts_at.astimezone(VIETNAM):%Y-%m}"]
            months[f"{meeting.starts_at.astimezone(VIETNAM):%Y-%m}"] = (
                count + 1,
                total + meeting_savings(meeting, rows, units, costs),
            )
    return dict(months)


ENDPOINTS = (
    Endpoint("GET", "/api/reports/savings", savings_by_month, "Travel saved per month (default: the last year)",
             roles=READERS, query={"from": TIME_QUERY, "to": TIME_QUERY},
             replies={200: Reply("Monthly totals", SAVINGS_REPORT_SCHEMA)}, tags=("reports",)),
)  # fmt: skip
