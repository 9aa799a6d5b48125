"""The minutes (biên bản) of a held meeting: the secretary writes the conclusions on the page, and the PDF and DOCX
read back (pypdf, python-docx) with them, the speakers in order and the questions, signed like the attendance."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import docx
import docx.document
import docx.table
import pytest
from pypdf import PdfReader

from scheduler.attendance.events import AttendanceEvent
from scheduler.store import EmbeddedValkey
from tests.conftest import Client, signed_in
from tests.service.conftest import START
from web.keys import ATTENDANCE

CONCLUSIONS = "1. Các xã chủ động phương án chống rét cho trâu, bò.\n2. Báo cáo về Văn phòng trước 17 giờ thứ Sáu."


def in_order(document: docx.document.Document) -> list[str]:
    """Paragraphs and table cells as they come in the document."""
    found = []
    for block in document.iter_inner_content():
        if isinstance(block, docx.table.Table):
            found += [cell.text for row in block.rows for cell in row.cells]
        else:
            found.append(block.text)
    return found


async def write_minutes(client: Client, meeting_id: str) -> None:
    log = client.app[ATTENDANCE]
    question = "Xã xin hỗ trợ rơm khô cho đàn trâu?"
    for event in [
        AttendanceEvent("floor_granted", START + timedelta(minutes=10), "bac-ha", "b", "Lý Thị Hoa"),
        AttendanceEvent("floor_released", START + timedelta(minutes=20), "bac-ha", "b"),
        AttendanceEvent("floor_granted", START + timedelta(minutes=21), "sa-pa", "e", "Đặng Quốc Việt"),
        AttendanceEvent(
            "chat_message", START + timedelta(minutes=35), "bac-ha.na-hoi", "c", detail=question, to="chair"
        ),
    ]:
        await log.append(meeting_id, event)
    page = await (await client.get(f"/meetings/{meeting_id}/minutes")).text()
    assert 'data-testid="minutes-conclusions"' in page and "Xã Na Hối" in page  # what the service knows, before
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]  # type: ignore[index]
    saved = await client.post(f"/meetings/{meeting_id}/minutes", allow_redirects=False, data={
        "csrf_token": csrf, "conclusions": CONCLUSIONS, "remarks": "Điểm cầu Tà Chải mất điện.",
        "secretary": "Trần Thu Trang"})  # fmt: skip
    assert saved.status == 303


async def test_the_minutes_hold_what_was_held_and_what_the_secretary_wrote(client: Client,
                                                                            held_meeting: dict) -> None:  # fmt: skip
    meeting_id = held_meeting["id"]
    await write_minutes(client, meeting_id)
    page = await (await client.get(f"/meetings/{meeting_id}/minutes?saved=1")).text()
    assert "Các xã chủ động phương án chống rét" in page and 'data-testid="minutes-saved"' in page

    pdf = await (await client.get(f"/api/meetings/{meeting_id}/minutes.pdf")).read()
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    document = docx.Document(io.BytesIO(await (await client.get(f"/api/meetings/{meeting_id}/minutes.docx")).read()))
    words = [p.text for p in document.paragraphs]
    docx_text = " ".join(in_order(document))
    for text_of in (text, docx_text):
        for expected in ("BIÊN BẢN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Giao ban trực tuyến tháng 11",
                         "Các xã chủ động phương án chống rét cho trâu, bò.", "Báo cáo về Văn phòng trước 17 giờ",
                         "Điểm cầu Tà Chải mất điện.", "Trần Thu Trang", "Vắng mặt: Xã Tà Chải",
                         "Xã xin hỗ trợ rơm khô cho đàn trâu?", "Điểm danh: 1 trên 6 đơn vị"):  # fmt: skip
            assert expected in text_of, expected
        # the speakers in the order they had the floor, with their times in Vietnam time
        proceedings = text_of.split("II. Diễn biến cuộc họp", 1)[1]
        assert proceedings.index("08:10:00") < proceedings.index("Lý Thị Hoa") < proceedings.index("Đặng Quốc Việt")
    assert set(CONCLUSIONS.split("\n")) <= set(words)  # each line its own paragraph


async def test_the_minutes_are_signed_and_a_changed_byte_is_caught(
    client: Client, held_meeting: dict, tmp_path: Path, valkey: EmbeddedValkey
) -> None:
    await write_minutes(client, held_meeting["id"])
    for extension in ("pdf", "docx"):
        url = f"/api/meetings/{held_meeting['id']}/minutes.{extension}"
        first = await client.get(url)
        data = await first.read()
        assert data == await (await client.get(url)).read(), "the same minutes must give the same bytes"
        assert first.headers["Content-Disposition"].startswith("attachment;")
        signature = await (await client.get(f"{url}.sig")).read()
        assert first.headers["Giaoban-Signature"] == signature.decode().strip()
        (tmp_path / f"minutes.{extension}").write_bytes(data)
        (tmp_path / "minutes.sig").write_bytes(signature)

        command = [sys.executable, "-m", "web", "verify", str(tmp_path / f"minutes.{extension}"),
                   str(tmp_path / "minutes.sig"), "--redis-url", valkey.url]  # fmt: skip

        def verify(command: list[str] = command) -> subprocess.CompletedProcess[str]:
            return subprocess.run(command, capture_output=True, text=True, timeout=30)

        assert verify().returncode == 0, extension
        alone = verify([*command[:5], "--redis-url", valkey.url])  # the file alone: it carries its signature
        assert alone.returncode == 0 and "signature valid" in alone.stdout, alone.stderr
        tampered = bytearray(data)
        tampered[len(tampered) // 2] ^= 0x01
        (tmp_path / f"minutes.{extension}").write_bytes(bytes(tampered))
        refused = verify()
        assert refused.returncode == 1 and "DOES NOT MATCH" in refused.stderr


async def test_the_minutes_api_checks_what_it_is_given(client: Client, held_meeting: dict) -> None:
    csrf = await signed_in(client, "secretary")
    url = f"/api/meetings/{held_meeting['id']}/minutes"
    headers = {"X-CSRF-Token": csrf}
    too_long = await client.put(url, json={"conclusions": "x" * 20_001}, headers=headers)
    assert too_long.status == 400  # the schema says at most 20,000 characters
    written = await client.put(url, json={"conclusions": "  Kết luận của chủ trì\r\n", "secretary": "Thư ký"},
                               headers=headers)  # fmt: skip
    assert written.status == 200
    assert (await (await client.get(url)).json())["conclusions"] == "Kết luận của chủ trì"
    assert (await client.put(url, json={"conclusions": "x"})).status == 403  # no CSRF token
    assert (await client.get("/api/meetings/nope/minutes.pdf")).status == 404


async def test_the_longest_minutes_are_taken_from_the_form_and_the_api(client: Client, held_meeting: dict) -> None:
    """20,000 Vietnamese letters each for the conclusions and the remarks: 360 KB as a form, 240 KB as JSON
    escapes; they must not be refused as too large."""
    page = await (await client.get(f"/meetings/{held_meeting['id']}/minutes")).text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]  # type: ignore[index]
    longest = "ễ" * 20_000
    saved = await client.post(f"/meetings/{held_meeting['id']}/minutes", allow_redirects=False,
                              data={"csrf_token": csrf, "conclusions": longest, "remarks": longest})  # fmt: skip
    assert saved.status == 303
    assert (await (await client.get(f"/api/meetings/{held_meeting['id']}/minutes")).json())["conclusions"] == longest
    body = json.dumps({"conclusions": longest, "remarks": longest}, ensure_ascii=True)
    put = await client.put(f"/api/meetings/{held_meeting['id']}/minutes", data=body,
                           headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})  # fmt: skip
    assert put.status == 200, await put.text()


@pytest.mark.parametrize("path", ["/meetings/{id}/minutes", "/api/meetings/{id}/minutes.docx"])
async def test_the_minutes_need_an_account(client: Client, held_meeting: dict, path: str) -> None:
    client.session.cookie_jar.clear()  # signed out
    response = await client.get(path.format(id=held_meeting["id"]), allow_redirects=False)
    assert response.status in (302, 401)
