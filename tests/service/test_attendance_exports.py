"""Attendance through the API: the report, CSV/XLSX/PDF read back with real parsers, signatures verified."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from scheduler.attendance.events import AttendanceEvent
from scheduler.store import EmbeddedValkey
from tests.conftest import Client
from tests.service.conftest import INVITED, START
from web.keys import ATTENDANCE


async def test_the_report_has_one_row_per_invited_unit(client: Client, held_meeting: dict) -> None:
    report = await (await client.get(f"/api/meetings/{held_meeting['id']}/attendance")).json()
    rows = {r["unit"]: r for r in report["units"]}
    assert list(rows) == ["laocai", *INVITED]
    assert {u: r["status"] for u, r in rows.items()} == {
        "laocai": "present", "bac-ha": "present", "bac-ha.na-hoi": "present", "bac-ha.ta-chai": "absent",
        "van-ban.cum-nam-chay": "late", "sa-pa": "left_early"}  # fmt: skip
    na_hoi = rows["bac-ha.na-hoi"]
    assert na_hoi["drops"] == 1 and na_hoi["connected_seconds"] == (120 - 2 - 3) * 60
    assert na_hoi["attendees"] == [{"name": "Vàng Seo Phủ", "position": "Chủ tịch UBND xã"}]
    assert len(na_hoi["roll_call"]) == 1
    assert rows["sa-pa"]["last_leave"] == (START + timedelta(minutes=60)).isoformat()


async def test_csv_opens_in_excel_with_vietnamese_headers_and_names(client: Client, held_meeting: dict) -> None:
    response = await client.get(f"/api/meetings/{held_meeting['id']}/attendance.csv")
    assert response.status == 200 and response.content_type == "text/csv"
    data = await response.read()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["STT", "Đơn vị", "Tình trạng"]
    units = rows[: rows.index([])]  # the units, then (after an empty line) the meeting's times
    assert len(units) == 1 + 6
    assert rows[rows.index([]) + 1 :][:2] == [["Cuộc họp", held_meeting["title"]],
                                              ["Theo kế hoạch", "30/11/2026 08:00–10:00"]]  # fmt: skip
    by_unit = {r[1]: r for r in units[1:]}
    assert by_unit["Xã Tà Chải"][2] == "vắng mặt"
    assert by_unit["Cụm xã Nậm Chày"][2] == "đến muộn"
    assert "Vàng Seo Phủ (Chủ tịch UBND xã)" in by_unit["Xã Na Hối"][3]
    assert by_unit["Xã Na Hối"][4] == "30/11/2026 08:02" and by_unit["Xã Na Hối"][6] == "1:55:00"


async def test_xlsx_is_formatted_with_a_frozen_header_and_real_durations(client: Client, held_meeting: dict) -> None:
    data = await (await client.get(f"/api/meetings/{held_meeting['id']}/attendance.xlsx")).read()
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.freeze_panes == "A2"
    assert sheet["B1"].value == "Đơn vị" and sheet["B1"].font.bold
    names = [sheet.cell(row=r, column=2).value for r in range(2, sheet.max_row + 1)]
    assert names == ["UBND tỉnh Lào Cai", "Huyện Bắc Hà", "Xã Na Hối", "Xã Tà Chải", "Cụm xã Nậm Chày", "Thị xã Sa Pa"]
    na_hoi = 4
    assert sheet.cell(row=na_hoi, column=7).value == timedelta(hours=1, minutes=55)
    assert sheet.cell(row=na_hoi, column=7).number_format == "[h]:mm:ss"
    assert sheet.cell(row=na_hoi, column=5).value == datetime(2026, 11, 30, 8, 2)


async def test_pdf_is_a_printable_report_with_vietnamese_text(client: Client, held_meeting: dict) -> None:
    data = await (await client.get(f"/api/meetings/{held_meeting['id']}/attendance.pdf")).read()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    for expected in ("BÁO CÁO ĐIỂM DANH", "Giao ban trực tuyến tháng 11 – Ứng phó rét đậm", "UBND tỉnh Lào Cai",
                     "Xã Na Hối", "Vàng Seo Phủ", "Cụm xã Nậm Chày", "vắng mặt: 1", "NGƯỜI LẬP BIỂU"):  # fmt: skip
        assert expected in text, expected


@pytest.mark.parametrize("extension", ["csv", "xlsx", "pdf"])
async def test_exports_are_stable_and_signed(client: Client, held_meeting: dict, extension: str, tmp_path: Path,
                                             valkey: EmbeddedValkey) -> None:  # fmt: skip
    url = f"/api/meetings/{held_meeting['id']}/attendance.{extension}"
    first = await client.get(url)
    data = await first.read()
    assert data == await (await client.get(url)).read(), "the same data must give the same bytes"
    signed = await client.get(f"{url}.sig")
    assert signed.headers["Content-Disposition"].startswith("attachment;")  # a file to keep, not text on a page
    assert f'.{extension}.sig"' in signed.headers["Content-Disposition"]
    signature = await signed.read()
    assert first.headers["Giaoban-Signature"] == signature.decode().strip()
    key = await (await client.get("/api/signing-key")).json()
    (tmp_path / "key.pem").write_text(key["public_key_pem"])
    (tmp_path / f"report.{extension}").write_bytes(data)
    (tmp_path / "report.sig").write_bytes(signature)

    def verify(*extra: str) -> subprocess.CompletedProcess[str]:
        files = [str(tmp_path / f"report.{extension}"), str(tmp_path / "report.sig")]
        command = [sys.executable, "-m", "web", "verify", *files, *extra]
        return subprocess.run(command, capture_output=True, text=True, timeout=30)

    ok = verify("--key", str(tmp_path / "key.pem"))
    assert ok.returncode == 0 and key["fingerprint"] in ok.stdout, ok.stderr
    assert verify("--redis-url", valkey.url).returncode == 0  # the server's own key, from the store

    tampered = bytearray(data)
    position = len(tampered) // 2
    tampered[position] = (tampered[position] + 1) % 256  # one byte changed
    (tmp_path / f"report.{extension}").write_bytes(bytes(tampered))
    refused = verify("--key", str(tmp_path / "key.pem"))
    assert refused.returncode == 1 and "DOES NOT MATCH" in refused.stderr


async def test_travel_saved_per_meeting_and_per_month(client: Client, held_meeting: dict) -> None:
    report = await (await client.get(f"/api/meetings/{held_meeting['id']}/attendance")).json()
    saved = report["savings"]
    assert saved["trips"] == 4  # Bắc Hà, Na Hối, Nậm Chày, Sa Pa attended; Tà Chải did not; the chair is there
    assert 100 < saved["km"] < 600 and saved["vnd"] == pytest.approx(saved["km"] * 4000, rel=0.01)
    monthly = await (await client.get("/api/reports/savings?from=2026-11-01T00:00&to=2026-12-31T00:00")).json()
    assert monthly["months"] == [{"month": "2026-11", "meetings": 1, "savings": saved}]
    assert monthly["total"] == saved
    bad = await client.get("/api/reports/savings?from=2020-01-01T00:00&to=2026-01-01T00:00")
    assert bad.status == 400


async def test_the_exports_tell_the_meetings_timeline_the_floor_and_the_presentations(
    client: Client, held_meeting: dict
) -> None:
    for event in [AttendanceEvent("floor_granted", START + timedelta(minutes=10), "bac-ha"),
                  AttendanceEvent("presentation_started", START + timedelta(minutes=11), "bac-ha", "b", "Lý Thị Hoa"),
                  AttendanceEvent("presentation_stopped", START + timedelta(minutes=19), "bac-ha", "b", "Lý Thị Hoa"),
                  AttendanceEvent("floor_released", START + timedelta(minutes=20), "bac-ha")]:  # fmt: skip
        await client.app[ATTENDANCE].append(held_meeting["id"], event)
    base = f"/api/meetings/{held_meeting['id']}/attendance"
    rows = list(csv.reader(io.StringIO((await (await client.get(base + ".csv")).read()).decode("utf-8-sig"))))
    after_units = rows[rows.index([]) + 1 :]
    timeline = after_units[: after_units.index([])]  # then the meeting's times
    assert timeline == [["Thời gian", "Đơn vị", "Diễn biến"],
                        ["30/11/2026 08:10:00", "Huyện Bắc Hà", "được phát biểu"],
                        ["30/11/2026 08:11:00", "Huyện Bắc Hà (Lý Thị Hoa)", "bắt đầu trình chiếu"],
                        ["30/11/2026 08:19:00", "Huyện Bắc Hà (Lý Thị Hoa)", "dừng trình chiếu"],
                        ["30/11/2026 08:20:00", "Huyện Bắc Hà", "kết thúc phát biểu"]]  # fmt: skip
    workbook = openpyxl.load_workbook(io.BytesIO(await (await client.get(base + ".xlsx")).read()))
    assert [[c.value for c in row] for row in workbook["Cuộc họp"].iter_rows()][1] == [
        "Theo kế hoạch", "30/11/2026 08:00–10:00"]  # planned, and as held once the chair opened it  # fmt: skip
    sheet = workbook["Diễn biến cuộc họp"]
    assert sheet["A3"].value == datetime(2026, 11, 30, 8, 11) and sheet["C3"].value == "bắt đầu trình chiếu"
    pdf = PdfReader(io.BytesIO(await (await client.get(base + ".pdf")).read()))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "Diễn biến cuộc họp" in text and "bắt đầu trình chiếu" in text and "Lý Thị Hoa" in text
