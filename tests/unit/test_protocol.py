"""The protocol's one home (signaling/messages.py) and its description (docs/signaling-protocol.md) stay in step."""

from __future__ import annotations

import re
from pathlib import Path

from signaling import messages

DOC = (Path(__file__).parents[2] / "docs" / "signaling-protocol.md").read_text()


def documented(section: str, until: str = "\n## ") -> set[str]:
    part = DOC.split(section, 1)[1].split(until, 1)[0]
    found: set[str] = set()
    for line in part.splitlines():
        if line.startswith("| `"):
            found.update(re.findall(r"`([a-z-]+)`", line.split("|")[1]))
    return found


def test_every_client_message_is_documented_and_nothing_else() -> None:
    assert documented("## Client → server") == set(messages.CLIENT_MESSAGES)


def test_every_server_message_has_a_builder_and_is_documented() -> None:
    assert documented("## Server → client") == set(messages.SERVER_MESSAGES)
    built = {name.replace("_", "-") for name in dir(messages) if callable(getattr(messages, name))}
    assert set(messages.SERVER_MESSAGES) - {"error"} <= built | {"roll-call", "chat-history"}


def test_the_technical_checks_messages_are_documented() -> None:
    assert documented("Client → server:\n\n| type", until="Server → client:") == set(messages.CHECK_MESSAGES)
    assert documented("Server → client:\n\n| type") == set(messages.CHECK_SERVER_MESSAGES)


def test_the_page_is_told_which_closes_are_final_and_the_end_screen_of_each() -> None:
    protocol = messages.client_protocol()
    assert protocol["final_closes"] == {"1000": "left", "4003": "refused", "4004": "removed", "4005": "ended",
                                        "4006": "replaced"}  # fmt: skip
    assert protocol["limits"]["chat"] == messages.MAX_CHAT
    assert not re.search(r"\b400[3-6]\b", (Path(__file__).parents[2] / "web" / "static" /
                                                              "meeting.js").read_text())  # fmt: skip
