"""The forwarding rule: which publisher's track feeds each receiving slot of a member, given the room's moment.

Pure: read from the room, never changing it. The room calls it after every change and sends each peer only the
slots whose source changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conference.layout import AUDIO_SLOTS, FULL, GRID_SLOTS, PRESENTATION, SCREEN, SMALL, Source, slots

if TYPE_CHECKING:
    from conference.members import Member
    from conference.room import Room


def plan_for(room: Room, member: Member) -> dict[str, Source | None]:
    """The forwarding rule: which publisher track goes into each of this member's receiving slots."""
    if not member.admitted:
        return dict.fromkeys(slots(member.role))
    audible = [u for u in room.speakers if u not in room.muted and u != member.unit]
    shown = next((u for u in room.speakers if u != member.unit), None)
    plan: dict[str, Source | None] = {}
    for index in range(AUDIO_SLOTS):
        plan[f"floor-audio-{index}"] = room.source_of(audible[index], "audio") if index < len(audible) else None
    plan["floor-video"] = room.source_of(shown, FULL) if shown and member.receives_video else None
    presented = room.presenter if room.presenter != member.unit and member.receives_video else None
    plan[PRESENTATION] = room.source_of(presented, SCREEN) if presented else None
    if member.is_chair:  # the console's grid is small pictures
        page = room.grid_page(member.grid_page)
        for index in range(GRID_SLOTS):
            visible = index < len(page) and member.receives_video
            plan[f"grid-{index}"] = Source(page[index].connection, SMALL) if visible else None
        return plan
    chair = room.chair
    plan["chair-audio"] = Source(chair.connection, "audio") if chair else None
    plan["chair-video"] = Source(chair.connection, FULL) if chair and member.receives_video else None
    return plan
