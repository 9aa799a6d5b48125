"""A service's ``/metrics`` as the benchmarks and the tests read them: each giaoban figure by its name, labels
included (``giaoban_node_rooms{as="origin"}``)."""

from __future__ import annotations

from aiohttp import ClientSession


async def service_metrics(base: str) -> dict[str, float]:
    async with ClientSession() as http, http.get(f"{base}/metrics") as response:
        text = await response.text()
    found = {}
    for line in text.splitlines():
        if line.startswith("giaoban_") and " " in line:
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found
