"""Prometheus metrics, in a registry owned by the application (no process-wide globals)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from scheduler.background import Background
from web.keys import HTTP_METRICS, METRICS_REGISTRY, STORE

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "giaoban_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "giaoban_http_request_seconds", "Time to answer an HTTP request", ["route"], registry=registry
        )
        self.store_up = Gauge("giaoban_store_up", "1 when the data store answers a ping", registry=registry)


def route_label(request: web.Request) -> str:
    """The route's pattern, not the raw path: raw paths would make one time series per unit code or token."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics = request.app[HTTP_METRICS]
        route = route_label(request)
        metrics.requests.labels(request.method, route, str(status)).inc()
        metrics.latency.labels(route).observe(time.perf_counter() - started)


async def metrics_handler(request: web.Request) -> web.Response:
    request.app[HTTP_METRICS].store_up.set(1 if await request.app[STORE].is_up() else 0)
    return web.Response(
        body=generate_latest(request.app[METRICS_REGISTRY]), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


class BackgroundCollector(Collector):
    """Read at scrape time from the supervisor, which knows nothing of Prometheus."""

    def __init__(self, background: Background) -> None:
        self._background = background

    def collect(self) -> Iterator[CounterMetricFamily]:
        restarts = CounterMetricFamily("giaoban_background_restarts", "Times a background loop failed and was run "
                                       "again (see the log for why)", labels=["task"])  # fmt: skip
        for name, task in sorted(self._background.tasks.items()):
            restarts.add_metric([name], task.restarts)
        yield restarts
