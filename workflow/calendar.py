"""The business calendar: when a period ends under the Civil Code 2015 (art. 147-148), province time.

A period in days starts the day after its event and ends at 24:00 of its last day (Asia/Ho_Chi_Minh);
if that day is not a working day the period ends with the next working day. Working days exclude
weekends and public holidays (``holidays.VN``: lunar Tết and Giỗ Tổ, substitute days) but include the
Saturdays the government turns into working days; operator overrides (a day off or a working day
announced late) come first. Fixed dates ("before 05/11", "on 31/12") never move. Every answer carries
the steps that led to it, so a person can check it.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import holidays

from definitions import Deadline, DeadlineKind

from .clock import PROVINCE_TZ

# The last year whose announced schedule (swapped working days, Tết ranges) the installed `holidays` knows: its
# Vietnam calendar lists each year's announced swaps. Later years follow the Labour Code's defaults only.
ANNOUNCED_THROUGH = max(holidays.country_holidays("VN").special_public_holidays)
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
MAX_SPAN_DAYS = 20 * 366  # no legal period here is longer; a guard against a runaway roll


class DeadlineOutOfRange(ValueError):
    """A period that runs outside the dates the calendar can count (e.g. a typo'd year)."""


class OverrideKind(StrEnum):
    DAY_OFF = "day_off"
    WORKING_DAY = "working_day"


@dataclass(frozen=True)
class DayOverride:
    day: dt.date
    kind: OverrideKind
    reason: str


WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# How a deadline was counted, step by step, in the words of the law people here read (Vietnamese) and in English.
# A step is kept as its key and values, and put into words when shown, so each page speaks its own language.
STEPS: dict[str, tuple[str, str]] = {
    "event": ("Sự kiện xảy ra ngày {start}; thời hạn bắt đầu từ ngày tiếp theo (Điều 147 Bộ luật Dân sự 2015)",
              "event on {start}; day 1 is the next day (Civil Code art. 147)"),
    "day_n": ("Ngày thứ {n} của thời hạn là {day}", "day {n} is {day}"),
    "rolls": ("{day} là ngày nghỉ ({reason}): thời hạn kết thúc vào ngày làm việc tiếp theo (Điều 148 Bộ luật Dân sự "
              "2015)", "{day} is not a working day ({reason}): the period runs on to the next working day (art. 148)"),
    "hours": ("{hours} giờ kể từ {base} (giờ Việt Nam); thời hạn tính bằng giờ không chuyển sang ngày làm việc",
              "{hours} hours from {base} (province time); hours do not roll"),
    "month": ("Thời hạn trong tháng {month} kết thúc vào ngày cuối cùng của tháng: {day}",
              "a period within {month} ends with the month: {day}"),
    "year": ("Thời hạn trong năm {year} kết thúc vào ngày cuối cùng của năm: {day}",
             "a period within {year} ends with the year: {day}"),
    "working": ("Sự kiện xảy ra ngày {start}; đếm {count} ngày làm việc kể từ ngày tiếp theo",
                "event on {start}; {count} working days counted from the next day"),
    "skipped": ("{day} không tính ({reason})", "{day} not counted ({reason})"),
    "working_n": ("Ngày làm việc thứ {count} là {day}", "working day {count} is {day}"),
    "before": ("Trước ngày {boundary}: hạn cuối là hết ngày {day}; hạn là ngày cố định nên không lùi",
               "before {boundary}: due by the end of {day}; a fixed date never moves"),
    "on": ("Đúng ngày {day}: hạn là ngày cố định nên không lùi", "on {day}: a fixed date never moves"),
    "yearly": ("Hằng năm, trước ngày {day_month}: lần tới là {boundary}, hạn cuối là hết ngày {day}; hạn là ngày cố "
               "định nên không lùi", "yearly, before {day_month}: the next is {boundary}, due by the end of {day}; a "
               "fixed date never moves"),
    "ends": ("Thời hạn kết thúc lúc 24 giờ 00 ngày {day} (giờ Việt Nam)",
             "the period ends at 24:00 on {day} province time"),
    "ends_at": ("Thời hạn kết thúc lúc {time} ngày {day} (giờ Việt Nam)",
                "the period ends at {time} on {day} province time"),
    "provisional": ("Lịch nghỉ năm {year} chưa được Chính phủ công bố (thư viện holidays biết đến năm {known}): hạn "
                    "này là tạm tính, cần kiểm tra lại khi có thông báo",
                    "the holidays of {year} are not announced yet (the holidays library knows them through {known}): "
                    "this deadline is provisional; check it again when they are"),
    "extended_to": ("Gia hạn đến {day}: hạn cuối là hết ngày đó", "extended to {day}: due by the end of that day"),
    "extended_from": ("Gia hạn kể từ {day}", "extended from {day}"),
}

Step = tuple[str, tuple[tuple[str, Any], ...]]  # a key of STEPS and its values


def step(key: str, **values: Any) -> Step:
    return key, tuple(values.items())


def _word(value: Any, language: str) -> str:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        weekday = (WEEKDAYS_VI if language == "vi" else WEEKDAYS_EN)[value.weekday()]
        return f"{value:%d/%m/%Y} ({weekday})"
    return str(value)


def in_words(steps: Iterable[Step], language: str = "vi") -> tuple[str, ...]:
    """The steps as sentences, in Vietnamese (``vi``) or English (``en``)."""
    column = 0 if language == "vi" else 1
    return tuple(STEPS[key][column].format(**{k: _word(v, language) for k, v in values}) for key, values in steps)


@dataclass(frozen=True)
class Due:
    """The end of a period: its last day, the instant it ends (UTC) and how it was reached (``explained``; in
    words: ``steps`` in Vietnamese, ``steps_in("en")``)."""

    last_day: dt.date
    due_at: dt.datetime
    explained: tuple[Step, ...] = field(default=())
    provisional: bool = False  # it crosses a year whose holiday schedule the government has not announced yet

    @property
    def steps(self) -> tuple[str, ...]:
        return in_words(self.explained, "vi")

    def steps_in(self, language: str) -> tuple[str, ...]:
        return in_words(self.explained, language)

    def as_dict(self) -> dict[str, Any]:
        return {"last_day": self.last_day.isoformat(), "provisional": self.provisional,
                "due_at": self.due_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                "due_at_local": self.due_at.astimezone(PROVINCE_TZ).isoformat(), "steps": list(self.steps),
                "steps_en": list(self.steps_in("en"))}


def end_of_day(day: dt.date) -> dt.datetime:
    """24:00 of ``day`` in the province, as a UTC instant."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), PROVINCE_TZ).astimezone(dt.UTC)


def local_date(instant: dt.datetime) -> dt.date:
    return instant.astimezone(PROVINCE_TZ).date()


class BusinessCalendar:
    """Working days of Vietnam with operator overrides; computes deadlines with explanations."""

    def __init__(self, overrides: Iterable[DayOverride] = ()) -> None:
        self._public = holidays.country_holidays("VN", language="vi")
        self._overrides = {o.day: o for o in overrides}
        # Answers per day: immutable for this calendar (an override makes a new one). Measured: a deadline took
        # ~0.2 ms, mostly in holidays' per-day lookups, and every start and receipt computes one or two.
        self._why: dict[dt.date, str | None] = {}
        # Whole answers too (a Due is immutable): the same period from the same day recurs across tasks (every
        # start of a duty on one day presumes the same receipt and counts the same 20 days from it).
        self._dues: dict[tuple[Deadline, dt.datetime | dt.date], Due] = {}

    @property
    def overrides(self) -> tuple[DayOverride, ...]:
        return tuple(sorted(self._overrides.values(), key=lambda o: o.day))

    def with_override(self, override: DayOverride) -> BusinessCalendar:
        return BusinessCalendar([*self._overrides.values(), override])

    def why_not_working(self, day: dt.date) -> str | None:
        """None for a working day; otherwise the reason in Vietnamese (holiday name, weekend, override)."""
        if day in self._why:
            return self._why[day]
        reason = self._why[day] = self._why_not_working(day)
        return reason

    def _why_not_working(self, day: dt.date) -> str | None:
        override = self._overrides.get(day)
        if override is not None:
            if override.kind is OverrideKind.WORKING_DAY:
                return None
            return f"ngày nghỉ do cơ quan có thẩm quyền công bố: {override.reason}"
        name = self._public.get(day)
        if name:
            return str(name)
        if day.weekday() >= 5:
            if day in self._public.weekend_workdays:
                return None
            return WEEKDAYS_VI[day.weekday()]
        return None

    def is_working_day(self, day: dt.date) -> bool:
        return self.why_not_working(day) is None

    def _roll(self, day: dt.date, steps: list[Step]) -> dt.date:
        start = day
        while (reason := self.why_not_working(day)) is not None:
            steps.append(step("rolls", day=day, reason=reason))
            day += dt.timedelta(days=1)
            if (day - start).days > MAX_SPAN_DAYS:
                raise ValueError("no working day found within 20 years: check the calendar overrides")
        return day

    def due(self, deadline: Deadline, anchor: dt.datetime | dt.date) -> Due:
        """When ``deadline`` ends, counted from ``anchor`` (an instant, or the local date of an event)."""
        key = (deadline, anchor)
        known = self._dues.get(key)
        if known is not None:
            return known
        if len(self._dues) >= 4096:
            self._dues.clear()
        answer = self._dues[key] = self._counted(deadline, anchor)
        return answer

    def _counted(self, deadline: Deadline, anchor: dt.datetime | dt.date) -> Due:
        try:
            due = self._due(deadline, anchor)
        except OverflowError:
            raise DeadlineOutOfRange(f"the period from {anchor} runs outside the calendar (years 1-9999)") from None
        start = local_date(anchor) if isinstance(anchor, dt.datetime) else anchor
        if due.last_day.year > ANNOUNCED_THROUGH and not self._overrides_cover(start, due.last_day):
            warning = step("provisional", year=due.last_day.year, known=ANNOUNCED_THROUGH)
            return Due(due.last_day, due.due_at, (*due.explained, warning), provisional=True)
        return due

    def _overrides_cover(self, start: dt.date, last: dt.date) -> bool:
        """An operator has entered that year's announced days (any override in the year counts as the check)."""
        return any(o.day.year == last.year for o in self._overrides.values()) and start.year <= last.year

    def _due(self, deadline: Deadline, anchor: dt.datetime | dt.date) -> Due:
        instant = anchor if isinstance(anchor, dt.datetime) else None
        start = local_date(anchor) if isinstance(anchor, dt.datetime) else anchor
        steps: list[Step] = []
        kind = deadline.kind
        if kind is DeadlineKind.HOURS:
            assert deadline.hours is not None
            base = instant or end_of_day(start)
            due_at = base + dt.timedelta(hours=deadline.hours)
            steps.append(step("hours", hours=deadline.hours, base=f"{base.astimezone(PROVINCE_TZ):%H:%M %d/%m/%Y}"))
            return self._done(local_date(due_at - dt.timedelta(microseconds=1)), due_at, steps)
        if kind is DeadlineKind.DAYS:
            assert deadline.days is not None
            steps.append(step("event", start=start))
            last = start + dt.timedelta(days=deadline.days)
            steps.append(step("day_n", n=deadline.days, day=last))
            return self._done(self._roll(last, steps), None, steps)
        if kind is DeadlineKind.WORKING_DAYS:
            assert deadline.working_days is not None
            return self._working_days(start, deadline.working_days, steps)
        if kind is DeadlineKind.END_OF_MONTH:
            assert deadline.end_of_month is not None
            year, month = map(int, deadline.end_of_month.split("-"))
            last = dt.date(year, month, _cal.monthrange(year, month)[1])
            steps.append(step("month", month=f"{month:02d}/{year}", day=last))
            return self._done(self._roll(last, steps), None, steps)
        if kind is DeadlineKind.YEARLY_END_OF_MONTH:  # the month's end in the occurrence's year (or the next)
            assert deadline.yearly_end_of_month is not None
            month, year = deadline.yearly_end_of_month, start.year
            last = dt.date(year, month, _cal.monthrange(year, month)[1])
            if last < start:
                year += 1
                last = dt.date(year, month, _cal.monthrange(year, month)[1])
            steps.append(step("month", month=f"{month:02d}/{year}", day=last))
            return self._done(self._roll(last, steps), None, steps)
        if kind is DeadlineKind.END_OF_YEAR:
            assert deadline.end_of_year is not None
            last = dt.date(deadline.end_of_year, 12, 31)
            steps.append(step("year", year=deadline.end_of_year, day=last))
            return self._done(self._roll(last, steps), None, steps)
        return self._fixed(deadline, start, steps)

    def _working_days(self, start: dt.date, count: int, steps: list[Step]) -> Due:
        steps.append(step("working", start=start, count=count))
        day, counted = start, 0
        while counted < count:
            day += dt.timedelta(days=1)
            reason = self.why_not_working(day)
            if reason is None:
                counted += 1
            else:
                steps.append(step("skipped", day=day, reason=reason))
            if (day - start).days > MAX_SPAN_DAYS:
                raise ValueError("no working day found within 20 years: check the calendar overrides")
        steps.append(step("working_n", count=count, day=day))
        return self._done(day, None, steps)

    def _fixed(self, deadline: Deadline, start: dt.date, steps: list[Step]) -> Due:
        if deadline.before_date is not None:
            last = deadline.before_date - dt.timedelta(days=1)
            steps.append(step("before", boundary=f"{deadline.before_date:%d/%m/%Y}", day=last))
        elif deadline.on_date is not None:
            last = deadline.on_date
            steps.append(step("on", day=last))
        else:
            assert deadline.yearly is not None
            month, day = map(int, deadline.yearly.split("-"))
            year = start.year
            while True:
                try:
                    boundary = dt.date(year, month, day)
                except ValueError:  # 29 February in a common year: the day after 28 February
                    boundary = dt.date(year, 3, 1)
                if boundary > start:
                    break
                year += 1
            last = boundary - dt.timedelta(days=1)
            steps.append(step("yearly", day_month=f"{day:02d}/{month:02d}", boundary=f"{boundary:%d/%m/%Y}", day=last))
        return self._done(last, None, steps)

    @staticmethod
    def _done(last: dt.date, due_at: dt.datetime | None, steps: list[Step]) -> Due:
        end = due_at if due_at is not None else end_of_day(last)
        if due_at is None:
            steps.append(step("ends", day=f"{last:%d/%m/%Y}"))
        else:
            local = end.astimezone(PROVINCE_TZ)
            steps.append(step("ends_at", time=f"{local:%H:%M}", day=f"{local:%d/%m/%Y}"))
        return Due(last, end, tuple(steps))
