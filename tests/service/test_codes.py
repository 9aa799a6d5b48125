"""Short codes: every invited unit has one, it opens that unit's join page, and guessing is throttled per address."""

from __future__ import annotations

import re

from tests.conftest import Client, signed_in
from tests.service.conftest import LiveMeeting

CODE = re.compile(r"^\d{3}-\d{3}-\d{3}$")


async def codes_of(client: Client, meeting_id: str) -> dict[str, dict[str, str]]:
    await signed_in(client, "host")
    response = await client.get(f"/api/meetings/{meeting_id}/invitations")
    assert response.status == 200
    return {row["unit"]: row for row in (await response.json())["invitations"]}


async def test_each_unit_has_its_own_code_that_opens_its_join_page(client: Client, live: LiveMeeting) -> None:
    rows = await codes_of(client, live.id)
    codes = {unit: row["code"] for unit, row in rows.items()}
    assert all(CODE.match(code) for code in codes.values()), codes
    assert len(set(codes.values())) == len(codes)
    assert {unit: row["code"] for unit, row in (await codes_of(client, live.id)).items()} == codes  # stable
    client.session.cookie_jar.clear()  # a meeting point has no account
    for unit, code in codes.items():
        typed = code.replace("-", " ")  # as read out over the phone
        response = await client.get("/code", params={"c": typed}, allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == "/j/" + rows[unit]["join_url"].rsplit("/", 1)[1]
    page = await client.get("/code", params={"c": codes["sa-pa"]})
    assert page.status == 200 and "Thị xã Sa Pa" in await page.text()


async def test_twenty_wrong_codes_from_one_address_are_throttled(client: Client, live: LiveMeeting) -> None:
    right = (await codes_of(client, live.id))["sa-pa"]["code"]
    client.session.cookie_jar.clear()
    statuses = []
    for guess in range(20):
        response = await client.get("/code", params={"c": f"{guess:09d}"}, allow_redirects=False)
        statuses.append(response.status)
        text = await response.text()
    assert statuses == [404] * 10 + [429] * 10
    assert "thử lại sau 10 phút" in text and response.headers["Retry-After"]
    refused = await client.get("/code", params={"c": right}, allow_redirects=False)
    assert refused.status == 429  # once throttled, even the right code waits: guessing gains nothing


async def test_the_home_page_asks_a_meeting_point_for_its_code(client: Client) -> None:
    page = await client.get("/")
    assert page.status == 200
    assert 'data-testid="code-input"' in await page.text()
    await signed_in(client, "host")
    assert (await client.get("/", allow_redirects=False)).headers["Location"] == "/dashboard"
