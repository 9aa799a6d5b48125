"""The chat's rules, the chair's console for a province (order, counts), and what the room says in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conference.announcements import console_state, tell
from conference.members import MeetingFacts
from conference.room import Room
from scheduler.attendance.events import AttendanceEvent
from scheduler.errors import InvalidInput, NotAuthorised, NotFound, RateLimited
from signaling.messages import MAX_CHAT
from tests.rooms import UNITS, Meeting, RecordingPeer


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def chats(peer: RecordingPeer) -> list[str]:
    return [m["text"] for m in peer.messages if m["type"] == "chat"]


def test_a_units_question_reaches_the_chair_alone_and_is_recorded() -> None:
    meeting = Meeting()
    chair, asking, other = meeting.join("TINH", "chair"), meeting.join("X01"), meeting.join("X02")
    meeting.room.write("c-X01", "  Xin hỏi về kinh phí hỗ trợ?  ")
    assert chats(chair) == ["Xin hỏi về kinh phí hỗ trợ?"]
    assert chats(asking) == ["Xin hỏi về kinh phí hỗ trợ?"]  # its own, as sent
    assert chats(other) == []
    message = chair.last("chat")
    assert (message["from"], message["name"], message["to"]) == ("X01", "Ông X01", "chair")
    assert message["at"] == "2026-11-23T08:00:00+07:00"
    recorded = [e for e in meeting.events if e.type == "chat_message"]
    assert [(e.unit, e.name, e.to, e.detail) for e in recorded] == [("X01", "Ông X01", "chair",
                                                                      "Xin hỏi về kinh phí hỗ trợ?")]  # fmt: skip


def test_the_chair_writes_to_everyone_or_answers_one_unit() -> None:
    meeting = Meeting()
    chair, x01, x02 = meeting.join("TINH", "chair"), meeting.join("X01"), meeting.join("X02")
    meeting.room.write("c-TINH", "Các xã gửi báo cáo trước 17 giờ.")
    meeting.room.write("c-TINH", "Xã X01: đã nhận câu hỏi.", to="X01")
    assert chats(x01) == ["Các xã gửi báo cáo trước 17 giờ.", "Xã X01: đã nhận câu hỏi."]
    assert chats(x02) == ["Các xã gửi báo cáo trước 17 giờ."]
    assert chats(chair) == ["Các xã gửi báo cáo trước 17 giờ.", "Xã X01: đã nhận câu hỏi."]
    with pytest.raises(InvalidInput):
        meeting.room.write("c-TINH", "?", to="NOT-INVITED")


def test_a_unit_cannot_write_to_everyone_and_a_page_that_joins_later_reads_what_it_may() -> None:
    meeting = Meeting()
    meeting.join("TINH", "chair")
    meeting.join("X01")
    with pytest.raises(NotAuthorised):
        meeting.room.write("c-X01", "Chào cả phòng", to="everyone")
    meeting.room.write("c-X01", "Câu hỏi của X01")
    meeting.room.write("c-TINH", "Thông báo chung")
    meeting.room.write("c-TINH", "Riêng X01", to="X01")
    late = meeting.join("X02")
    tell(meeting.room, meeting.room.members["c-X02"])
    history = late.last("chat-history")["messages"]
    assert [m["text"] for m in history] == ["Thông báo chung"]
    rejoined = meeting.join("X01", connection="c-X01-back")
    tell(meeting.room, meeting.room.members["c-X01-back"])
    assert [m["text"] for m in rejoined.last("chat-history")["messages"]] == ["Câu hỏi của X01", "Thông báo chung",
                                                                               "Riêng X01"]  # fmt: skip


def test_chat_is_bounded_in_length_and_pace() -> None:
    clock = Clock()
    events: list[AttendanceEvent] = []
    room = Room(MeetingFacts("m1", "Giao ban", "TINH", UNITS), now=clock, record=events.append)
    room.join(RecordingPeer(), connection="c-TINH", unit="TINH", role="chair", name="Chủ trì")
    room.join(RecordingPeer(), connection="c-X01", unit="X01", role="participant", name="Xã")
    with pytest.raises(InvalidInput):
        room.write("c-X01", "x" * (MAX_CHAT + 1))
    with pytest.raises(InvalidInput):
        room.write("c-X01", "   ")
    for number in range(5):  # a burst
        room.write("c-X01", f"câu {number}")
    with pytest.raises(RateLimited):
        room.write("c-X01", "một câu nữa")
    clock.now += timedelta(seconds=3)  # then one every 3 s
    room.write("c-X01", "một câu nữa")
    with pytest.raises(RateLimited):
        room.write("c-X01", "và nữa")
    room.write("c-TINH", "the chair has its own allowance")


def test_the_console_lists_hands_in_order_then_connected_lobby_dropped_removed_absent_with_counts() -> None:
    meeting = Meeting()
    meeting.join("TINH", "chair")
    for unit in ("X01", "X02", "X03", "X04", "X05"):
        meeting.join(unit)
    meeting.room.raise_hand("c-X04")
    meeting.room.raise_hand("c-X02")
    meeting.room.leave("c-X03", "dropped")
    meeting.room.kick("c-TINH", "X05")
    console = console_state(meeting.room, meeting.room.members["c-TINH"])
    order = [(e["unit"], e["state"]) for e in console["endpoints"]]
    assert order[:6] == [("X04", "connected"), ("X02", "connected"), ("TINH", "connected"), ("X01", "connected"),
                         ("X03", "dropped"), ("X05", "removed")]  # fmt: skip
    assert {state for _, state in order[6:]} == {"absent"}
    assert [unit for unit, _ in order[6:]] == list(UNITS[5:])  # the invitation's order
    assert console["counts"] == {"invited": len(UNITS), "connected": 3, "lobby": 0, "dropped": 1, "removed": 1,
                                 "absent": len(UNITS) - 5, "hands": 2, "answered": 0}  # fmt: skip


def test_the_chair_closes_a_roll_call_and_pages_stop_asking() -> None:
    meeting = Meeting()
    meeting.join("TINH", "chair")
    x01 = meeting.join("X01")
    meeting.join("X02")
    roll_call = meeting.room.start_roll_call("c-TINH")
    meeting.room.answer_roll_call("c-X01", roll_call)
    assert console_state(meeting.room, meeting.room.members["c-TINH"])["counts"]["answered"] == 1
    meeting.room.end_roll_call("c-TINH")
    tell(meeting.room, meeting.room.members["c-X01"])
    assert x01.last("state")["roll_call"] is None
    assert [e.unit for e in meeting.events if e.type == "roll_call_answered"] == ["X01"]  # the answer is kept


def test_what_the_room_says_names_units_by_their_names() -> None:
    facts = MeetingFacts("m1", "Giao ban", "TINH", UNITS, names={"X07": "Xã Bản Khoang"})
    room = Room(facts, now=Clock(), record=lambda event: None)
    room.join(RecordingPeer(), connection="c-TINH", unit="TINH", role="chair", name="Chủ trì")
    with pytest.raises(NotFound) as refused:
        room.give_floor("c-TINH", "X07")
    assert refused.value.params == {"unit": "Xã Bản Khoang"}
