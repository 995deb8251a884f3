"""The status report of the plan: per agency and per duty, the four categories of Vietnamese task monitoring
(Hoàn thành đúng hạn, Hoàn thành quá hạn, Chưa hoàn thành trong hạn, Chưa hoàn thành quá hạn), counted over
obligations (``workflow.obligations``), never over states; with the escalations still open. Waived obligations
(a cancelled duty) are not counted. Yearly S&T budget shares below the plan's target (0.5%; 1% from 2025) are
flagged. The CLI, the API and the dashboard all call ``status_report``.

Two ways to the same figures: *now* is one aggregate query over the ``obligations`` table; *as of a date* (and
*as known at an instant*) is a replay of the history rows, under the agency names valid on that date. The
test suite checks that both agree today and that the replay agrees with an independent one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from store import SqlStore
from workflow import Engine, InstanceRecord
from workflow.calendar import local_date
from workflow.clock import PROVINCE_TZ
from workflow.obligations import CATEGORIES, end_of, replay

from .record import RECORD_HEADERS, AgencyRecord
from .views import cell

HEADERS_VI = {
    "agency": "Mã cơ quan", "agency_name": "Cơ quan", "section": "Mục", "duty": "Nhiệm vụ",
    "done_on_time": "Hoàn thành đúng hạn", "done_late": "Hoàn thành quá hạn",
    "within_deadline": "Chưa hoàn thành, trong hạn", "overdue": "Chưa hoàn thành, quá hạn",
    "escalations_open": "Báo cáo Ban Chỉ đạo chưa xử lý",
}


@dataclass
class Row:
    agency: str
    agency_name: str
    section: str
    duty: str
    done_on_time: int = 0
    done_late: int = 0
    within_deadline: int = 0
    overdue: int = 0
    escalations_open: int = 0


@dataclass
class StatusReport:
    as_of: str  # the instant the obligations are judged at (the end of the as-of day, or now)
    known_at: str | None = None  # only what had been recorded by then (the auditor's view)
    rows: list[Row] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    flags: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "known_at": self.known_at, "totals": self.totals, "flags": self.flags,
                "rows": [asdict(r) for r in self.rows]}


def _budget_flag(data: dict[str, Any]) -> dict[str, Any] | None:
    try:
        share = Decimal(str(data["st_budget"])) / Decimal(str(data["regular_spending"])) * 100
        year = int(data["year"])
    except (KeyError, ArithmeticError, ValueError):
        return None
    target = Decimal("1.0") if year >= 2025 else Decimal("0.5")
    if share >= target:
        return None
    return {"year": year, "share_percent": str(share.quantize(Decimal("0.001"))), "target_percent": str(target),
            "message": f"tỷ lệ chi KH&CN {vn_number(share, 3)}% thấp hơn mục tiêu {vn_number(target, 1)}%"}


def vn_number(value: Decimal, places: int) -> str:
    """A number as written in Vietnamese: "," before the decimals, "." between thousands (0,458; 1.250,5)."""
    text = f"{value:,.{places}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


class _Rows:
    """Report rows keyed by (agency, section, duty), named as on the report's day."""

    def __init__(self, engine: Engine, names: dict[str, str]) -> None:
        self.engine = engine
        self.names = names
        self.rows: dict[tuple[str, str, str], Row] = {}

    def get(self, agency: str, definition_id: str, version: int, section: Any, duty: Any) -> Row:
        if section is None or duty is None:
            definition = self.engine.definition(definition_id, version)
            section, duty = section or definition.seed_section, duty or definition.title.vi
        key = (agency, str(section), str(duty))
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = Row(agency, self.names.get(agency, agency), str(section), str(duty))
        return row


