"""The room's rules, with no network: who receives which track after each action of the chair and the units."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from conference.layout import GRID_SLOTS, Source, slots
from conference.members import DROPPED, LINK_POOR, LINK_WEAK, MeetingFacts, RemovedByChair
from conference.room import Room
from scheduler.attendance.events import AttendanceEvent
from scheduler.errors import Conflict, NotAuthorised, NotFound


class RecordingPeer:
    """The room's view of a connection; keeps what it was told so the test can read it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.plan: dict[str, Source | None] = {}
        self.closed: str | None = None

    def send(self, message: Any) -> None:
        self.messages.append(dict(message))

    def forward(self, slots: Any) -> None:
        self.plan = dict(slots)

    def close(self, reason: str) -> None:
        self.closed = reason

    def last(self, kind: str) -> dict[str, Any]:
        return next(m for m in reversed(self.messages) if m["type"] == kind)

    def fed(self) -> dict[str, Source]:
        return {slot: source for slot, source in self.plan.items() if source is not None}


UNITS = tuple(f"X{i:02}" for i in range(1, 31))


class Meeting:
    def __init__(self) -> None:
        self.events: list[AttendanceEvent] = []
        facts = MeetingFacts("m1", "Giao ban", "TINH", UNITS)
        self.room = Room(facts, now=lambda: datetime(2026, 11, 23, 1, tzinfo=UTC), record=self.events.append)
        self.peers: dict[str, RecordingPeer] = {}

    def join(self, unit: str, role: str = "participant", **kwargs: Any) -> RecordingPeer:
        peer = RecordingPeer()
        connection = kwargs.pop("connection", f"c-{unit}")
        self.peers[connection] = peer
        self.room.join(peer, connection=connection, unit=unit, role=role, name=f"Ông {unit}", **kwargs)
        return peer

    def event_types(self) -> list[tuple[str, str]]:
        return [(e.type, e.unit) for e in self.events]


@pytest.fixture
def meeting() -> Meeting:
    return Meeting()


def test_participants_wait_in_the_lobby_until_the_chair_joins(meeting: Meeting) -> None:
    commune = meeting.join("X01")
    assert commune.last("state")["admitted"] is False
    assert commune.fed() == {}
    chair = meeting.join("TINH", "chair")
    assert commune.last("state")["admitted"] is True
    assert commune.fed() == {"chair-audio": Source("c-TINH", "audio"), "chair-video": Source("c-TINH", "video")}
    assert chair.fed() == {"grid-0": Source("c-X01", "video-small")}
    assert meeting.room.unit_state("X01") == "connected"


def test_only_the_chair_and_the_floor_holder_are_heard(meeting: Meeting) -> None:
    chair = meeting.join("TINH", "chair")
    a, b, c = meeting.join("X01"), meeting.join("X02"), meeting.join("X03")
    audio = {slot: src for slot, src in b.fed().items() if "audio" in slot}
    assert audio == {"chair-audio": Source("c-TINH", "audio")}

    meeting.room.give_floor("c-TINH", "X01")
    for listener in (b, c):
        assert listener.fed()["floor-audio-0"] == Source("c-X01", "audio")
        assert listener.fed()["floor-video"] == Source("c-X01", "video")
    assert chair.fed()["floor-audio-0"] == Source("c-X01", "audio")
    assert chair.fed()["floor-video"] == Source("c-X01", "video")
    assert "floor-audio-0" not in a.fed()  # nobody hears themselves
    assert ("floor_granted", "X01") in meeting.event_types()

    meeting.room.give_floor("c-TINH", "X02")  # one holder at a time by default
    assert c.fed()["floor-audio-0"] == Source("c-X02", "audio")
    assert "floor-audio-1" not in c.fed()
    assert ("floor_released", "X01") in meeting.event_types()

    meeting.room.take_floor("c-TINH")
    assert all("floor" not in slot for slot in c.fed())
    assert meeting.room.speakers == []


