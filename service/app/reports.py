"""The status report: per agency and duty, done on time, done late, within the deadline, overdue, and open
escalations; now, or as of the end of a past day rebuilt from history (optionally as it was known then)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from typing_extensions import TypedDict

from workflow.calendar import local_date
from workflow.clock import PROVINCE_TZ

from ..context import App
from ..report import StatusReport, status_report


class RowView(TypedDict):
    agency: str
    agency_name: str
    section: str
    duty: str
    done_on_time: int
    done_late: int
    within_deadline: int
    overdue: int
    escalations_open: int


class StatusView(TypedDict):
    as_of: str  # the instant the obligations are judged at
    known_at: str | None  # only what had been recorded by then
    totals: dict[str, int]
    flags: list[dict[str, Any]]  # the plan's own targets missed (e.g. the S&T share of the budget)
    rows: list[RowView]


def status_view(report: StatusReport) -> StatusView:
    return cast(StatusView, report.as_dict())


class Reports:
    def __init__(self, app: App) -> None:
        self.app = app

    def status(self, as_of: dt.date | None = None, known_at: dt.datetime | None = None) -> StatusReport:
        """``known_at`` without a zone is province time."""
        if known_at is not None and known_at.tzinfo is None:
            known_at = known_at.replace(tzinfo=PROVINCE_TZ)
        return status_report(self.app.engine, self.app.store, self.app.clock.now(), as_of, known_at)

    def today(self) -> dt.date:
        """Today in the province (the date a document is issued on)."""
        return local_date(self.app.clock.now())

    def day(self, as_of: dt.date | None) -> dt.date:
        """The day a report speaks of (for its file name)."""
        return as_of or local_date(self.app.clock.now())
