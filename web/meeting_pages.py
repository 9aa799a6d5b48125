"""Pages for hosts and secretaries: dashboard, week calendar, meeting form, invitations, attendance.

Plain HTML forms that post back here (they work without JavaScript; ``tree.js`` only adds search and ticking a
whole district). Each handler calls the same domain functions as the JSON API.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from babel.dates import format_date
from babel.numbers import format_decimal
from multidict import MultiDictProxy

from scheduler.attendance.report import attendance_report
from scheduler.directory.units import Unit, children_by_parent, fold_diacritics
from scheduler.errors import N_, Conflict, InvalidInput, NotAuthorised, NotFound
from scheduler.meetings.model import DEFAULT_LOBBY_MINUTES, VIETNAM, Meeting, plan_meetings
from scheduler.meetings.store import MeetingStore
from scheduler.readiness import FIXES, LABELS, LINE_LABELS
from scheduler.reports.savings import Savings, meeting_savings
from web.api.attendance import FORMATS, attendance_rows, travel_costs
from web.api.meetings import PLANNERS, READERS, cancel_meetings, change_meetings, scope_of
from web.api.reports import monthly_savings
from web.auth import authorise
from web.keys import ATTENDANCE, CLOCK, CONFIG, I18N, INVITATIONS, MEETINGS, READINESS, UNITS
from web.lifecycle import wake_mail_sender
from web.mail import meeting_time_text, series_text
from web.pages import require_session
from web.responses import render


async def require_role(request: web.Request, roles: tuple[str, ...]) -> None:
    session = await require_session(request)
    if session.role not in roles:
        raise NotAuthorised("Your role ({role}) may not do this", role=session.role)


def local(moment: datetime | None, pattern: str = "%H:%M %d/%m/%Y") -> str:
    return moment.astimezone(VIETNAM).strftime(pattern) if moment else ""


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- calendar and dashboard ----------------------------------------------------------------------------------------


async def meetings_page(request: web.Request) -> web.StreamResponse:
    await require_role(request, READERS)
    now = request.app[CLOCK].now()
    try:
        monday = week_start(date.fromisoformat(request.query.get("week", "")))
    except ValueError:
        monday = week_start(now.astimezone(VIETNAM).date())
    start = datetime(monday.year, monday.month, monday.day, tzinfo=VIETNAM)
    meetings = await request.app[MEETINGS].between(start, start + timedelta(days=7))
    days = [(monday + timedelta(days=i), [m for m in meetings if m.starts_at.astimezone(VIETNAM).date() ==
                                          monday + timedelta(days=i)]) for i in range(7)]  # fmt: skip
    upcoming = await coming_up(request.app[MEETINGS], now, timedelta(days=60))
    return render(request, "meetings.html", {
        "days": days, "monday": monday, "previous": monday - timedelta(days=7), "next": monday + timedelta(days=7),
        "upcoming": upcoming, "now": now, "local": local, "today": now.astimezone(VIETNAM).date(),
        "weekday": lambda day: format_date(day, "EEEE", locale=request.app[I18N].language_of(request)),
    })  # fmt: skip


UNDER_WAY = ("scheduled", "lobby_open", "live")
LONGEST_MEETING = timedelta(hours=12)


async def coming_up(meetings: MeetingStore, now: datetime, ahead: timedelta) -> list[Meeting]:
    """Meetings still to come, or under way (one started earlier today and still live); not ended, not
    cancelled."""
    found = await meetings.between(now - LONGEST_MEETING, now + ahead)
    return [meeting for meeting in found if meeting.state(now) in UNDER_WAY]


async def dashboard_page(request: web.Request) -> web.StreamResponse:
    await require_role(request, READERS)
    app = request.app
    now = app[CLOCK].now()
    this_month = now.astimezone(VIETNAM).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    first = (this_month - timedelta(days=330)).replace(day=1)
    months = {month: saved for month, (_, saved) in (await monthly_savings(app, first, now)).items()}
    total = sum(months.values(), Savings())
    language = app[I18N].language_of(request)
    upcoming = await coming_up(app[MEETINGS], now, timedelta(days=14))
    context = {"chart": _month_bars(first, this_month, months), "total": savings_text(total, language),
               "local": local, "upcoming": upcoming, "now": now}  # fmt: skip
    return render(request, "dashboard.html", context)


def _month_bars(first: datetime, last: datetime, months: dict[str, Savings]) -> list[dict[str, Any]]:
    """One bar per month from ``first`` to ``last``; heights in percent of the highest month."""
    kilometres: list[tuple[str, int]] = []
    cursor = first
    while cursor <= last:
        key = cursor.strftime("%Y-%m")
        kilometres.append((cursor.strftime("%m/%Y"), round(months[key].km) if key in months else 0))
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    highest = max([km for _, km in kilometres] + [1])
    return [{"month": month, "km": km, "height": round(100 * km / highest)} for month, km in kilometres]


# --- the meeting form ------------------------------------------------------------------------------------------


def meeting_body(form: MultiDictProxy[Any], *, with_recurrence: bool) -> dict[str, Any]:
    """The API's request body from the form's fields (date and times apart, as people type them)."""
    day, start, end = (str(form.get(name, "")).strip() for name in ("date", "start", "end"))
    body: dict[str, Any] = {
        "title": str(form.get("title", "")), "agenda": str(form.get("agenda", "")),
        "starts_at": f"{day}T{start}", "ends_at": f"{day}T{end}", "chair_unit": str(form.get("chair_unit", "")),
        "invited_units": [str(code) for code in form.getall("invited_units", [])],
        "lobby_opens_minutes": _small_int(form.get("lobby_opens_minutes"), 30, 0, 240),
        "auto_record": bool(form.get("auto_record")),
    }  # fmt: skip
    if with_recurrence and form.get("weekly"):
        body["recurrence"] = {"frequency": "weekly", "count": _small_int(form.get("weeks"), 1, 1, 104)}
    return body


def _small_int(raw: Any, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(str(raw)), low), high)
    except ValueError:
        return default


def _form_times(meeting: Meeting | None, body: dict[str, Any] | None) -> tuple[str, str, str]:
    """Day, start and end as the form shows them: what was typed, else the meeting's, else a usual morning."""
    if body:
        day, _, start = body["starts_at"].partition("T")
        return day, start, body["ends_at"].partition("T")[2]
    if meeting:
        return local(meeting.starts_at, "%Y-%m-%d"), local(meeting.starts_at, "%H:%M"), local(meeting.ends_at, "%H:%M")
    return "", "08:00", "10:00"


