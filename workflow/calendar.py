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


@dataclass(frozen=True)
class Due:
    """The end of a period: its last day, the instant it ends (UTC) and how it was reached."""

    last_day: dt.date
    due_at: dt.datetime
    steps: tuple[str, ...] = field(default=())
    provisional: bool = False  # it crosses a year whose holiday schedule the government has not announced yet

    def as_dict(self) -> dict[str, Any]:
        return {"last_day": self.last_day.isoformat(), "provisional": self.provisional,
                "due_at": self.due_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                "due_at_local": self.due_at.astimezone(PROVINCE_TZ).isoformat(), "steps": list(self.steps)}


def end_of_day(day: dt.date) -> dt.datetime:
    """24:00 of ``day`` in the province, as a UTC instant."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), PROVINCE_TZ).astimezone(dt.UTC)


def local_date(instant: dt.datetime) -> dt.date:
    return instant.astimezone(PROVINCE_TZ).date()


def fmt(day: dt.date) -> str:
    return f"{day.isoformat()} ({WEEKDAYS_VI[day.weekday()]})"


class BusinessCalendar:
    """Working days of Vietnam with operator overrides; computes deadlines with explanations."""

    def __init__(self, overrides: Iterable[DayOverride] = ()) -> None:
        self._public = holidays.country_holidays("VN", language="vi")
        self._overrides = {o.day: o for o in overrides}
        # Answers per day: immutable for this calendar (an override makes a new one). Measured: a deadline took
        # ~0.2 ms, mostly in holidays' per-day lookups, and every start and receipt computes one or two.
        self._why: dict[dt.date, str | None] = {}

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

    def _roll(self, day: dt.date, steps: list[str]) -> dt.date:
        start = day
        while (reason := self.why_not_working(day)) is not None:
            steps.append(f"{fmt(day)} is not a working day ({reason}): the period runs on (art. 148)")
            day += dt.timedelta(days=1)
            if (day - start).days > MAX_SPAN_DAYS:
                raise ValueError("no working day found within 20 years: check the calendar overrides")
        return day

    def due(self, deadline: Deadline, anchor: dt.datetime | dt.date) -> Due:
        """When ``deadline`` ends, counted from ``anchor`` (an instant, or the local date of an event)."""
        try:
            due = self._due(deadline, anchor)
        except OverflowError:
            raise DeadlineOutOfRange(f"the period from {anchor} runs outside the calendar (years 1-9999)") from None
        start = local_date(anchor) if isinstance(anchor, dt.datetime) else anchor
        if due.last_day.year > ANNOUNCED_THROUGH and not self._overrides_cover(start, due.last_day):
            step = (f"lịch nghỉ năm {due.last_day.year} chưa được Chính phủ công bố (thư viện holidays biết đến năm "
                    f"{ANNOUNCED_THROUGH}): hạn này là tạm tính, cần kiểm tra lại khi có thông báo / provisional")
            return Due(due.last_day, due.due_at, (*due.steps, step), provisional=True)
        return due

    def _overrides_cover(self, start: dt.date, last: dt.date) -> bool:
        """An operator has entered that year's announced days (any override in the year counts as the check)."""
        return any(o.day.year == last.year for o in self._overrides.values()) and start.year <= last.year

    def _due(self, deadline: Deadline, anchor: dt.datetime | dt.date) -> Due:
        instant = anchor if isinstance(anchor, dt.datetime) else None
        start = local_date(anchor) if isinstance(anchor, dt.datetime) else anchor
        steps: list[str] = []
        kind = deadline.kind
        if kind is DeadlineKind.HOURS:
            assert deadline.hours is not None
            base = instant or end_of_day(start)
            due_at = base + dt.timedelta(hours=deadline.hours)
            steps.append(f"{deadline.hours} hours from {base.astimezone(PROVINCE_TZ):%Y-%m-%d %H:%M} (province "
                         "time); hours do not roll")
            return self._done(local_date(due_at - dt.timedelta(microseconds=1)), due_at, steps)
        if kind is DeadlineKind.DAYS:
            assert deadline.days is not None
            steps.append(f"event on {fmt(start)}; day 1 is the next day (art. 147)")
            last = start + dt.timedelta(days=deadline.days)
            steps.append(f"day {deadline.days} is {fmt(last)}")
            return self._done(self._roll(last, steps), None, steps)
        if kind is DeadlineKind.WORKING_DAYS:
            assert deadline.working_days is not None
            return self._working_days(start, deadline.working_days, steps)
        if kind is DeadlineKind.END_OF_MONTH:
            assert deadline.end_of_month is not None
            year, month = map(int, deadline.end_of_month.split("-"))
            last = dt.date(year, month, _cal.monthrange(year, month)[1])
            steps.append(f"a period within {month:02d}/{year} ends with the month: {fmt(last)}")
            return self._done(self._roll(last, steps), None, steps)
        if kind is DeadlineKind.END_OF_YEAR:
            assert deadline.end_of_year is not None
            last = dt.date(deadline.end_of_year, 12, 31)
            steps.append(f"a period within {deadline.end_of_year} ends with the year: {fmt(last)}")
            return self._done(self._roll(last, steps), None, steps)
        return self._fixed(deadline, start, steps)

    def _working_days(self, start: dt.date, count: int, steps: list[str]) -> Due:
        steps.append(f"event on {fmt(start)}; {count} working days counted from the next day")
        day, counted = start, 0
        while counted < count:
            day += dt.timedelta(days=1)
            reason = self.why_not_working(day)
            if reason is None:
                counted += 1
            else:
                steps.append(f"{fmt(day)} not counted ({reason})")
            if (day - start).days > MAX_SPAN_DAYS:
                raise ValueError("no working day found within 20 years: check the calendar overrides")
        steps.append(f"working day {count} is {fmt(day)}")
        return self._done(day, None, steps)

    def _fixed(self, deadline: Deadline, start: dt.date, steps: list[str]) -> Due:
        if deadline.before_date is not None:
            last = deadline.before_date - dt.timedelta(days=1)
            steps.append(f"before {deadline.before_date:%d/%m/%Y}: due by the end of {fmt(last)}; a fixed date "
                         "never moves")
        elif deadline.on_date is not None:
            last = deadline.on_date
            steps.append(f"on {fmt(last)}: a fixed date never moves")
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
            steps.append(f"yearly, before {day:02d}/{month:02d}: the next is {boundary:%d/%m/%Y}, due by the end of "
                         f"{fmt(last)}; a fixed date never moves")
        return self._done(last, None, steps)

    @staticmethod
    def _done(last: dt.date, due_at: dt.datetime | None, steps: list[str]) -> Due:
        end = due_at if due_at is not None else end_of_day(last)
        if due_at is None:
            steps.append(f"the period ends at 24:00 on {last:%d/%m/%Y} province time "
                         f"({end.isoformat().replace('+00:00', 'Z')})")
        else:
            steps.append(f"the period ends at {end.astimezone(PROVINCE_TZ):%H:%M on %d/%m/%Y} province time "
                         f"({end.isoformat().replace('+00:00', 'Z')})")
        return Due(last, end, tuple(steps))