def test_discussion_lets_several_units_speak_and_closing_it_keeps_the_first(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    meeting.join("X01"), meeting.join("X02")
    listener = meeting.join("X03")
    meeting.room.open_discussion("c-TINH", True)
    meeting.room.give_floor("c-TINH", "X01")
    meeting.room.give_floor("c-TINH", "X02")
    heard = {src.connection for slot, src in listener.fed().items() if slot.startswith("floor-audio")}
    assert heard == {"c-X01", "c-X02"}
    meeting.room.open_discussion("c-TINH", False)
    assert meeting.room.speakers == ["X01"]


def test_hands_queue_in_order_and_reach_the_chair(meeting: Meeting) -> None:
    chair = meeting.join("TINH", "chair")
    meeting.join("X02"), meeting.join("X01")
    meeting.room.raise_hand("c-X02")
    meeting.room.raise_hand("c-X01")
    meeting.room.raise_hand("c-X02")  # twice is still once
    assert chair.last("state")["hands"] == ["X02", "X01"]
    hands = {e["unit"]: e["hand"] for e in chair.last("console")["endpoints"]}
    assert hands["X01"] and hands["X02"] and not hands["X03"]
    meeting.room.give_floor("c-TINH", "X01")  # the floor lowers the hand
    assert chair.last("state")["hands"] == ["X02"]
    meeting.room.lower_hand("c-X02")
    assert chair.last("state")["hands"] == []


def test_a_hand_cannot_go_up_in_the_lobby(meeting: Meeting) -> None:
    meeting.join("X01")
    with pytest.raises(Conflict):
        meeting.room.raise_hand("c-X01")


def test_mute_stops_forwarding_the_units_audio_but_not_its_picture(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    speaker, listener = meeting.join("X01"), meeting.join("X02")
    meeting.room.give_floor("c-TINH", "X01")
    meeting.room.mute("c-TINH", "X01")
    assert "floor-audio-0" not in listener.fed()
    assert listener.fed()["floor-video"] == Source("c-X01", "video")
    assert speaker.last("muted") == {"type": "muted", "muted": True}
    meeting.room.mute("c-TINH", "X01", muted=False)
    assert listener.fed()["floor-audio-0"] == Source("c-X01", "audio")


def test_only_the_chair_controls_the_meeting(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    meeting.join("X01")
    for action in (
        lambda: meeting.room.give_floor("c-X01", "X01"),
        lambda: meeting.room.kick("c-X01", "TINH"),
        lambda: meeting.room.lock("c-X01", True),
        lambda: meeting.room.end("c-X01"),
        lambda: meeting.room.start_roll_call("c-X01"),
    ):
        with pytest.raises(NotAuthorised):
            action()


def test_a_removed_unit_stays_out_until_the_chair_lets_it_back(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    kicked = meeting.join("X01")
    meeting.room.raise_hand("c-X01")
    meeting.room.kick("c-TINH", "X01")
    assert kicked.closed == "kicked"
    assert meeting.room.hands == []
    assert meeting.room.unit_state("X01") == "removed"
    with pytest.raises(RemovedByChair):  # its link reloaded: still out
        meeting.join("X01", connection="c-X01-again")
    meeting.room.let_back("c-TINH", "X01")
    assert meeting.room.unit_state("X01") == "absent"
    meeting.join("X01", connection="c-X01-again")
    assert meeting.room.unit_state("X01") == "connected"
    with pytest.raises(NotAuthorised):
        meeting.room.let_back("c-X01-again", "X02")  # the chair's alone


def test_lock_lets_present_units_reconnect_but_no_new_unit(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    meeting.join("X01")
    meeting.room.lock("c-TINH", True)
    meeting.room.leave("c-X01", DROPPED)
    meeting.join("X01", connection="c-X01-back", rejoin=True)
    with pytest.raises(NotAuthorised):
        meeting.join("X02")
    meeting.room.lock("c-TINH", False)
    meeting.join("X02")


def test_roll_call_prompts_every_admitted_participant_and_records_answers(meeting: Meeting) -> None:
    chair = meeting.join("TINH", "chair")
    a, b = meeting.join("X01"), meeting.join("X02")
    roll_call = meeting.room.start_roll_call("c-TINH")
    assert a.last("roll-call") == {"type": "roll-call", "id": roll_call}
    assert b.last("roll-call")["id"] == roll_call
    meeting.room.answer_roll_call("c-X02", roll_call)
    meeting.room.answer_roll_call("c-X02", roll_call)
    answers = [e for e in meeting.events if e.type == "roll_call_answered"]
    assert [(e.unit, e.detail) for e in answers] == [("X02", roll_call)]
    assert set(chair.last("console")["roll_call_answers"]) == {"X02"}
    with pytest.raises(Conflict):
        meeting.room.answer_roll_call("c-X01", "rc-old")


def test_the_console_shows_every_invited_unit_with_its_state(meeting: Meeting) -> None:
    chair = meeting.join("TINH", "chair")
    meeting.join("X01")
    meeting.join("X02")
    meeting.room.leave("c-X02", DROPPED)
    meeting.join("X03")
    meeting.room.leave("c-X03")
    states = {e["unit"]: e["state"] for e in chair.last("console")["endpoints"]}
    assert len(states) == 1 + len(UNITS)
    assert (states["TINH"], states["X01"], states["X02"], states["X03"], states["X04"]) == (
        "connected", "connected", "dropped", "absent", "absent")  # fmt: skip
    assert meeting.event_types()[-4:] == [("joined", "X02"), ("dropped", "X02"), ("joined", "X03"), ("left", "X03")]


def test_a_lobby_member_shows_as_lobby(meeting: Meeting) -> None:
    meeting.join("X05")
    assert meeting.room.unit_state("X05") == "lobby"


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


def test_the_floor_returns_when_its_holder_drops(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    meeting.join("X01")
    listener = meeting.join("X02")
    meeting.room.give_floor("c-TINH", "X01")
    meeting.room.leave("c-X01", DROPPED)
    assert "floor-video" not in listener.fed()
    assert ("floor_released", "X01") in meeting.event_types()


def test_ending_closes_everyone_and_refuses_new_joins(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    peer = meeting.join("X01")
    meeting.room.end("c-TINH")
    assert peer.closed == "ended"
    assert meeting.room.members == {}
    with pytest.raises(NotAuthorised):
        meeting.join("X02")


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


def test_giving_the_floor_to_an_absent_unit_is_refused(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    with pytest.raises(NotFound):
        meeting.room.give_floor("c-TINH", "X09")


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


def test_a_service_stop_drops_everyone_and_the_meeting_goes_on(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    meeting.join("X01")
    meeting.room.give_floor("c-TINH", "X01")
    meeting.room.drop_everyone("server stopped")
    drops = [(e.unit, e.detail) for e in meeting.events if e.type == "dropped"]
    assert drops == [("TINH", "server stopped"), ("X01", "server stopped")]
    assert meeting.event_types()[-1] == ("floor_released", "X01")  # its floor spell ends with it
    assert not meeting.room.members and not meeting.room.ended
    assert meeting.room.unit_state("X01") == "dropped"


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


def test_a_rejoin_before_the_drop_was_noticed_counts_one_drop_and_one_return(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    meeting.join("X01")
    meeting.join("X01", connection="c-X01-back", rejoin=True)  # its node died: the old connection is still here
    meeting.join("X01", connection="c-X01-tab")  # a second tab, no drop: the one before it left
    kinds = [(e.type, e.connection, e.detail) for e in meeting.events if e.unit == "X01"]
    assert kinds == [("joined", "c-X01", ""), ("rejoined", "c-X01-back", ""), ("dropped", "c-X01", "replaced"),
                     ("joined", "c-X01-tab", ""), ("left", "c-X01-back", "replaced")]  # fmt: skip
