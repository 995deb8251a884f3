"""The status report as an administrative document (.docx) in the layout of Nghị định 30/2020/NĐ-CP, Phụ lục I:
A4 with its margins, Times New Roman; the issuing body and the number/symbol on the left, the national title and
motto on the right, the place and date; the document's kind and summary (trích yếu); the content; "Nơi nhận" and
the signer's position and name. Written with ``python-docx``: the document is built, not filled from a template,
so its text is what the report says and nothing else."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from workflow.calendar import local_date
from workflow.clock import PROVINCE_TZ
from workflow.errors import PayloadInvalid
from workflow.obligations import CATEGORIES

from .record import AgencyRecord
from .report import HEADERS_VI, StatusReport
from .views import printable

FONT = "Times New Roman"


@dataclass(frozen=True)
class Issuing:
    """Who issues the report and who signs it (the CLI's and the API's options; blank fields stay blank lines for
    the clerk to fill in by hand, as a draft for signature has them)."""

    parent: str = "ỦY BAN NHÂN DÂN TỈNH NINH THUẬN"
    issuer: str = "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
    issuer_name: str = "Sở Khoa học và Công nghệ"  # as it reads in a sentence
    symbol: str = "BC-SKHCN"
    number: str = ""
    place: str = "Ninh Thuận"
    position: str = "GIÁM ĐỐC"
    signer: str = ""
    recipients: tuple[str, ...] = field(default=(
        "Ban Chỉ đạo thực hiện Kế hoạch (để báo cáo);", "UBND tỉnh (để báo cáo);", "Các sở, ban, ngành, địa phương;",
        "Lưu: VT, QLKH."))

    def __post_init__(self) -> None:
        """A document holds printable text only: a control character (pasted, or sent by a client) is refused
        with the field's name, before anything is built."""
        problems = [(name, "must be printable text on one line (no control characters)")
                    for name in ("parent", "issuer", "issuer_name", "symbol", "number", "place", "position", "signer")
                    if not getattr(self, name).isprintable()]
        problems += [("recipients", "must be printable text (no control characters)")
                     for line in self.recipients if not line.isprintable()][:1]
        if problems:
            raise PayloadInvalid(problems)


def issued_date(day: dt.date) -> str:
    """"ngày 05 tháng 01 năm 2023": days below 10 and months below 3 written with a leading zero (NĐ 30/2020)."""
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def _font(paragraph: Paragraph, size: float = 13, bold: bool = False, italic: bool = False,
          align: WD_ALIGN_PARAGRAPH | None = None) -> Paragraph:
    for run in paragraph.runs:
        run.font.name = FONT
        run.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
        run.font.size = Pt(size)
        run.font.bold = bold or run.font.bold
        run.font.italic = italic or run.font.italic
    if align is not None:
        paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(0)
    return paragraph


def _line(cell_or_doc: object, text: str, size: float = 13, bold: bool = False, italic: bool = False,
          align: WD_ALIGN_PARAGRAPH | None = WD_ALIGN_PARAGRAPH.CENTER, underline: bool = False) -> Paragraph:
    add = cell_or_doc.add_paragraph  # type: ignore[attr-defined]
    paragraph: Paragraph = add()
    run = paragraph.add_run(printable(text))
    run.font.underline = underline
    return _font(paragraph, size, bold, italic, align)


def _borderless(table: Table) -> None:
    borders = table._tbl.tblPr.first_child_found_in("w:tblBorders")
    if borders is not None:
        table._tbl.tblPr.remove(borders)


def _header(document: object, issuing: Issuing, today: dt.date) -> None:
    table = document.add_table(rows=1, cols=2)  # type: ignore[attr-defined]
    _borderless(table)
    left, right = table.rows[0].cells
    left.width, right.width = Mm(65), Mm(100)
    for cell in (left, right):
        cell.paragraphs[0]._element.getparent().remove(cell.paragraphs[0]._element)
    _line(left, issuing.parent, 12)
    _line(left, issuing.issuer, 12, bold=True, underline=True)
    _line(left, f"Số: {issuing.number or '       '}/{issuing.symbol}", 13)
    _line(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True)
    _line(right, "Độc lập - Tự do - Hạnh phúc", 13, bold=True, underline=True)
    _line(right, f"{issuing.place}, {issued_date(today)}", 13, italic=True)


