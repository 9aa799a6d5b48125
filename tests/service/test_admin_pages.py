"""Administration on the web: accounts (create, role, disable, password) and the directory import with a preview."""

from __future__ import annotations

from aiohttp import ClientSession, CookieJar, FormData

from scheduler.directory.demo import demo_units
from tests.conftest import Client, signed_in
from web.keys import UNITS


async def test_an_admin_manages_accounts_and_a_disabled_account_is_out_at_once(client: Client) -> None:
    csrf = await signed_in(client, "admin")
    page = await client.get("/admin/accounts")
    assert page.status == 200 and 'data-testid="account-admin1"' in await page.text()
    created = await client.post("/admin/accounts", data={"csrf_token": csrf, "username": "thuky.xa",
                                                         "role": "secretary", "password": "mật-khẩu-tạm"},
                                allow_redirects=False)  # fmt: skip
    assert created.status == 303
    refused = await client.post("/admin/accounts", data={"csrf_token": csrf, "username": "X y", "role": "boss",
                                                         "password": "ngắn"})  # fmt: skip
    text = await refused.text()
    assert refused.status == 422 and 'data-testid="admin-error"' in text  # a page that says why, not a 500
    assert "<li>username:" in text and "<li>role:" in text and "<li>password:" in text
    forged = await client.post("/admin/accounts", data={"csrf_token": "forged", "username": "ke.gian",
                                                        "role": "admin", "password": "12345678"})  # fmt: skip
    assert forged.status == 403

    # the new secretary signs in; the admin makes it a host, then disables it: its session ends at once
    other = ClientSession(base_url=str(client.make_url("/")), cookie_jar=CookieJar(unsafe=True))
    try:
        signed = await other.post("/api/session", json={"username": "thuky.xa", "password": "mật-khẩu-tạm"})
        assert signed.status == 200
        assert (await other.get("/api/session")).status == 200
        await client.post("/admin/accounts/thuky.xa", data={"csrf_token": csrf, "action": "role", "role": "host"})
        assert (await other.get("/api/session")).status == 401  # the role changed: sign in again
        again = await other.post("/api/session", json={"username": "thuky.xa", "password": "mật-khẩu-tạm"})
        assert (await again.json())["role"] == "host"
        await client.post("/admin/accounts/thuky.xa", data={"csrf_token": csrf, "action": "disable"})
        assert (await other.get("/api/session")).status == 401
        assert (await other.post("/api/session", json={"username": "thuky.xa",
                                                       "password": "mật-khẩu-tạm"})).status == 401  # fmt: skip
        await client.post("/admin/accounts/thuky.xa", data={"csrf_token": csrf, "action": "enable"})
        await client.post("/admin/accounts/thuky.xa", data={"csrf_token": csrf, "action": "password",
                                                            "password": "mật-khẩu-mới-1"})  # fmt: skip
        assert (await other.post("/api/session", json={"username": "thuky.xa",
                                                       "password": "mật-khẩu-mới-1"})).status == 200  # fmt: skip
    finally:
        await other.close()
    own = await client.post("/admin/accounts/admin1", data={"csrf_token": csrf, "action": "disable"})
    assert own.status == 409 and "chính mình" in await own.text()


async def test_a_directory_file_is_previewed_with_every_bad_row_and_imported_only_when_confirmed(
    client: Client,
) -> None:
    await client.app[UNITS].import_units(demo_units())
    before = await client.app[UNITS].all()
    csrf = await signed_in(client, "admin")

    def upload(text: str) -> FormData:
        form = FormData()
        form.add_field("csrf_token", csrf)
        form.add_field("file", text.encode(), filename="donvi.csv", content_type="text/csv")
        return form

    header = "code,name,kind,parent_code,lat,lon,emails\n"
    bad = header + "bac-ha.moi,Xã Mới,commune,khong-co,22.5,104.3,\nx,,commune,bac-ha,,,\n"
    refused = await client.post("/admin/directory/preview", data=upload(bad))
    text = await refused.text()
    assert refused.status == 422 and "Dòng 3" in text  # every bad row named, before anything changes
    assert await client.app[UNITS].all() == before
    good = header + "bac-ha.xa-moi,Xã Bản Mới,commune,bac-ha,22.5,104.3,\nbac-ha,Huyện Bắc Hà,district,laocai,,,\n"
    preview = await client.post("/admin/directory/preview", data=upload(good))
    text = await preview.text()
    assert preview.status == 200 and 'data-testid="preview-bac-ha.xa-moi"' in text and "Sẽ thêm 1" in text
    assert "bac-ha.xa-moi" not in await client.app[UNITS].all()  # a preview changes nothing
    confirmed = await client.post("/admin/directory/import", data={"csrf_token": csrf, "csv": good},
                                  allow_redirects=False)  # fmt: skip
    assert confirmed.status == 303
    assert (await client.app[UNITS].all())["bac-ha.xa-moi"].name == "Xã Bản Mới"


async def test_only_admins_reach_the_administration(client: Client) -> None:
    await signed_in(client, "host")
    assert (await client.get("/admin/accounts")).status == 403
    assert (await client.get("/admin/directory")).status == 403
