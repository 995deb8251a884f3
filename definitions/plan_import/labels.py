"""What each flag and deadline kind means, in Vietnamese first (English by the switch), for the CLI and the pages."""

from __future__ import annotations

from typing import Any

FLAGS: dict[str, tuple[str, str]] = {
    "lead_not_found": ("Không tìm thấy cơ quan chủ trì", "No lead body found"),
    "lead_not_in_registry": ("Cơ quan chủ trì chưa có trong danh mục cơ quan (đề xuất thêm mới)",
                             "Lead body not in the registry (proposed as a new entry)"),
    "lead_matched_approximately": ("Cơ quan chủ trì khớp gần đúng với danh mục", "Lead body matched approximately"),
    "lead_group_expanded": ("Cơ quan chủ trì là một nhóm, đã liệt kê theo danh mục",
                            "Lead is a group, expanded from the registry"),
    "lead_group_unresolved": ("Cơ quan chủ trì là một nhóm chưa xác định được thành viên",
                              "Lead is a group whose members are unknown"),
    "cooperating_not_in_registry": ("Cơ quan phối hợp chưa có trong danh mục", "Co-operating body not in the registry"),
    "cooperating_matched_approximately": ("Cơ quan phối hợp khớp gần đúng", "Co-operating body matched approximately"),
    "cooperating_group_expanded": ("Cơ quan phối hợp là một nhóm, đã liệt kê theo danh mục",
                                   "Co-operating group expanded from the registry"),
    "cooperating_group_unresolved": ("Cơ quan phối hợp ghi chung (\"các cơ quan liên quan\")",
                                     "Co-operating bodies named only in general"),
    "no_deadline": ("Không ghi thời hạn", "No deadline written"),
    "deadline_unreadable": ("Thời hạn ghi trong bảng nhưng không hiểu được", "Deadline written but not understood"),
    "deadline_incomplete": ("Thời hạn thiếu năm hoặc ngày", "Deadline lacks its year or day"),
    "year_assumed": ("Thời hạn không ghi năm: lấy năm của văn bản", "No year written: the document's year assumed"),
    "year_unknown": ("Thời hạn không ghi năm và văn bản không ghi ngày", "No year written and the document is undated"),
    "before_date_reading": ("\"Trước ngày X\": hạn là hết ngày liền trước X hay hết ngày X, cần chọn",
                            "\"Before X\": by the end of the day before X, or of X; choose"),
    "before_month": ("\"Trước tháng X\": hạn là hết tháng liền trước",
                     "\"Before month X\": by the end of the month before"),
    "before_year": ("\"Trước năm X\": hạn là hết năm liền trước", "\"Before year X\": by the end of the year before"),
    "several_deadlines": ("Đoạn văn ghi nhiều thời hạn: đã chọn thời hạn hoàn thành", "Several deadlines written"),
    "months_as_days": ("Thời hạn tính bằng tháng, đã quy ra ngày", "A period in months, counted as days"),
    "yearly_without_date": ("\"Hằng năm\" không ghi ngày cụ thể", "\"Yearly\" without a date"),
    "definition_for_period": ("Chưa có quy trình cho chu kỳ này: cần chọn quy trình",
                              "No workflow for this period yet: choose one"),
    "depends_on_event": ("Thời hạn tính từ một sự kiện (phụ thuộc nhiệm vụ khác)",
                         "The deadline counts from an event (depends on another duty)"),
    "back_reference": ("Đoạn văn dẫn chiếu đến điểm khác (\"tại điểm a, b trên\")",
                       "Refers back to other points (\"at points a, b above\")"),
    "deadline_from_back_reference": ("Thời hạn lấy từ đoạn dẫn chiếu đến điểm này",
                                     "Deadline taken from a later point that refers back to this one"),
    "conditional": ("Nhiệm vụ chỉ phát sinh khi có điều kiện (\"nếu có khó khăn\")",
                    "A duty only when a condition arises"),
    "number_blank": ("Văn bản chưa ghi số", "The document's number is blank"),
    "date_blank": ("Văn bản chưa ghi ngày ban hành", "The document's date is blank"),
    "date_not_found": ("Không tìm thấy ngày ban hành", "The document's date not found"),
}
KINDS: dict[str, tuple[str, str]] = {
    "date": ("ngày cụ thể", "a date"), "end_of_month": ("hết tháng", "end of month"),
    "end_of_quarter": ("hết quý", "end of quarter"), "end_of_year": ("hết năm", "end of year"),
    "yearly": ("hằng năm, trước ngày", "yearly, before"), "periodic": ("định kỳ", "periodic"),
    "relative": ("tính từ sự kiện", "counted from an event"), "range": ("giai đoạn", "a period of years"),
    "ongoing": ("thường xuyên", "ongoing"),
}


def flag_words(flag: str, lang: str = "vi") -> str:
    vi, en = FLAGS.get(flag, (flag, flag))
    return vi if lang == "vi" else en


def _d(iso: str | None) -> str:
    if not iso:
        return "?"
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"


def rule_words(deadline: dict[str, Any] | None, lang: str = "vi") -> str:
    """A deadline rule in words, dates as dd/mm/yyyy: "hết tháng 12/2022", "20 ngày kể từ …"."""
    if deadline is None:
        return "không ghi thời hạn" if lang == "vi" else "no deadline"
    kind = deadline["kind"]
    vi = lang == "vi"
    if kind == "date":
        before = deadline.get("before")
        return (("trước ngày " if before else "đến hết ngày ") if vi else ("before " if before else "by ")) + \
            _d(deadline.get("date"))
    if kind == "end_of_month":
        month = deadline.get("month") or "?-?"
        y, m = month.split("-")
        return f"hết tháng {int(m) if m.isdigit() else m}/{y}" if vi else f"end of {m}/{y}"
    if kind == "end_of_quarter":
        q = deadline.get("quarter") or "?-Q?"
        y, n = q.split("-")
        return f"hết quý {n[1:]}/{y}" if vi else f"end of quarter {n[1:]}/{y}"
    if kind == "end_of_year":
        return f"hết năm {deadline['year']}" if vi else f"end of {deadline['year']}"
    if kind == "yearly":
        m, d = deadline["month_day"].split("-")
        return (f"hằng năm, trước ngày {d}/{m}" if vi else f"yearly, before {d}/{m}")
    if kind == "periodic":
        every = deadline["every"]
        words = {"1 month": "hằng tháng", "3 months": "hằng quý", "6 months": "6 tháng một lần", "1 year": "hằng năm"}
        return ("định kỳ " + words.get(every, every)) if vi else f"every {every}"
    if kind == "relative":
        unit = "ngày làm việc" if deadline.get("working") else "ngày"
        return (f"{deadline['days']} {unit} kể từ {deadline['from']}" if vi else
                f"{deadline['days']} {'working ' if deadline.get('working') else ''}days from {deadline['from']}")
    if kind == "range":
        return f"giai đoạn {deadline['from']}–{deadline['to']}" if vi else f"{deadline['from']}–{deadline['to']}"
    return "thường xuyên" if vi else "ongoing"
