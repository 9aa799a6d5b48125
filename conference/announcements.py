"""What everyone in a live meeting is told: the state every page draws, and the chair's console.

Read from the room, never changing it: room.py decides, this describes. The room calls ``tell_everyone`` once for
a burst of changes (the hub batches them); the signaling layer calls ``tell`` when one page needs it all again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conference.room import Member, Room


def tell_everyone(room: Room) -> None:
    state = public_state(room)
    for member in list(room.members.values()):
        _tell(room, member, state)


def tell(room: Room, member: Member) -> None:
    """Everything a member needs to draw the meeting now (after its welcome, or when it asks)."""
    _tell(room, member, public_state(room))


def public_state(room: Room) -> dict[str, Any]:
    return {
        "type": "state",
        "chair_present": room.chair is not None,
        "floor": list(room.speakers),
        "presenter": room.presenter,
        "hands": list(room.hands),
        "muted": sorted(room.muted),
        "locked": room.locked,
        "discussion": room.discussion,
        "recording": room.recording,
        "recording_problem": room.recording_problem,
        "roll_call": room.roll_call,
        "names": {m.unit: m.name for m in room.members.values()},
    }


def console_state(room: Room, chair: Member) -> dict[str, Any]:
    units = [room.facts.chair_unit, *room.facts.invited_units]
    return {
        "type": "console",
        "endpoints": [_endpoint(room, unit) for unit in units],
        "roll_call_answers": dict(room.roll_call_answers),
        "grid": [m.unit for m in room.grid_page(chair.grid_page)],
        "grid_page": chair.grid_page,
        "grid_pages": room.grid_pages(),
    }


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