async def _form_page(request: web.Request, meeting: Meeting | None, body: dict[str, Any] | None = None,
                     error: InvalidInput | None = None) -> web.Response:  # fmt: skip
    units = await request.app[UNITS].all()
    i18n = request.app[I18N]
    language = i18n.language_of(request)
    chairs = sorted(
        (u for u in units.values() if u.kind in ("province", "district")), key=lambda u: u.kind != "province"
    )
    blank: dict[str, Any] = {
        "title": "", "agenda": "", "chair_unit": chairs[0].code if chairs else "", "invited_units": [],
        "lobby_opens_minutes": DEFAULT_LOBBY_MINUTES, "auto_record": False,
    }  # fmt: skip
    values = body or (meeting.to_json() if meeting else blank)
    problems = {str(p.where).split("/")[0]: i18n.format(language, p.message, p.params)
                for p in (error.problems if error else ())}  # fmt: skip
    day, start, end = _form_times(meeting, body)
    return render(request, "meeting_form.html", {
        "meeting": meeting, "values": values, "problems": problems, "tree": children_by_parent(units),
        "fold": fold_diacritics, "picked": set(values.get("invited_units", [])), "day": day, "start": start,
        "end": end, "chairs": chairs,
    }, status=422 if error else 200)  # fmt: skip


async def new_meeting_page(request: web.Request) -> web.StreamResponse:
    await require_role(request, PLANNERS)
    return await _form_page(request, None)


async def new_meeting_submit(request: web.Request) -> web.StreamResponse:
    session = await authorise(request, PLANNERS)
    body = meeting_body(await request.post(), with_recurrence=True)
    try:
        meetings = plan_meetings(body, await request.app[UNITS].all(), now=request.app[CLOCK].now(),
                                 created_by=session.username if session else "")  # fmt: skip
    except InvalidInput as error:
        return await _form_page(request, None, body, error)
    await request.app[MEETINGS].add(meetings)
    raise web.HTTPSeeOther(f"/meetings/{meetings[0].id}")


async def edit_meeting_page(request: web.Request) -> web.StreamResponse:
    await require_role(request, PLANNERS)
    return await _form_page(request, await request.app[MEETINGS].get(request.match_info["id"]))


async def edit_meeting_submit(request: web.Request) -> web.StreamResponse:
    await authorise(request, PLANNERS)
    app = request.app
    meeting = await app[MEETINGS].get(request.match_info["id"])
    form = await request.post()
    body = meeting_body(form, with_recurrence=False)
    try:
        await change_meetings(request, meeting.id, body, scope_of(str(form.get("scope", ""))))
    except InvalidInput as error:
        return await _form_page(request, meeting, body, error)
    raise web.HTTPSeeOther(f"/meetings/{meeting.id}")


async def cancel_meeting_submit(request: web.Request) -> web.StreamResponse:
    await authorise(request, PLANNERS)
    scope = scope_of(str((await request.post()).get("scope", "")))
    meeting = await cancel_meetings(request, request.match_info["id"], scope)
    raise web.HTTPSeeOther(f"/meetings/{meeting.id}")


