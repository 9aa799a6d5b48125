"""The web page that checks a signed export: valid as exported, "changed" after one byte, a clear ask without a .sig."""

from __future__ import annotations

import pytest
from aiohttp import FormData

from tests.conftest import Client, signed_in


def upload(data: bytes, signature: bytes | None, name: str) -> FormData:
    form = FormData()
    form.add_field("file", data, filename=name)
    if signature is not None:
        form.add_field("signature", signature, filename=f"{name}.sig")
    return form


@pytest.mark.parametrize("extension", ["csv", "xlsx", "pdf"])
async def test_anyone_checks_an_export_and_its_signature_on_the_web(client: Client, held_meeting: dict,
                                                                    extension: str) -> None:  # fmt: skip
    await signed_in(client, "secretary")
    url = f"/api/meetings/{held_meeting['id']}/attendance.{extension}"
    data = await (await client.get(url)).read()
    signature = await (await client.get(f"{url}.sig")).read()
    client.session.cookie_jar.clear()  # an inspector with no account
    assert (await client.get("/verify")).status == 200
    page = await (await client.post("/verify", data=upload(data, signature, f"diem-danh.{extension}"))).text()
    assert 'data-valid="1"' in page and "Hợp lệ: máy chủ này đã ký tệp này và tệp chưa bị sửa" in page
    if extension == "pdf":
        assert "Xuất lúc 10:00 30/11/2026" in page  # as of the meeting's end, in Vietnam time
    changed = bytearray(data)
    changed[len(changed) // 2] ^= 0x01
    page = await (await client.post("/verify", data=upload(bytes(changed), signature, f"x.{extension}"))).text()
    assert 'data-valid="0"' in page and "Đã bị thay đổi" in page


async def test_a_file_without_its_signature_is_asked_for_plainly(client: Client) -> None:
    response = await client.post("/verify", data=upload(b"STT,Don vi\r\n", None, "diem-danh.csv"))
    assert response.status == 422
    assert "Tệp này không mang chữ ký bên trong: hãy chọn cả tệp chữ ký (.sig)" in await response.text()


@pytest.mark.parametrize("path", ["attendance.pdf", "attendance.xlsx", "minutes.pdf", "minutes.docx"])
async def test_a_pdf_xlsx_or_docx_checks_itself_without_its_sig(client: Client, held_meeting: dict,
                                                                 path: str) -> None:  # fmt: skip
    """The file carries its signature inside (after a PDF's end, as a ZIP's comment): the file alone is enough."""
    await signed_in(client, "secretary")
    data = await (await client.get(f"/api/meetings/{held_meeting['id']}/{path}")).read()
    client.session.cookie_jar.clear()
    page = await (await client.post("/verify", data=upload(data, None, path))).text()
    assert 'data-valid="1"' in page, path
    changed = bytearray(data)
    changed[len(changed) // 3] ^= 0x01
    page = await (await client.post("/verify", data=upload(bytes(changed), None, path))).text()
    assert 'data-valid="0"' in page, path
