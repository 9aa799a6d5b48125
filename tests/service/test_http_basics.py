"""Health, metrics, the OpenAPI document, friendly errors, and the interface language."""

from __future__ import annotations

from pathlib import Path

from openapi_spec_validator import validate

from tests.conftest import Client, signed_in
from web.app import API_ENDPOINTS


async def test_healthz_reports_the_store(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok" and body["store"] == {"state": "up", "embedded": False}
    loops = {"reminders", "program-worker", "recording-retention", "attendance-writer", "link-sampler",
             "recording-disk-watch", "node-heartbeat", "node-bus-reader",
             "node-bus-writer"}  # mail-sender too, when SMTP is set  # fmt: skip
    assert set(body["background"]) == loops
    assert all(task == {"state": "running", "restarts": 0, "problem": ""} for task in body["background"].values())


async def test_healthz_is_503_when_the_store_is_unreachable(client_with, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = await client_with(redis_url=f"unix://{tmp_path}/nobody-listens.sock")
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["store"]["state"] == "down"
    # And an API call that needs the store says so in the vocabulary, not with a traceback.
    api = await client.post("/api/session", json={"username": "a", "password": "b"})
    assert api.status == 503
    assert (await api.json())["error"]["code"] == "store_unavailable"


async def test_metrics_are_prometheus_text_with_route_labels(client: Client) -> None:
    await client.get("/healthz")
    await client.get("/api/units")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    assert 'giaoban_http_requests_total{method="GET",route="/api/units",status="401"} 1.0' in text
    assert "giaoban_store_up 1.0" in text


async def test_openapi_document_is_valid_and_covers_every_api_route(client: Client) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    routed = {
        (route.method, route.resource.canonical)
        for route in client.app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api/") and route.method != "HEAD"
    }
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert routed == documented
    assert len(documented) == len(API_ENDPOINTS)


async def test_unknown_api_address_is_json_404_and_unknown_page_is_a_friendly_page(client: Client) -> None:
    api = await client.get("/api/nothing-here")
    assert api.status == 404 and (await api.json())["error"]["code"] == "not_found"
    page = await client.get("/nothing-here")
    assert page.status == 404 and page.content_type == "text/html"
    html = await page.text()
    assert "Không có trang nào ở địa chỉ này" in html and "Traceback" not in html


async def test_wrong_method_is_405_json_with_allow(client: Client) -> None:
    response = await client.put("/api/units")
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
    assert (await response.json())["error"]["code"] == "method_not_allowed"


async def test_vietnamese_by_default_english_on_request_and_the_choice_persists(client: Client) -> None:
    vietnamese = await (await client.get("/login")).text()
    assert '<html lang="vi">' in vietnamese and "Đăng nhập" in vietnamese
    switched = await client.get("/login?lang=en")
    assert "Sign in" in await switched.text()
    assert switched.cookies["giaoban_lang"].value == "en"
    later = await (await client.get("/login")).text()
    assert '<html lang="en">' in later and "Đăng nhập" not in later


async def test_a_body_over_the_limit_is_413_json(client: Client) -> None:
    token = await signed_in(client, "admin")
    response = await client.post(
        "/api/units/import",
        data=b"x" * (3 * 1024 * 1024),
        headers={"Content-Type": "text/csv", "X-CSRF-Token": token},
    )
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "too_large"
