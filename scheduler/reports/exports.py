"""Attendance exports: CSV (for Excel, with BOM), XLSX (formatted) and PDF (a printable official report).

Every export is a pure function of the report and ``generated_at``: the same data gives the same bytes, so a
signature fetched after the file still matches it. Labels come through ``translate`` (the reader's language).

fpdf and openpyxl are imported when a file is made, not with the module: with python-docx (minutes_exports.py) they
are 0.6 s of every worker's start (fpdf's fontTools most of it), and most workers never make a file.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING

from scheduler.attendance.report import ChatEntry, TimelineEntry, UnitAttendance
from scheduler.errors import N_
from scheduler.meetings.model import VIETNAM, Meeting

if TYPE_CHECKING:
    from fpdf import FPDF

COLUMNS = (N_("No."), N_("Unit"), N_("Status"), N_("Attendees"), N_("First joined"), N_("Last left"),
           N_("Connected"), N_("Drops"), N_("Roll call"))  # fmt: skip
STATUS_LABELS = {"present": N_("present"), "late": N_("late"), "left_early": N_("left early"),
                 "absent": N_("absent")}  # fmt: skip
TIME_FORMAT = "%d/%m/%Y %H:%M"
TIMELINE_COLUMNS = (N_("Time"), N_("Unit"), N_("What happened"))
TIMELINE_LABELS = {"floor_granted": N_("given the floor"), "floor_released": N_("floor ended"),
                   "presentation_started": N_("started presenting"),
                   "presentation_stopped": N_("stopped presenting"), "recording_started": N_("recording started"),
                   "recording_stopped": N_("recording stopped")}  # fmt: skip


@dataclass(frozen=True)
class ExportContext:
    meeting: Meeting
    rows: list[UnitAttendance]
    chair_name: str
    generated_at: datetime
    translate: Callable[[str], str]
    timeline: tuple[TimelineEntry, ...] = ()  # the floor, presentations, the recording, as they happened
    chat: tuple[ChatEntry, ...] = ()  # questions to the chair and its answers, as written

    def local(self, moment: datetime | None) -> datetime | None:
        return moment.astimezone(VIETNAM) if moment else None


def _attendees(row: UnitAttendance) -> str:
    return "; ".join(f"{a.name} ({a.position})" if a.position else a.name for a in row.attendees)


def _duration(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _text_cells(ctx: ExportContext, number: int, row: UnitAttendance) -> list[str]:
    first, last = ctx.local(row.first_join), ctx.local(row.last_leave)
    return [str(number), row.name, ctx.translate(STATUS_LABELS[row.status]), _attendees(row),
            f"{first:{TIME_FORMAT}}" if first else "", f"{last:{TIME_FORMAT}}" if last else "",
            _duration(row.connected_seconds), str(row.drops), str(len(row.roll_call))]  # fmt: skip


def _timeline_cells(ctx: ExportContext, entry: TimelineEntry) -> list[str]:
    who = f"{entry.unit_name} ({entry.name})" if entry.name else entry.unit_name
    return [f"{ctx.local(entry.at):%d/%m/%Y %H:%M:%S}", who, ctx.translate(TIMELINE_LABELS[entry.type])]


CHAT_COLUMNS = (N_("Time"), N_("From"), N_("To"), N_("Message"))
RECIPIENTS = {"chair": N_("Chair"), "everyone": N_("Everyone")}


def _chat_cells(ctx: ExportContext, entry: ChatEntry) -> list[str]:
    sender = f"{entry.unit_name} ({entry.name})" if entry.name else entry.unit_name
    recipient = ctx.translate(RECIPIENTS[entry.to]) if entry.to in RECIPIENTS else entry.to_name
    return [f"{ctx.local(entry.at):%d/%m/%Y %H:%M:%S}", sender, recipient, entry.text]


def _times_cells(ctx: ExportContext) -> list[list[str]]:
    """The meeting as planned and as held (the chair's opening and ending), which lateness is judged by."""
    start, end = ctx.local(ctx.meeting.starts_at), ctx.local(ctx.meeting.ends_at)
    held_from, held_until = ctx.local(ctx.meeting.held_from), ctx.local(ctx.meeting.held_until)
    rows = [[ctx.translate("Meeting"), ctx.meeting.title],
            [ctx.translate("Planned"), f"{start:{TIME_FORMAT}}–{end:%H:%M}" if start and end else ""]]  # fmt: skip
    if held_from or held_until:
        opened = f"{held_from:{TIME_FORMAT}}" if held_from else "…"
        rows.append([ctx.translate("Held"), f"{opened}–{held_until:%H:%M}" if held_until else f"{opened}–…"])
    return rows


def to_csv(ctx: ExportContext) -> bytes:
    """UTF-8 with a byte-order mark: without it Excel shows Vietnamese letters as mojibake. The meeting's timeline
    follows the units, after an empty line, under its own heading."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([ctx.translate(c) for c in COLUMNS])
    writer.writerows(_text_cells(ctx, n, row) for n, row in enumerate(ctx.rows, start=1))
    if ctx.timeline:
        writer.writerow([])
        writer.writerow([ctx.translate(c) for c in TIMELINE_COLUMNS])
        writer.writerows(_timeline_cells(ctx, entry) for entry in ctx.timeline)
    if ctx.chat:
        writer.writerow([])
        writer.writerow([ctx.translate(c) for c in CHAT_COLUMNS])
        writer.writerows(_chat_cells(ctx, message) for message in ctx.chat)
    writer.writerow([])
    writer.writerows(_times_cells(ctx))
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_xlsx(ctx: ExportContext) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = ctx.translate("Attendance")[:31]
    sheet.append([ctx.translate(c) for c in COLUMNS])
    for number, row in enumerate(ctx.rows, start=1):
        first, last = ctx.local(row.first_join), ctx.local(row.last_leave)
        sheet.append([number, row.name, ctx.translate(STATUS_LABELS[row.status]), _attendees(row),
                      first.replace(tzinfo=None) if first else None, last.replace(tzinfo=None) if last else None,
                      timedelta(seconds=row.connected_seconds), row.drops, len(row.roll_call)])  # fmt: skip
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="B3261E")
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for column in ("E", "F"):
        for cell in sheet[column][1:]:
            cell.number_format = "dd/mm/yyyy hh:mm"
    for cell in sheet["G"][1:]:
        cell.number_format = "[h]:mm:ss"  # a duration, so sums and averages work in Excel
    for column, width in zip("ABCDEFGHI", (6, 34, 14, 48, 17, 17, 12, 8, 10), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    if ctx.timeline:
        timeline = workbook.create_sheet(ctx.translate("Timeline")[:31])
        timeline.append([ctx.translate(c) for c in TIMELINE_COLUMNS])
        for entry in ctx.timeline:
            _, who, what = _timeline_cells(ctx, entry)
            local = ctx.local(entry.at)
            timeline.append([local.replace(tzinfo=None) if local else None, who, what])
        for cell in timeline["A"][1:]:
            cell.number_format = "dd/mm/yyyy hh:mm:ss"
        for cell in timeline[1]:
            cell.font = Font(bold=True)
        for column, width in zip("ABC", (20, 48, 24), strict=True):
            timeline.column_dimensions[column].width = width
    if ctx.chat:
        chat = workbook.create_sheet(ctx.translate("Chat")[:31])
        chat.append([ctx.translate(c) for c in CHAT_COLUMNS])
        for message in ctx.chat:
            written = ctx.local(message.at)
            chat.append([written.replace(tzinfo=None) if written else None, *_chat_cells(ctx, message)[1:]])
        for cell in chat["A"][1:]:
            cell.number_format = "dd/mm/yyyy hh:mm:ss"
        for cell in chat[1]:
            cell.font = Font(bold=True)
        for column, width in zip("ABCD", (20, 40, 28, 80), strict=True):
            chat.column_dimensions[column].width = width
    times = workbook.create_sheet(ctx.translate("Meeting")[:31])
    for cells in _times_cells(ctx):
        times.append(cells)
    times.column_dimensions["A"].width, times.column_dimensions["B"].width = 18, 60
    workbook.properties.creator = "giaoban"
    workbook.properties.title = ctx.meeting.title
    workbook.properties.created = workbook.properties.modified = ctx.generated_at.replace(tzinfo=None)
    buffer = io.BytesIO()
    # Not workbook.save(): it stamps "modified" with the clock, and the same data must give the same bytes.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    return stable_zip(buffer.getvalue(), ctx.generated_at)


def stable_zip(data: bytes, when: datetime) -> bytes:
    """The same workbook with fixed entry times: openpyxl stamps each entry with the clock."""
    stamp = when.astimezone(VIETNAM).timetuple()[:6]
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            entry = zipfile.ZipInfo(item.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(item.filename))
    return output.getvalue()


def new_pdf(title: str, created: datetime, *, orientation: str = "portrait", margin: float = 15) -> FPDF:
    """An A4 document with the Vietnamese font (DejaVu, shipped with us) and a fixed creation date: the same data
    gives the same bytes."""
    from fpdf import FPDF

    pdf = FPDF(orientation=orientation, format="A4")
    pdf.set_creation_date(created)
    pdf.set_title(title)
    pdf.set_creator("giaoban")
    fonts = resources.files("scheduler.reports").joinpath("fonts")
    pdf.add_font("DejaVu", "", str(fonts.joinpath("DejaVuSans.ttf")))
    pdf.add_font("DejaVu", "B", str(fonts.joinpath("DejaVuSans-Bold.ttf")))
    pdf.set_auto_page_break(auto=True, margin=margin)
    return pdf


def to_pdf(ctx: ExportContext) -> bytes:
    from fpdf.fonts import FontFace

    t = ctx.translate
    pdf = new_pdf(ctx.meeting.title, ctx.generated_at, orientation="landscape")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 6, ctx.chair_name.upper(), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 9, t("ATTENDANCE REPORT OF THE ONLINE MEETING"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(0, 7, ctx.meeting.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    start, end = ctx.local(ctx.meeting.starts_at), ctx.local(ctx.meeting.ends_at)
    assert start and end
    time_label, chair_label = t("Time"), t("Chair")
    pdf.cell(
        0, 6, f"{time_label}: {start:%H:%M}–{end:%H:%M} {start:%d/%m/%Y}", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    held_from, held_until = ctx.local(ctx.meeting.held_from), ctx.local(ctx.meeting.held_until)
    if held_from or held_until:  # as the chair opened and ended it: what lateness and leaving early are judged by
        opened = f"{held_from:%H:%M}" if held_from else "…"
        ended = f"{held_until:%H:%M}" if held_until else "…"
        pdf.cell(0, 6, f"{t('Held')}: {opened}–{ended}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, f"{chair_label}: {ctx.chair_name}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("DejaVu", "", 8)
    widths = (10, 52, 20, 70, 27, 27, 20, 13, 14)
    heading = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=(179, 38, 30))
    with pdf.table(col_widths=widths, headings_style=heading, line_height=4.5, text_align="LEFT") as table:
        table.row([t(c) for c in COLUMNS])
        for number, row in enumerate(ctx.rows, start=1):
            table.row(_text_cells(ctx, number, row))
    pdf.ln(3)
    pdf.set_font("DejaVu", "", 10)
    counts = {status: sum(r.status == status for r in ctx.rows) for status in STATUS_LABELS}
    summary = "; ".join(f"{t(STATUS_LABELS[s])}: {n}" for s, n in counts.items())
    invited_label = t("Invited units")
    pdf.multi_cell(0, 6, f"{invited_label}: {len(ctx.rows)} — {summary}.", new_x="LMARGIN", new_y="NEXT")
    if ctx.timeline:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(0, 6, t("Timeline"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 8)
        with pdf.table(col_widths=(35, 120, 60), headings_style=heading, line_height=4.5, text_align="LEFT",
                       width=215, align="LEFT") as table:  # fmt: skip
            table.row([t(c) for c in TIMELINE_COLUMNS])
            for entry in ctx.timeline:
                table.row(_timeline_cells(ctx, entry))
    if ctx.chat:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(0, 6, t("Chat"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 8)
        with pdf.table(col_widths=(32, 70, 45, 130), headings_style=heading, line_height=4.5, text_align="LEFT",
                       width=277, align="LEFT") as table:  # fmt: skip
            table.row([t(c) for c in CHAT_COLUMNS])
            for message in ctx.chat:
                table.row(_chat_cells(ctx, message))
    pdf.ln(8)
    _signature_block(pdf, t, ctx.generated_at)
    return bytes(pdf.output())


def _signature_block(pdf: FPDF, t: Callable[[str], str], when: datetime) -> None:
    half = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    local = when.astimezone(VIETNAM)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(half, 6, "")
    pdf.cell(half, 6, t("Date {day}/{month}/{year}").format(day=f"{local:%d}", month=f"{local:%m}", year=local.year),
             align="C", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(half, 6, t("PREPARED BY"), align="C")
    pdf.cell(half, 6, t("CHAIR OF THE MEETING"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(half, 5, t("(signature and full name)"), align="C")
    pdf.cell(half, 5, t("(signature and full name)"), align="C", new_x="LMARGIN", new_y="NEXT")
