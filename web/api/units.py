"""GET /api/units and POST /api/units/import: the organisation directory."""

from __future__ import annotations

from aiohttp import web

from scheduler.directory.units import CSV_COLUMNS, KINDS, parse_units_csv
from web.endpoints import Endpoint, Reply
from web.keys import UNITS
from web.responses import json_reply

UNIT_SCHEMA = {
    "type": "object",
    "required": ["code", "name", "kind", "parent_code", "lat", "lon", "emails", "server_url"],
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "parent_code": {"type": ["string", "null"]},
        "lat": {"type": ["number", "null"]},
        "lon": {"type": ["number", "null"]},
        "emails": {"type": "array", "items": {"type": "string"}},
        "server_url": {"type": "string", "description": "the district server its staff join through; empty: this"},
    },
}
UNITS_SCHEMA = {
    "type": "object",
    "required": ["units"],
    "properties": {"units": {"type": "array", "items": UNIT_SCHEMA}},
}
IMPORT_RESULT_SCHEMA = {
    "type": "object",
    "required": ["created", "updated"],
    "properties": {"created": {"type": "integer"}, "updated": {"type": "integer"}},
}


async def list_units(request: web.Request, _: None) -> web.StreamResponse:
    units = await request.app[UNITS].all()
    return json_reply({"units": [units[code].to_json() for code in sorted(units)]})


async def import_units(request: web.Request, body: bytes) -> web.StreamResponse:
    result = await request.app[UNITS].import_units(parse_units_csv(body))
    return json_reply({"created": result.created, "updated": result.updated})


ENDPOINTS = (
    Endpoint("GET", "/api/units", list_units, "All organisation units", roles=(),
             replies={200: Reply("The directory", UNITS_SCHEMA)}, tags=("directory",)),
    Endpoint("POST", "/api/units/import", import_units, "Add or update units from a CSV file (all or nothing)",
             roles=("admin",), body_type="text/csv", max_body=2 * 1024 * 1024,
             replies={200: Reply(f"Imported. Columns: {','.join(CSV_COLUMNS)}, and optionally server_url",
                                 IMPORT_RESULT_SCHEMA)},
             errors=(422,), tags=("directory",)),
)  # fmt: skip
