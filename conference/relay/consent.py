"""ICE consent freshness (RFC 7675) as a slow line needs it: an answer that comes late still counts.

Every few seconds each end of a media connection asks the other, over the media path, whether it still wants the
media; after 30 s without an answer, it stops sending. aioice asks every ~5 s and gives each question one send and
0.5 s for its answer: after six in a row unanswered the connection is closed. On a commune's line whose queue holds
packets for half a second (a shared line at its limit), or when this relay works off a burst, every answer comes a
little too late, and the relay closed media that was flowing. Chromium keeps a connection while answers keep
coming within 30 s, however late each one is. So does this: each question is sent again after 0.5, 1 and 2 s and
waits ~7.5 s in all for its answer, and the connection closes once 30 s have passed since the last answer.
"""

from __future__ import annotations

import asyncio
import random
import time
import types
from typing import Any

from aioice import Connection, stun

CONSENT_INTERVAL = 5.0  # seconds between questions (each varied by ±20 %, as RFC 7675 asks)
CONSENT_EXPIRES = 30.0  # seconds after the last answer: consent is gone (RFC 7675 section 5.1)
CONSENT_RETRANSMISSIONS = 3  # a question is sent again after 0.5, 1 and 2 s, and answered until 7.5 s


def keep_consent_patiently(connection: Connection) -> None:
    """Replace ``connection``'s consent checks (before it connects: ``connect`` starts them) with this module's."""
    private: Any = connection
    private.query_consent = types.MethodType(_query_consent, connection)


async def _query_consent(connection: Any) -> None:
    answered = time.monotonic()
    while True:
        await asyncio.sleep(CONSENT_INTERVAL * random.uniform(0.8, 1.2))
        for pair in list(connection._nominated.values()):
            request = connection.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(request, pair.remote_addr,
                                            integrity_key=connection.remote_password.encode("utf8"),
                                            retransmissions=CONSENT_RETRANSMISSIONS)  # fmt: skip
                answered = time.monotonic()
            except stun.TransactionError:
                pass
        if time.monotonic() - answered > CONSENT_EXPIRES:
            connection._query_consent_task = None  # its close() would otherwise cancel the task that runs it
            await connection.close()
            return
