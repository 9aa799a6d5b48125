"""Shared fixtures: one real embedded Valkey for the session (flushed before each test), the app on it."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from scheduler.store import EmbeddedValkey, Store
from web.accounts import AccountStore
from web.app import create_app
from web.config import Config
from web.keys import STORE

Client = TestClient[web.Request, web.Application]


@dataclasses.dataclass(frozen=True)
class ExternalRedis:
    """A server the test run was pointed at: ``GIAOBAN_TEST_REDIS_URL`` (CI runs the store tests on Redis 7)."""

    url: str


@pytest_asyncio.fixture(scope="session")
async def valkey(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedValkey | ExternalRedis]:
    if os.environ.get("GIAOBAN_TEST_REDIS_URL"):
        yield ExternalRedis(os.environ["GIAOBAN_TEST_REDIS_URL"])
        return
    server = EmbeddedValkey(tmp_path_factory.mktemp("valkey"))
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def store(valkey: EmbeddedValkey, tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(redis_url=valkey.url, data_dir=tmp_path)
    await store.redis.flushall()
    yield store
    await store.redis.aclose()


@pytest.fixture
def config(valkey: EmbeddedValkey, tmp_path: Path) -> Config:
    return Config(redis_url=valkey.url, data_dir=tmp_path)


@pytest_asyncio.fixture
async def client(store: Store, config: Config) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(config))) as test_client:
        yield test_client


@pytest_asyncio.fixture
async def client_with(store: Store, config: Config) -> AsyncIterator[Any]:
    """``await client_with(setting=value)``: a client for an app built with other settings."""
    clients: list[Client] = []

    async def build(**changes: Any) -> Client:
        test_client = TestClient(TestServer(create_app(dataclasses.replace(config, **changes))))
        await test_client.start_server()
        clients.append(test_client)
        return test_client

    yield build
    for test_client in clients:
        await test_client.close()


async def signed_in(client: Client, role: str) -> str:
    """Create an account of ``role`` and sign the client in; return the session's CSRF token."""
    await AccountStore(client.app[STORE].redis).add(f"{role}1", role, f"{role}-password", replace=True)
    response = await client.post("/api/session", json={"username": f"{role}1", "password": f"{role}-password"})
    assert response.status == 200, await response.text()
    token: str = (await response.json())["csrf_token"]
    return token
