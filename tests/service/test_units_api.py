"""The directory API: listing, all-or-nothing import, roles."""

from __future__ import annotations

from scheduler.directory.demo import demo_units_csv
from tests.conftest import Client, signed_in

CSV = "text/csv; charset=utf-8"
HEADER = "code,name,kind,parent_code,lat,lon,emails\n"


async def import_csv(client: Client, token: str, data: bytes) -> tuple[int, dict]:
    response = await client.post("/api/units/import", data=data, headers={"Content-Type": CSV, "X-CSRF-Token": token})
    return response.status, await response.json()


async def test_admin_imports_the_province_and_everyone_signed_in_lists_it(client: Client) -> None:
    token = await signed_in(client, "admin")
    status, body = await import_csv(client, token, demo_units_csv())
    assert status == 200 and body["created"] == 170 and body["updated"] == 0
    await signed_in(client, "secretary")
    units = (await (await client.get("/api/units")).json())["units"]
    by_code = {u["code"]: u for u in units}
    assert by_code["bac-ha.na-hoi"]["name"] == "Xã Na Hối"
    assert by_code["bac-ha.na-hoi"]["parent_code"] == "bac-ha"
    assert by_code["laocai"]["emails"] == ["ubnd@laocai.example"]


async def test_one_bad_row_among_good_ones_is_named_and_nothing_changes(client: Client) -> None:
    token = await signed_in(client, "admin")
    await import_csv(client, token, (HEADER + "lc,Tỉnh Lào Cai,province,,22.4,104.0,\n").encode())
    before = await (await client.get("/api/units")).json()
    data = (
        HEADER
        + "bh,Huyện Bắc Hà,district,lc,22.5,104.3,\n"
        + "bh.a,Xã Bản Liền,commune,bh,22.6,104.3,\n"
        + "bh.b,Xã Nậm Đét,commune,bh-typo,22.6,104.3,\n"
        + "bh.c,Xã Cốc Ly,commune,bh,22.6,104.3,\n"
    )
    status, body = await import_csv(client, token, data.encode())
    assert status == 422
    assert body["error"]["code"] == "invalid_input"
    assert body["error"]["problems"] == [{"where": 4, "message": "Không có đơn vị cấp trên bh-typo"}]
    assert await (await client.get("/api/units")).json() == before


async def test_reimport_updates_in_place(client: Client) -> None:
    token = await signed_in(client, "admin")
    await import_csv(client, token, (HEADER + "lc,Tỉnh Lào Cai,province,,22.4,104.0,\n").encode())
    status, body = await import_csv(client, token, (HEADER + "lc,UBND tỉnh Lào Cai,province,,22.4,104.0,\n").encode())
    assert (status, body) == (200, {"created": 0, "updated": 1})
    units = (await (await client.get("/api/units")).json())["units"]
    assert [u["name"] for u in units] == ["UBND tỉnh Lào Cai"]


async def test_only_admins_import_and_only_signed_in_accounts_list(client: Client) -> None:
    anonymous = await client.get("/api/units")
    assert anonymous.status == 401
    token = await signed_in(client, "host")
    status, body = await import_csv(client, token, demo_units_csv())
    assert status == 403 and body["error"]["code"] == "not_authorised"


async def test_import_needs_text_csv(client: Client) -> None:
    token = await signed_in(client, "admin")
    response = await client.post("/api/units/import", json={"units": []}, headers={"X-CSRF-Token": token})
    assert response.status == 415


async def test_errors_speak_english_when_asked(client: Client) -> None:
    token = await signed_in(client, "admin")
    response = await client.post(
        "/api/units/import?lang=en",
        data=(HEADER + "x,Xã X,village,,,,\n").encode(),
        headers={"Content-Type": CSV, "X-CSRF-Token": token},
    )
    problems = (await response.json())["error"]["problems"]
    assert problems[0]["message"].startswith("Unknown kind village")
