"""GET /healthz, GET /metrics and GET /api/openapi.json: the service describing itself."""

from __future__ import annotations

from aiohttp import web

from web.endpoints import Endpoint, Reply
from web.keys import OPENAPI, STORE
from web.metrics import metrics_handler
from web.responses import json_reply

HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status", "store"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "store": {
            "type": "object",
            "required": ["state", "embedded"],
            "properties": {"state": {"type": "string", "enum": ["up", "down"]}, "embedded": {"type": "boolean"}},
        },
    },
}


async def healthz(request: web.Request) -> web.Response:
    store = request.app[STORE]
    up = await store.is_up()
    body = {"status": "ok" if up else "unavailable",
            "store": {"state": "up" if up else "down", "embedded": store.embedded is not None}}  # fmt: skip
    return json_reply(body, status=200 if up else 503)


async def openapi_json(request: web.Request, _: None) -> web.StreamResponse:
    return json_reply(request.app[OPENAPI])


ENDPOINTS = (
    Endpoint("GET", "/api/openapi.json", openapi_json, "This document", roles=None,
             replies={200: Reply("OpenAPI 3.1", {"type": "object"})}, tags=("meta",)),
)  # fmt: skip


def add_health_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_handler)