def status_report(engine: Engine, store: SqlStore, now: dt.datetime, as_of: dt.date | None = None,
                  known_at: dt.datetime | None = None) -> StatusReport:
    """The report now (``as_of`` None), or as of the end of ``as_of`` from history (optionally as known at
    ``known_at``: rows recorded by then)."""
    if as_of is None and known_at is None:
        return _now(engine, store, now)
    day = as_of or local_date(now)
    at = end_of(day)
    rows = _Rows(engine, store.agency_names_on(day))
    obligations, escalations = replay(store.iter_history(), day, known_at)
    instances = _instances(store, {i for i, _ in obligations} | set(escalations))
    for (instance_id, _), found in obligations.items():
        category = found.category(at)
        if category is None:
            continue
        instance = instances[instance_id]
        row = rows.get(found.agency, instance.definition_id, instance.definition_version,
                       instance.data.get("section"), instance.data.get("duty"))
        setattr(row, category, getattr(row, category) + 1)
    owners = {i: o.agency for (i, _), o in obligations.items()}
    for instance_id, count in escalations.items():
        instance = instances[instance_id]
        rows.get(owners.get(instance_id, instance.assignee), instance.definition_id, instance.definition_version,
                 instance.data.get("section"), instance.data.get("duty")).escalations_open += count
    report = StatusReport(as_of=at.isoformat(), known_at=known_at.isoformat() if known_at else None)
    return _finish(engine, store, report, rows, at)


def _now(engine: Engine, store: SqlStore, now: dt.datetime) -> StatusReport:
    rows = _Rows(engine, store.agency_names_on(local_date(now)))
    for group in store.report_groups(now):
        row = rows.get(group.agency, group.definition_id, group.definition_version, group.section, group.duty)
        setattr(row, group.category, getattr(row, group.category) + group.count)
    for agency, definition_id, version, section, duty, count in store.open_escalation_groups(now):
        rows.get(agency, definition_id, version, section, duty).escalations_open += count
    return _finish(engine, store, StatusReport(as_of=now.isoformat()), rows, now)


def _instances(store: SqlStore, ids: set[int]) -> dict[int, InstanceRecord]:
    found: dict[int, InstanceRecord] = {}
    after = 0
    while batch := store.list_instances(after_id=after, limit=5000):
        after = batch[-1].id
        found.update((i.id, i) for i in batch if i.id in ids)
    return found


def _finish(engine: Engine, store: SqlStore, report: StatusReport, rows: _Rows, at: dt.datetime) -> StatusReport:
    after = 0
    while batch := store.list_instances(definition_id="budget_share", after_id=after, limit=1000):
        after = batch[-1].id
        for instance in batch:
            definition = engine.definition(instance.definition_id, instance.definition_version)
            completed = instance.data.get("@completed_at")
            if instance.state in definition.final_states and isinstance(completed, str) and \
                    dt.datetime.fromisoformat(completed.replace("Z", "+00:00")) <= at:
                flag = _budget_flag(dict(instance.data))
                if flag is not None:
                    report.flags.append({"instance_id": instance.id, "agency": instance.assignee, **flag})
    report.rows = sorted(rows.rows.values(), key=lambda r: (r.agency, r.section, r.duty))
    report.totals = {c: sum(getattr(r, c) for r in report.rows) for c in (*CATEGORIES, "escalations_open")}
    return report


def heading(report: StatusReport) -> str:
    """The report's title as people read it: the day in dd/mm/yyyy and, for an auditor's view, the instant (province
    time, to the minute) up to which records were taken into account."""
    as_of = local_date(dt.datetime.fromisoformat(report.as_of))
    known = ""
    if report.known_at:
        at = dt.datetime.fromisoformat(report.known_at.replace("Z", "+00:00")).astimezone(PROVINCE_TZ)
        known = f" (theo dữ liệu ghi nhận đến {at:%H:%M} ngày {at:%d/%m/%Y})"
    return f"Tình hình thực hiện Kế hoạch đến hết ngày {as_of:%d/%m/%Y}{known}"


def to_table(report: StatusReport) -> str:
    """The report as text for a terminal: the four categories under their official names."""
    columns = ["agency", "section", *CATEGORIES, "escalations_open"]
    labels = {**HEADERS_VI, "agency": "Cơ quan", "escalations_open": "Báo cáo BCĐ"}
    widths = {c: max([len(labels[c]), *(len(str(getattr(r, c))) for r in report.rows)]) for c in columns}
    line = "  ".join(labels[c].ljust(widths[c]) for c in columns) + "  Nhiệm vụ"
    out = [heading(report), line, "-" * len(line)]
    for r in report.rows:
        out.append("  ".join(str(getattr(r, c)).rjust(widths[c]) if c in (*CATEGORIES, "escalations_open")
                             else str(getattr(r, c)).ljust(widths[c]) for c in columns) + "  " + r.duty)
    out.append("Tổng cộng: " + "; ".join(f"{labels[c]}: {report.totals[c]}" for c in (*CATEGORIES,
                                                                                    "escalations_open")))
    out.extend(f"! {f['agency']} năm {f['year']}: {f['message']}" for f in report.flags)
    return "\n".join(out)


