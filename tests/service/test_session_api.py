"""Signing in and out through the API, on the real store."""

from __future__ import annotations

import ipaddress

import pytest

from tests.conftest import Client, signed_in
from web.accounts import AccountStore
from web.keys import STORE


async def add_account(client: Client, username: str = "thuky", role: str = "secretary") -> None:
    await AccountStore(client.app[STORE].redis).add(username, role, "mật-khẩu-dài")


async def test_sign_in_sets_an_httponly_samesite_cookie_and_returns_the_csrf_token(client: Client) -> None:
    await add_account(client)
    response = await client.post("/api/session", json={"username": "ThuKy", "password": "mật-khẩu-dài"})
    assert response.status == 200
    body = await response.json()
    assert body["username"] == "thuky" and body["role"] == "secretary" and len(body["csrf_token"]) >= 32
    cookie = response.cookies["giaoban_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    who = await client.get("/api/session")
    assert (await who.json())["username"] == "thuky"


async def test_wrong_password_and_unknown_user_get_the_same_401(client: Client) -> None:
    await add_account(client)
    wrong = await client.post("/api/session", json={"username": "thuky", "password": "sai-mật-khẩu"})
    unknown = await client.post("/api/session", json={"username": "ai-đó", "password": "sai-mật-khẩu"})
    assert wrong.status == unknown.status == 401
    assert (await wrong.json()) == (await unknown.json())
    assert "giaoban_session" not in wrong.cookies


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
        (b'{"username": "a"}', "application/json"),
        (b'{"username": 1, "password": 2}', "application/json"),
        (b'{"username": "a", "password": "b", "extra": 1}', "application/json"),
        (b"\xff\xfe", "application/json"),
    ],
)
async def test_missing_or_malformed_bodies_get_400_json(client: Client, body: bytes, content_type: str) -> None:
    response = await client.post("/api/session", data=body, headers={"Content-Type": content_type})
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "malformed_input" and error["message"]


async def test_a_form_post_to_the_json_api_is_refused_with_415(client: Client) -> None:
    response = await client.post("/api/session", data={"username": "a", "password": "b"})
    assert response.status == 415
    assert (await response.json())["error"]["code"] == "unsupported_media_type"


async def test_repeated_failures_are_throttled_with_retry_after(client_with) -> None:  # type: ignore[no-untyped-def]
    client = await client_with(login_failures_allowed=3)
    await add_account(client)
    for _ in range(3):
        response = await client.post("/api/session", json={"username": "thuky", "password": "wrong-wrong"})
        assert response.status == 401
    # Now even the right password is refused until the window passes: the attacker learns nothing.
    response = await client.post("/api/session", json={"username": "thuky", "password": "mật-khẩu-dài"})
    assert response.status == 429
    assert 0 < int(response.headers["Retry-After"]) <= 900
    assert (await response.json())["error"]["code"] == "too_many_attempts"


async def test_sign_out_needs_the_csrf_token_and_ends_the_session(client: Client) -> None:
    token = await signed_in(client, "host")
    refused = await client.delete("/api/session")
    assert refused.status == 403
    assert (await client.get("/api/session")).status == 200  # still signed in
    response = await client.delete("/api/session", headers={"X-CSRF-Token": token})
    assert response.status == 204
    assert (await client.get("/api/session")).status == 401


async def test_a_wrong_csrf_token_is_refused(client: Client) -> None:
    await signed_in(client, "admin")
    response = await client.delete("/api/session", headers={"X-CSRF-Token": "forged"})
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "not_authorised"


async def test_sign_in_from_another_sites_page_is_refused(client: Client) -> None:
    await add_account(client)
    response = await client.post(
        "/api/session",
        json={"username": "thuky", "password": "mật-khẩu-dài"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status == 403
    assert "giaoban_session" not in response.cookies


async def test_secure_cookie_behind_https_public_url(client_with) -> None:  # type: ignore[no-untyped-def]
    client = await client_with(public_url="https://giaoban.laocai.example")
    await add_account(client)
    response = await client.post("/api/session", json={"username": "thuky", "password": "mật-khẩu-dài"})
    assert response.cookies["giaoban_session"]["secure"]


async def test_forwarded_addresses_count_only_from_trusted_proxies(client_with) -> None:  # type: ignore[no-untyped-def]
    # The test client connects from 127.0.0.1: trust it as the proxy, so each forwarded client has its own bucket.
    client = await client_with(login_failures_allowed=1, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    await add_account(client, "a1")
    await add_account(client, "a2")

    async def fail(username: str, forwarded_for: str) -> int:
        response = await client.post("/api/session", json={"username": username, "password": "wrong-wrong"},
                                     headers={"X-Forwarded-For": forwarded_for})  # fmt: skip
        return response.status

    # Per-address limit is 4 × 1: four failures from one commune office pause that office...
    assert [await fail(f"u{i}", "203.0.113.7") for i in range(4)] == [401] * 4
    assert await fail("u9", "203.0.113.7") == 429
    # ...but not another office behind the same proxy, nor one that only claims a different address leftwards.
    assert await fail("u10", "198.51.100.9") == 401
    assert await fail("u11", "198.51.100.9, 203.0.113.7") == 429
