"""The room's rules, with no network: lobby, floor, hands, mute, removal, lock, roll call, the end."""

from __future__ import annotations

import pytest

from conference.layout import Source
from conference.members import DROPPED, RemovedByChair
from scheduler.errors import Conflict, NotAuthorised, NotFound
from tests.rooms import UNITS, Meeting


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


def test_giving_the_floor_to_an_absent_unit_is_refused(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    with pytest.raises(NotFound):
        meeting.room.give_floor("c-TINH", "X09")


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


def test_a_rejoin_before_the_drop_was_noticed_counts_one_drop_and_one_return(meeting: Meeting) -> None:
    meeting.join("TINH", "chair")
    meeting.join("X01")
    meeting.join("X01", connection="c-X01-back", rejoin=True)  # its node died: the old connection is still here
    meeting.join("X01", connection="c-X01-tab")  # a second tab, no drop: the one before it left
    kinds = [(e.type, e.connection, e.detail) for e in meeting.events if e.unit == "X01"]
    assert kinds == [("joined", "c-X01", ""), ("rejoined", "c-X01-back", ""), ("dropped", "c-X01", "replaced"),
                     ("joined", "c-X01-tab", ""), ("left", "c-X01-back", "replaced")]  # fmt: skip
