"""The minutes as PDF and DOCX, in the usual administrative layout: the issuing unit and the national motto at the
top, the title, then time and place, who attended, the proceedings, the conclusions, and the two signatures.

Both formats draw one outline (``outline``: headings, paragraphs, tables), so they always say the same. Each is a
pure function of the minutes: the same minutes give the same bytes (fixed creation dates, fixed zip entry times),
so a signature fetched after the file still matches it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from scheduler.errors import N_
from scheduler.meetings.model import VIETNAM
from scheduler.minutes import Minutes
from scheduler.reports.exports import RECIPIENTS, TIMELINE_LABELS, new_pdf, stable_zip

Translate = Callable[[str], str]
MOTTO = (N_("SOCIALIST REPUBLIC OF VIETNAM"), N_("Independence – Freedom – Happiness"))


@dataclass(frozen=True)
class Heading:
    text: str
    kind: ClassVar[str] = "heading"


@dataclass(frozen=True)
class Paragraph:
    text: str
    bold: bool = False
    centred: bool = False
    kind: ClassVar[str] = "paragraph"


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[int, ...]  # relative
    kind: ClassVar[str] = "table"


Block = Heading | Paragraph | Table


def _at(moment: datetime | None, pattern: str = "%H:%M %d/%m/%Y") -> str:
    return moment.astimezone(VIETNAM).strftime(pattern) if moment else "…"


def outline(minutes: Minutes, t: Translate) -> list[Block]:
    """The document, top to bottom, in the reader's language; times in Vietnam time."""
    meeting = minutes.meeting
    blocks: list[Block] = [Paragraph(t("MINUTES"), bold=True, centred=True),
                           Paragraph(t("Online meeting: {title}").format(title=meeting.title), bold=True,
                                     centred=True)]  # fmt: skip
    planned = f"{_at(meeting.starts_at, '%H:%M')}–{_at(meeting.ends_at, '%H:%M %d/%m/%Y')}"
    held = f"{_at(meeting.held_from, '%H:%M')}–{_at(meeting.held_until, '%H:%M %d/%m/%Y')}"
    blocks += [Heading(t("I. Time, place and those present")),
               Paragraph(t("Planned: {time}").format(time=planned)),
               Paragraph(t("Held: {time}").format(time=held) if meeting.held_from else t("Held: not opened")),
               Paragraph(t("Place: online, from the chair's room and each unit's meeting point")),
               Paragraph(t("Chair: {name}").format(name=minutes.chair_name)),
               Paragraph(t("Secretary: {name}").format(name=minutes.text.secretary or "…"))]  # fmt: skip
    present, absent, rows = minutes.present, minutes.absent, minutes.rows
    blocks.append(Paragraph(t("Invited: {invited} units; present: {present}; absent: {absent}.").format(
        invited=len(rows), present=len(present), absent=len(absent))))  # fmt: skip
    if present:
        blocks.append(Table((t("No."), t("Unit present"), t("Attendees")), tuple(
            (str(n), row.name, "; ".join(f"{a.name} ({a.position})" if a.position else a.name for a in row.attendees))
            for n, row in enumerate(present, start=1)), (8, 45, 47)))  # fmt: skip
    if absent:
        blocks.append(Paragraph(t("Absent: {units}.").format(units=", ".join(row.name for row in absent))))
    answered = minutes.answered_roll_call
    if answered:
        blocks.append(Paragraph(t("Roll call: {answered} of {total} units answered.").format(
            answered=len(answered), total=len(rows))))  # fmt: skip
    blocks.append(Heading(t("II. Proceedings")))
    if minutes.speakers:
        blocks.append(Table((t("Time"), t("Unit"), t("What happened")), tuple(
            (_at(e.at, "%H:%M:%S"), f"{e.unit_name} ({e.name})" if e.name else e.unit_name,
             t(TIMELINE_LABELS[e.type])) for e in minutes.speakers), (15, 55, 30)))  # fmt: skip
    else:
        blocks.append(Paragraph(t("Nobody was given the floor.")))
    if minutes.questions:
        blocks.append(Paragraph(t("Questions in writing to the chair:"), bold=True))
        blocks.append(Table((t("Time"), t("From"), t("Message")), tuple(
            (_at(e.at, "%H:%M:%S"), f"{e.unit_name} ({e.name})" if e.name else e.unit_name, e.text)
            for e in minutes.questions), (12, 33, 55)))  # fmt: skip
    answers = [e for e in minutes.chat if e.to != "chair"]
    if answers:
        blocks.append(Paragraph(t("The chair's written answers:"), bold=True))
        blocks.append(Table((t("Time"), t("To"), t("Message")), tuple(
            (_at(e.at, "%H:%M:%S"), t(RECIPIENTS[e.to]) if e.to in RECIPIENTS else e.to_name, e.text)
            for e in answers), (12, 33, 55)))  # fmt: skip
    blocks.append(Heading(t("III. Conclusions")))
    blocks += [Paragraph(line) for line in (minutes.text.conclusions or "…").split("\n") if line.strip()]
    if minutes.text.remarks:
        blocks.append(Heading(t("IV. Remarks")))
        blocks += [Paragraph(line) for line in minutes.text.remarks.split("\n") if line.strip()]
    if meeting.held_until:
        blocks.append(Paragraph(t("The meeting ended at {time}.").format(time=_at(meeting.held_until))))
    return blocks


