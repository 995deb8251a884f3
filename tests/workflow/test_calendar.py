"""The business calendar against DOMAIN.md's worked examples, Vietnamese holidays, overrides, and properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from definitions import Deadline
from workflow.calendar import BusinessCalendar, DayOverride, OverrideKind, end_of_day

CAL = BusinessCalendar()
D = dt.date


def last(deadline: Deadline, anchor: dt.date, calendar: BusinessCalendar = CAL) -> dt.date:
    return calendar.due(deadline, anchor).last_day


@pytest.mark.parametrize(("anchor", "deadline", "expected"), [
    # DOMAIN.md's worked examples
    (D(2022, 12, 15), Deadline(days=20), D(2023, 1, 4)),
    (D(2022, 12, 26), Deadline(days=20), D(2023, 1, 16)),  # 15/01 is a Sunday
    (D(2022, 11, 20), Deadline(end_of_month="2022-12"), D(2023, 1, 3)),  # Sat, Sun, observed New Year
    # Tết 2023: 25/01 (mùng bốn) and 26/01 (mùng năm) are days off
    (D(2023, 1, 5), Deadline(days=20), D(2023, 1, 27)),
    # Giỗ Tổ 2023 fell on Saturday 29/04, with 30/04 and 01/05: substitute days 02/05 and 03/05
    (D(2023, 4, 19), Deadline(days=10), D(2023, 5, 4)),
    # New Year 2022 on a Saturday, substitute Monday 03/01
    (D(2021, 12, 22), Deadline(days=10), D(2022, 1, 4)),
    # 04/05/2024 was a Saturday turned into a working day: a period ends on it without rolling
    (D(2024, 4, 24), Deadline(days=10), D(2024, 5, 4)),
    # ... while an ordinary Saturday rolls to Monday
    (D(2024, 5, 1), Deadline(days=10), D(2024, 5, 13)),
])
def test_calendar_day_periods(anchor: dt.date, deadline: Deadline, expected: dt.date) -> None:
    assert last(deadline, anchor) == expected


def test_worked_example_instants_are_24h_province_time() -> None:
    due = CAL.due(Deadline(days=20), D(2022, 12, 15))
    assert due.due_at == dt.datetime(2023, 1, 4, 17, 0, tzinfo=dt.UTC)  # 24:00 on 04/01 at UTC+7
    assert due.due_at == end_of_day(D(2023, 1, 4))


def test_the_explanation_is_in_vietnamese_citing_the_civil_code_and_in_english_by_the_switch() -> None:
    due = CAL.due(Deadline(end_of_month="2022-12"), D(2022, 11, 20))
    assert due.steps == (
        "Thời hạn trong tháng 12/2022 kết thúc vào ngày cuối cùng của tháng: 31/12/2022 (Thứ Bảy)",
        "31/12/2022 (Thứ Bảy) là ngày nghỉ (Thứ Bảy): thời hạn kết thúc vào ngày làm việc tiếp theo (Điều 148 Bộ "
        "luật Dân sự 2015)",
        "01/01/2023 (Chủ nhật) là ngày nghỉ (Tết Dương lịch): thời hạn kết thúc vào ngày làm việc tiếp theo (Điều 148 "
        "Bộ luật Dân sự 2015)",
        "02/01/2023 (Thứ Hai) là ngày nghỉ (Tết Dương lịch (nghỉ bù)): thời hạn kết thúc vào ngày làm việc tiếp theo "
        "(Điều 148 Bộ luật Dân sự 2015)",
        "Thời hạn kết thúc lúc 24 giờ 00 ngày 03/01/2023 (giờ Việt Nam)")
    assert due.steps_in("en")[-1] == "the period ends at 24:00 on 03/01/2023 province time"
    assert "(Monday) is not a working day" in due.steps_in("en")[3]
    days = CAL.due(Deadline(days=20), D(2022, 12, 15)).steps
    assert days[0] == ("Sự kiện xảy ra ngày 15/12/2022 (Thứ Năm); thời hạn bắt đầu từ ngày tiếp theo (Điều 147 Bộ "
                       "luật Dân sự 2015)")


def test_a_working_saturday_counts_as_a_working_day() -> None:
    assert CAL.is_working_day(D(2024, 5, 4))  # làm bù for the 30/4-1/5 holiday
    assert not CAL.is_working_day(D(2024, 5, 11))
    friday = D(2024, 5, 3)
    assert last(Deadline(working_days=1), friday) == D(2024, 5, 4)


def test_working_days_skip_tet() -> None:
    due = CAL.due(Deadline(working_days=10), D(2023, 1, 10))
    assert due.last_day == D(2023, 1, 31)
    assert sum("không tính" in s for s in due.steps) == 11


def test_fixed_dates_never_move() -> None:
    assert last(Deadline(before_date=D(2023, 11, 5)), D(2023, 1, 1)) == D(2023, 11, 4)  # a Saturday: no roll
    assert last(Deadline(on_date=D(2023, 1, 1)), D(2022, 12, 1)) == D(2023, 1, 1)  # a holiday: no roll
    assert last(Deadline(yearly="11-05"), D(2023, 11, 4)) == D(2023, 11, 4)
    assert last(Deadline(yearly="11-05"), D(2023, 11, 5)) == D(2024, 11, 4)
    assert last(Deadline(before_date=D(2023, 6, 1)), D(2023, 1, 1)) == D(2023, 5, 31)  # "trước tháng 6/2023"


def test_hours_do_not_roll() -> None:
    anchor = dt.datetime(2023, 1, 20, 10, 0, tzinfo=dt.UTC)  # Friday 29 Tết
    due = CAL.due(Deadline(hours=48), anchor)
    assert due.due_at == anchor + dt.timedelta(hours=48)


def test_end_of_year_rolls() -> None:
    assert last(Deadline(end_of_year=2023), D(2023, 3, 1)) == D(2024, 1, 2)  # Sun 31/12, Mon 01/01 holiday


def test_operator_overrides_move_deadlines() -> None:
    storm = CAL.with_override(DayOverride(D(2023, 1, 4), OverrideKind.DAY_OFF, "bão số 9"))
    due = storm.due(Deadline(days=20), D(2022, 12, 15))
    assert due.last_day == D(2023, 1, 5)
    assert any("bão số 9" in s for s in due.steps)
    sunday_worked = CAL.with_override(DayOverride(D(2023, 1, 15), OverrideKind.WORKING_DAY, "làm bù"))
    assert last(Deadline(days=20), D(2022, 12, 26), sunday_worked) == D(2023, 1, 15)


DATES = st.dates(min_value=D(2021, 1, 1), max_value=D(2030, 12, 31))


@settings(max_examples=300, deadline=None)
@given(anchor=DATES, n=st.integers(0, 120))
def test_a_working_day_deadline_ends_on_a_working_day(anchor: dt.date, n: int) -> None:
    due = CAL.due(Deadline(working_days=n), anchor)
    assert n == 0 or CAL.is_working_day(due.last_day)
    counted = sum(CAL.is_working_day(anchor + dt.timedelta(days=k)) for k in range(1, (due.last_day - anchor).days + 1))
    assert counted == n


@settings(max_examples=300, deadline=None)
@given(anchor=DATES, n=st.integers(1, 400))
def test_a_roll_happens_only_off_a_non_working_day(anchor: dt.date, n: int) -> None:
    nominal = anchor + dt.timedelta(days=n)
    due = CAL.due(Deadline(days=n), anchor).last_day
    assert CAL.is_working_day(due)
    assert due >= nominal
    for k in range((due - nominal).days):
        assert not CAL.is_working_day(nominal + dt.timedelta(days=k))


@settings(max_examples=200, deadline=None)
@given(anchor=DATES, boundary=DATES, off=DATES)
def test_a_fixed_date_never_moves(anchor: dt.date, boundary: dt.date, off: dt.date) -> None:
    calendar = CAL.with_override(DayOverride(off, OverrideKind.DAY_OFF, "x"))
    assert last(Deadline(on_date=boundary), anchor, calendar) == boundary
    assert last(Deadline(before_date=boundary), anchor, calendar) == boundary - dt.timedelta(days=1)


def test_a_period_off_the_calendar_is_a_clear_error() -> None:
    from workflow.calendar import DeadlineOutOfRange

    with pytest.raises(DeadlineOutOfRange, match="outside the calendar"):
        CAL.due(Deadline(days=30), D(9999, 12, 20))
    with pytest.raises(ValueError, match="outside 1900-2200"):
        Deadline(before_date=D(1, 1, 1))


def test_a_deadline_in_a_year_not_yet_announced_is_provisional() -> None:
    from workflow.calendar import ANNOUNCED_THROUGH

    calendar = BusinessCalendar()
    known = calendar.due(Deadline(days=20), dt.date(ANNOUNCED_THROUGH, 11, 1))
    assert not known.provisional
    later = calendar.due(Deadline(days=20), dt.date(ANNOUNCED_THROUGH, 12, 20))
    assert later.provisional
    assert f"Lịch nghỉ năm {ANNOUNCED_THROUGH + 1} chưa được Chính phủ công bố" in later.steps[-1]
    assert later.as_dict()["provisional"] is True


def test_days_late_is_counted_one_way_everywhere() -> None:
    """Issue 27: one count of days late (calendar days past the last day; the first day after it is 1) for the
    pages, the task list, the record and the workbook; for a deadline instant, None until it has passed."""
    from workflow.calendar import end_of_day
    from workflow.obligations import days_late, days_past

    last = dt.date(2023, 1, 31)
    assert [days_late(last, last + dt.timedelta(days=n)) for n in (-3, 0, 1, 5)] == [0, 0, 1, 5]
    due = end_of_day(last)  # 24:00 of 31/01 in the province
    assert days_past(due - dt.timedelta(seconds=1), due - dt.timedelta(seconds=2)) is None
    assert days_past(due, due - dt.timedelta(minutes=1)) is None
    assert days_past(due, due) == 1  # at the deadline the obligation is overdue (``category``): day 1
    assert days_past(due, due + dt.timedelta(days=1, hours=23)) == 2
    assert days_past(None, due) is None
