"""What everyone in a live meeting is told: the state every page draws, and the chair's console.

Read from the room, never changing it: room.py decides, this describes. The room calls ``tell_everyone`` once for
a burst of changes (the hub batches them); the signaling layer calls ``tell`` when one page needs it all again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from signaling import messages as say

if TYPE_CHECKING:
    from conference.members import Member
    from conference.room import Room


def tell_everyone(room: Room) -> None:
    state = public_state(room)
    for member in list(room.members.values()):
        _tell(room, member, state)


def tell(room: Room, member: Member) -> None:
    """Everything a member needs to draw the meeting now (after its welcome, or when it asks): the state, the chat
    it may read, and the chair its console."""
    member.peer.send(say.chat_history(room.chat.seen_by(member.unit)))
    _tell(room, member, public_state(room))


def public_state(room: Room) -> dict[str, Any]:
    return say.state(admitted=False, chair_present=room.chair is not None, floor=room.speakers,
                     presenter=room.presenter, hands=room.hands, muted_units=sorted(room.muted), locked=room.locked,
                     discussion=room.discussion, recording=room.recording, recording_problem=room.recording_problem,
                     roll_call_id=room.roll_call,
                     names={m.unit: m.name for m in room.members.values()})  # fmt: skip


# The console's order: who asks to speak first (in the order they asked), then who is here, who waits, who
# dropped (the chair may want to call them), who was removed, who never came.
ORDER = {"connected": 1, "lobby": 2, "dropped": 3, "removed": 4, "absent": 5}


def console_state(room: Room, chair: Member) -> dict[str, Any]:
    units = [room.facts.chair_unit, *room.facts.invited_units]
    endpoints = [_endpoint(room, unit) for unit in units]
    hands = {unit: place for place, unit in enumerate(room.hands)}
    place = {unit: number for number, unit in enumerate(units)}
    endpoints.sort(key=lambda e: (0, hands[e["unit"]]) if e["unit"] in hands else (ORDER[e["state"]], place[e["unit"]]))
    invited = [e for e in endpoints if e["unit"] != room.facts.chair_unit]
    counts = {"invited": len(invited), "hands": len(room.hands), "answered": len(room.roll_call_answers),
              **{state: sum(e["state"] == state for e in invited) for state in ORDER}}  # fmt: skip
    return say.console(endpoints=endpoints, counts=counts, roll_call_answers=room.roll_call_answers,
                       grid=[m.unit for m in room.grid_page(chair.grid_page)], grid_page=chair.grid_page,
                       grid_pages=room.grid_pages())  # fmt: skip


def _tell(room: Room, member: Member, state: dict[str, Any]) -> None:
    member.peer.send({**state, "admitted": member.admitted})
    if member.is_chair:
        member.peer.send(console_state(room, member))


def _endpoint(room: Room, unit: str) -> dict[str, Any]:
    return {
        "unit": unit,
        "state": room.unit_state(unit),
        "hand": unit in room.hands,
        "floor": unit in room.speakers,
        "presenting": unit == room.presenter,
        "muted": unit in room.muted,
        "answered": unit in room.roll_call_answers,
    }
