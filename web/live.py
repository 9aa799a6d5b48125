"""The live meeting's edge: ``/ws`` for signaling, the hub's lifecycle, the relay's counters in ``/metrics``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from conference.relay.ports import use_media_ports
from live import node_tokens
from live.checks import Checks
from live.cluster import Cluster, Frames, RemoteConnection
from live.meetings import LiveMeetings
from live.nodes import new_node_id
from live.recordings import RecordingSettings
from live.uplink import PATH as NODE_LINK_PATH
from scheduler.errors import GiaobanError, NotAuthorised
from signaling import session
from signaling.ice import IceSettings
from web import keys
from web.i18n import I18n
from web.keys import ATTENDANCE, CLOCK, CONFIG, I18N, INVITATIONS, LIVE, MEETINGS, METRICS_REGISTRY, STORE

log = logging.getLogger(__name__)

NODE_LINK_HEARTBEAT = 8.0  # seconds: aiohttp pings a district server's link; a dead one is closed within ~12 s
NODE_LINK_MAX_MESSAGE = 4 * 1024 * 1024  # a batch of envelopes, SDP among them


async def live_lifecycle(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    hub = LiveMeetings(links=app[INVITATIONS].links, meetings=app[MEETINGS], attendance=app[ATTENDANCE],
                       clock=app[CLOCK], ice=IceSettings(config.ice_urls, config.turn_username, config.turn_password,
                                       config.turn_secret),
                       recording=RecordingSettings(config.recordings_path, config.recording_min_free_mb),
                       catalogue=app[keys.RECORDINGS], jobs=app[keys.PROGRAM_JOBS],
                       background=app[keys.BACKGROUND], units=app[keys.UNITS],
                       link_start_kbps=config.link_start_kbps)  # fmt: skip
    i18n = app[I18N]

    async def serve_relayed(connection: RemoteConnection, address: str, language: str, frames: Frames) -> None:
        await session.serve_relayed(hub, connection, address, translator(i18n, language), frames)

    if config.media_ports is not None:
        use_media_ports(asyncio.get_running_loop(), config.media_ports)
    cluster = hub.cluster = Cluster(app[STORE].redis, config.node_id or new_node_id(), config.base_url, hub,
                                    app[keys.BACKGROUND], serve_relayed)  # fmt: skip
    if config.upstream_url:
        cluster.link_upstream(config.upstream_url, config.cluster_secret)
    app[keys.CHECKS] = cluster.downlinks.checks = Checks(hub, app[keys.READINESS])
    await cluster.start()
    app[LIVE] = hub
    app[METRICS_REGISTRY].register(RelayCollector(hub))
    try:
        yield
    finally:
        await hub.close()
        await cluster.close()


def translator(i18n: I18n, language: str) -> session.Translate:
    def translate(error: GiaobanError) -> str:
        return i18n.format(language, error.message, error.params)

    return translate


async def node_link(request: web.Request) -> web.StreamResponse:
    """A district server's uplink (live/uplink.py), once its node token holds; a wrong one is refused and logged."""
    header = request.headers.get("Authorization", "")
    try:
        district = node_tokens.verify(request.app[CONFIG].cluster_secret, header.removeprefix("Bearer "), time.time())
    except node_tokens.BadNodeToken as refused:
        log.warning("node link from %s refused: %s", request.remote, refused)
        raise NotAuthorised("This server does not accept this link from another server") from None
    cluster = request.app[LIVE].cluster
    assert cluster is not None  # made at start-up
    socket = web.WebSocketResponse(heartbeat=NODE_LINK_HEARTBEAT, max_msg_size=NODE_LINK_MAX_MESSAGE)
    await socket.prepare(request)
    await cluster.downlinks.serve(district, socket)
    return socket


async def websocket(request: web.Request) -> web.StreamResponse:
    i18n = request.app[I18N]
    language = i18n.language_of(request)
    return await session.serve(request, request.app[LIVE], translator(i18n, language), language)


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
        cluster = self._hub.cluster
        if cluster is not None:
            yield from cluster_metrics(cluster)


def cluster_metrics(cluster: Cluster) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
    load = cluster.load(update=False)
    node = GaugeMetricFamily("giaoban_node", "This process as a node of the cluster (its id in the label)",
                             labels=["node"])  # fmt: skip
    node.add_metric([cluster.node_id], 1)
    yield node
    rooms = GaugeMetricFamily("giaoban_node_rooms", "Meetings this node holds (origin) or carries connections of "
                              "for another node (edge)", labels=["as"])  # fmt: skip
    rooms.add_metric(["origin"], load.origin_rooms)
    rooms.add_metric(["edge"], load.edge_rooms)
    yield rooms
    bus = CounterMetricFamily("giaoban_node_bus_messages", "Signaling messages between this node and the others",
                              labels=["direction"])  # fmt: skip
    bus.add_metric(["sent"], cluster.bus.sent)
    bus.add_metric(["received"], cluster.bus.received)
    bus.add_metric(["lost"], cluster.bus.lost)
    yield bus
    crossing = GaugeMetricFamily(
        "giaoban_node_link_publications",
        "Publications crossing node links now, into this node and out of it (each once, however many receive it)",
        labels=["direction"],
    )
    for direction, count in cluster.links.publications().items():
        crossing.add_metric([direction], count)
    yield crossing
    packets = CounterMetricFamily("giaoban_node_link_packets", "RTP packets over node links", labels=["direction"])
    for direction, count in cluster.links.packets().items():
        packets.add_metric([direction], count)
    yield packets
    sent = CounterMetricFamily("giaoban_node_link_bytes", "RTP bytes over node links", labels=["direction"])
    for direction, count in cluster.links.bytes().items():
        sent.add_metric([direction], count)
    yield sent
    rtt = GaugeMetricFamily("giaoban_node_link_rtt_seconds", "Round trip of each node link, from the other node's "
                            "receiver reports", labels=["node"])  # fmt: skip
    for peer, milliseconds in cluster.links.round_trips_ms().items():
        rtt.add_metric([peer], milliseconds / 1000)
    yield rtt


async def close_node_links(app: web.Application) -> None:
    """At shutdown, before aiohttp waits for open handlers: district servers link in again elsewhere, or here once
    this server is back (a link's handler would otherwise hold the stop until its socket times out)."""
    if LIVE in app and (cluster := app[LIVE].cluster) is not None:
        await cluster.downlinks.close()


def add_live_routes(app: web.Application) -> None:
    app.router.add_get("/ws", websocket)
    app.router.add_get(NODE_LINK_PATH, node_link)
    app.on_shutdown.append(close_node_links)
