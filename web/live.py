"""The live meeting's edge: ``/ws`` for signaling, the hub's lifecycle, the relay's counters in ``/metrics``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from scheduler.errors import GiaobanError
from signaling import session
from signaling.hub import LiveMeetings
from signaling.ice import IceSettings
from signaling.recordings import RecordingSettings
from web import keys
from web.keys import ATTENDANCE, CLOCK, CONFIG, I18N, INVITATIONS, LIVE, MEETINGS, METRICS_REGISTRY


async def live_lifecycle(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    hub = LiveMeetings(links=app[INVITATIONS].links, meetings=app[MEETINGS], attendance=app[ATTENDANCE],
                       clock=app[CLOCK], ice=IceSettings(config.ice_urls, config.turn_username, config.turn_password,
                                       config.turn_secret),
                       recording=RecordingSettings(config.recordings_path, config.recording_min_free_mb),
                       catalogue=app[keys.RECORDINGS], jobs=app[keys.PROGRAM_JOBS],
                       background=app[keys.BACKGROUND])  # fmt: skip
    app[LIVE] = hub
    app[METRICS_REGISTRY].register(RelayCollector(hub))
    try:
        yield
    finally:
        await hub.close()


async def websocket(request: web.Request) -> web.StreamResponse:
    i18n = request.app[I18N]
    language = i18n.language_of(request)

    def translate(error: GiaobanError) -> str:
        return i18n.format(language, error.message, error.params)

    return await session.serve(request, request.app[LIVE], translate)


class RelayCollector(Collector):
    """Read at scrape time: the relay keeps plain counters and knows nothing of Prometheus."""

    def __init__(self, hub: LiveMeetings) -> None:
        self._hub = hub

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        stats = self._hub.relay.stats
        yield CounterMetricFamily("giaoban_relay_packets_received", "RTP packets received from publishers",
                                  value=stats.packets_received)  # fmt: skip
        yield CounterMetricFamily("giaoban_relay_frames_received", "Encoded frames reassembled from publishers",
                                  value=stats.frames_received)  # fmt: skip
        yield CounterMetricFamily("giaoban_relay_packets_forwarded", "RTP packets sent to subscribers",
                                  value=stats.packets_forwarded)  # fmt: skip
        yield CounterMetricFamily("giaoban_relay_packets_late", "Publisher packets skipped: the relay got to them "
                                  "too late (a backlog); forwarding them would show the past and keep it behind",
                                  value=stats.packets_late)  # fmt: skip
        yield GaugeMetricFamily("giaoban_relay_behind_seconds", "How much later than its quickest the relay is "
                                "handling the most delayed publisher's packets: near 0 when it keeps up",
                                value=self._hub.relay.behind())  # fmt: skip
        yield CounterMetricFamily("giaoban_relay_packets_dropped", "Packets not sent: a subscriber socket was full",
                                  value=stats.packets_dropped)  # fmt: skip
        yield CounterMetricFamily("giaoban_relay_keyframe_requests", "Keyframe requests sent to publishers",
                                  value=stats.keyframe_requests)  # fmt: skip
        yield CounterMetricFamily("giaoban_signaling_messages_dropped", "Outbound signaling messages dropped, "
                                  "oldest first: a browser too slow to read them",
                                  value=self._hub.messages_dropped)  # fmt: skip
        yield GaugeMetricFamily("giaoban_live_connections", "Open signaling connections",
                                value=len(self._hub.connections))  # fmt: skip
        yield GaugeMetricFamily("giaoban_live_members", "Members of the rooms that are open",
                                value=sum(len(room.members) for room in self._hub.rooms.values()))  # fmt: skip
        objects = GaugeMetricFamily("giaoban_relay_objects", "Objects the relay holds, by kind (flat in a steady "
                                    "meeting; growing as people come and go would be a leak)",
                                    labels=["kind"])  # fmt: skip
        for kind, count in self._hub.relay.counts().items():
            objects.add_metric([kind], count)
        yield objects
        yield GaugeMetricFamily("giaoban_asyncio_tasks", "Tasks of the service's event loop",
                                value=len(asyncio.all_tasks()))  # fmt: skip


def add_live_routes(app: web.Application) -> None:
    app.router.add_get("/ws", websocket)
