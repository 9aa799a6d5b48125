"""A district server's link to its province's cluster: one WebSocket, kept open, to any of the province's nodes.

A district server (``GIAOBAN_UPSTREAM_URL``) has its own store; its communes' invitation links are the province's.
A commune that joins here is admitted by the province (``admit``: the node at the other end checks the link and
places the room), and from then on this server is its edge, exactly as a worker on the province's machine would be:
the same envelopes (``live/cluster.py``), the same node links for media (``live/links.py``: DTLS/SRTP between the
machines, negotiated over these envelopes), so the province's uplink carries each publication once per district
server, however many communes here receive it. The node at the other end (``live/downlinks.py``) publishes what
we send into the province's store, and passes us what its nodes publish for us.

On the wire, JSON, by ``t``: up, ``to`` (an envelope for one of the province's nodes), ``load`` (this server's facts
and load, every heartbeat), and questions with a query id ``q``: ``admit`` (a join link), ``check`` (a link brought
to a technical check here), ``readiness`` (that check's verdict, for the host's table), ``code`` (a short code typed
here, wrong ones counted here); down, ``in`` (a batch of
envelopes for us), ``nodes`` (the province's node ids, every heartbeat), ``answer`` / ``refused`` (to a question).
The technical check itself runs here: it tests the commune's line to this server, the one its media will use.

The link says who we are with a node token signed with the cluster secret (``live/node_tokens.py``). While it is
down, what we would send is lost (as on a node bus whose store is down) and joins are told to come back; the
browsers of the province's meetings here are sent back to reconnect once the province's nodes go quiet.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from live.bus import Envelope
from live.node_tokens import sign
from live.nodes import HEARTBEAT_SECONDS, NODE_TTL_SECONDS, NodeLoad
from live.outbox import Outbox
from scheduler.errors import N_, StoreUnavailable, error_of

log = logging.getLogger(__name__)

PATH = "/cluster/node"
ADMIT_SECONDS = 10.0
RECONNECT_MIN, RECONNECT_MAX = 0.5, 10.0  # seconds between attempts, doubling
UNREACHABLE = N_("The province's server cannot be reached from this server; please try again in a moment")


class UpstreamUnavailable(StoreUnavailable):
    """The uplink is down: a join through this server cannot be admitted now (the page tries again)."""


@dataclass(frozen=True)
class Admission:
    """What the province said of a join link: the meeting, as what, and the node that holds its room."""

    origin: str
    meeting_id: str
    role: str


class Uplink:
    def __init__(self, upstream_url: str, secret: str, node_id: str, facts: dict[str, Any],
                 load: Callable[[], NodeLoad], deliver: Callable[[Envelope], None]) -> None:  # fmt: skip
        self.url = upstream_url.rstrip("/") + PATH
        self._secret = secret
        self._node_id = node_id
        self._facts = facts  # url, started: what the province lists for us
        self._load = load
        self._deliver = deliver
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._outbox = Outbox()
        self._nodes: frozenset[str] = frozenset()
        self._heard = 0.0  # monotonic time of the latest word from upstream
        self._queries = itertools.count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._stop = asyncio.Event()
        self.connected = asyncio.Event()
        self.sent = self.received = self.lost = 0

    # --- what the cluster asks -----------------------------------------------------------------------------------

    def reaches(self, node_id: str) -> bool:
        return node_id in self._nodes

    def alive(self, node_id: str) -> bool:
        """Whether one of the province's nodes is there, as far as we can tell: the link is up and lists it."""
        return (self._socket is not None and node_id in self._nodes
                and time.monotonic() - self._heard < NODE_TTL_SECONDS)  # fmt: skip

    def send(self, node_id: str, envelope: Envelope) -> None:
        if not self._put({"t": "to", "to": node_id, "e": envelope}):
            self.lost += 1
        else:
            self.sent += 1

    async def admit(self, token: str) -> Admission:
        """The province's word on a join link: where its room is; its refusal is raised as the error it names."""
        said = await self._ask({"t": "admit", "token": token})
        return Admission(said["origin"], said["meeting"], said["role"])

    async def admit_check(self, token: str) -> tuple[str, str]:
        """The province's word on a link brought to a technical check here: its unit and meeting."""
        said = await self._ask({"t": "check", "token": token})
        return said["unit"], said["meeting"]

    async def save_check(self, token: str, check: dict[str, Any]) -> None:
        """A technical check's verdict, for the province's readiness table."""
        await self._ask({"t": "readiness", "token": token, "check": check})

    async def token_of_code(self, code: str) -> str | None:
        """The province's link for a short code a commune typed here (None: no meeting has it)."""
        said = await self._ask({"t": "code", "code": code})
        token = said.get("token")
        return token if isinstance(token, str) else None

    async def _ask(self, question: dict[str, Any]) -> dict[str, Any]:
        query = next(self._queries)
        answer = self._answers[query] = asyncio.get_running_loop().create_future()
        try:
            if not self._put({**question, "q": query}):
                raise UpstreamUnavailable(UNREACHABLE)
            try:
                said: dict[str, Any] = await asyncio.wait_for(answer, ADMIT_SECONDS)
            except TimeoutError:
                raise UpstreamUnavailable(UNREACHABLE) from None
        finally:
            self._answers.pop(query, None)
        if said["t"] == "refused":
            raise error_of(said["code"], said["message"], said.get("params") or {})
        return said

    # --- the connection ------------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Keep the link up until stopped: connect, serve, and after a failure try again, waiting longer each time."""
        wait = RECONNECT_MIN
        async with aiohttp.ClientSession() as http:
            while not self._stop.is_set():
                try:
                    await self._connected(http)
                    wait = RECONNECT_MIN
                except (aiohttp.ClientError, OSError, TimeoutError) as error:
                    log.warning("uplink to %s: %s; trying again in %.0f s", self.url, _said(error), wait)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), wait)
                wait = min(RECONNECT_MAX, wait * 2)

    async def _connected(self, http: aiohttp.ClientSession) -> None:
        headers = {"Authorization": f"Bearer {sign(self._secret, self._node_id, time.time())}"}
        async with http.ws_connect(self.url, headers=headers, heartbeat=HEARTBEAT_SECONDS * 2,
                                   timeout=aiohttp.ClientWSTimeout(ws_close=5)) as socket:  # fmt: skip
            log.info("uplink to %s: linked", self.url)
            self._socket, self._heard = socket, time.monotonic()
            self._outbox = Outbox()  # nothing from before: it was about another connection
            self.connected.set()
            helpers = [asyncio.create_task(self._outbox.write(socket.send_str)), asyncio.create_task(self._beats())]
            try:
                self._tell_load()
                await self._read(socket)
            finally:
                for helper in helpers:
                    helper.cancel()
                self._socket = None
                self.connected.clear()
                for answer in self._answers.values():
                    if not answer.done():
                        answer.set_exception(UpstreamUnavailable(UNREACHABLE))
            if not self._stop.is_set():
                log.warning("uplink to %s: closed by the other end (%s)", self.url, socket.close_code)

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for frame in socket:
            if frame.type != aiohttp.WSMsgType.TEXT or self._stop.is_set():
                break
            self._heard = time.monotonic()
            message = json.loads(frame.data)
            kind = message.get("t")
            if kind == "in":
                for envelope in message["e"]:
                    self.received += 1
                    self._deliver(envelope)
            elif kind == "nodes":
                self._nodes = frozenset(message["ids"])
            elif kind in ("answer", "refused"):
                answer = self._answers.get(message.get("q", 0))
                if answer is not None and not answer.done():
                    answer.set_result(message)

    async def _beats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            self._tell_load()

    def _tell_load(self) -> None:
        self._put({"t": "load", "facts": self._facts, "load": asdict(self._load())})

    def _put(self, message: dict[str, Any]) -> bool:
        """Queue a message for the socket; False while the link is down (or stuck)."""
        return self._socket is not None and not self._socket.closed and self._outbox.put(message)


def _said(error: BaseException) -> str:
    if isinstance(error, aiohttp.WSServerHandshakeError):
        return f"refused ({error.status}): is GIAOBAN_CLUSTER_SECRET the same on both servers?"
    return str(error) or type(error).__name__
