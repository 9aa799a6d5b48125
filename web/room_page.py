"""The page an invitation's link opens: the join form, the meeting room, the chair's console, the end screens.

The page (``web/static/meeting.js``) draws what the server tells it; what it says by itself is ``CLIENT_TEXT``,
translated here, and what it must know of the protocol (final close codes, limits, slot names) comes from
``signaling/messages.py`` and ``conference/layout.py``, never from copies in the script.
"""

from __future__ import annotations

from aiohttp import web

from conference.layout import slot_names
from scheduler.directory.units import fold_diacritics
from scheduler.errors import N_
from scheduler.invitations.tokens import check_window, check_window_for_check, meeting_for
from scheduler.meetings.model import VIETNAM
from signaling.messages import client_protocol
from web.check_page import render_check
from web.keys import CLOCK, I18N, INVITATIONS, MEETINGS, UNITS
from web.mail import meeting_time_text
from web.province_pages import province_page
from web.responses import render

STATE_TEXT = {
    "scheduled": N_("The meeting room is not open yet."),
    "lobby_open": N_("The meeting room is open; the meeting starts soon."),
    "live": N_("The meeting is under way."),
    "ended": N_("The meeting has ended."),
    "cancelled": N_("This meeting was cancelled"),
}


# What the browser client says by itself (server errors arrive already translated).
CLIENT_TEXT = {
    "name_needed": N_("Please type your name"),
    "camera_blocked": N_(
        "The camera or microphone is blocked. Allow it in the browser (the icon in the address bar), "
        "then reload the page. You can still join and listen."
    ),
    "camera_missing": N_("No camera or microphone was found. You can still join and listen."),
    "camera": N_("Camera no. {number}"),  # a device the browser gives no name
    "microphone": N_("Microphone no. {number}"),
    "connecting": N_("Connecting…"),
    "reconnecting": N_("Connection lost; reconnecting in {seconds} s…"),
    "lobby": N_("Waiting for the chair to open the meeting…"),
    "in_meeting": N_("You are listening to the meeting."),
    "you_have_floor": N_("You have the floor: everyone can see and hear you."),
    "muted": N_("The chair has muted your microphone."),
    "restarting": N_("The server is restarting; the page comes back by itself."),
    "rate_limited": N_("Too many requests from this page; it will reconnect shortly."),
    "media_lost": N_("Picture and sound were cut off; reconnecting…"),
    "picture_good": N_("Full picture"),
    "picture_weak": N_("Reduced picture: the line is weak"),
    "picture_poor": N_("Audio only: the line is too weak for pictures"),
    "picture_asked": N_("Audio only, as you asked"),
    "layer_full": N_("full picture"),
    "layer_medium": N_("reduced picture (medium)"),
    "layer_small": N_("reduced picture (small)"),
    "layer_none": N_("audio only"),
    "nobody_has_floor": N_("Nobody has the floor"),
    "presenting": N_("{unit} is presenting"),
    "you_present": N_("You are presenting your screen to everyone."),
    "share_failed": N_("The screen could not be shared (it was not chosen, or the browser does not allow it)."),
    "absent": N_("absent"),
    "lobby_state": N_("lobby"),
    "connected": N_("connected"),
    "dropped": N_("dropped"),
    "page": N_("Page {page} of {pages}"),
    "confirm_end": N_("End the meeting for everyone?"),
    "confirm_end_yes": N_("End meeting"),
    "confirm_leave": N_("Leave the meeting?"),
    "confirm_leave_yes": N_("Leave"),
    "mic_off": N_("Turn microphone off"),
    "mic_on": N_("Turn microphone on"),
    "camera_off": N_("Turn camera off"),
    "camera_on": N_("Turn camera on"),
    "lock_on": N_("Lock the room"),
    "lock_off": N_("Unlock the room"),
    "record_on": N_("Start recording"),
    "record_off": N_("Stop recording"),
    "discussion_on": N_("Open discussion"),
    "discussion_off": N_("Close discussion"),
    "hand_up": N_("Raise hand"),
    "hand_down": N_("Lower hand"),
    "audio_only_on": N_("Audio only"),
    "audio_only_off": N_("Show pictures again"),
    "mute_unit": N_("Mute"),
    "unmute_unit": N_("Unmute"),
    "hand_raised": N_("Your hand is raised: the chair will give you the floor."),
    "floor_mic_off": N_("You have the floor, but your microphone is off: turn it on to speak."),
    "camera_is_off": N_("Your camera is off."),
    "discussion_open": N_("Discussion is open: several units may speak."),
    "countdown": N_("(in {minutes} min)"),
    "start_passed": N_("The start time has passed; the chair will open the meeting shortly."),
    "end_left": N_("You left the meeting"),
    "end_left_text": N_("You can join again while the meeting is under way."),
    "end_removed": N_("The chair removed you from the meeting"),
    "end_removed_text": N_("Your unit can join again only if the chair lets it back in."),
    "end_ended": N_("The meeting has ended"),
    "end_ended_text": N_("Thank you for taking part."),
    "end_replaced": N_("The meeting continues in another window"),
    "end_refused": N_("This link cannot join the meeting now"),
    "counts": N_("Connected {connected} / {invited} · Hands up {hands} · Dropped {dropped} · In the lobby {lobby}"),
    "roll_call_count": N_("{answered} / {total} units answered"),
    "roll_call_missing": N_("Not answered yet: {units}"),
    "roll_call_done": N_("Every connected unit answered."),
    "removed": N_("removed"),
    "to_everyone": N_("to everyone"),
    "to_chair": N_("to the chair"),
    "to_unit": N_("to {unit}"),
    "reply": N_("Reply"),
    "give_floor": N_("Give floor"),
    "confirm_kick": N_("Remove {unit} from the meeting? It can come back only if you let it back in."),
    "confirm_kick_yes": N_("Remove"),
    "test_sound": N_("Playing a test sound: you should hear a tone for two seconds."),
    "answered": N_("present"),
    "recording_disk_full": N_("Recording stopped: the server's disk is full. What was recorded is kept."),
    "recording_write_failed": N_("Recording stopped: the server could not write the files. What was recorded is kept."),
}


