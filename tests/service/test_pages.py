"""The HTML side: sign-in form, directory page, sign-out; plain forms, as an old browser would post them."""

from __future__ import annotations

import re

from scheduler.directory.demo import demo_units
from tests.conftest import Client
from web.accounts import AccountStore
from web.keys import STORE, UNITS


async def sign_in_with_form(client: Client, username: str, password: str, next_path: str = "/units"):  # type: ignore[no-untyped-def]
    return await client.post(
        "/login", data={"username": username, "password": password, "next": next_path}, allow_redirects=False
    )


async def test_directory_page_needs_sign_in_and_then_shows_the_province_tree(client: Client) -> None:
    await client.app[UNITS].import_units(demo_units())
    await AccountStore(client.app[STORE].redis).add("chutri", "host", "mật-khẩu-chủ-trì")
    redirect = await client.get("/units", allow_redirects=False)
    assert redirect.status == 302 and redirect.headers["Location"] == "/login?next=/units"

    signed = await sign_in_with_form(client, "chutri", "mật-khẩu-chủ-trì")
    assert signed.status == 303 and signed.headers["Location"] == "/units"
    page = await (await client.get("/units")).text()
    assert "170 điểm cầu" in page
    assert "Huyện Bắc Hà" in page and "Cụm xã Nậm Chày" in page and "Xã Nậm Xây" in page
    # The search works without tone marks: every unit carries its folded name.
    assert 'data-search="xa nam xay van-ban.nam-xay"' in page
    # Nesting: Nậm Xây sits inside the Nậm Chày cluster's list.
    cluster = page.index('data-code="van-ban.cum-nam-chay"')
    assert cluster < page.index('data-code="van-ban.nam-xay"') < page.index('data-code="van-ban.cum-nam-tha"')


async def test_wrong_password_on_the_form_shows_the_message_in_vietnamese(client: Client) -> None:
    response = await sign_in_with_form(client, "ai-do", "sai-mat-khau")
    assert response.status == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in await response.text()


async def test_sign_in_never_redirects_off_site(client: Client) -> None:
    await AccountStore(client.app[STORE].redis).add("chutri", "host", "mật-khẩu-chủ-trì")
    response = await sign_in_with_form(client, "chutri", "mật-khẩu-chủ-trì", next_path="//evil.example/x")
    assert response.headers["Location"] == "/dashboard"  # the default landing page, not the other site


async def test_sign_out_form_carries_the_csrf_token(client: Client) -> None:
    await AccountStore(client.app[STORE].redis).add("chutri", "host", "mật-khẩu-chủ-trì")
    await sign_in_with_form(client, "chutri", "mật-khẩu-chủ-trì")
    page = await (await client.get("/units")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    forged = await client.post("/logout", data={"csrf_token": "forged"}, allow_redirects=False)
    assert forged.status == 403
    response = await client.post("/logout", data={"csrf_token": token.group(1)}, allow_redirects=False)
    assert response.status == 303
    assert (await client.get("/units", allow_redirects=False)).status == 302


async def test_an_export_link_opened_after_the_session_expired_leads_to_sign_in_and_back(client: Client) -> None:
    await AccountStore(client.app[STORE].redis).add("thuky", "secretary", "mật-khẩu-thư-ký")
    export = "/api/meetings/abc/attendance.csv"
    opened = await client.get(export, headers={"Sec-Fetch-Mode": "navigate"}, allow_redirects=False)
    assert opened.status == 303 and opened.headers["Location"] == "/login?next=/api/meetings/abc/attendance.csv"
    by_address_bar = await client.get(export, headers={"Accept": "text/html,*/*"}, allow_redirects=False)
    assert by_address_bar.status == 303  # an old browser without Fetch Metadata
    script = await client.get(export, headers={"Accept": "application/json"}, allow_redirects=False)
    assert script.status == 401 and (await script.json())["error"]["code"] == "not_authenticated"
    signed = await sign_in_with_form(client, "thuky", "mật-khẩu-thư-ký", next_path=export)
    assert signed.status == 303 and signed.headers["Location"] == export  # and back to the file