def _signatures(minutes: Minutes, t: Translate) -> tuple[tuple[str, str], tuple[str, str], tuple[str, str]]:
    return ((t("SECRETARY"), t("CHAIR OF THE MEETING")), (t("(signature and full name)"),
            t("(signature and full name)")), (minutes.text.secretary, minutes.chair_name))  # fmt: skip


# --- PDF ------------------------------------------------------------------------------------------------------


def minutes_pdf(minutes: Minutes, t: Translate) -> bytes:
    pdf = new_pdf(minutes.meeting.title, minutes.as_of, margin=18)
    pdf.set_margins(20, 15, 15)
    pdf.add_page()
    half = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    pdf.set_font("DejaVu", "B", 9)
    y = pdf.get_y()
    pdf.multi_cell(half * 0.9, 5, minutes.chair_name.upper(), align="C")
    pdf.set_xy(pdf.l_margin + half * 0.9, y)
    pdf.multi_cell(half * 1.1, 5, f"{t(MOTTO[0])}\n{t(MOTTO[1])}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 6, t("Date {day}/{month}/{year}").format(**_date_parts(minutes.as_of)), align="R",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(3)
    from fpdf.fonts import FontFace  # imported when a file is made (see exports.py)

    heading = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=(179, 38, 30))
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for block in outline(minutes, t):
        if isinstance(block, Heading):
            pdf.ln(2)
            pdf.set_font("DejaVu", "B", 11)
            pdf.multi_cell(0, 6, block.text, new_x="LMARGIN", new_y="NEXT")
        elif isinstance(block, Paragraph):
            pdf.set_font("DejaVu", "B" if block.bold else "", 13 if block.centred else 10)
            pdf.multi_cell(0, 6 if block.centred else 5.5, block.text, align="C" if block.centred else "J",
                           new_x="LMARGIN", new_y="NEXT")  # fmt: skip
        else:
            pdf.set_font("DejaVu", "", 8.5)
            total = sum(block.widths)
            with pdf.table(col_widths=tuple(width * w / total for w in block.widths), headings_style=heading,
                           line_height=4.5, text_align="LEFT", width=width) as table:  # fmt: skip
                table.row(list(block.columns))
                for row in block.rows:
                    table.row(list(row))
            pdf.ln(2)
    pdf.ln(8)
    for (left, right), size, bold in zip(_signatures(minutes, t), (10, 9, 10), (True, False, True), strict=True):
        pdf.set_font("DejaVu", "B" if bold else "", size)
        if bold and not left.isupper():
            pdf.ln(16)  # room to sign above the names
        pdf.cell(half, 6, left, align="C")
        pdf.cell(half, 6, right, align="C", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _date_parts(moment: datetime) -> dict[str, str]:
    local = moment.astimezone(VIETNAM)
    return {"day": f"{local:%d}", "month": f"{local:%m}", "year": str(local.year)}


# --- DOCX -----------------------------------------------------------------------------------------------------


def minutes_docx(minutes: Minutes, t: Translate) -> bytes:
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Times New Roman"  # what offices print official documents in
    style.font.size = Pt(13)
    properties = document.core_properties
    properties.title, properties.author = minutes.meeting.title, "giaoban"
    stamp = minutes.as_of.astimezone(VIETNAM).replace(tzinfo=None)
    properties.created = properties.modified = stamp
    properties.revision = 1
    top = document.add_table(rows=1, cols=2)
    top.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = top.rows[0].cells
    _cell_text(left, minutes.chair_name.upper(), bold=True)
    _cell_text(right, f"{t(MOTTO[0])}\n{t(MOTTO[1])}", bold=True)
    date = document.add_paragraph(t("Date {day}/{month}/{year}").format(**_date_parts(minutes.as_of)))
    date.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for block in outline(minutes, t):
        if isinstance(block, Heading):
            paragraph = document.add_paragraph()
            paragraph.add_run(block.text).bold = True
        elif isinstance(block, Paragraph):
            paragraph = document.add_paragraph()
            paragraph.add_run(block.text).bold = block.bold
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if block.centred else WD_ALIGN_PARAGRAPH.JUSTIFY
        else:
            table = document.add_table(rows=1, cols=len(block.columns))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, block.columns, strict=True):
                _cell_text(cell, text, bold=True)
            for row in block.rows:
                for cell, text in zip(table.add_row().cells, row, strict=True):
                    cell.text = text
    signatures = document.add_table(rows=3, cols=2)
    for row, (left_text, right_text) in zip(signatures.rows, _signatures(minutes, t), strict=True):
        _cell_text(row.cells[0], left_text, bold=left_text.isupper())
        _cell_text(row.cells[1], right_text, bold=right_text.isupper())
    buffer = io.BytesIO()
    document.save(buffer)
    return stable_zip(buffer.getvalue(), minutes.as_of)


def _cell_text(cell: object, text: str, *, bold: bool) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    paragraph = cell.paragraphs[0]  # type: ignore[attr-defined]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run(text).bold = bold
