"""Every time a person reads is Vietnam time with its date: a recorded meeting walked through every page and export.

The meeting starts at 08:00 in Hà Nội, 01:00 UTC; people join at 08:01, the floor is given at 08:02 and the chair
ends it at 08:03 (01:01–01:03 UTC). Any page or file that prints one of the UTC clock times fails the test.
"""

from __future__ import annotations

import asyncio
import io
import re
from datetime import timedelta

import docx
from openpyxl import load_workbook
from pypdf import PdfReader

from scheduler.recordings.catalogue import Recording, new_recording_id
from tests.conftest import Client, signed_in
from tests.recorded import synthetic_session
from tests.service.conftest import START, LiveMeeting, joined, next_of
from web.keys import ATTENDANCE, CLOCK, CONFIG, RECORDINGS

UTC_TIMES = re.compile(r"(?<![\d:])01:0[0-4](?![\d])")  # the meeting's moments as a UTC clock shows them
VIETNAM_DATE = "30/11/2026"


async def test_no_page_or_export_of_a_recorded_meeting_shows_a_utc_time(client: Client, live: LiveMeeting) -> None:
    clock = client.app[CLOCK]
    chair = await joined(client, live, "laocai", "Nguyễn Văn Hải")
    commune = await joined(client, live, "sa-pa", "Lý Thị Hoa")
    clock.set(START + timedelta(minutes=2))
    await chair.send_json({"type": "give-floor", "unit": "sa-pa"})
    assert (await next_of(commune, "state"))["admitted"]
    await commune.send_json({"type": "chat", "text": "Xin hỏi về kinh phí"})
    await next_of(chair, "chat")
    clock.set(START + timedelta(minutes=3))
    await chair.send_json({"type": "end"})
    await next_of(commune, "bye")
    for _ in range(100):  # the attendance writer stores in the background
        if any(e.type == "left" for e in await client.app[ATTENDANCE].events(live.id)):
            break
        await asyncio.sleep(0.05)
    session = client.app[CONFIG].recordings_path / live.id / "s1"
    manifest = await asyncio.to_thread(synthetic_session, session, 2.0, meeting_id=live.id,
                                       started_at=START + timedelta(minutes=1))  # fmt: skip
    await client.app[RECORDINGS].add(Recording(new_recording_id(), live.id, "s1", "track", "laocai", "video",
                                               manifest.started_at, 2.0, 1000, "ready",
                                               f"{live.id}/s1/laocai-chair-video.webm"))  # fmt: skip
    clock.set(START + timedelta(hours=3))
    await signed_in(client, "host")

    shown: dict[str, str] = {}
    for page in ("/dashboard", "/meetings?week=2026-11-30", f"/meetings/{live.id}", f"/meetings/{live.id}/attendance",
                 f"/meetings/{live.id}/recordings", f"/meetings/{live.id}/minutes"):  # fmt: skip
        response = await client.get(page)
        assert response.status == 200, page
        shown[page] = re.sub(r"<[^>]+>", " ", await response.text())  # what is read, not the markup
    base = f"/api/meetings/{live.id}/attendance"
    shown["csv"] = (await (await client.get(f"{base}.csv")).read()).decode("utf-8-sig")
    workbook = load_workbook(io.BytesIO(await (await client.get(f"{base}.xlsx")).read()))
    shown["xlsx"] = " ".join(str(cell.value) for sheet in workbook for row in sheet.iter_rows() for cell in row
                             if cell.value is not None)  # fmt: skip
    pdf = PdfReader(io.BytesIO(await (await client.get(f"{base}.pdf")).read()))
    shown["pdf"] = " ".join(page.extract_text() for page in pdf.pages)
    minutes = PdfReader(io.BytesIO(await (await client.get(f"/api/meetings/{live.id}/minutes.pdf")).read()))
    shown["minutes pdf"] = " ".join(page.extract_text() for page in minutes.pages)
    document = docx.Document(io.BytesIO(await (await client.get(f"/api/meetings/{live.id}/minutes.docx")).read()))
    shown["minutes docx"] = " ".join([*(p.text for p in document.paragraphs), *(
        cell.text for table in document.tables for row in table.rows for cell in row.cells)])  # fmt: skip

    for where, text in shown.items():
        assert not UTC_TIMES.findall(text), (where, UTC_TIMES.findall(text))
    for where in (f"/meetings/{live.id}", f"/meetings/{live.id}/attendance", f"/meetings/{live.id}/recordings",
                  "csv", "pdf", f"/meetings/{live.id}/minutes", "minutes pdf", "minutes docx"):  # fmt: skip
        assert "08:0" in shown[where] and (VIETNAM_DATE in shown[where] or "30/11" in shown[where]), where
    assert "08:01" in shown["csv"] and "08:02" in shown["csv"]  # joined; given the floor; the chat
    assert "Thực tế diễn ra,30/11/2026 08:01–08:03" in shown["csv"]  # as held: opened 08:01, ended 08:03
    assert "2026-11-30 08:01" in shown["xlsx"]  # a real date-time cell, in Vietnam time
    assert "08:01" in shown[f"/meetings/{live.id}/recordings"]  # recorded from
