"""JSON API endpoints declared once: the same declaration routes the request, checks who may call it, validates
its body and writes its part of the OpenAPI document. The document therefore says what the server does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from aiohttp import web

from scheduler.errors import N_, MalformedInput, Problem
from web.auth import authorise

JsonSchema = dict[str, Any]
DEFAULT_BODY_LIMIT = 64 * 1024  # a meeting with 600 invited units is ~25 KB of JSON
Handler = Callable[[web.Request, Any], Awaitable[web.StreamResponse]]

ERROR_SCHEMA: JsonSchema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "problems": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["where", "message"],
                        "properties": {
                            "where": {"type": ["string", "integer"]},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}
ERROR_DESCRIPTIONS = {
    400: "Malformed request: not JSON, or the wrong shape (see problems)",
    401: "Not signed in, or wrong credentials",
    403: "Signed in, but not allowed; or a missing or wrong CSRF token",
    404: "No such thing",
    409: "Conflicts with the current state",
    413: "Request body too large",
    415: "Wrong Content-Type",
    422: "Well formed, but breaks a rule (see problems)",
    429: "Too many attempts; see Retry-After",
    503: "The store is unreachable; try again",
}


@dataclass(frozen=True)
class Reply:
    description: str
    schema: JsonSchema | None = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    roles: tuple[str, ...] | None  # None: public; (): any signed-in account; else these roles
    replies: Mapping[int, Reply]
    body_schema: JsonSchema | None = None
    body_type: str | None = None  # for bodies that are not JSON, e.g. "text/csv"
    errors: Sequence[int] = ()  # error statuses beyond the ones implied by roles, body and path
    tags: Sequence[str] = field(default_factory=tuple)
    query: Mapping[str, JsonSchema] = field(default_factory=dict)  # optional query parameters; handlers parse
    max_body: int = DEFAULT_BODY_LIMIT  # bytes; more is refused with 413 before it is read

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path)

    @property
    def request_type(self) -> str | None:
        return self.body_type or ("application/json" if self.body_schema is not None else None)

    def error_statuses(self) -> list[int]:
        implied = {503}
        if self.roles is not None:
            implied |= {401, 403}
        if self.request_type:
            implied |= {400, 413, 415}
        if self.path_params:
            implied.add(404)
        if self.query:
            implied.add(400)
        return sorted(implied | set(self.errors))


def add_endpoints(app: web.Application, endpoints: Sequence[Endpoint]) -> None:
    for endpoint in endpoints:
        app.router.add_route(endpoint.method, endpoint.path, _bind(endpoint))


def _bind(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    validator = jsonschema.Draft202012Validator(endpoint.body_schema) if endpoint.body_schema else None

    async def handle(request: web.Request) -> web.StreamResponse:
        await authorise(request, endpoint.roles)
        body: Any = None
        if endpoint.request_type:
            body = await _read_body(request, endpoint.request_type, endpoint.max_body)
            if validator is not None:
                _validate(validator, body)
        return await endpoint.handler(request, body)

    handle.max_body = endpoint.max_body  # type: ignore[attr-defined]  # read by web.hardening.body_limit
    return handle


async def _read_body(request: web.Request, body_type: str, limit: int) -> Any:
    if request.content_type != body_type:
        raise web.HTTPUnsupportedMediaType(text=f"Content-Type must be {body_type}")
    data = await request.read()
    if len(data) > limit:  # sent without a Content-Length: body_limit could not tell before
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(data))
    if body_type != "application/json":
        return data
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise MalformedInput("The request body is not valid JSON") from None


def _validate(validator: jsonschema.Draft202012Validator, body: Any) -> None:
    problems = [
        Problem("/".join(str(p) for p in error.absolute_path) or "body", _schema_message(error))
        for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if problems:
        raise MalformedInput("The request body has the wrong shape", problems=problems)


def _schema_message(error: jsonschema.ValidationError) -> str:
    # Schema messages quote the caller's own values; keep them short and never echo a password.
    if error.validator == "required":
        return N_("A required field is missing")
    if error.validator == "additionalProperties":
        return N_("Unexpected field")
    if error.validator in ("maxLength", "minLength"):
        return N_("Wrong length")
    if error.validator == "type":
        return N_("Wrong type")
    return N_("Not allowed here")


def openapi_document(endpoints: Sequence[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Sign in with POST /api/session; it sets an HttpOnly session cookie and returns csrf_token. "
                "Send that token as the X-CSRF-Token header with every POST, PUT, PATCH or DELETE."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "giaoban_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, reply in endpoint.replies.items():
        responses[str(status)] = {"description": reply.description}
        if reply.schema is not None:
            responses[str(status)]["content"] = {reply.content_type: {"schema": reply.schema}}
    for status in endpoint.error_statuses():
        responses.setdefault(
            str(status),
            {
                "description": ERROR_DESCRIPTIONS[status],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        )
    operation: dict[str, Any] = {
        "operationId": endpoint.handler.__name__,
        "summary": endpoint.summary,
        "responses": responses,
    }
    if endpoint.tags:
        operation["tags"] = list(endpoint.tags)
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                  for name in endpoint.path_params]  # fmt: skip
    parameters += [{"name": name, "in": "query", "required": False, "schema": schema}
                   for name, schema in endpoint.query.items()]  # fmt: skip
    if parameters:
        operation["parameters"] = parameters
    if endpoint.roles is not None:
        roles = ", ".join(endpoint.roles) or "any signed-in account"
        operation["description"] = f"Allowed: {roles}."
        unsafe = endpoint.method not in ("GET", "HEAD")
        operation["security"] = [{"session": [], "csrf": []} if unsafe else {"session": []}]
    if endpoint.request_type:
        schema = endpoint.body_schema or {"type": "string"}
        operation["requestBody"] = {"required": True, "content": {endpoint.request_type: {"schema": schema}}}
    return operation
