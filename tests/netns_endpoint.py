"""A participant's media endpoint for tests that shape its line: run inside a network namespace.

Speaks JSON lines on stdin/stdout: prints ``{"offer": sdp}``, reads ``{"answer": sdp}``, then prints the frames
received per slot twice a second until stdin closes. The test carries the SDP over the real ``/ws``.
"""

from __future__ import annotations

import asyncio
import json
import sys

from web.bench.clips import audio_clip, video_clip
from web.bench.endpoint import SyntheticEndpoint


async def main() -> None:
    clips = {"audio": audio_clip(), "video": video_clip(seconds=2, keyframe_every=60)}
    endpoint = SyntheticEndpoint("participant", clips)
    loop = asyncio.get_running_loop()

    async def answer(sdp: str) -> str:
        print(json.dumps({"offer": sdp}), flush=True)
        line = await loop.run_in_executor(None, sys.stdin.readline)
        return str(json.loads(line)["answer"])

    await endpoint.connect(answer)
    await endpoint.wait_connected(20)
    closed = loop.run_in_executor(None, sys.stdin.readline)
    while not closed.done():
        print(json.dumps({"received": dict(endpoint.received)}), flush=True)
        await asyncio.wait([closed], timeout=0.5)
    await endpoint.close()


if __name__ == "__main__":
    asyncio.run(main())
