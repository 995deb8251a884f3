"""The engine's refusals as the pages say them: one sentence in the page's language built from the refusal's own
attributes (its kind, the assignee, the roles), and each field's problem beside the field.

The engine's field problems are short English phrases with a value in them ("must be at least 0", "'x' is not a
date (YYYY-MM-DD)"); ``FIELD_PROBLEMS`` says each pattern in Vietnamese. A problem no pattern knows is shown as
the engine wrote it (``tests/web`` checks that the shipped definitions' refusals all have their words)."""

from __future__ import annotations

import re

from definitions import WorkflowError
from workflow.errors import (
    AgencyMismatch,
    DuplicateBusinessKey,
    EventNotAllowed,
    GuardFailed,
    PayloadInvalid,
    Refused,
    RoleNotAllowed,
    VersionConflict,
)

FIELD_PROBLEMS: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"^required$"), "Bắt buộc nhập.", "Required."),
    (re.compile(r"^required for this event$"), "Bắt buộc nhập lý do cho thao tác này.",
     "A reason is required for this action."),
    (re.compile(r"^must not be blank$"), "Không được để trống.", "Must not be blank."),
    (re.compile(r"^must be one line$"), "Chỉ được nhập một dòng.", "Must be one line."),
    (re.compile(r"^longer than (\d+) characters$"), "Dài quá {0} ký tự.", "Longer than {0} characters."),
    (re.compile(r"^must be a whole number, not .*$"), "Phải là số nguyên.", "Must be a whole number."),
    (re.compile(r"^must be at least (.+)$"), "Không được nhỏ hơn {0}.", "Must be at least {0}."),
    (re.compile(r"^must be at most (.+)$"), "Không được lớn hơn {0}.", "Must be at most {0}."),
    (re.compile(r"^'?(.*?)'? is not a date \(YYYY-MM-DD\)$"), "“{0}” không phải là ngày hợp lệ (ngày/tháng/năm).",
     "“{0}” is not a valid date (dd/mm/yyyy)."),
    (re.compile(r"^must be one of (.+)$"), "Hãy chọn một trong các giá trị đã cho.", "Choose one of the values."),
    (re.compile(r"^'?(.*?)'? is not a document reference.*$"),
     "“{0}” không đúng dạng số/ký hiệu văn bản (ví dụ 472/QĐ-UBND).",
     "“{0}” is not a document reference (number/symbol, e.g. 472/QĐ-UBND)."),
    (re.compile(r"^'?(.*?)'? is not an agency code.*$"), "“{0}” không phải là mã cơ quan.",
     "“{0}” is not an agency code."),
    (re.compile(r"^unknown field.*$"), "Trường không có trong biểu mẫu.", "Not a field of this form."),
    (re.compile(r"^give exactly one of .*$"), "Hãy nhập đúng một trong ba: ngày mới, số ngày hoặc số ngày làm việc.",
     "Give exactly one of: a new date, a number of days, a number of working days."),
    (re.compile(r"^must be a positive number of days$"), "Số ngày phải lớn hơn 0.", "Must be more than 0 days."),
]


def field_problem(message: str, lang: str) -> str:
    for pattern, vi, en in FIELD_PROBLEMS:
        found = pattern.match(message)
        if found:
            return (vi if lang == "vi" else en).format(*found.groups())
    return message


def said(err: WorkflowError, lang: str, names: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The refusal as one sentence, and each field's problem (field name → words) for the form."""
    vi = lang == "vi"
    fields: dict[str, str] = {}
    if isinstance(err, PayloadInvalid):
        fields = {name: field_problem(message, lang) for name, message in err.errors}
        return ("Thông tin nhập chưa đúng; xem các ô được đánh dấu bên dưới." if vi
                else "Some entries are not right; see the marked fields below."), fields
    if isinstance(err, AgencyMismatch):
        owner = names.get(err.assignee, err.assignee)
        return (f"Nhiệm vụ này giao cho {owner}; cán bộ của cơ quan khác không thực hiện được." if vi
                else f"This task is assigned to {owner}; officers of another agency cannot act on it."), fields
    if isinstance(err, RoleNotAllowed):
        return ("Vai trò của bạn không được thực hiện thao tác này." if vi
                else "Your role may not do this."), fields
    if isinstance(err, EventNotAllowed):
        return ("Thao tác này không thực hiện được ở trạng thái hiện tại của nhiệm vụ (có thể vừa có người khác "
                "cập nhật); hãy tải lại trang." if vi else
                "This action is not possible in the task's present state (someone may have just updated it); "
                "reload the page."), fields
    if isinstance(err, VersionConflict):
        return ("Nhiệm vụ vừa được người khác cập nhật; hãy tải lại trang rồi thực hiện lại." if vi
                else "Someone has just updated this task; reload the page and try again."), fields
    if isinstance(err, GuardFailed):
        explanation = str(err).split("refused: ", 1)[-1]
        return (f"Chưa đủ điều kiện: {explanation}" if vi else f"Not possible yet: {explanation}"), fields
    if isinstance(err, DuplicateBusinessKey):
        return ("Đã có nhiệm vụ với mã nghiệp vụ này." if vi else "A task with this business key exists."), fields
    if isinstance(err, Refused) and "late answers are refused" in str(err):
        return ("Đã quá hạn; quy trình này không nhận văn bản sau hạn." if vi
                else "The deadline has passed; this workflow accepts nothing after it."), fields
    return str(err), fields
