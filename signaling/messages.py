"""The signaling wire format, both directions: JSON objects with a ``type``. Pure: no sockets here.

Client to server: ``CLIENT_MESSAGES`` lists every message as data, and ``decode`` checks each one against it, so a
field the handlers rely on is always there with the right type. Server to client: one typed builder per message
(below), so the room, the relay and the session say what happened and never write JSON themselves.
``docs/signaling-protocol.md`` describes both; ``client_protocol`` is what the page takes from here instead of
keeping copies of close codes, slot names and limits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from scheduler.errors import GiaobanError, MalformedInput, ProtocolError
from scheduler.meetings.model import VIETNAM

MAX_MESSAGE_BYTES = 64 * 1024
MAX_TEXT = 200  # names, positions, unit codes, ids
MAX_SDP = 48_000
MAX_SMALL_MESSAGE = 4096  # bytes: every message but an offer is a few fields of short text
MAX_NAME = 80  # a person's name as typed on the join page
MAX_POSITION = 120
MAX_CHAT = 500  # characters of one chat message: a question, not a report

# How a socket closes, by the reason of its ``bye``. The page comes back by itself after any close but the final ones.
CLOSE_LEFT = 1000
CLOSE_PROTOCOL = 1002
CLOSE_REFUSED = 4003  # the link does not open this meeting now (reason in the error message before it)
CLOSE_KICKED = 4004  # the chair removed the unit: it stays out unless the chair lets it back
CLOSE_ENDED = 4005
CLOSE_RESTARTING = 1012  # RFC 6455 "service restart": the client comes back
CLOSE_POLICY = 1008  # RFC 6455 "policy violation": it went on sending past its limits (signaling/limits.py)
CLOSE_REPLACED = 4006  # the same link was opened elsewhere (another tab, another PC): that one has the meeting now
CLOSE_CODES = {"kicked": CLOSE_KICKED, "ended": CLOSE_ENDED, "left": CLOSE_LEFT, "refused": CLOSE_REFUSED,
               "restarting": CLOSE_RESTARTING, "media_lost": CLOSE_RESTARTING, "rate_limited": CLOSE_POLICY,
               "replaced": CLOSE_REPLACED}  # fmt: skip
FINAL_CLOSES = {CLOSE_LEFT: "left", CLOSE_REFUSED: "refused", CLOSE_KICKED: "removed", CLOSE_ENDED: "ended",
                CLOSE_REPLACED: "replaced"}  # fmt: skip  # close code → the end screen the page shows

Schema = dict[str, dict[str, tuple[type | tuple[type, ...], bool]]]  # type → {field: (python type, required)}
NUMBER = (int, float)
CLIENT_MESSAGES: Schema = {
    "join": {"token": (str, True), "name": (str, True), "position": (str, False), "rejoin": (bool, False)},
    "offer": {"sdp": (str, True)},
    "ping": {},
    "leave": {},
    "raise-hand": {},
    "lower-hand": {},
    "audio-only": {"on": (bool, True)},
    "roll-call-answer": {"id": (str, True)},
    "give-floor": {"unit": (str, True)},
    "take-floor": {"unit": (str, False)},
    "mute": {"unit": (str, True), "muted": (bool, False)},
    "kick": {"unit": (str, True)},
    "lock": {"locked": (bool, True)},
    "discussion": {"open": (bool, True)},
    "roll-call": {},
    "grid-page": {"page": (int, True)},
    "record": {"on": (bool, True)},
    "share": {"on": (bool, True)},
    "stop-presentation": {},
    "chat": {"text": (str, True), "to": (str, False)},
    "let-back": {"unit": (str, True)},
    "end-roll-call": {},
    "end": {},
}
# The technical check's own socket (/check/ws): its offer with the link's token, then what the browser measured.
CHECK_MESSAGES: Schema = {
    "check": {"token": (str, True), "sdp": (str, True)},
    "devices": {"camera_fps": (NUMBER, True), "mic_level": (NUMBER, True), "sound_heard": (bool, True)},
}


def decode(text: str | bytes, schema: Schema = CLIENT_MESSAGES) -> dict[str, Any]:
    """One client message, checked against ``schema``; raises MalformedInput or ProtocolError."""
    if isinstance(text, bytes):
        raise ProtocolError("Messages must be JSON text, not binary")
    try:
        message = json.loads(text)
    except ValueError as error:
        raise MalformedInput("The message is not valid JSON") from error
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise MalformedInput("A message must be a JSON object with a type")
    fields = schema.get(message["type"])
    if fields is None:
        raise ProtocolError("Unknown message type {type}", type=message["type"][:MAX_TEXT])
    if "sdp" not in fields and len(text) > MAX_SMALL_MESSAGE:
        raise MalformedInput("The message is too long")
    for name, (kind, required) in fields.items():
        value = message.get(name)
        if value is None:
            if required:
                raise MalformedInput("The message {type} needs the field {field}", type=message["type"], field=name)
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise MalformedInput("The field {field} has the wrong type", field=name)
        limit = MAX_SDP if name == "sdp" else 2048 if name == "token" else MAX_CHAT if name == "text" else MAX_TEXT
        if isinstance(value, str) and len(value) > limit:
            raise MalformedInput("The field {field} is too long", field=name)
    return message


def client_protocol() -> dict[str, Any]:
    """What the page takes from the server instead of keeping copies: which closes are final (and the end screen
    each shows), the limits of what a person types, the chat's recipients."""
    return {"final_closes": {str(code): screen for code, screen in FINAL_CLOSES.items()},
            "limits": {"name": MAX_NAME, "position": MAX_POSITION, "chat": MAX_CHAT},
            "chat_to": {"chair": TO_CHAIR, "everyone": TO_EVERYONE}}  # fmt: skip