async def join_page(request: web.Request) -> web.StreamResponse:
    """Where an invitation's link leads: the link is checked, then the meeting is shown to its unit."""
    if (page := await province_page(request)) is not None:
        return page
    app = request.app
    grant = await app[INVITATIONS].links.grant_of(request.match_info["token"])
    now = app[CLOCK].now()
    meeting = await meeting_for(grant, app[MEETINGS], now)
    testing = meeting.rehearsing(now)
    if meeting.state(now) == "scheduled" and not testing:  # the room is not open yet: the check meanwhile
        check_window_for_check(meeting, grant, now)
        return await render_check(request, grant, meeting)
    check_window(meeting, grant, now)
    units = await app[UNITS].all()
    i18n = app[I18N]
    language = i18n.language_of(request)
    names = {code: units[code].name if code in units else code for code in (meeting.chair_unit, *meeting.invited_units)}
    protocol = client_protocol()
    client_config = {
        "token": request.match_info["token"], "role": grant.role, "unit": grant.unit, "names": names,
        "meeting_id": meeting.id, "starts_at": meeting.starts_at.isoformat(),
        "protocol": protocol, "slots": slot_names(),
        "text": {key: i18n.gettext(language, text) for key, text in CLIENT_TEXT.items()},
    }  # fmt: skip
    return render(request, "join.html", {
        "meeting": meeting, "role": grant.role, "when": meeting_time_text(meeting, language),
        "starts_at_text": f"{meeting.starts_at.astimezone(VIETNAM):%H:%M %d/%m/%Y}",
        "unit_name": names[grant.unit], "chair_name": names[meeting.chair_unit], "units": list(names.items()),
        "chair_unit": meeting.chair_unit, "fold": fold_diacritics,
        "limits": protocol["limits"],  # the form's maxlength: what the server accepts
        "state_text": i18n.gettext(language, STATE_TEXT[meeting.state(now)]), "client_config": client_config,
        "test_session": testing,
    })  # fmt: skip


def add_room_page_routes(app: web.Application) -> None:
    app.router.add_get("/j/{token}", join_page)
