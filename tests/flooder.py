"""A hostile signaling client, run in its own process: join with a link, then send pings as fast as the socket
takes them for up to SECONDS. Prints what it managed as JSON: messages sent, for how long, what it was told.

    python -m tests.flooder ws://127.0.0.1:8080/ws TOKEN SECONDS
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp

PING = '{"type":"ping"}'


async def flood(url: str, token: str, seconds: float) -> dict[str, object]:
    told: list[str] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_json({"type": "join", "token": token, "name": "Máy lạ"})
        while json.loads((await ws.receive()).data)["type"] != "welcome":
            pass

        async def listen() -> None:
            async for frame in ws:
                if frame.type == aiohttp.WSMsgType.TEXT and json.loads(frame.data)["type"] == "error":
                    told.append(json.loads(frame.data)["code"])

        listener = asyncio.create_task(listen())
        sent, started = 0, time.monotonic()
        try:
            while not ws.closed and time.monotonic() - started < seconds:
                for _ in range(100):
                    await ws.send_str(PING)
                sent += 100
        except (ConnectionError, RuntimeError):
            pass  # closed under us
        elapsed = time.monotonic() - started
        await asyncio.wait([listener], timeout=10)
        return {"sent": sent, "seconds": elapsed, "told": told, "close_code": ws.close_code}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(flood(sys.argv[1], sys.argv[2], float(sys.argv[3])))))
