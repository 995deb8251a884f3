"""The status report of the plan: per agency and per duty, the standard categories of Vietnamese task
monitoring: done on time, done late, not done and still within the deadline, not done and overdue; with the
escalations still open. Final states marked ``not_done`` (no answer) count as overdue; ``cancelled`` ones
are left out. Yearly S&T budget shares below the plan's target (0.5%; 1% from 2025) are flagged.
The CLI, the API and the dashboard all call ``status_report``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from definitions.model import Outcome
from store import SqlStore
from workflow import Engine
from workflow.calendar import local_date

CATEGORIES = ("done_on_time", "done_late", "within_deadline", "overdue")
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
    as_of: str
    rows: list[Row] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    flags: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "totals": self.totals, "flags": self.flags, "rows": [asdict(r) for r in self.rows]}


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
            "message": f"tỷ lệ chi KH&CN {share:.3f}% thấp hơn mục tiêu {target}% / below the target"}


def status_report(engine: Engine, store: SqlStore, as_of: dt.datetime) -> StatusReport:
    """Counted in the database (``SqlStore.report_groups``: one aggregate query), then mapped to the
    categories here with each definition's final-state outcomes; only budget-share instances are read whole."""
    names = store.agency_names()
    rows: dict[tuple[str, str, str], Row] = {}
    report = StatusReport(as_of=as_of.isoformat())
    for group in store.report_groups(as_of):
        definition = engine.definition(group.definition_id, group.definition_version)
        state = definition.state(group.state)
        final = group.state in definition.final_states
        outcome = state.outcome or Outcome.DONE
        if final and outcome is Outcome.CANCELLED:
            continue
        section = str(group.section or definition.seed_section)
        duty = str(group.duty or definition.title.vi)
        key = (group.assignee, section, duty)
        row = rows.get(key)
        if row is None:
            row = rows[key] = Row(group.assignee, names.get(group.assignee, group.assignee), section, duty)
        if final and outcome is Outcome.DONE:
            if group.late:
                row.done_late += group.count
            else:
                row.done_on_time += group.count
        elif final or group.deadline_passed:
            row.overdue += group.count
        else:
            row.within_deadline += group.count
        row.escalations_open += group.open_escalations
    after = 0
    while batch := store.list_instances(definition_id="budget_share", after_id=after, limit=1000):
        after = batch[-1].id
        for instance in batch:
            definition = engine.definition(instance.definition_id, instance.definition_version)
            if instance.created_at <= as_of and instance.state in definition.final_states:
                flag = _budget_flag(dict(instance.data))
                if flag is not None:
                    report.flags.append({"instance_id": instance.id, "agency": instance.assignee, **flag})
    report.rows = sorted(rows.values(), key=lambda r: (r.agency, r.section, r.duty))
    report.totals = {c: sum(getattr(r, c) for r in report.rows) for c in (*CATEGORIES, "escalations_open")}
    return report


def to_table(report: StatusReport) -> str:
    columns = ["agency", "section", *CATEGORIES, "escalations_open", "duty"]
    short = {"agency": "cơ quan", "section": "mục", "done_on_time": "đúng hạn", "done_late": "quá hạn (xong)",
             "within_deadline": "trong hạn", "overdue": "quá hạn", "escalations_open": "BCĐ", "duty": "nhiệm vụ"}
    widths = {c: max(len(short[c]), *(len(str(getattr(r, c))) for r in report.rows)) if report.rows else len(short[c])
              for c in columns[:-1]}
    line = "  ".join(short[c].ljust(widths[c]) for c in columns[:-1]) + "  " + short["duty"]
    out = [f"Tình hình thực hiện đến {report.as_of}", line, "-" * len(line)]
    for r in report.rows:
        out.append("  ".join(str(getattr(r, c)).ljust(widths[c]) for c in columns[:-1]) + "  " + r.duty)
    out.append("Tổng: " + ", ".join(f"{short[c]} {report.totals[c]}" for c in (*CATEGORIES, "escalations_open")))
    out.extend(f"! {f['agency']} {f['year']}: {f['message']}" for f in report.flags)
    return "\n".join(out)


def to_csv(report: StatusReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    fields = list(HEADERS_VI)
    writer.writerow([HEADERS_VI[f] for f in fields])
    for r in report.rows:
        writer.writerow([getattr(r, f) for f in fields])
    return buffer.getvalue()


def to_xlsx(report: StatusReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Tình hình thực hiện"
    fields = list(HEADERS_VI)
    as_of = local_date(dt.datetime.fromisoformat(report.as_of))
    sheet.append([f"Tình hình thực hiện Kế hoạch đến ngày {as_of:%d/%m/%Y}"])
    sheet.append([HEADERS_VI[f] for f in fields])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for r in report.rows:
        sheet.append([getattr(r, f) for f in fields])
    sheet.append(["", "Tổng", "", "", *(report.totals[c] for c in (*CATEGORIES, "escalations_open"))])
    if report.flags:
        flags = book.create_sheet("Cảnh báo")
        flags.append(["Cơ quan", "Năm", "Tỷ lệ (%)", "Mục tiêu (%)", "Nội dung"])
        for f in report.flags:
            flags.append([f["agency"], f["year"], f["share_percent"], f["target_percent"], f["message"]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_json(report: StatusReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2)
