"""The live meeting's rules: who is in, who has the floor, and who receives which track.

Pure domain: no sockets, no media, no store. The room talks to each connection through the ``Peer`` protocol, whose
methods only enqueue, and tells the record what happened through ``record`` (also enqueue-only). Every public method
is synchronous and leaves the room consistent; after each change the room recomputes the forwarding plan at once
and sends each peer only what changed for it. What everyone is told (the state, the chair's console: see
announcements.py) goes out through ``later``: the hub batches a burst of changes into one announcement, since 161
units joining within seconds would otherwise cost 13,000 state messages of 8 KB each.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime

from conference.announcements import tell_everyone
from conference.chat import Chat
from conference.forwarding import plan_for
from conference.layout import GRID_SLOTS, Source
from conference.members import (
    CHAIR,
    DROPPED,
    LEFT,
    MAX_SPEAKERS,
    PARTICIPANT,
    MeetingFacts,
    Member,
    Peer,
    RemovedByChair,
)
from scheduler.attendance.events import AttendanceEvent
from scheduler.errors import Conflict, InvalidInput, NotAuthorised, NotFound
from signaling import messages as say


def at_once(announce: Callable[[], None]) -> None:
    announce()


class Room:
    def __init__(self, facts: MeetingFacts, *, now: Callable[[], datetime], record: Callable[[AttendanceEvent], None],
                 later: Callable[[Callable[[], None]], None] = at_once) -> None:  # fmt: skip
        self.facts = facts
        self._now = now
        self._record = record
        self._later = later
        self._announcing = False
        self.members: dict[str, Member] = {}  # by connection, in joining order
        self._by_unit: dict[str, list[Member]] = {}  # the same members by unit (one each, but while replacing)
        self.hands: list[str] = []  # units, in the order they raised their hands
        self.speakers: list[str] = []  # units holding the floor, first one is shown
        self.presenter: str | None = None  # the unit whose presentation everyone sees (one at a time)
        self.muted: set[str] = set()  # units whose audio is not forwarded
        self.locked = False
        self.discussion = False
        self.recording = False
        self.recording_problem = ""  # why the service stopped the last recording (disk_full...), for the chair
        self.recorder: Member | None = None  # planned like a participant; not a member, never shown
        self.ended = False
        self.roll_call: str | None = None
        self.roll_call_answers: dict[str, str] = {}  # unit → when it answered (ISO time)
        self.dropped_units: set[str] = set()  # units whose last connection dropped
        self.allowed_when_locked: set[str] = set()  # units present when the room was locked
        self.removed: set[str] = set()  # units the chair removed: they stay out unless the chair lets them back
        self.chat = Chat(facts.chair_unit, facts.invited_units, now)
        self._roll_calls = itertools.count(1)

    # --- joining and leaving -------------------------------------------------------------------------------

    def join(self, peer: Peer, *, connection: str, unit: str, role: str, name: str, position: str = "",
             rejoin: bool = False) -> Member:  # fmt: skip
        if self.ended:
            raise NotAuthorised("This meeting has ended; the link no longer works")
        if connection in self.members:
            raise Conflict("This connection is already in the meeting")
        if unit in self.removed and role != CHAIR:
            raise RemovedByChair("The chair removed your unit from this meeting")
        if self.locked and role != CHAIR and unit not in self.allowed_when_locked:
            raise NotAuthorised("The chair has locked the meeting; no more units can join")
        replaced = self._connections_of(unit)  # one live connection per link: the newest has the meeting
        member = Member(connection, unit, role, name.strip(), position.strip(), peer)
        member.admitted = role == CHAIR or self.chair is not None
        self._add(member)
        self.dropped_units.discard(unit)
        self._note("rejoined" if rejoin else "joined", member)
        for old in replaced:  # after the new one joined: the unit's attendance has no gap
            self._remove(old)
            # a page that rejoins says its connection was lost: its node died, or its line, before this one noticed
            self._note(DROPPED if rejoin else LEFT, old, detail="replaced")
            old.peer.close("replaced")
        if member.is_chair:
            for other in self.members.values():
                other.admitted = True
        self._changed()
        return member

    def leave(self, connection: str, how: str = LEFT, detail: str = "") -> None:
        """A connection went away: ``left`` when the person said so, ``dropped`` when the link was lost."""
        member = self.members.get(connection)
        if member is None:
            return
        self._remove(member)
        self._note(how, member, detail)
        if not self._unit_connected(member.unit):
            if how == DROPPED:
                self.dropped_units.add(member.unit)
            self._forget_unit(member.unit)
        self._changed()

    # --- what a participant does ---------------------------------------------------------------------------

    def raise_hand(self, connection: str) -> None:
        member = self._admitted(connection)
        if member.unit not in self.hands and member.unit not in self.speakers and not member.is_chair:
            self.hands.append(member.unit)
            self._changed()

    def lower_hand(self, connection: str) -> None:
        member = self._member(connection)
        if member.unit in self.hands:
            self.hands.remove(member.unit)
            self._changed()

    def set_audio_only(self, connection: str, audio_only: bool) -> None:
        self._member(connection).audio_only = audio_only
        self._changed()

    def set_link(self, connection: str, link: str) -> None:
        member = self.members.get(connection)
        if member is None or member.link == link:
            return
        member.link = link
        member.peer.send(say.link(link))
        self._changed()

    def answer_roll_call(self, connection: str, roll_call: str) -> None:
        member = self._admitted(connection)
        if roll_call != self.roll_call:
            raise Conflict("This roll call is over")
        if member.unit not in self.roll_call_answers:
            self.roll_call_answers[member.unit] = self._now().isoformat()
            self._note("roll_call_answered", member, detail=roll_call)
            self._changed()

    def write(self, connection: str, text: str, to: str | None = None) -> None:
        """A chat message: a unit's question or note to the chair, the chair's to one unit or to everyone."""
        member = self._admitted(connection)
        message = self.chat.write(sender=member.unit, name=member.name, is_chair=member.is_chair, text=text, to=to)
        for reader in self.members.values():
            if self.chat.sees(reader.unit, message):
                reader.peer.send(say.chat(message))
        self._note("chat_message", member, detail=message.text, to=message.to)

    def share(self, connection: str, on: bool) -> None:
        """The chair, or a unit holding the floor, starts presenting (replacing whoever presented) or stops."""
        member = self._admitted(connection)
        if not on:
            if self.presenter == member.unit:
                self._stop_presenting()
                self._changed()
            return
        if not member.is_chair and member.unit not in self.speakers:
            raise NotAuthorised("Only the chair or the unit holding the floor can present")
        if self.presenter == member.unit:
            return
        if self.presenter is not None:
            self._stop_presenting()
        self.presenter = member.unit
        self._note("presentation_started", member)
        self._changed()

    # --- what the chair does -------------------------------------------------------------------------------

    def stop_presentation(self, by: str) -> None:
        """The chair stops whoever presents."""
        self._chair(by)
        if self.presenter is not None:
            self._stop_presenting()
            self._changed()

    def give_floor(self, by: str, unit: str) -> None:
        self._chair(by)
        if not any(m.admitted and not m.is_chair for m in self._connections_of(unit)):
            raise NotFound("{unit} is not in the meeting", unit=self.facts.name_of(unit))
        if unit in self.speakers:
            return
        if not self.discussion:
            for holder in list(self.speakers):
                self._release(holder)
        elif len(self.speakers) >= MAX_SPEAKERS:
            raise Conflict("At most {count} units can speak at once", count=MAX_SPEAKERS)
        self.speakers.append(unit)
        if unit in self.hands:
            self.hands.remove(unit)
        self._note_unit("floor_granted", unit)
        self._changed()

    def take_floor(self, by: str, unit: str | None = None) -> None:
        """Take the floor back from ``unit``, or from every holder when no unit is named."""
        self._chair(by)
        for holder in [unit] if unit else list(self.speakers):
            if holder in self.speakers:
                self._release(holder)
        self._changed()

    def open_discussion(self, by: str, open_: bool) -> None:
        self._chair(by)
        self.discussion = open_
        if not open_:
            for holder in self.speakers[1:]:
                self._release(holder)
        self._changed()

    def mute(self, by: str, unit: str, muted: bool = True) -> None:
        self._chair(by)
        (self.muted.add if muted else self.muted.discard)(unit)
        for member in self._connections_of(unit):
            member.peer.send(say.muted(muted))
        self._changed()

    def kick(self, by: str, unit: str) -> None:
        self._chair(by)
        kicked = self._connections_of(unit)
        if not kicked or any(m.is_chair for m in kicked):
            raise NotFound("{unit} is not in the meeting", unit=self.facts.name_of(unit))
        self.allowed_when_locked.discard(unit)
        self.removed.add(unit)
        for member in kicked:
            self._remove(member)
            self._note(LEFT, member, detail="kicked")
            member.peer.close("kicked")
        self._forget_unit(unit)
        self._changed()

    def let_back(self, by: str, unit: str) -> None:
        """The chair lets a removed unit join again (its link works again)."""
        self._chair(by)
        self.removed.discard(unit)
        self._changed()

    def lock(self, by: str, locked: bool) -> None:
        self._chair(by)
        self.locked = locked
        self.allowed_when_locked = {m.unit for m in self.members.values()} if locked else set()
        self._changed()

    def start_roll_call(self, by: str) -> str:
        self._chair(by)
        self.roll_call = f"rc{next(self._roll_calls)}"
        self.roll_call_answers = {}
        for member in self.members.values():
            if member.admitted and not member.is_chair:
                member.peer.send(say.roll_call(self.roll_call))
        self._changed()
        return self.roll_call

    def end_roll_call(self, by: str) -> None:
        """The chair closes the roll call: pages stop asking; the answers stay in the record."""
        self._chair(by)
        self.roll_call = None
        self._changed()

    def set_grid_page(self, by: str, page: int) -> None:
        chair = self._chair(by)
        if not 0 <= page < self.grid_pages():
            raise InvalidInput("There is no page {page}", page=page + 1)
        chair.grid_page = page
        self._changed()

    def start_recording(self, by: str, recorder: Peer) -> None:
        """The recorder joins as a listener that never speaks: it is planned like a participant, shown nowhere."""
        chair = self._chair(by)
        if self.recording:
            raise Conflict("The meeting is already being recorded")
        self.recording, self.recording_problem = True, ""
        self.recorder = Member("recorder", "", PARTICIPANT, "", "", recorder, admitted=True)
        self._note("recording_started", chair)
        self._changed()

    def stop_recording(self, by: str | None, problem: str = "") -> None:
        """``by`` the chair, or ``None`` when the service stops it (``problem`` says why: e.g. the disk is full)."""
        chair = self._chair(by) if by is not None else self.chair
        if self.recorder is None:
            return
        recorder, self.recorder = self.recorder, None
        self.recording, self.recording_problem = False, problem
        recorder.peer.close(problem or "stopped")
        self._record(AttendanceEvent(type="recording_stopped", at=self._now(), unit=self.facts.chair_unit,
                                     connection=chair.connection if chair else "", detail=problem))  # fmt: skip
        self._changed()

    def describe(self, connection: str) -> tuple[str, str] | None:
        """Whose connection this is, for the recorder's file names: (unit, name as typed)."""
        member = self.members.get(connection)
        return (member.unit, member.name) if member else None

    def drop_everyone(self, detail: str) -> None:
        """The service stops under the meeting (a restart): every connection drops, and comes back by itself."""
        for connection in list(self.members):
            self.leave(connection, DROPPED, detail)

    def end(self, by: str) -> None:
        self._chair(by)
        self.ended = True
        if self.presenter is not None:
            self._stop_presenting()
        if self.recorder is not None:
            self.recorder.peer.close("ended")
            self._note_unit("recording_stopped", self.facts.chair_unit)
            self.recorder, self.recording = None, False
        for member in list(self.members.values()):
            self._note(LEFT, member, detail="meeting ended")
            member.peer.close("ended")
        self.members.clear()
        self._by_unit.clear()
        self.hands.clear()
        self.speakers.clear()

    # --- what the room is now -----------------------------------------------------------------------------

    @property
    def chair(self) -> Member | None:
        return next((m for m in self._connections_of(self.facts.chair_unit) if m.is_chair), None)

    def unit_state(self, unit: str) -> str:
        members = self._connections_of(unit)
        if any(m.admitted for m in members):
            return "connected"
        if members:
            return "lobby"
        if unit in self.removed:
            return "removed"
        return "dropped" if unit in self.dropped_units else "absent"

    def grid_pages(self) -> int:
        """How many pages of small pictures the chair's console has (one, even empty)."""
        return max(1, -(-len(self._grid_members()) // GRID_SLOTS))

    def grid_page(self, page: int) -> list[Member]:
        """The participants shown on one page of the chair's console, in joining order."""
        return self._grid_members()[page * GRID_SLOTS : (page + 1) * GRID_SLOTS]

    def plan_for(self, member: Member) -> dict[str, Source | None]:
        return plan_for(self, member)

    # --- inside ----------------------------------------------------------------------------------------------

    def _changed(self) -> None:
        """Media follows at once: each peer's forwarding plan, where it changed. Then, once for a burst of changes,
        everyone is told the state and the chair its console."""
        for member in [*self.members.values(), *([self.recorder] if self.recorder else [])]:
            plan = self.plan_for(member)
            if plan != member.forwarded:
                member.forwarded = plan
                member.peer.forward(plan)
        if not self._announcing:
            self._announcing = True
            self._later(self._announce)

    def _announce(self) -> None:
        self._announcing = False
        tell_everyone(self)

    def _grid_members(self) -> list[Member]:
        return [m for m in self.members.values() if m.admitted and not m.is_chair]

    def source_of(self, unit: str, track: str) -> Source | None:
        """The admitted connection of ``unit``, as a publisher of ``track`` (None when the unit is not here)."""
        member = next((m for m in self._connections_of(unit) if m.admitted), None)
        return Source(member.connection, track) if member else None

    def _release(self, unit: str) -> None:
        self.speakers.remove(unit)
        self._note_unit("floor_released", unit)
        if self.presenter == unit:  # the floor taken away takes its presentation with it
            self._stop_presenting()

    def _stop_presenting(self) -> None:
        unit, self.presenter = self.presenter, None
        member = next(iter(self._connections_of(unit)), None) if unit is not None else None
        if member is not None:
            self._note("presentation_stopped", member)
        elif unit is not None:
            self._note_unit("presentation_stopped", unit)

    def _forget_unit(self, unit: str) -> None:
        """The unit has no connection left: it cannot hold the floor, present or keep a hand up."""
        if unit in self.speakers:
            self._release(unit)
        if self.presenter == unit:
            self._stop_presenting()
        if unit in self.hands:
            self.hands.remove(unit)

    def _unit_connected(self, unit: str) -> bool:
        return bool(self._connections_of(unit))

    def _connections_of(self, unit: str) -> list[Member]:
        return list(self._by_unit.get(unit, ()))  # a copy: callers may remove what they iterate

    def _add(self, member: Member) -> None:
        self.members[member.connection] = member
        self._by_unit.setdefault(member.unit, []).append(member)

    def _remove(self, member: Member) -> None:
        del self.members[member.connection]
        tabs = self._by_unit[member.unit]
        tabs.remove(member)
        if not tabs:
            del self._by_unit[member.unit]

    def _member(self, connection: str) -> Member:
        member = self.members.get(connection)
        if member is None:
            raise NotFound("This connection is not in the meeting")
        return member

    def _admitted(self, connection: str) -> Member:
        member = self._member(connection)
        if not member.admitted:
            raise Conflict("Please wait: the meeting has not started yet")
        return member

    def _chair(self, connection: str) -> Member:
        member = self._member(connection)
        if not member.is_chair:
            raise NotAuthorised("Only the chair can do this")
        return member

    def _note(self, kind: str, member: Member, detail: str = "", to: str = "") -> None:
        self._record(AttendanceEvent(type=kind, at=self._now(), unit=member.unit, connection=member.connection,
                                     name=member.name, position=member.position, detail=detail, to=to))  # fmt: skip

    def _note_unit(self, kind: str, unit: str) -> None:
        self._record(AttendanceEvent(type=kind, at=self._now(), unit=unit))
