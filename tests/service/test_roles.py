"""Who may call what: every declared API endpoint × anonymous, admin, host, secretary.

Driven by the endpoint table itself, so a new route is in the matrix the day it is added.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import Client, signed_in
from web.app import API_ENDPOINTS
from web.endpoints import Endpoint

ROLES = ("admin", "host", "secretary")


def url_of(endpoint: Endpoint) -> str:
    return re.sub(r"\{[^}]+\}", "no-such-id", endpoint.path)


async def call(client: Client, endpoint: Endpoint, csrf: str | None) -> int:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    if endpoint.request_type:
        headers["Content-Type"] = endpoint.request_type
    response = await client.request(endpoint.method, url_of(endpoint), data=b"{}", headers=headers)
    return response.status


@pytest.mark.parametrize(
    "endpoint", [e for e in API_ENDPOINTS if e.roles is not None], ids=lambda e: f"{e.method} {e.path}"
)
async def test_anonymous_callers_are_asked_to_sign_in(client: Client, endpoint: Endpoint) -> None:
    assert await call(client, endpoint, csrf=None) == 401


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "endpoint", [e for e in API_ENDPOINTS if e.roles is not None], ids=lambda e: f"{e.method} {e.path}"
)
async def test_each_role_gets_exactly_what_the_endpoint_allows(client: Client, endpoint: Endpoint, role: str) -> None:
    csrf = await signed_in(client, role)
    status = await call(client, endpoint, csrf)
    allowed = not endpoint.roles or role in endpoint.roles
    if allowed:
        assert status not in (401, 403), f"{role} should pass the door of {endpoint.method} {endpoint.path}"
    else:
        assert status == 403


@pytest.mark.parametrize(
    "endpoint", [e for e in API_ENDPOINTS if e.roles is None], ids=lambda e: f"{e.method} {e.path}"
)
async def test_public_endpoints_answer_anonymous_callers(client: Client, endpoint: Endpoint) -> None:
    assert await call(client, endpoint, csrf=None) not in (403, 500)


@pytest.mark.parametrize("endpoint", [e for e in API_ENDPOINTS if e.roles is not None and e.method != "GET"],
                         ids=lambda e: f"{e.method} {e.path}")  # fmt: skip
async def test_state_changes_without_the_csrf_token_are_refused(client: Client, endpoint: Endpoint) -> None:
    await signed_in(client, "admin")
    assert await call(client, endpoint, csrf=None) == 403
