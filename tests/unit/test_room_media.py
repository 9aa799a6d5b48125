"""The room's media plans, with no network: who receives which picture, the chair's grid, the recorder,
presentations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from conference.layout import GRID_SLOTS, Source, slots
from conference.members import DROPPED, LINK_POOR, LINK_WEAK, MeetingFacts
from conference.room import Room
from scheduler.errors import Conflict, NotAuthorised
from tests.rooms import UNITS, Meeting, RecordingPeer


def test_the_chair_sees_small_pictures_one_page_at_a_time(meeting: Meeting) -> None:
    chair = meeting.join("TINH", "chair")
    for unit in UNITS[:20]:
        meeting.join(unit)
    first = {src.connection for slot, src in chair.fed().items() if slot.startswith("grid-")}
    assert first == {f"c-{u}" for u in UNITS[:GRID_SLOTS]}
    meeting.room.set_grid_page("c-TINH", 1)
    second = {src.connection for slot, src in chair.fed().items() if slot.startswith("grid-")}
    assert second == {f"c-{u}" for u in UNITS[GRID_SLOTS:20]}
    assert chair.last("console")["grid_pages"] == 2


def test_the_line_s_level_is_told_and_the_room_plans_the_picture_whose_size_the_relay_picks(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    weak = meeting.join("X01")
    meeting.room.set_link("c-X01", LINK_WEAK)
    assert weak.last("link") == {"type": "link", "quality": LINK_WEAK}
    assert weak.fed()["chair-video"] == Source("c-TINH", "video")  # the relay gives it the size that fits
    meeting.room.set_link("c-X01", LINK_POOR)
    assert weak.last("link") == {"type": "link", "quality": LINK_POOR}
    assert weak.fed()["chair-video"] == Source("c-TINH", "video")  # audio only is the relay's choice, not a plan


def test_the_chair_s_console_shows_the_small_pictures(meeting: Meeting) -> None:
    chair = meeting.join("TINH", "chair")
    meeting.join("X01")
    assert chair.fed()["grid-0"] == Source("c-X01", "video-small")


def test_audio_only_asked_for_by_the_person(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    peer = meeting.join("X01")
    meeting.room.set_audio_only("c-X01", True)
    assert set(peer.fed()) == {"chair-audio"}
    meeting.room.set_audio_only("c-X01", False)
    assert "chair-video" in peer.fed()


def test_recording_shows_a_banner_and_is_recorded(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    peer = meeting.join("X01")
    recorder = RecordingPeer()
    meeting.room.start_recording("c-TINH", recorder)
    assert peer.last("state")["recording"] is True
    assert ("recording_started", "TINH") in meeting.event_types()
    meeting.room.stop_recording("c-TINH")
    assert peer.last("state")["recording"] is False
    assert recorder.closed == "stopped"
    assert ("recording_stopped", "TINH") in meeting.event_types()


def test_the_recorder_receives_the_chair_and_the_floor_and_is_shown_nowhere(meeting: Meeting) -> None:
    chair = meeting.join("TINH", "chair")
    meeting.join("X01")
    recorder = RecordingPeer()
    meeting.room.start_recording("c-TINH", recorder)
    assert recorder.fed() == {"chair-audio": Source("c-TINH", "audio"), "chair-video": Source("c-TINH", "video")}
    meeting.room.give_floor("c-TINH", "X01")
    assert recorder.fed() == {
        "chair-audio": Source("c-TINH", "audio"),
        "chair-video": Source("c-TINH", "video"),
        "floor-audio-0": Source("c-X01", "audio"),
        "floor-video": Source("c-X01", "video"),
    }
    assert "" not in chair.last("state")["names"]
    assert [e["unit"] for e in chair.last("console")["endpoints"] if e["state"] == "connected"] == ["TINH", "X01"]
    assert chair.last("console")["grid"] == ["X01"]
    with pytest.raises(Conflict):
        meeting.room.start_recording("c-TINH", RecordingPeer())


def test_only_the_chair_records_and_the_service_can_stop_it_with_a_reason(meeting: Meeting) -> None:
    chair = meeting.join("TINH", "chair")
    meeting.join("X01")
    with pytest.raises(NotAuthorised):
        meeting.room.start_recording("c-X01", RecordingPeer())
    recorder = RecordingPeer()
    meeting.room.start_recording("c-TINH", recorder)
    meeting.room.stop_recording(None, "disk_full")
    assert recorder.closed == "disk_full"
    assert chair.last("state")["recording"] is False
    assert chair.last("state")["recording_problem"] == "disk_full"
    assert meeting.events[-1].type == "recording_stopped" and meeting.events[-1].detail == "disk_full"


def test_ending_the_meeting_stops_the_recorder(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    recorder = RecordingPeer()
    meeting.room.start_recording("c-TINH", recorder)
    meeting.room.end("c-TINH")
    assert recorder.closed == "ended"
    assert ("recording_stopped", "TINH") in meeting.event_types()


def test_every_plan_names_exactly_the_roles_slots(meeting: Meeting) -> None:
    chair = meeting.join("TINH", "chair")
    peer = meeting.join("X01")
    assert set(chair.plan) == set(slots("chair"))
    assert set(peer.plan) == set(slots("participant"))


def test_a_burst_of_changes_is_announced_once_but_media_follows_each_at_once() -> None:
    pending: list[Any] = []
    facts = MeetingFacts("m1", "Giao ban", "TINH", UNITS)
    room = Room(facts, now=lambda: datetime(2026, 11, 23, 1, tzinfo=UTC), record=lambda event: None,
                later=pending.append)  # fmt: skip
    chair, peers = RecordingPeer(), [RecordingPeer() for _ in UNITS]
    room.join(chair, connection="c-TINH", unit="TINH", role="chair", name="Chủ trì")
    for unit, peer in zip(UNITS, peers, strict=True):
        room.join(peer, connection=f"c-{unit}", unit=unit, role="participant", name=f"Ông {unit}")
        assert peer.fed()["chair-video"] == Source("c-TINH", "video")  # the picture does not wait
    room.raise_hand("c-X07")
    assert len(pending) == 1 and not chair.messages  # 31 joins and a hand: one announcement, not sent yet
    pending.pop()()
    assert [m["type"] for m in chair.messages] == ["state", "console"]
    assert all([m["type"] for m in peer.messages] == ["state"] for peer in peers)
    assert peers[0].last("state")["hands"] == ["X07"] and len(chair.last("state")["names"]) == 31
    assert {e["unit"]: e["state"] for e in chair.last("console")["endpoints"]}["X30"] == "connected"
    room.lower_hand("c-X07")  # the next change is announced again
    assert len(pending) == 1


# --- presentations --------------------------------------------------------------------------------------------


def presenting(peer: RecordingPeer) -> Source | None:
    return peer.plan.get("presentation")


def test_the_chair_presents_to_everyone_and_a_new_presentation_of_the_chair_replaces_the_floors(
    meeting: Meeting,
) -> None:
    chair = meeting.join("TINH", "chair")
    x01, x02 = meeting.join("X01"), meeting.join("X02")
    meeting.room.share("c-TINH", True)
    assert presenting(x01) == presenting(x02) == Source("c-TINH", "screen")
    assert presenting(chair) is None  # nobody is sent their own presentation
    assert x01.last("state")["presenter"] == "TINH"
    with pytest.raises(NotAuthorised):  # a unit without the floor may not present
        meeting.room.share("c-X01", True)
    meeting.room.give_floor("c-TINH", "X01")
    meeting.room.share("c-X01", True)  # the floor holder shares: its presentation replaces the chair's
    assert presenting(chair) == presenting(x02) == Source("c-X01", "screen") and presenting(x01) is None
    meeting.room.share("c-TINH", True)  # and the chair's replaces it again
    assert presenting(x01) == Source("c-TINH", "screen")
    assert ("presentation_stopped", "X01") in meeting.event_types()
    assert [e.name for e in meeting.events if e.type == "presentation_started"] == ["Ông TINH", "Ông X01", "Ông TINH"]


def test_a_presentation_ends_with_its_floor_its_connection_or_the_chairs_word(meeting: Meeting) -> None:
    chair = meeting.join("TINH", "chair")
    meeting.join("X01")
    x02 = meeting.join("X02")
    meeting.room.give_floor("c-TINH", "X01")
    meeting.room.share("c-X01", True)
    meeting.room.take_floor("c-TINH")  # the floor taken away takes the presentation
    assert presenting(x02) is None and presenting(chair) is None and x02.last("state")["presenter"] is None
    meeting.room.give_floor("c-TINH", "X01")
    meeting.room.share("c-X01", True)
    with pytest.raises(NotAuthorised):
        meeting.room.stop_presentation("c-X02")  # only the chair stops another's
    meeting.room.stop_presentation("c-TINH")
    assert presenting(x02) is None
    meeting.room.share("c-X01", True)
    meeting.room.leave("c-X01", DROPPED)  # its line goes
    assert presenting(x02) is None and meeting.room.presenter is None
    meeting.room.share("c-TINH", True)
    meeting.room.share("c-TINH", False)  # the presenter stops its own
    assert presenting(x02) is None
    assert meeting.event_types().count(("presentation_stopped", "X01")) == 3


def test_a_unit_that_asked_for_audio_only_gets_no_presentation(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    x01 = meeting.join("X01")
    meeting.room.set_audio_only("c-X01", True)
    meeting.room.share("c-TINH", True)
    assert presenting(x01) is None
    meeting.room.set_audio_only("c-X01", False)
    assert presenting(x01) == Source("c-TINH", "screen")
