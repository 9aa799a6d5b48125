"""One WebSocket, from handshake to close: read a message, route it through the handler table, answer errors.

Errors from our vocabulary are answered with an ``error`` message and the connection stays; a refused join is
answered and then closed. Anything unexpected is logged with its traceback and answered as an internal error: the
server never crashes on a message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from conference.announcements import tell
from conference.layout import publishes, slots, video_limits_kbps, video_sizes
from conference.members import DROPPED, LEFT, Member, RemovedByChair
from conference.relay.peer import MediaPeer
from conference.room import Room
from live.cluster import Frames, RemoteConnection, Upstream
from live.meetings import LiveMeetings
from live.uplink import UpstreamUnavailable
from scheduler.errors import Conflict, GiaobanError, InvalidInput, NotAuthorised, ProtocolError, RateLimited
from signaling import messages as say
from signaling.connection import Connection, SignalingConnection
from signaling.limits import CONNECTIONS_PER_ADDRESS, ConnectionLimits, Verdict
from signaling.messages import MAX_MESSAGE_BYTES, MAX_NAME, decode, encode, error_message

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0  # aiohttp pings when a socket is quiet; no pong within 5 s: dropped (within ~15 s)

Translate = Callable[[GiaobanError], str]


@dataclass
class Session:
    hub: LiveMeetings
    connection: SignalingConnection
    translate: Translate
    address: str = ""
    language: str = ""
    room: Room | None = None
    member: Member | None = None
    how_it_ended: str = DROPPED
    upstream: Upstream | None = None  # at an edge: the node that serves this browser's meeting
    relayed: bool = False  # at the origin: the browser's socket is on another node, which applied its limits

    def joined(self) -> tuple[Room, Member]:
        if self.room is None or self.member is None:
            raise ProtocolError("Join the meeting first")
        return self.room, self.member


Handler = Callable[[Session, dict[str, Any]], Awaitable[None]]


async def serve(request: web.Request, hub: LiveMeetings, translate: Translate, language: str) -> web.StreamResponse:
    address = request.remote or ""
    if not hub.addresses.open(address):
        log.warning("address %s: over %d open signaling connections, refused", address, CONNECTIONS_PER_ADDRESS)
        return web.json_response({"error": {"code": "rate_limited", "message": "Too many connections"}},
                                 status=429, headers={"Retry-After": "10"})  # fmt: skip
    try:
        socket = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_MESSAGE_BYTES)
        await socket.prepare(request)
        session = Session(hub, Connection(hub.new_connection_id(), socket), translate, address=address,
                          language=language)  # fmt: skip
        hub.connections[session.connection.id] = session.connection
        try:
            await _read(session, socket)
        finally:
            if socket.close_code == 1009:
                log.info("connection %s: message over %d bytes, closed", session.connection.id, MAX_MESSAGE_BYTES)
            await _end(session)
    finally:
        hub.addresses.closed(address)
    return socket


async def _read(session: Session, socket: web.WebSocketResponse) -> None:
    limits = ConnectionLimits(time.monotonic())
    async for frame in socket:
        if frame.type == WSMsgType.ERROR:
            break
        data = frame.data if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY) else ""
        verdict = limits.judge(time.monotonic(), len(data))
        if verdict == Verdict.ALLOWED:
            await _handle(session, data)
        elif verdict == Verdict.CLOSE:
            log.warning("connection %s from %s: kept sending past its limits, closed", session.connection.id,
                        session.address)  # fmt: skip
            session.connection.close("rate_limited")
        else:
            if limits.strikes == 0:
                _refuse(session, RateLimited("Too many messages too fast; please slow down"))
            # Not reading for a while holds the sender back through TCP, at no cost here.
            await asyncio.sleep(limits.pause(len(data)))
        if session.connection.closing is not None:
            break
        await asyncio.sleep(0)  # a burst already read must not hold the event loop from everyone else


def _refuse(session: Session, error: GiaobanError, request_type: str | None = None) -> None:
    """Tell the connection what went wrong, in its language (the one mapping is ``error_message``)."""
    session.connection.send(error_message(error, session.translate(error), request_type=request_type))


async def serve_relayed(hub: LiveMeetings, connection: RemoteConnection, address: str, translate: Translate,
                        frames: Frames) -> None:  # fmt: skip
    """At the origin: a browser whose socket is on another node, its messages in order until the socket closes."""
    session = Session(hub, connection, translate, address=address, relayed=True)
    try:
        while (data := await frames.get()) is not None:
            await _handle(session, data)
            if connection.closing is not None:
                break
    finally:
        await _end(session)


async def _handle(session: Session, data: str | bytes) -> None:
    request_type = None
    try:
        message = decode(data)
        request_type = message["type"]
        if session.upstream is not None and request_type != "offer":  # the origin has the room: it answers
            _relay(session, data)
            return
        await HANDLERS[request_type](session, message)
    except GiaobanError as error:
        _refuse(session, error, request_type)
    except Exception:
        log.exception("connection %s: handling %s failed", session.connection.id, request_type)
        failure = GiaobanError("Something went wrong on the server; please try again")
        _refuse(session, failure, request_type)


def _relay(session: Session, data: str | bytes) -> None:
    if session.hub.cluster is not None:
        session.hub.cluster.relay_frame(session.connection.id, data if isinstance(data, str) else data.decode())


async def _end(session: Session) -> None:
    connection = session.connection
    if session.room is not None and connection.id in session.room.members:
        session.room.leave(connection.id, session.how_it_ended)
    if session.upstream is not None and session.hub.cluster is not None:
        session.hub.cluster.relay_gone(connection.id)
    session.hub.forget(connection.id)
    await connection.finish()


# --- handlers: one small function per message type ------------------------------------------------------------


async def join(session: Session, message: dict[str, Any]) -> None:
    if session.room is not None:
        raise Conflict("This connection is already in the meeting")
    name = message["name"].strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput("Please type your name (at most {count} characters)", count=MAX_NAME)
    if not session.relayed and not session.hub.joins.allow(session.address, message["token"], time.monotonic()):
        log.warning("connection %s from %s: too many joins, refused", session.connection.id, session.address)
        _refuse(session, RateLimited("Too many attempts to join; please wait a minute"), "join")
        session.connection.close("rate_limited")
        return
    try:
        if await _served_upstream(session, message):
            return
        grant, meeting = await session.hub.admit(message["token"])
        if await _served_elsewhere(session, meeting.id, grant.role, message):
            return
        room = await session.hub.room_for(meeting)
        member = room.join(
            session.connection,
            connection=session.connection.id,
            unit=grant.unit,
            role=grant.role,
            name=name,
            position=message.get("position", ""),
            rejoin=message.get("rejoin", False),
        )
    except UpstreamUnavailable as error:  # a district server cut off from its province: the page tries again
        _refuse(session, error, "join")
        session.connection.close("restarting")
        return
    except NotAuthorised as error:
        _refuse(session, error, "join")
        session.connection.close("kicked" if isinstance(error, RemovedByChair) else "refused")
        return
    session.room, session.member = room, member
    session.connection.send(say.welcome(
        connection=member.connection, unit=member.unit, role=member.role, meeting_id=meeting.id,
        title=meeting.title, publishes=publishes(member.role), slots=slots(member.role),
        max_kbps=video_limits_kbps(member.role), sizes=video_sizes(member.role),
        ice_servers=session.hub.ice.for_browser(time.time(), member.unit),  # a TURN server checks real time
    ))  # fmt: skip
    tell(room, member)
    if session.hub.is_test_session(meeting.id):
        return  # the chair's arrival does not open the meeting, and nothing is recorded
    if member.is_chair and meeting.live_state != "live":
        await session.hub.mark_live(meeting.id, "live")
    if member.is_chair and meeting.auto_record and not room.recording:
        try:
            session.hub.recordings.start(room, member.connection)
        except GiaobanError as error:  # e.g. no disk space: the chair hears why, and the meeting goes on
            _refuse(session, error, "record")


async def _served_upstream(session: Session, join: dict[str, Any]) -> bool:
    """On a district server, a link of its province's: the province admits it and serves its room, this server is
    the browser's edge from now on (live/uplink.py)."""
    hub = session.hub
    uplink = hub.cluster.uplink if hub.cluster is not None else None
    if uplink is None or hub.cluster is None or session.relayed or await hub.links.is_ours(join["token"]):
        return False
    admission = await uplink.admit(join["token"])
    session.upstream = Upstream(admission.origin, admission.meeting_id, admission.role)
    hub.cluster.relay_open(session.connection.id, session.upstream, session.address, session.language, encode(join))
    return True


