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
from collections.abc import Iterable, Mapping, Sequence
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
    instances = instances_by_id(store, {i for i, _ in obligations} | set(escalations))
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


def instances_by_id(store: SqlStore, ids: set[int]) -> dict[int, InstanceRecord]:
    """The instances of ``ids``, read a page at a time."""
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
    writer.writerow([c.header for c in STATUS_COLUMNS])
    for r in report.rows:
        writer.writerow([cell(getattr(r, c.field)) for c in STATUS_COLUMNS])
    return buffer.getvalue()


@dataclass(frozen=True)
class Column:
    """One column of a workbook's sheet: the field it shows, its header (Vietnamese), its width in characters, and
    how its cells read: ``text``, ``long`` (wrapped), ``count``, ``share`` (a percentage) or ``day`` (dd/mm/yyyy)."""

    field: str
    header: str
    width: int = 14
    kind: str = "count"


#: every sheet's columns, written once: the status report's, the agencies' record's, the tasks'
STATUS_COLUMNS = (Column("agency", HEADERS_VI["agency"], 11, "text"), Column("agency_name", "Cơ quan", 34, "text"),
                  Column("section", "Mục", 8, "text"), Column("duty", "Nhiệm vụ", 60, "long"),
                  *(Column(c, HEADERS_VI[c]) for c in (*CATEGORIES, "escalations_open")))
RECORD_COLUMNS = (Column("agency_name", "Cơ quan", 40, "text"),
                  *(Column(f, RECORD_HEADERS[f], 12, "share" if f.startswith("share") else "count")
                    for f in RECORD_HEADERS if f != "agency"))
TASK_COLUMNS = (Column("agency_name", "Cơ quan", 30, "text"), Column("section", "Mục", 8, "text"),
                Column("duty", "Nhiệm vụ", 50, "long"), Column("business_key", "Mã nhiệm vụ", 24, "text"),
                Column("started_on", "Tính từ ngày", 12, "day"), Column("last_day", "Hạn cuối", 12, "day"),
                Column("category", "Tình trạng", 26, "text"), Column("closed_on", "Ngày hoàn thành", 13, "day"),
                Column("days_late", "Số ngày quá hạn", 10), Column("answer", "Văn bản thực hiện", 34, "long"))


def to_xlsx(report: StatusReport, record: AgencyRecord | None = None,
            tasks: Sequence[Mapping[str, Any]] | None = None) -> bytes:
    """A workbook people can sort and print, each sheet with a title, a bold header row kept in view (frozen) with
    filters, columns wide enough for their text, counts as numbers, shares as percentages and days as dates: the
    status report; with ``record`` the sheet "Đánh giá cơ quan" (``service.record``); with ``tasks`` the sheet
    "Danh sách nhiệm vụ" (every obligation: its last day, how it stands, days late, the document that met it)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Tình hình thực hiện"
    last = _sheet(sheet, heading(report), STATUS_COLUMNS, report.rows)
    sheet.append(["", "Tổng cộng", "", "", *(report.totals[c] for c in (*CATEGORIES, "escalations_open"))])
    for total in sheet[sheet.max_row]:
        total.font = Font(bold=True)
    sheet.auto_filter.ref = f"A2:{_letter(len(STATUS_COLUMNS))}{last}"
    if report.flags:
        _flags_sheet(book.create_sheet("Cảnh báo"), report)
    if record is not None:
        _sheet(book.create_sheet("Đánh giá cơ quan"), "Bảng theo dõi, đánh giá các cơ quan đến hết ngày "
               f"{dt.date.fromisoformat(record.as_of):%d/%m/%Y}", RECORD_COLUMNS, record.rows, freeze="B3")
    if tasks is not None:
        _sheet(book.create_sheet("Danh sách nhiệm vụ"), f"Danh sách nhiệm vụ đến hết ngày {_as_of_day(report)}",
               TASK_COLUMNS, tasks, freeze="C3")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))


def _as_of_day(report: StatusReport) -> str:
    return f"{local_date(dt.datetime.fromisoformat(report.as_of)):%d/%m/%Y}"


def _sheet(sheet: Any, title: str, columns: Sequence[Column], rows: Iterable[Any], freeze: str = "A3") -> int:
    """A title, the header row and one row per item (an object or a mapping) by ``columns``; the last row's number."""
    from openpyxl.styles import Alignment, Font, PatternFill

    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([c.header for c in columns])
    for header in sheet[2]:
        header.font = Font(bold=True)
        header.fill = PatternFill("solid", fgColor="DDEBF7")
        header.alignment = Alignment(wrap_text=True, vertical="center")
    for row in rows:
        get = row.get if isinstance(row, Mapping) else lambda f, r=row: getattr(r, f)
        sheet.append([_typed(get(c.field), c.kind) for c in columns])
        for value, column in zip(sheet[sheet.max_row], columns, strict=True):
            if column.kind == "share":
                value.number_format = "0%"
            elif column.kind == "day" and value.value is not None:
                value.number_format = "DD/MM/YYYY"
            elif column.kind == "long":
                value.alignment = Alignment(wrap_text=True, vertical="top")
    last = sheet.max_row
    sheet.freeze_panes = freeze
    sheet.auto_filter.ref = f"A2:{_letter(len(columns))}{last}"
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[_letter(index)].width = column.width
    sheet.row_dimensions[2].height = 45
    return int(last)


def _typed(value: Any, kind: str) -> Any:
    if kind == "day" and isinstance(value, str) and value:
        return dt.date.fromisoformat(value[:10])
    return cell(value) if kind in ("text", "long") else value


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


def to_json(report: StatusReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2)