def _per_agency(report: StatusReport) -> list[tuple[str, dict[str, int]]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CATEGORIES, 0))
    for row in report.rows:
        for category in CATEGORIES:
            totals[row.agency_name or row.agency][category] += getattr(row, category)
    return sorted(totals.items())


def _percent(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f}".replace(".", ",") + "%" if whole else "0%"


def to_docx(report: StatusReport, issuing: Issuing | None = None, today: dt.date | None = None,
            record: AgencyRecord | None = None) -> bytes:
    """The report as a .docx an office can sign and send. ``today``: the date it is issued (default: the day
    the report speaks of)."""
    issuing = issuing or Issuing()
    as_of = local_date(dt.datetime.fromisoformat(report.as_of))
    today = today or as_of
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(13)

    _header(document, issuing, today)
    _line(document, "")
    _line(document, "BÁO CÁO", 14, bold=True)
    _line(document, f"Tình hình thực hiện Kế hoạch khoa học và công nghệ đến hết ngày {as_of:%d/%m/%Y}", 14,
          bold=True)
    if report.known_at:
        at = dt.datetime.fromisoformat(report.known_at.replace("Z", "+00:00")).astimezone(PROVINCE_TZ)
        _line(document, f"(theo dữ liệu ghi nhận đến {at:%H:%M} ngày {at:%d/%m/%Y})", 13, italic=True)
    _line(document, "")

    body = WD_ALIGN_PARAGRAPH.JUSTIFY
    totals = report.totals
    assigned = sum(totals.get(c, 0) for c in CATEGORIES)
    _line(document, f"{issuing.issuer_name} báo cáo tình hình thực hiện các nhiệm vụ được giao theo Kế "
                    f"hoạch đến hết ngày {as_of:%d/%m/%Y} như sau:", align=body)
    _line(document, "I. TÌNH HÌNH CHUNG", bold=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    _line(document, f"Tổng số lượt nhiệm vụ đã giao: {assigned}, trong đó:", align=body)
    for category in CATEGORIES:
        count = totals.get(category, 0)
        _line(document, f"- {HEADERS_VI[category]}: {count} ({_percent(count, assigned)});", align=body)
    _line(document, f"- Số trường hợp quá hạn đã báo cáo Ban Chỉ đạo, chưa xử lý: {totals.get('escalations_open', 0)}.",
          align=body)

    _line(document, "II. KẾT QUẢ THEO CƠ QUAN, ĐƠN VỊ", bold=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    agencies = _per_agency(report)
    table = document.add_table(rows=1, cols=2 + len(CATEGORIES))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, ["STT", "Cơ quan, đơn vị", *(HEADERS_VI[c] for c in CATEGORIES)],
                          strict=True):
        cell.text = printable(text)
        _font(cell.paragraphs[0], 11, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for number, (name, counts) in enumerate(agencies, start=1):
        cells = table.add_row().cells
        for index, text in enumerate([str(number), name, *(str(counts[c]) for c in CATEGORIES)]):
            cells[index].text = printable(text)
            _font(cells[index].paragraphs[0], 11,
                  align=WD_ALIGN_PARAGRAPH.LEFT if index == 1 else WD_ALIGN_PARAGRAPH.CENTER)
    cells = table.add_row().cells
    for index, text in enumerate(["", "Tổng cộng", *(str(totals.get(c, 0)) for c in CATEGORIES)]):
        cells[index].text = printable(text)
        _font(cells[index].paragraphs[0], 11, bold=True,
              align=WD_ALIGN_PARAGRAPH.LEFT if index == 1 else WD_ALIGN_PARAGRAPH.CENTER)

    numerals = iter(("III", "IV"))
    if report.flags:
        _line(document, f"{next(numerals)}. CHỈ TIÊU CHƯA ĐẠT", bold=True, align=WD_ALIGN_PARAGRAPH.LEFT)
        for flag in report.flags:
            _line(document, f"- {flag['agency']}, năm {flag['year']}: {flag['message']}.", align=body)
    if record is not None:
        _evaluation(document, record, next(numerals))

    _line(document, "")
    _signature(document, issuing)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


EVALUATION_COLUMNS = (("share_on_time", "Tỷ lệ hoàn thành đúng hạn"), ("overdue", "Quá hạn, chưa hoàn thành"),
                      ("days_late_median", "Số ngày trễ (trung vị)"), ("late_90", "Quá hạn trên 90 ngày"),
                      ("share_updated", "Tỷ lệ nhiệm vụ được cập nhật"), ("explanations_owed", "Chưa giải trình"))


def _evaluation(document: Any, record: AgencyRecord, numeral: str) -> None:
    """Section III.2 of the seed asks the Department to evaluate each agency for commendation and discipline: the
    record's figures per agency, and the facts that ground a proposal (not the proposal itself)."""
    body = WD_ALIGN_PARAGRAPH.JUSTIFY
    _line(document, f"{numeral}. ĐÁNH GIÁ KẾT QUẢ THỰC HIỆN", bold=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    prompt = [r.agency_name for r in record.rows if r.share_on_time == 1 and not r.overdue and r.done_on_time]
    slow = [f"{r.agency_name} ({r.overdue_91_180 + r.overdue_over_180})" for r in record.rows
            if r.overdue_91_180 + r.overdue_over_180]
    owed = [f"{r.agency_name} ({r.explanations_owed})" for r in record.rows if r.explanations_owed]
    _line(document, "- Cơ quan, đơn vị hoàn thành đúng hạn mọi nhiệm vụ đã hoàn thành và không có nhiệm vụ quá hạn: "
                    f"{', '.join(prompt) or 'không có'}.", align=body)
    _line(document, "- Cơ quan, đơn vị có nhiệm vụ quá hạn trên 90 ngày (số nhiệm vụ): "
                    f"{', '.join(slow) or 'không có'}.", align=body)
    _line(document, f"- Cơ quan, đơn vị chưa giải trình theo yêu cầu: {', '.join(owed) or 'không có'}.", align=body)
    table = document.add_table(rows=1, cols=2 + len(EVALUATION_COLUMNS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, ["STT", "Cơ quan, đơn vị", *(h for _, h in EVALUATION_COLUMNS)],
                          strict=True):
        cell.text = printable(text)
        _font(cell.paragraphs[0], 11, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for number, r in enumerate(record.rows, start=1):
        values = {"share_on_time": _share(r.share_on_time), "overdue": str(r.overdue),
                  "days_late_median": "—" if r.days_late_median is None else f"{r.days_late_median:g}".replace(
                      ".", ","), "late_90": str(r.overdue_91_180 + r.overdue_over_180),
                  "share_updated": _share(r.share_updated), "explanations_owed": str(r.explanations_owed)}
        cells = table.add_row().cells
        for index, text in enumerate([str(number), r.agency_name, *(values[k] for k, _ in EVALUATION_COLUMNS)]):
            cells[index].text = printable(text)
            _font(cells[index].paragraphs[0], 11,
                  align=WD_ALIGN_PARAGRAPH.LEFT if index == 1 else WD_ALIGN_PARAGRAPH.CENTER)


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _signature(document: object, issuing: Issuing) -> None:
    table = document.add_table(rows=1, cols=2)  # type: ignore[attr-defined]
    _borderless(table)
    left, right = table.rows[0].cells
    for cell in (left, right):
        cell.paragraphs[0]._element.getparent().remove(cell.paragraphs[0]._element)
    _line(left, "Nơi nhận:", 12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for recipient in issuing.recipients:
        _line(left, f"- {recipient}", 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _line(right, issuing.position.upper(), 13, bold=True)
    for _ in range(4):  # room for the signature and the seal
        _line(right, "")
    _line(right, issuing.signer, 13, bold=True)