async def _served_elsewhere(session: Session, meeting_id: str, role: str, join: dict[str, Any]) -> bool:
    """Whether another node is this meeting's origin: then this node is the browser's edge from now on."""
    hub = session.hub
    origin = await hub.origin_of(meeting_id)
    if hub.cluster is None or origin == hub.node_id:
        return False
    if session.relayed:  # the room moved on between the edge's look and ours: the browser comes back and finds it
        session.connection.close("restarting")
        return True
    session.upstream = Upstream(origin, meeting_id, role)
    hub.cluster.relay_open(session.connection.id, session.upstream, session.address, session.language, encode(join))
    return True


async def offer(session: Session, message: dict[str, Any]) -> None:
    """The browser's media, answered by this node's relay: here at the origin, or at the edge that has its socket
    (what it receives from elsewhere comes over a node link, live/links.py)."""
    connection = session.connection
    if connection.media is not None:
        raise Conflict("This connection has already negotiated its media")
    connection_id, hub = connection.id, session.hub
    if session.upstream is not None and hub.cluster is not None:
        role, cluster = session.upstream.role, hub.cluster

        def told(level: str) -> None:  # the line's level, judged by this relay: the origin's room says it
            cluster.relay_level(connection_id, level)
    else:
        room, member = session.joined()
        role = member.role

        def told(level: str) -> None:  # the line's level, judged by the relay: the page and the console say it
            room.set_link(connection_id, level)

    def lost() -> None:  # the media is gone, the socket not: the page joins again at once, as after a restart
        connection.close("media_lost")

    media = MediaPeer(hub.relay, connection=connection_id, role=role, ice_servers=hub.ice.for_aiortc(time.time()),
                      told=told, lost=lost, start_kbps=hub.link_start_kbps)  # fmt: skip
    try:
        answer_sdp = await media.answer(message["sdp"])
    except GiaobanError:
        await media.close()
        raise
    connection.attach_media(media)
    connection.send(say.answer(answer_sdp))