def encode(message: Mapping[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def error_message(error: GiaobanError, text: str, *, request_type: str | None = None) -> dict[str, Any]:
    """The one mapping from our error vocabulary to the wire: a stable code and a message for people."""
    message: dict[str, Any] = {"type": "error", "code": error.code, "message": text}
    if request_type:
        message["request"] = request_type
    return message


# --- server to client: one builder per message ---------------------------------------------------------------------

ServerMessage = dict[str, Any]
LinkLevel = Literal["good", "weak", "poor"]
# media_lost: the relay lost the page's media connection while its socket stayed; like restarting, the page comes back
ByeReason = Literal["kicked", "ended", "left", "refused", "restarting", "media_lost", "replaced", "rate_limited",
                    "stopped"]  # fmt: skip
ChatRecipient = str  # "chair", "everyone", or a unit's code (the chair answering one unit)
TO_CHAIR, TO_EVERYONE = "chair", "everyone"


@dataclass(frozen=True)
class ChatMessage:
    """One message of the meeting's chat, as the room keeps it and the page shows it."""

    id: int
    at: datetime
    sender: str  # the unit's code
    name: str  # the person, as typed on the join page
    to: ChatRecipient
    text: str

    def wire(self) -> dict[str, Any]:
        # Vietnam time: the page shows the time as it stands
        return {"id": self.id, "at": self.at.astimezone(VIETNAM).isoformat(), "from": self.sender, "name": self.name,
                "to": self.to, "text": self.text}  # fmt: skip


def welcome(*, connection: str, unit: str, role: str, meeting_id: str, title: str, publishes: Sequence[str],
            slots: Sequence[str], max_kbps: Mapping[str, int], sizes: Mapping[str, list[int]],
            ice_servers: Sequence[Mapping[str, Any]]) -> ServerMessage:  # fmt: skip
    return {"type": "welcome", "connection": connection, "unit": unit, "role": role,
            "meeting": {"id": meeting_id, "title": title}, "publishes": list(publishes), "slots": list(slots),
            "max_kbps": dict(max_kbps), "sizes": dict(sizes), "ice_servers": list(ice_servers)}  # fmt: skip


def answer(sdp: str) -> ServerMessage:
    return {"type": "answer", "sdp": sdp}


def pong() -> ServerMessage:
    return {"type": "pong"}


def link(quality: LinkLevel | str) -> ServerMessage:
    """The line's level as the relay judges it: the page says why its picture is smaller, or gone."""
    return {"type": "link", "quality": quality}


def muted(on: bool) -> ServerMessage:
    return {"type": "muted", "muted": on}


def roll_call(roll_call_id: str) -> ServerMessage:
    return {"type": "roll-call", "id": roll_call_id}


def publish(track: str, on: bool) -> ServerMessage:
    """Someone receives this track again (or nobody does any more): the page starts (or stops) sending it."""
    return {"type": "publish", "track": track, "on": on}


def bye(reason: ByeReason | str) -> ServerMessage:
    return {"type": "bye", "reason": reason}


def chat(message: ChatMessage) -> ServerMessage:
    return {"type": "chat", **message.wire()}


def chat_history(messages: Sequence[ChatMessage]) -> ServerMessage:
    """What a page that (re)joins may see of the chat so far: the chair all of it, a unit its own and the chair's."""
    return {"type": "chat-history", "messages": [m.wire() for m in messages]}


def quality(units: Mapping[str, Mapping[str, Any]]) -> ServerMessage:
    return {"type": "quality", "units": {unit: dict(figures) for unit, figures in units.items()}}


def state(*, admitted: bool, chair_present: bool, floor: Sequence[str], presenter: str | None,
          hands: Sequence[str], muted_units: Sequence[str], locked: bool, discussion: bool, recording: bool,
          recording_problem: str, roll_call_id: str | None, names: Mapping[str, str]) -> ServerMessage:  # fmt: skip
    return {"type": "state", "admitted": admitted, "chair_present": chair_present, "floor": list(floor),
            "presenter": presenter, "hands": list(hands), "muted": list(muted_units), "locked": locked,
            "discussion": discussion, "recording": recording, "recording_problem": recording_problem,
            "roll_call": roll_call_id, "names": dict(names)}  # fmt: skip


def console(*, endpoints: Sequence[Mapping[str, Any]], counts: Mapping[str, int],
            roll_call_answers: Mapping[str, str], grid: Sequence[str], grid_page: int,
            grid_pages: int) -> ServerMessage:  # fmt: skip
    return {"type": "console", "endpoints": [dict(e) for e in endpoints], "counts": dict(counts),
            "roll_call_answers": dict(roll_call_answers), "grid": list(grid), "grid_page": grid_page,
            "grid_pages": grid_pages}  # fmt: skip


def line_progress(progress: float) -> ServerMessage:
    """How far the check's line test is, from 0 to 1."""
    return {"type": "line-progress", "progress": round(progress, 2)}


def line_result(figures: Mapping[str, Any]) -> ServerMessage:
    """What the line carried (conference/line_test.py: LineResult.to_json)."""
    return {"type": "line-result", **figures}


def check_verdict(*, verdict: str, summary: str, fixes: Sequence[str], fix_keys: Sequence[str],
                  at: datetime) -> ServerMessage:  # fmt: skip
    """The check's one verdict (ready, audio-only, problem), what to fix in the person's language, and when."""
    return {"type": "check-verdict", "verdict": verdict, "summary": summary, "fixes": list(fixes),
            "fix_keys": list(fix_keys), "at": at.astimezone(VIETNAM).isoformat()}  # fmt: skip


CHECK_SERVER_MESSAGES = ("answer", "line-progress", "line-result", "check-verdict", "error")
SERVER_MESSAGES = ("welcome", "answer", "pong", "link", "muted", "roll-call", "publish", "bye", "chat",
                   "chat-history", "quality", "state", "console", "error")  # fmt: skip
