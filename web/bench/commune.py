"""A commune's media endpoint for a shaped line: run inside the line's network namespace (see netns.py).

Speaks JSON lines on stdin/stdout: prints ``{"offer": sdp}``, reads ``{"answer": sdp}``, then four times a second
prints what its slots received (frames, media packets, the picture size of the latest key frame) until stdin closes.
Whoever runs it carries the SDP over the real ``/ws``, as a browser's page would. It publishes nothing: on a shared
commune line a unit that does not hold the floor sends nothing but its reports.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from web.bench.endpoint import SyntheticEndpoint

REPORT_SECONDS = 0.25


async def main() -> None:
    endpoint = SyntheticEndpoint("participant", {}, publish=False)
    loop = asyncio.get_running_loop()

    async def answer(sdp: str) -> str:
        print(json.dumps({"offer": sdp}), flush=True)
        line = await loop.run_in_executor(None, sys.stdin.readline)
        return str(json.loads(line)["answer"])

    await endpoint.connect(answer)
    await endpoint.wait_connected(20)
    closed = loop.run_in_executor(None, sys.stdin.readline)
    while not closed.done():
        report = {"at": time.time(), "received": dict(endpoint.received), "whole": dict(endpoint.whole),
                  "packets": endpoint.media_packets(), "voice": dict(endpoint.voice),
                  "sizes": {name: list(size) for name, size in endpoint.sizes.items()}}  # fmt: skip
        print(json.dumps(report), flush=True)
        await asyncio.wait([closed], timeout=REPORT_SECONDS)
    await endpoint.close()


if __name__ == "__main__":
    asyncio.run(main())
