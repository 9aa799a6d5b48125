"""The technical check (kiểm tra kỹ thuật) a unit's own link opens before its meeting: the page and its socket.

The page (``web/static/check.js``) checks the camera, the microphone and the speakers itself; the socket
(``/check/ws``) carries its offer to this node's relay, the line test's progress and result, what the page found,
and the verdict (``live/checks.py``). Its messages are ``signaling/messages.py: CHECK_MESSAGES`` and
``CHECK_SERVER_MESSAGES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import WSMsgType, web

from live.checks import CheckRun, Checks
from scheduler.errors import N_, GiaobanError, ProtocolError
from scheduler.invitations.tokens import JoinGrant
from scheduler.meetings.model import VIETNAM, Meeting
from scheduler.readiness import FIXES, MIN_CAMERA_FPS, MIN_MIC_LEVEL, SUMMARIES, Devices
from signaling import messages as say
from signaling.messages import CHECK_MESSAGES, MAX_MESSAGE_BYTES, decode, encode, error_message
from web.i18n import I18n
from web.keys import CHECKS, CLOCK, I18N, LIVE, UNITS
from web.mail import meeting_time_text
from web.province_pages import province_page
from web.responses import render

log = logging.getLogger(__name__)

FIRST_MESSAGE_SECONDS = 30.0
DEVICES_SECONDS = 300.0  # the person answers whether the test sound was heard

CHECK_TEXT = {
    "camera_ok": N_("The camera gives a picture ({fps} frames a second)."),
    "camera_none": N_("The camera gives no picture."),
    "mic_listening": N_("Say a few words: the bar should move."),
    "mic_ok": N_("The microphone picks up sound."),
    "mic_none": N_("The microphone picks up no sound."),
    "sound_question": N_("A test sound is playing. Do you hear it?"),
    "line_running": N_("Testing the line to the server… {percent} %"),
    "line_full": N_("The line carries the chair's full picture."),
    "line_small": N_("The line carries a reduced picture."),
    "line_audio": N_("The line only carries sound."),
    "line_none": N_("The line to the server carries nothing."),
    "figures": N_("Round trip {rtt} ms · loss {loss} % · {kbps} kbit/s got through · sending {uplink} kbit/s"),
    "failed": N_("The check could not finish: {reason}"),
    "lost": N_("The connection to the server was lost; press the button to check again."),
    "checked_at": N_("Checked at {time}"),
}


async def render_check(request: web.Request, grant: JoinGrant, meeting: Meeting) -> web.StreamResponse:
    """The check's page for the link's unit; it says when the room opens while it is not open yet."""
    i18n = request.app[I18N]
    language = i18n.language_of(request)
    units = await request.app[UNITS].all()
    config = {"token": request.match_info["token"], "min_camera_fps": MIN_CAMERA_FPS, "min_mic_level": MIN_MIC_LEVEL,
              "text": {key: i18n.gettext(language, text) for key, text in CHECK_TEXT.items()}}  # fmt: skip
    return render(request, "check.html", {
        "meeting": meeting, "unit_name": units[grant.unit].name if grant.unit in units else grant.unit,
        "when": meeting_time_text(meeting, language), "early": meeting.state(request.app[CLOCK].now()) == "scheduled",
        "opens_at": f"{meeting.lobby_opens_at.astimezone(VIETNAM):%H:%M %d/%m/%Y}", "client_config": config,
        "join_url": f"/j/{request.match_info['token']}",
    })  # fmt: skip


async def check_page(request: web.Request) -> web.StreamResponse:
    if (page := await province_page(request, "/check")) is not None:
        return page
    grant, meeting = await request.app[CHECKS].admit(request.match_info["token"])
    return await render_check(request, grant, meeting)


async def check_socket(request: web.Request) -> web.StreamResponse:
    hub, checks, i18n = request.app[LIVE], request.app[CHECKS], request.app[I18N]
    language = i18n.language_of(request)
    address = request.remote or ""
    if not hub.addresses.open(address):
        return web.json_response({"error": {"code": "rate_limited", "message": "Too many connections"}},
                                 status=429, headers={"Retry-After": "10"})  # fmt: skip
    socket = web.WebSocketResponse(heartbeat=4.0, max_msg_size=MAX_MESSAGE_BYTES)
    try:
        await socket.prepare(request)  # a plain GET is answered 400 here, by aiohttp
        await _run(socket, checks, i18n, language)
    finally:
        hub.addresses.closed(address)
        if socket.prepared:
            await socket.close()
    return socket


async def _run(socket: web.WebSocketResponse, checks: Checks, i18n: I18n, language: str) -> None:
    run: CheckRun | None = None
    reader: asyncio.Task[Devices] | None = None
    try:
        first = await asyncio.wait_for(_message(socket), FIRST_MESSAGE_SECONDS)
        if first["type"] != "check":
            raise ProtocolError("Start with the check message")
        run, answer = await checks.start(first["token"], first["sdp"])
        await socket.send_str(encode(say.answer(answer)))
        reader = asyncio.get_running_loop().create_task(_devices(socket))

        async def progress(share: float) -> None:
            await socket.send_str(encode(say.line_progress(share)))

        line = await run.test_line(progress)
        await run.close()  # the line is known: its connection and its place among the checks go now, not when
        # the person answers (a page left open holds nothing but its socket)
        await socket.send_str(encode(say.line_result(line.to_json())))
        check = await run.finish(await asyncio.wait_for(reader, DEVICES_SECONDS))
        await socket.send_str(encode(say.check_verdict(
            verdict=check.verdict, summary=i18n.gettext(language, SUMMARIES[check.verdict]),
            fixes=[i18n.gettext(language, FIXES[fix]) for fix in check.fixes], fix_keys=check.fixes, at=check.at,
        )))  # fmt: skip
    except GiaobanError as error:
        text = i18n.format(language, error.message, error.params)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await socket.send_str(encode(error_message(error, text)))
    except (TimeoutError, ConnectionError):
        log.info("a technical check ended before it was done")
    finally:
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        if run is not None:
            await run.close()


async def _message(socket: web.WebSocketResponse) -> dict[str, Any]:
    frame = await socket.receive()
    if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
        raise ConnectionError("the check's socket closed")
    return decode(frame.data, CHECK_MESSAGES)


async def _devices(socket: web.WebSocketResponse) -> Devices:
    while True:
        message = await _message(socket)
        if message["type"] == "devices":
            return Devices(camera_fps=float(message["camera_fps"]), mic_level=float(message["mic_level"]),
                           sound_heard=message["sound_heard"])  # fmt: skip


def add_check_routes(app: web.Application) -> None:
    app.router.add_get("/j/{token}/check", check_page)
    app.router.add_get("/check/ws", check_socket)