def to_csv(report: StatusReport) -> str:
    """CSV with a byte-order mark: Excel on a Vietnamese Windows reads UTF-8 only when the file says so."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    fields = list(HEADERS_VI)
    writer.writerow([HEADERS_VI[f] for f in fields])
    for r in report.rows:
        writer.writerow([cell(getattr(r, f)) for f in fields])
    return buffer.getvalue()


def to_xlsx(report: StatusReport, record: AgencyRecord | None = None) -> bytes:
    """A workbook people can sort and print: a title, a bold header row kept in view (frozen) with filters,
    columns wide enough for their text, counts as numbers and shares as percentages; with ``record``, a second
    sheet "Đánh giá cơ quan" (``service.record``)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "Tình hình thực hiện"
    fields = list(HEADERS_VI)
    sheet.append([heading(report)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([HEADERS_VI[f] for f in fields])
    for header in sheet[2]:
        header.font = Font(bold=True)
        header.fill = PatternFill("solid", fgColor="DDEBF7")
        header.alignment = Alignment(wrap_text=True, vertical="center")
    for r in report.rows:
        sheet.append([cell(getattr(r, f)) for f in fields])
    last = sheet.max_row
    sheet.append(["", "Tổng cộng", "", "", *(report.totals[c] for c in (*CATEGORIES, "escalations_open"))])
    for total in sheet[sheet.max_row]:
        total.font = Font(bold=True)
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(fields))}{last}"
    widths = {"agency": 11, "agency_name": 34, "section": 8, "duty": 60}
    for index, name in enumerate(fields, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(name, 14)
        if name == "duty":
            for (value,) in sheet.iter_rows(min_row=3, max_row=last, min_col=index, max_col=index):
                value.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.row_dimensions[2].height = 45
    if report.flags:
        _flags_sheet(book.create_sheet("Cảnh báo"), report)
    if record is not None:
        _record_sheet(book.create_sheet("Đánh giá cơ quan"), record)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _flags_sheet(flags: Any, report: StatusReport) -> None:
    from openpyxl.styles import Font

    flags.append(["Cơ quan", "Năm", "Tỷ lệ chi KH&CN", "Mục tiêu", "Nội dung"])
    for header in flags[1]:
        header.font = Font(bold=True)
    for f in report.flags:
        flags.append([cell(f["agency"]), f["year"], float(f["share_percent"]) / 100,
                      float(f["target_percent"]) / 100, cell(f["message"])])
        for share in flags[flags.max_row][2:4]:
            share.number_format = "0.000%"
    for letter, width in zip("ABCDE", (11, 8, 16, 12, 70), strict=True):
        flags.column_dimensions[letter].width = width
    flags.freeze_panes = "A2"


def _record_sheet(sheet: Any, record: AgencyRecord) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    fields = ["agency_name", *(f for f in RECORD_HEADERS if f != "agency")]
    sheet.append([f"Bảng theo dõi, đánh giá các cơ quan đến hết ngày "
                  f"{dt.date.fromisoformat(record.as_of):%d/%m/%Y}"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(["Cơ quan" if f == "agency_name" else RECORD_HEADERS[f] for f in fields])
    for header in sheet[2]:
        header.font = Font(bold=True)
        header.fill = PatternFill("solid", fgColor="DDEBF7")
        header.alignment = Alignment(wrap_text=True, vertical="center")
    for r in record.rows:
        sheet.append([cell(getattr(r, f)) if f == "agency_name" else getattr(r, f) for f in fields])
        for value, name in zip(sheet[sheet.max_row], fields, strict=True):
            if name.startswith("share"):
                value.number_format = "0%"
    sheet.freeze_panes = "B3"
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(fields))}{sheet.max_row}"
    sheet.column_dimensions["A"].width = 40
    sheet.row_dimensions[2].height = 45


def to_json(report: StatusReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2)
