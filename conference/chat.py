"""The meeting's chat: questions and notes to the chair, the chair's answers to one unit or to everyone.

Pure rules, no sockets: who may write to whom, who sees what, how much and how fast. The room delivers and records;
this decides. A commune sees the chair's messages to everyone, its own, and the chair's answers to it; the chair
sees everything.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from scheduler.errors import InvalidInput, NotAuthorised, RateLimited
from signaling.messages import MAX_CHAT, TO_CHAIR, TO_EVERYONE, ChatMessage

KEPT = 2000  # messages held in the room for pages that (re)join; all of them are in the record
BURST = 5  # messages a unit may send at once, then one every RATE_SECONDS
RATE_SECONDS = 3.0


class Chat:
    def __init__(self, chair_unit: str, invited: Collection[str], now: Callable[[], datetime]) -> None:
        self._chair_unit = chair_unit
        self._invited = set(invited)
        self._now = now
        self.messages: deque[ChatMessage] = deque(maxlen=KEPT)
        self._allowance: dict[str, tuple[float, datetime]] = {}  # unit → (messages it may send, as of when)
        self._next_id = 1

    def write(self, *, sender: str, name: str, is_chair: bool, text: str, to: str | None) -> ChatMessage:
        """A new message, checked: its text, its recipient (a unit writes to the chair only), the sender's pace."""
        text = text.strip()
        if not text:
            raise InvalidInput("Type a message first")
        if len(text) > MAX_CHAT:
            raise InvalidInput("A message can have at most {count} characters", count=MAX_CHAT)
        recipient = to or (TO_EVERYONE if is_chair else TO_CHAIR)
        if not is_chair and recipient != TO_CHAIR:
            raise NotAuthorised("Messages from a unit go to the chair")
        if is_chair and recipient not in (TO_EVERYONE, TO_CHAIR) and recipient not in self._invited:
            raise InvalidInput("That unit is not invited to this meeting")
        self._spend(sender)
        message = ChatMessage(self._next_id, self._now(), sender, name, recipient, text)
        self._next_id += 1
        self.messages.append(message)
        return message

    def sees(self, unit: str, message: ChatMessage) -> bool:
        if unit == self._chair_unit:
            return True
        return message.sender == unit or message.to in (TO_EVERYONE, unit)

    def seen_by(self, unit: str) -> list[ChatMessage]:
        return [m for m in self.messages if self.sees(unit, m)]

    def _spend(self, unit: str) -> None:
        """A token bucket per unit: a burst of BURST, then one every RATE_SECONDS."""
        now = self._now()
        tokens, since = self._allowance.get(unit, (float(BURST), now))
        tokens = min(float(BURST), tokens + (now - since) / timedelta(seconds=RATE_SECONDS))
        if tokens < 1:
            raise RateLimited("You are sending messages too fast; please wait a moment")
        self._allowance[unit] = (tokens - 1, now)