async def series_page(request: web.Request) -> web.StreamResponse:
    """A weekly series: its occurrences with their state, and its invitations in one go."""
    await require_role(request, READERS)
    app = request.app
    occurrences = await app[MEETINGS].series(request.match_info["id"])
    if not occurrences:
        raise NotFound("No meeting {id}", id=request.match_info["id"])
    now = app[CLOCK].now()
    language = app[I18N].language_of(request)
    return render(request, "series.html", {
        "series_id": request.match_info["id"], "occurrences": occurrences, "now": now, "local": local,
        "rule": series_text(app[I18N], language, occurrences), "first": occurrences[0],
        "notice": app[I18N].gettext(language, NOTICES[request.query["notice"]])
        if request.query.get("notice") in NOTICES else "",
    })  # fmt: skip


async def send_series_submit(request: web.Request) -> web.StreamResponse:
    await authorise(request, PLANNERS)
    queued = await request.app[INVITATIONS].send_series(request.match_info["id"])
    wake_mail_sender(request.app)
    notice = "kept" if not request.app[CONFIG].smtp_host else "sent" if queued else "nothing_new"
    raise web.HTTPSeeOther(f"/series/{request.match_info['id']}?notice={notice}")


# --- one meeting: invitations and attendance ----------------------------------------------------------------------


async def meeting_page(request: web.Request) -> web.StreamResponse:
    await require_role(request, READERS)
    app = request.app
    meeting = await app[MEETINGS].get(request.match_info["id"])
    now = app[CLOCK].now()
    units = await app[UNITS].all()
    rows = await attendance_rows(app, meeting, now, units)
    savings = meeting_savings(meeting, rows, units, travel_costs(app[CONFIG]))
    language = app[I18N].language_of(request)
    invitations = await app[INVITATIONS].rows(meeting)
    for row in invitations:
        row["sent_text"] = local(datetime.fromisoformat(row["sent_at"])) if row["sent_at"] else ""
    notice = NOTICES.get(request.query.get("notice", ""))
    checks = await app[READINESS].all(meeting.id)
    series = None
    if meeting.series_id:
        ids = [m.id for m in await app[MEETINGS].series(meeting.series_id)]
        series = {"id": meeting.series_id, "number": ids.index(meeting.id) + 1 if meeting.id in ids else 0,
                  "count": len(ids)}  # fmt: skip
    readiness = [{"unit": row["unit"], "unit_name": row["unit_name"], "check": checks.get(row["unit"]),
                  "at": local(checks[row["unit"]].at) if row["unit"] in checks else ""}
                 for row in invitations]  # fmt: skip
    return render(request, "meeting.html", {
        "meeting": meeting, "state": meeting.state(now), "when": meeting_time_text(meeting, language),
        "chair": units.get(meeting.chair_unit, Unit(meeting.chair_unit, meeting.chair_unit, "province")),
        "invitations": invitations, "savings": savings_text(savings, language) if savings.trips else None,
        "notice": app[I18N].gettext(language, notice) if notice else "",
        "no_mail_server": not app[CONFIG].smtp_host, "readiness": readiness, "fixes": FIXES,
        "labels": LABELS, "line_labels": LINE_LABELS,
        "unchecked": sum(1 for row in readiness if row["check"] is None), "series": series,
    })  # fmt: skip


NOTICES = {
    "sent": N_("The invitations are on their way."),
    "kept": N_(
        "The invitations are kept: they go out by e-mail once a mail server is set up. Copy the links meanwhile."
    ),
    "resend": N_("The invitation will be sent again."),
    "regenerate": N_("A new link was made; the old one no longer works."),
    "check_reminders": N_("The units are asked by e-mail to run the technical check."),
    "nothing_new": N_("Every unit already has the series as it stands; nothing new was sent."),
    "test_session_open": N_("The test session is open. Enter the room as the chair to lead it."),
    "test_session_closed": N_("The test session is closed; everyone in it is out within seconds."),
}


def savings_text(savings: Savings, language: str) -> dict[str, str]:
    return {"km": format_decimal(round(savings.km), locale=language),
            "vnd": format_decimal(savings.vnd, locale=language),
            "hours": format_decimal(round(savings.hours, 1), locale=language)}  # fmt: skip


async def send_invitations_submit(request: web.Request) -> web.StreamResponse:
    await authorise(request, PLANNERS)
    meeting = await request.app[MEETINGS].get(request.match_info["id"])
    await request.app[INVITATIONS].send(meeting)
    wake_mail_sender(request.app)
    notice = "sent" if request.app[CONFIG].smtp_host else "kept"
    raise web.HTTPSeeOther(f"/meetings/{meeting.id}?notice={notice}")


