"""How much one signaling connection, one address and one join link may ask of the service. Pure: no sockets.

A browser sends a few messages a minute (a hand, a ping every 20 s, an offer when it reconnects); the chair's
console a few a second at most. A socket that sends thousands a second is broken or hostile, and every message it
gets handled is time the event loop does not give to the other 160 rooms' signaling and media. So each connection
has token buckets for messages and bytes (a burst, then a steady rate); past them it is told once (``error``,
``rate_limited``), its messages are dropped and its reading paused (TCP then holds the sender back, at no cost to
us), and if it goes on it is closed with 1008 (policy violation).

Joins are limited per address and per link: a province's communes can sit behind one NAT and all rejoin after a
blip (the address burst allows a province), but one address cannot run a join storm, nor one link be hammered.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    burst: float  # what may come at once
    per_second: float  # then, steadily


# One connection: a console at work sends a few a second; a reconnecting page an offer of up to 48 KB.
MESSAGES = Rate(burst=40, per_second=20)
BYTES = Rate(burst=256 * 1024, per_second=64 * 1024)
STRIKES_BEFORE_CLOSE = 30  # messages dropped after being told: then the connection is closed (1008)
# Joins: the page rejoins after 1, 2, 4 … 10 s, so a link's honest rate is well under one join per 5 s.
JOINS_PER_LINK = Rate(burst=6, per_second=0.2)
JOINS_PER_ADDRESS = Rate(burst=300, per_second=5)
CONNECTIONS_PER_ADDRESS = 400  # open sockets from one address (a province behind one NAT: ~160 rooms)
REMEMBERED_KEYS = 10_000  # addresses and links whose join buckets are kept; the least recent go first


class TokenBucket:
    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self._tokens = rate.burst
        self._when = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        self._tokens = min(self.rate.burst, self._tokens + (now - self._when) * self.rate.per_second)
        self._when = now
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True

    def wait(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` would be allowed (as of the last ``take``)."""
        return max(0.0, (min(cost, self.rate.burst) - self._tokens) / self.rate.per_second)


class Verdict:
    ALLOWED = "allowed"
    LIMITED = "limited"  # drop it; tell the sender the first time
    CLOSE = "close"  # it went on after being told


class ConnectionLimits:
    """One connection's message and byte buckets, and how often it went over after being told."""

    def __init__(self, now: float, messages: Rate = MESSAGES, data: Rate = BYTES) -> None:
        self._messages = TokenBucket(messages, now)
        self._bytes = TokenBucket(data, now)
        self.told = False
        self.strikes = 0

    def judge(self, now: float, size: int) -> str:
        within_bytes = self._bytes.take(now, size)
        if self._messages.take(now) and within_bytes:
            return Verdict.ALLOWED
        if self.told:
            self.strikes += 1
            if self.strikes > STRIKES_BEFORE_CLOSE:
                return Verdict.CLOSE
        self.told = True
        return Verdict.LIMITED

    def pause(self, size: int) -> float:
        """How long to stop reading, so that the next message would be within the limits."""
        return max(self._messages.wait(), self._bytes.wait(size))


class KeyedBuckets:
    """A token bucket per key (an address, a link), the least recently used forgotten past ``REMEMBERED_KEYS``."""

    def __init__(self, rate: Rate, remembered: int = REMEMBERED_KEYS) -> None:
        self._rate = rate
        self._remembered = remembered
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str, now: float) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self._rate, now)
            while len(self._buckets) > self._remembered:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        return bucket.take(now)


class JoinLimits:
    def __init__(self, per_link: Rate = JOINS_PER_LINK, per_address: Rate = JOINS_PER_ADDRESS) -> None:
        self._links = KeyedBuckets(per_link)
        self._addresses = KeyedBuckets(per_address)

    def allow(self, address: str, token: str, now: float) -> bool:
        # Both are charged: an address cycling links, or a link tried from many addresses, runs dry either way.
        by_address = self._addresses.take(address, now)
        by_link = self._links.take(token, now)
        return by_address and by_link


class OpenConnections:
    """Open signaling sockets per address, at most ``limit`` each."""

    def __init__(self, limit: int = CONNECTIONS_PER_ADDRESS) -> None:
        self._limit = limit
        self._open: dict[str, int] = {}

    def open(self, address: str) -> bool:
        count = self._open.get(address, 0)
        if count >= self._limit:
            return False
        self._open[address] = count + 1
        return True

    def closed(self, address: str) -> None:
        count = self._open.get(address, 0) - 1
        if count > 0:
            self._open[address] = count
        else:
            self._open.pop(address, None)
