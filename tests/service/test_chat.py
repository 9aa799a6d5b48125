"""The meeting's chat over real sockets and a real store: who reads what, markup kept as text, the secretary's copy."""

from __future__ import annotations

import asyncio
import csv
import io

from pypdf import PdfReader

from tests.conftest import Client, signed_in
from tests.service.conftest import LiveMeeting, joined, next_of
from web.keys import ATTENDANCE

MARKUP = '<img src=x onerror="alert(1)">Xin hỏi về <b>kinh phí</b>'


async def test_a_question_reaches_the_chair_only_and_the_chairs_answer_to_all_reaches_all(
    client: Client, live: LiveMeeting
) -> None:
    chair = await joined(client, live, "laocai", "Nguyễn Văn Hải")
    asking = await joined(client, live, "sa-pa", "Lý Thị Hoa")
    other = await joined(client, live, "bac-ha", "Vàng Seo Phủ")
    await asking.send_json({"type": "chat", "text": MARKUP})
    question = await next_of(chair, "chat")
    assert (question["from"], question["name"], question["to"], question["text"]) == ("sa-pa", "Lý Thị Hoa", "chair",
                                                                                      MARKUP)  # fmt: skip
    assert question["at"].endswith("+07:00")  # Vietnam time
    assert (await next_of(asking, "chat"))["text"] == MARKUP  # its own
    await chair.send_json({"type": "chat", "text": "Các đơn vị gửi báo cáo trước 17 giờ.", "to": "everyone"})
    for ws in (chair, asking, other):
        assert (await next_of(ws, "chat"))["text"] == "Các đơn vị gửi báo cáo trước 17 giờ."
    await other.send_json({"type": "chat", "text": "Gửi cả phòng", "to": "everyone"})
    refused = await next_of(other, "error")
    assert refused["code"] == "not_authorised" and refused["request"] == "chat"
    # a page that joins later reads what it may: the chair's message to all, not the other unit's question
    await other.close()
    again = await joined(client, live, "bac-ha", "Vàng Seo Phủ")
    history = await next_of(again, "chat-history")
    assert [m["text"] for m in history["messages"]] == ["Các đơn vị gửi báo cáo trước 17 giờ."]

    for _ in range(50):  # the attendance writer stores in the background
        if sum(e.type == "chat_message" for e in await client.app[ATTENDANCE].events(live.id)) == 2:
            break
        await asyncio.sleep(0.05)
    await signed_in(client, "secretary")
    exported = await client.get(f"/api/meetings/{live.id}/attendance.csv")
    assert exported.status == 200
    rows = list(csv.reader(io.StringIO((await exported.read()).decode("utf-8-sig"))))
    chat = rows[rows.index(["Thời gian", "Từ", "Đến", "Nội dung"]) + 1 :]
    chat = chat[: chat.index([])]  # the meeting's times follow
    assert [row[1:] for row in chat] == [
        ["Thị xã Sa Pa (Lý Thị Hoa)", "Chủ trì", MARKUP],
        ["UBND tỉnh Lào Cai (Nguyễn Văn Hải)", "Mọi đơn vị", "Các đơn vị gửi báo cáo trước 17 giờ."]]  # fmt: skip
    pdf = await client.get(f"/api/meetings/{live.id}/attendance.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(await pdf.read())).pages)
    assert "Trao đổi bằng văn bản" in text and "kinh phí" in text