async def unit_invitation_submit(request: web.Request) -> web.StreamResponse:
    """Resend one unit's invitation, or give it a new link."""
    await authorise(request, PLANNERS)
    meeting = await request.app[MEETINGS].get(request.match_info["id"])
    unit, action = request.match_info["unit"], request.match_info["action"]
    if action == "regenerate":
        await request.app[INVITATIONS].links.regenerate(meeting, unit)
    else:
        await request.app[INVITATIONS].send(meeting, unit_codes=[unit], again=True)
        wake_mail_sender(request.app)
    raise web.HTTPSeeOther(f"/meetings/{meeting.id}?notice={action}")


async def test_session_submit(request: web.Request) -> web.StreamResponse:
    """Open (``on=1``) or close a supervised test session before the meeting room opens."""
    await authorise(request, PLANNERS)
    app = request.app
    on = str((await request.post()).get("on", "")) == "1"
    now = app[CLOCK].now()

    def change(meeting: Meeting) -> Meeting:
        if on and meeting.state(now) != "scheduled":
            raise Conflict("A test session can be opened only before the meeting room opens")
        return replace(meeting, test_session=on)

    meeting = await app[MEETINGS].update(request.match_info["id"], change)
    raise web.HTTPSeeOther(f"/meetings/{meeting.id}?notice={'test_session_open' if on else 'test_session_closed'}")


async def check_reminders_submit(request: web.Request) -> web.StreamResponse:
    """Ask one unit (``unit`` in the form), or every unit that has not checked yet, to run the technical check."""
    await authorise(request, PLANNERS)
    app = request.app
    meeting = await app[MEETINGS].get(request.match_info["id"])
    form = await request.post()
    unit = str(form.get("unit", ""))
    if unit:
        codes = [unit]
    else:
        checked = await app[READINESS].all(meeting.id)
        codes = [code for code in (meeting.chair_unit, *meeting.invited_units) if code not in checked]
    await app[INVITATIONS].remind_to_check(meeting, codes)
    wake_mail_sender(app)
    raise web.HTTPSeeOther(f"/meetings/{meeting.id}?notice=check_reminders#readiness")


async def attendance_page(request: web.Request) -> web.StreamResponse:
    await require_role(request, READERS)
    app = request.app
    meeting = await app[MEETINGS].get(request.match_info["id"])
    now = app[CLOCK].now()
    events = await app[ATTENDANCE].events(meeting.id)
    rows = attendance_report(meeting, events, await app[UNITS].all(), now=now)
    span_start = min([meeting.lobby_opens_at, *(e.at for e in events)])
    span_end = max([meeting.ends_at, *(e.at for e in events)])
    total = (span_end - span_start).total_seconds()

    def place(moment: datetime) -> float:
        return round(100 * (moment - span_start).total_seconds() / total, 2)

    timeline = [{"row": row, "bars": [{"left": place(a), "width": max(0.3, place(b) - place(a)),
                                       "title": f"{local(a, '%H:%M')}–{local(b, '%H:%M')}"} for a, b in row.intervals]}
                for row in rows]  # fmt: skip
    ticks = []
    hour = span_start.astimezone(VIETNAM).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while hour < span_end:
        ticks.append({"left": place(hour), "label": local(hour, "%H:%M")})
        hour += timedelta(hours=1)
    return render(request, "attendance.html", {
        "meeting": meeting, "timeline": timeline, "ticks": ticks, "formats": list(FORMATS), "local": local,
        "start_mark": place(meeting.starts_at), "end_mark": place(meeting.ends_at),
        "when": meeting_time_text(meeting, app[I18N].language_of(request)),
    })  # fmt: skip


def add_meeting_page_routes(app: web.Application) -> None:
    app.router.add_get("/dashboard", dashboard_page)
    app.router.add_get("/meetings", meetings_page)
    app.router.add_get("/meetings/new", new_meeting_page)
    app.router.add_post("/meetings/new", new_meeting_submit)
    app.router.add_get("/meetings/{id}", meeting_page)
    app.router.add_get("/meetings/{id}/edit", edit_meeting_page)
    app.router.add_post("/meetings/{id}/edit", edit_meeting_submit)
    app.router.add_post("/meetings/{id}/cancel", cancel_meeting_submit)
    app.router.add_post("/meetings/{id}/invitations/send", send_invitations_submit)
    app.router.add_post("/meetings/{id}/invitations/{unit}/{action:resend|regenerate}", unit_invitation_submit)
    app.router.add_post("/meetings/{id}/check-reminders", check_reminders_submit)
    app.router.add_post("/meetings/{id}/test-session", test_session_submit)
    app.router.add_get("/series/{id}", series_page)
    app.router.add_post("/series/{id}/invitations/send", send_series_submit)
    app.router.add_get("/meetings/{id}/attendance", attendance_page)
