"""Who may open which page: anonymous, admin, host and secretary against every HTML route."""

from __future__ import annotations

import pytest

from tests.conftest import Client, signed_in

READERS, PLANNERS = {"admin", "host", "secretary"}, {"admin", "host"}
PAGES = [  # method, path, who may
    ("GET", "/dashboard", READERS),
    ("GET", "/meetings", READERS),
    ("GET", "/meetings/new", PLANNERS),
    ("GET", "/meetings/{id}", READERS),
    ("GET", "/meetings/{id}/edit", PLANNERS),
    ("GET", "/meetings/{id}/attendance", READERS),
    ("GET", "/units", READERS),
    ("POST", "/meetings/new", PLANNERS),
    ("POST", "/meetings/{id}/edit", PLANNERS),
    ("POST", "/meetings/{id}/cancel", PLANNERS),
    ("POST", "/meetings/{id}/invitations/send", PLANNERS),
    ("POST", "/meetings/{id}/invitations/bac-ha/resend", PLANNERS),
    ("POST", "/meetings/{id}/invitations/bac-ha/regenerate", PLANNERS),
    ("GET", "/admin/accounts", {"admin"}),
    ("GET", "/admin/directory", {"admin"}),
    ("POST", "/admin/accounts", {"admin"}),
    ("POST", "/admin/accounts/host1", {"admin"}),
    ("POST", "/admin/directory/import", {"admin"}),
]


async def status_of(client: Client, method: str, path: str, csrf: str = "") -> int:
    data = {"csrf_token": csrf} if method == "POST" else None
    response = await client.request(method, path, data=data, allow_redirects=False)
    return response.status


@pytest.mark.parametrize(("method", "path", "allowed"), PAGES, ids=[f"{m} {p}" for m, p, _ in PAGES])
async def test_anonymous_visitors_are_sent_to_sign_in(client: Client, held_meeting: dict, method: str, path: str,
                                                      allowed: set[str]) -> None:  # fmt: skip
    client.session.cookie_jar.clear()
    status = await status_of(client, method, path.format(id=held_meeting["id"]))
    assert status == (302 if method == "GET" else 401)


@pytest.mark.parametrize("role", sorted(READERS))
@pytest.mark.parametrize(("method", "path", "allowed"), PAGES, ids=[f"{m} {p}" for m, p, _ in PAGES])
async def test_each_role_opens_exactly_its_pages(client: Client, held_meeting: dict, method: str, path: str,
                                                 allowed: set[str], role: str) -> None:  # fmt: skip
    csrf = await signed_in(client, role)
    status = await status_of(client, method, path.format(id=held_meeting["id"]), csrf)
    if role in allowed:
        assert status not in (401, 403, 500), status
    else:
        assert status == 403
