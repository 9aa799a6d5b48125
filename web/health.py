"""GET /healthz, GET /metrics and GET /api/openapi.json: the service describing itself."""

from __future__ import annotations

from aiohttp import web

from web.endpoints import Endpoint, Reply
from web.keys import BACKGROUND, OPENAPI, STORE
from web.metrics import metrics_handler
from web.responses import json_reply

HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status", "store"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "unavailable"]},
        "store": {
            "type": "object",
            "required": ["state", "embedded"],
            "properties": {"state": {"type": "string", "enum": ["up", "down"]}, "embedded": {"type": "boolean"}},
        },
        "background": {  # every supervised loop (scheduler/background.py): a failing one makes the status degraded
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "state": {"type": "string", "enum": ["running", "restarting", "failing", "stopped"]},
                    "restarts": {"type": "integer"},
                    "problem": {"type": "string"},
                },
            },
        },
    },
}


async def healthz(request: web.Request) -> web.Response:
    store, background = request.app[STORE], request.app[BACKGROUND]
    up = await store.is_up()
    status = "unavailable" if not up else "degraded" if background.failing() else "ok"
    body = {"status": status, "store": {"state": "up" if up else "down", "embedded": store.is_embedded},
            "background": background.report()}  # fmt: skip
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
