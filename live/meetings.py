"""The live side of one process: a room per meeting it is origin of, the media relay, and the tasks that serve them.

It owns its background tasks, all stopped by ``close``: the attendance writer (the room only enqueues events),
the link sampler (RTCP → link quality → the room and the chair's console), and the recordings (see
``live/recordings.py``). Rooms live in memory here, at the meeting's origin node; browsers connected to other
nodes reach them through ``live/cluster.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from conference.layout import Source
from conference.link import START_KBPS
from conference.members import MeetingFacts
from conference.relay.peer import LinkFigures
from conference.relay.relay import Relay
from conference.room import Room
from live.cluster import RemoteConnection
from live.recordings import Recordings, RecordingSettings
from scheduler.attendance.events import AttendanceEvent, AttendanceLog
from scheduler.background import Background
from scheduler.clock import Clock
from scheduler.directory.store import UnitStore
from scheduler.invitations.tokens import JoinGrant, JoinLinks, check_window, meeting_for
from scheduler.meetings.model import Meeting
from scheduler.meetings.store import MeetingStore
from scheduler.recordings.catalogue import RecordingCatalogue
from scheduler.recordings.jobs import ProgramJobs
from signaling import messages as say
from signaling.connection import Connection, SignalingConnection
from signaling.ice import IceSettings
from signaling.limits import JoinLimits, OpenConnections

if TYPE_CHECKING:
    from live.cluster import Cluster

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 2.0
ANNOUNCE_SECONDS = 0.2  # a room tells everyone its state at most this often: a burst of joins makes one message
ATTENDANCE_QUEUE = 10_000
ATTENDANCE_RETRY_CAP = 5.0  # seconds between attempts while the store refuses attendance


class LiveMeetings:
    def __init__(self, *, links: JoinLinks, meetings: MeetingStore, attendance: AttendanceLog, clock: Clock,
                 ice: IceSettings, recording: RecordingSettings, catalogue: RecordingCatalogue,
                 jobs: ProgramJobs, background: Background, units: UnitStore,
                 link_start_kbps: float = START_KBPS) -> None:  # fmt: skip
        self.links = links
        self.units = units
        self.meetings = meetings
        self.clock = clock
        self.ice = ice
        self.link_start_kbps = link_start_kbps  # what a new line is taken to carry until it shows more
        self.relay = Relay(watched=self._tell_publisher, wanted=self._wanted, held=self._held)
        self.recordings = Recordings(self.relay, recording, catalogue=catalogue, jobs=jobs, clock=clock,
                                     background=background)  # fmt: skip
        self.rooms: dict[str, Room] = {}
        self.test_sessions: set[str] = set()  # meetings whose room here is a test session: nothing is recorded
        self.connections: dict[str, SignalingConnection] = {}  # sockets here, and browsers relayed from edges
        self.cluster: Cluster | None = None  # set when the service starts (web/live.py)
        self.joins = JoinLimits()
        self.addresses = OpenConnections()
        self._messages_dropped_by_gone = 0  # outbound messages dropped by connections since closed
        self._attendance = attendance
        self._events: asyncio.Queue[tuple[str, AttendanceEvent] | None] = asyncio.Queue(ATTENDANCE_QUEUE)
        self._stop = asyncio.Event()
        self._announcements: set[asyncio.TimerHandle] = set()
        self._tasks = [background.start("attendance-writer", self._write_attendance, stop=self._stop_writing),
                       background.start("link-sampler", self._sample_links, stop=self._stop.set)]  # fmt: skip

    async def admit(self, token: str) -> tuple[JoinGrant, Meeting]:
        """Check a join token as the join page does: signature, generation, role, time window."""
        grant = await self.links.grant_of(token)
        now = self.clock.now()
        meeting = await meeting_for(grant, self.meetings, now)
        check_window(meeting, grant, now)
        return grant, meeting

    async def room_for(self, meeting: Meeting) -> Room:
        testing = meeting.rehearsing(self.clock.now())
        room = self.rooms.get(meeting.id)
        if room is not None and (meeting.id in self.test_sessions) != testing:
            self.close_test_session(meeting.id)  # the room opened (or the test closed) under a test session
            room = None
        if room is None or room.ended:
            directory = await self.units.all()  # the room names units by their names, in what it says
            names = {code: directory[code].name for code in (meeting.chair_unit, *meeting.invited_units)
                     if code in directory}  # fmt: skip
            room = self.rooms.get(meeting.id)  # another join may have made it while the directory was read
            if room is not None and not room.ended:
                return room
            facts = MeetingFacts(meeting.id, meeting.title, meeting.chair_unit, meeting.invited_units, names)
            record = _not_recorded if testing else self._recorder(meeting.id)
            room = self.rooms[meeting.id] = Room(facts, now=self.clock.now, record=record,
                                                 later=self._announce_soon)  # fmt: skip
            if testing:
                self.test_sessions.add(meeting.id)
            else:
                self.test_sessions.discard(meeting.id)
        return room

    def is_test_session(self, meeting_id: str) -> bool:
        return meeting_id in self.test_sessions

    def close_test_session(self, meeting_id: str) -> None:
        """A test session's room goes: every page is told to come back (1012), and finds what is open then: the
        meeting's lobby, or the refusal that says when the room opens."""
        room = self.rooms.pop(meeting_id, None)
        self.test_sessions.discard(meeting_id)
        if room is not None:
            room.ended = True
            for member in list(room.members.values()):
                member.peer.close("restarting")
            log.info("meeting %s: test session closed", meeting_id)

    async def end_test_session(self, meeting_id: str) -> None:
        """The chair ends the test session from the console: it is closed for the host too."""
        await self.meetings.update(meeting_id, lambda meeting: replace(meeting, test_session=False))
        self.close_test_session(meeting_id)

    async def _watch_test_sessions(self) -> None:
        """A test session closes when the host closes it (any node's page) or when the real room opens."""
        now = self.clock.now()
        for meeting_id in list(self.test_sessions):
            try:
                meeting = await self.meetings.get(meeting_id)
            except Exception:  # the store restarting: look again next time
                log.debug("test session %s: meeting not read", meeting_id, exc_info=True)
                continue
            if not meeting.rehearsing(now):
                self.close_test_session(meeting_id)

    def _tell_publisher(self, key: Source, watched: bool) -> None:
        """Nobody receives this track any more (or someone does again): its browser stops (or starts) sending it.
        Only a browser whose media is here: one on another node is told by its own node's relay."""
        connection = self.local_connection(key.connection)
        if connection is not None:
            connection.send(say.publish(key.track, watched))

    def _wanted(self, key: Source, wanted: bool) -> None:
        if self.cluster is not None:
            self.cluster.links.wanted(key, wanted)

    def _held(self, key: Source, held: bool) -> None:
        if self.cluster is not None:
            self.cluster.links.held(key, held)

    def set_level(self, connection_id: str, level: str) -> None:
        """A relayed browser's line, as its edge judges it."""
        for room in self.rooms.values():
            if connection_id in room.members:
                room.set_link(connection_id, level)

    def local_connection(self, connection_id: str) -> Connection | None:
        connection = self.connections.get(connection_id)
        return connection if isinstance(connection, Connection) else None

    async def origin_of(self, meeting_id: str) -> str:
        """The node that holds this meeting's room (this one, without a cluster). A store that cannot place it
        (refusing writes, failing over) does not keep the units out: this node holds it meanwhile."""
        if self.cluster is None:
            return self.node_id
        try:
            return await self.cluster.origin_of(meeting_id)
        except (RedisError, OSError) as error:
            log.warning("meeting %s: the store cannot place it (%s); this node holds it", meeting_id, error)
            return self.node_id

    @property
    def node_id(self) -> str:
        return self.cluster.node_id if self.cluster else ""

    def hand_over(self, meeting_id: str) -> None:
        """Another node holds this meeting now: its connections here drop and come back to it by themselves."""
        room = self.rooms.pop(meeting_id, None)
        if room is None:
            return
        peers = [member.peer for member in room.members.values()]
        room.drop_everyone("moved to another node")
        for peer in peers:
            peer.close("restarting")

    def forget(self, connection_id: str) -> None:
        """A connection has ended: what it kept goes, what it counted stays counted."""
        connection = self.connections.pop(connection_id, None)
        if connection is not None:
            self._messages_dropped_by_gone += connection.dropped_messages

    @property
    def messages_dropped(self) -> int:
        """Outbound signaling messages dropped (a browser too slow to read them), since the start."""
        return self._messages_dropped_by_gone + sum(c.dropped_messages for c in self.connections.values())

    def new_connection_id(self) -> str:
        return secrets.token_urlsafe(9)

    async def mark_live(self, meeting_id: str, state: str) -> None:
        """The chair's arrival makes the meeting live; its end ends it (and with it every link)."""
        now = self.clock.now()

        def held(meeting: Meeting) -> Meeting:  # the first opening and the ending: attendance is judged by them
            if state == "live":
                return replace(meeting, live_state=state, held_from=meeting.held_from or now)
            return replace(meeting, live_state=state, held_until=now)

        meeting = await self.meetings.update(meeting_id, held)
        room = self.rooms.get(meeting_id)
        units = len({member.unit for member in room.members.values()}) if room else 0
        log.info("meeting %s (%s) %s with %d units connected", meeting_id, meeting.title,
                 "opened" if state == "live" else state, units)  # fmt: skip
        if state == "ended":
            self.rooms.pop(meeting_id, None)

    def _figures_of(self, connection_id: str) -> LinkFigures | None:
        connection = self.connections.get(connection_id)
        if connection is not None and connection.media is not None:
            return connection.media.figures()
        if isinstance(connection, RemoteConnection) and connection.figures:  # as its edge last said
            return LinkFigures(**connection.figures)
        return None

    async def close(self) -> None:
        """The service stops, most often to restart: the meetings go on. Everyone's drop is recorded now (the writer
        stops below), and browsers are told to come back (WebSocket 1012, service restart), not that it ended."""
        for room in self.rooms.values():
            room.drop_everyone("server stopped")
        for announcement in self._announcements:
            announcement.cancel()
        for connection in list(self.connections.values()):
            connection.close("restarting")
        await asyncio.gather(*(c.finish() for c in list(self.connections.values())), return_exceptions=True)
        await self.recordings.close()  # before the attendance writer stops: it records the recording's end
        await asyncio.gather(*(task.stop() for task in self._tasks))
        await self.relay.close()

    def _stop_writing(self) -> None:
        self._stop.set()
        self._events.put_nowait(None)  # wakes the writer: what was queued before it is written first

    def _announce_soon(self, announce: Callable[[], None]) -> None:
        def run() -> None:
            self._announcements.discard(handle)
            announce()

        handle = asyncio.get_running_loop().call_later(ANNOUNCE_SECONDS, run)
        self._announcements.add(handle)

    def _recorder(self, meeting_id: str) -> Callable[[AttendanceEvent], None]:
        def record(event: AttendanceEvent) -> None:
            try:
                self._events.put_nowait((meeting_id, event))
            except asyncio.QueueFull:
                log.error("attendance queue full; lost %s of %s in %s", event.type, event.unit, meeting_id)

        return record

    async def _write_attendance(self) -> None:
        """Append events in order. While the store cannot take them (restarting, out of memory, a failover) the
        writer keeps trying and the queue holds what comes meanwhile: attendance is the record the secretary must
        later prove, so an outage delays it and loses nothing. Only a stop during an outage gives up, out loud."""
        while (item := await self._events.get()) is not None:
            meeting_id, event = item
            attempt = 0
            while True:
                try:
                    await self._attendance.append(meeting_id, event)
                    break
                except Exception:
                    attempt += 1
                    log.exception("attendance append failed (attempt %d); retrying", attempt)
                    if self._stop.is_set():
                        self._give_up_attendance(item)
                        return
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), min(ATTENDANCE_RETRY_CAP, 0.5 * 2 ** (attempt - 1)))

    def _give_up_attendance(self, first: tuple[str, AttendanceEvent]) -> None:
        lost = [first]
        while not self._events.empty():
            if (item := self._events.get_nowait()) is not None:
                lost.append(item)
        for meeting_id, event in lost:
            log.error("attendance not written at shutdown (store down): meeting %s %s", meeting_id, event)

    async def _sample_links(self) -> None:
        """Every unit's line as the relay judges it (conference/link.py), on the chair's console every 2 s."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), SAMPLE_SECONDS)
            for room in list(self.rooms.values()):
                self._show_links(room)
            await self._watch_test_sessions()

    def _show_links(self, room: Room) -> None:
        figures: dict[str, dict[str, Any]] = {}
        for member in list(room.members.values()):
            seen = self._figures_of(member.connection)
            if seen is None:
                continue
            figures[member.unit] = {"rtt_ms": seen.rtt_ms and round(seen.rtt_ms), "loss": round(seen.loss * 100, 1),
                                    "kbps": round(seen.kbps), "estimate_kbps": round(seen.estimate_kbps),
                                    "layer": seen.layer, "link": member.link}  # fmt: skip
        chair = room.chair
        if chair is not None:
            chair.peer.send(say.quality(figures))


def _not_recorded(event: AttendanceEvent) -> None:
    """A test session's events: nothing goes into attendance."""
