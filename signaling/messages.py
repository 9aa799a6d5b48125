"""The signaling wire format: JSON objects with a ``type``. Pure: decode, validate, encode; no sockets here.

``docs/signaling-protocol.md`` describes every message; ``CLIENT_MESSAGES`` is the same list as data, and decoding
checks each message against it, so a field the handlers rely on is always there with the right type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from scheduler.errors import GiaobanError, MalformedInput, ProtocolError

MAX_MESSAGE_BYTES = 64 * 1024
MAX_TEXT = 200  # names, positions, unit codes, ids
MAX_SDP = 48_000
MAX_SMALL_MESSAGE = 4096  # bytes: every message but an offer is a few fields of short text

# type → {field: (python type, required)}
CLIENT_MESSAGES: dict[str, dict[str, tuple[type, bool]]] = {
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
    "end": {},
}


def decode(text: str | bytes) -> dict[str, Any]:
    """One client message, checked against ``CLIENT_MESSAGES``; raises MalformedInput or ProtocolError."""
    if isinstance(text, bytes):
        raise ProtocolError("Messages must be JSON text, not binary")
    try:
        message = json.loads(text)
    except ValueError as error:
        raise MalformedInput("The message is not valid JSON") from error
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise MalformedInput("A message must be a JSON object with a type")
    fields = CLIENT_MESSAGES.get(message["type"])
    if fields is None:
        raise ProtocolError("Unknown message type {type}", type=message["type"][:MAX_TEXT])
    if message["type"] != "offer" and len(text) > MAX_SMALL_MESSAGE:
        raise MalformedInput("The message is too long")
    for name, (kind, required) in fields.items():
        value = message.get(name)
        if value is None:
            if required:
                raise MalformedInput("The message {type} needs the field {field}", type=message["type"], field=name)
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise MalformedInput("The field {field} has the wrong type", field=name)
        limit = MAX_SDP if name == "sdp" else 2048 if name == "token" else MAX_TEXT
        if isinstance(value, str) and len(value) > limit:
            raise MalformedInput("The field {field} is too long", field=name)
    return message


def encode(message: Mapping[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def error_message(error: GiaobanError, text: str, *, request_type: str | None = None) -> dict[str, Any]:
    """The one mapping from our error vocabulary to the wire: a stable code and a message for people."""
    message: dict[str, Any] = {"type": "error", "code": error.code, "message": text}
    if request_type:
        message["request"] = request_type
    return message