async def ping(session: Session, _: dict[str, Any]) -> None:
    session.connection.send(say.pong())


async def leave(session: Session, _: dict[str, Any]) -> None:
    session.how_it_ended = LEFT
    session.connection.close("left")


def _participant_action(act: Callable[[Room, str, dict[str, Any]], object]) -> Handler:
    async def handle(session: Session, message: dict[str, Any]) -> None:
        room, member = session.joined()
        act(room, member.connection, message)

    return handle


async def record(session: Session, message: dict[str, Any]) -> None:
    room, member = session.joined()
    if message["on"] and session.hub.is_test_session(room.facts.meeting_id):
        raise Conflict("Nothing is recorded in a test session")
    if message["on"]:
        session.hub.recordings.start(room, member.connection)
    else:
        session.hub.recordings.stop(room, member.connection)


async def end(session: Session, _: dict[str, Any]) -> None:
    room, member = session.joined()
    if not member.is_chair:
        raise NotAuthorised("Only the chair can do this")
    if session.hub.is_test_session(room.facts.meeting_id):
        await session.hub.end_test_session(room.facts.meeting_id)  # the meeting itself is still to come
        return
    await session.hub.mark_live(room.facts.meeting_id, "ended")  # first: the links are dead before anyone hears
    room.end(member.connection)


HANDLERS: Mapping[str, Handler] = {
    "join": join,
    "offer": offer,
    "ping": ping,
    "leave": leave,
    "raise-hand": _participant_action(lambda room, c, m: room.raise_hand(c)),
    "lower-hand": _participant_action(lambda room, c, m: room.lower_hand(c)),
    "audio-only": _participant_action(lambda room, c, m: room.set_audio_only(c, m["on"])),
    "roll-call-answer": _participant_action(lambda room, c, m: room.answer_roll_call(c, m["id"])),
    "give-floor": _participant_action(lambda room, c, m: room.give_floor(c, m["unit"])),
    "take-floor": _participant_action(lambda room, c, m: room.take_floor(c, m.get("unit"))),
    "mute": _participant_action(lambda room, c, m: room.mute(c, m["unit"], m.get("muted", True))),
    "kick": _participant_action(lambda room, c, m: room.kick(c, m["unit"])),
    "lock": _participant_action(lambda room, c, m: room.lock(c, m["locked"])),
    "discussion": _participant_action(lambda room, c, m: room.open_discussion(c, m["open"])),
    "roll-call": _participant_action(lambda room, c, m: room.start_roll_call(c)),
    "grid-page": _participant_action(lambda room, c, m: room.set_grid_page(c, m["page"])),
    "share": _participant_action(lambda room, c, m: room.share(c, m["on"])),
    "stop-presentation": _participant_action(lambda room, c, m: room.stop_presentation(c)),
    "chat": _participant_action(lambda room, c, m: room.write(c, m["text"], m.get("to"))),
    "let-back": _participant_action(lambda room, c, m: room.let_back(c, m["unit"])),
    "end-roll-call": _participant_action(lambda room, c, m: room.end_roll_call(c)),
    "record": record,
    "end": end,
}
