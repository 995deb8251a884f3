"""The status report: per agency and duty, done on time, done late, within the deadline, overdue, and open
escalations; now, or as of the end of a past day rebuilt from history (optionally as it was known then)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

from typing_extensions import TypedDict

from definitions.labels import word
from definitions.vietnamese import fold
from store.sql_store import TaskFilter
from workflow.calendar import local_date
from workflow.clock import PROVINCE_TZ
from workflow.engine import EARLIEST_EFFECTIVE
from workflow.errors import PayloadInvalid
from workflow.obligations import days_late, days_past

from ..record import (
    AgencyRecord,
    Forecast,
    ForecastRow,
    Standing,
    agency_record,
    forecast,
    quarter_starts,
    standing,
    track_record,
)
from ..report import HEADERS_VI, StatusReport, instances_by_id, status_report, to_xlsx
from ..report_docx import Issuing
from ..views import instant
from .ports import Services

FIRST_DAY = EARLIEST_EFFECTIVE  # no report speaks of a day before it (the pages ask here, not the engine)


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


class RecordRowView(TypedDict):
    agency: str
    agency_name: str
    done_on_time: int
    done_late: int
    within_deadline: int
    overdue: int
    share_on_time: float | None  # of those done
    days_late_median: float | None  # calendar days past the last day (done late: when done; overdue: so far)
    days_late_worst: int | None
    overdue_le_30: int
    overdue_31_90: int
    overdue_91_180: int
    overdue_over_180: int
    open: int
    updated: int  # open obligations whose task was acted on within updated_days
    share_updated: float | None
    extensions_asked: int
    extensions_granted: int
    explanations_owed: int  # explanations asked of it and not given


class AgencyRecordView(TypedDict):
    as_of: str  # YYYY-MM-DD
    updated_days: int
    rows: list[RecordRowView]  # worst first


class ForecastRowView(TypedDict):
    instance_id: int
    obligation: str
    agency: str
    last_day: str
    p_late: float | None  # None: not enough history
    p50: str | None  # the day it is done by, with 50 % likelihood
    p85: str | None
    n: int  # finished obligations the forecast drew from
    basis: str  # in words
    enough_history: bool


class ForecastView(TypedDict):
    as_of: str
    seed: int
    rows: list[ForecastRowView]  # likeliest to be late first


class TaskView(TypedDict):
    instance_id: int
    obligation_id: int
    agency: str
    agency_name: str
    definition: str
    title: str  # the definition's title in the asked language
    state: str
    state_label: str
    business_key: str
    section: str
    duty: str | None
    last_day: str  # ISO date
    due_at: str | None
    status: str  # open, satisfied
    category: str  # done_on_time, done_late, within_deadline, overdue
    days_late: int | None  # the first day after the deadline counts as 1


class TaskPage(TypedDict):
    total: int  # how many match
    page: int
    pages: int
    size: int
    rows: list[TaskView]


CATEGORY_NAMES = ("done_on_time", "done_late", "within_deadline", "overdue")
MAX_PAGE_SIZE = 200


def status_view(report: StatusReport) -> StatusView:
    return cast(StatusView, report.as_dict())


class Reports:
    def __init__(self, app: Services) -> None:
        self.app = app
        self._cache: dict[str, tuple[Any, Any]] = {}  # figures from the whole history, per change mark and day

    def status(self, as_of: dt.date | None = None, known_at: dt.datetime | None = None) -> StatusReport:
        """``known_at`` without a zone is province time."""
        if known_at is not None and known_at.tzinfo is None:
            known_at = known_at.replace(tzinfo=PROVINCE_TZ)
        now = self.app.clock.now()
        today = local_date(now)
        problems = []
        if as_of is not None and as_of > today:  # nothing is known of a day that has not come
            problems.append(("as_of", f"{as_of:%d/%m/%Y} is after today ({today:%d/%m/%Y}, province time): "
                                      "no report can say how things stood then"))
        if known_at is not None and known_at > now:
            problems.append(("known_at", f"{known_at.astimezone(PROVINCE_TZ):%d/%m/%Y} is after today "
                                         f"({today:%d/%m/%Y}, province time): nothing was known then yet"))
        if problems:
            raise PayloadInvalid(problems)
        return status_report(self.app.engine, self.app.store, now, as_of, known_at)

    def _standing(self, as_of: dt.date | None) -> Standing:
        today = local_date(self.app.clock.now())
        if as_of is not None and as_of > today:
            raise PayloadInvalid([("as_of", f"{as_of:%d/%m/%Y} is after today ({today:%d/%m/%Y}, province time): "
                                            "no report can say how things stood then")])
        if as_of is not None and as_of < FIRST_DAY:
            raise PayloadInvalid([("as_of", f"{as_of:%d/%m/%Y} is before {FIRST_DAY:%d/%m/%Y}: nothing "
                                            "can have been recorded then")])
        return standing(self.app.engine, self.app.store, as_of or today)

    def agencies(self, as_of: dt.date | None = None, updated_days: int = 30) -> AgencyRecord:
        """Each agency's record as of the end of ``as_of`` (default today): ``service.record``."""
        if not 1 <= updated_days <= 3650:
            raise PayloadInvalid([("updated_days", "from 1 to 3650 days")])
        day = as_of or local_date(self.app.clock.now())
        return agency_record(self._standing(as_of), self.app.store.agency_names_on(day), updated_days)

    def workbook(self, as_of: dt.date | None = None, known_at: dt.datetime | None = None) -> bytes:
        """The status report as a workbook (``service.report.to_xlsx``); as of a day (not as recorded by an
        instant) also the agencies' record and the list of every task's obligations, all three as of that day."""
        report = self.status(as_of, known_at)
        if known_at is not None:
            return to_xlsx(report)
        day = as_of or local_date(self.app.clock.now())
        standing = self._standing(as_of)
        names = self.app.store.agency_names_on(day)
        return to_xlsx(report, agency_record(standing, names), self._task_lines(standing, names))

    def _task_lines(self, standing: Standing, names: dict[str, str]) -> list[dict[str, Any]]:
        """Each obligation as it stood, with its task: the rows of the workbook's "Danh sách nhiệm vụ"."""
        engine = self.app.engine
        tasks = instances_by_id(self.app.store, {o.instance_id for o in standing.obligations})
        lines = []
        for o in sorted(standing.obligations, key=lambda o: (o.last_day, o.instance_id, o.name)):
            task = tasks.get(o.instance_id)
            if task is None:
                continue
            definition = engine.definition(task.definition_id, task.definition_version)
            late = days_late(o.last_day, o.closed_on or standing.day) if o.category in ("done_late", "overdue") else 0
            lines.append({"agency_name": names.get(o.agency, o.agency),
                          "section": task.data.get("section") or definition.seed_section or "",
                          "duty": task.data.get("duty") or definition.title.vi, "business_key": task.business_key,
                          "started_on": o.started_on, "last_day": o.last_day, "category": HEADERS_VI[o.category],
                          "closed_on": o.closed_on, "days_late": late, "answer": o.answer or ""})
        return lines

    def _while_unchanged(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` again only when something new is recorded (the store's change mark) or the day changes."""
        key = (self.app.store.change_mark(), local_date(self.app.clock.now()))
        cached = self._cache.get(name)
        if cached is None or cached[0] != key:
            cached = self._cache[name] = (key, compute())
        return cached[1]

    def forecast_today(self, lang: str = "vi") -> dict[int, ForecastRow]:
        """Today's forecast by task (its likeliest-late open obligation), for the pages' bands."""
        def by_task() -> dict[int, ForecastRow]:
            found: dict[int, ForecastRow] = {}
            for row in self.forecast(None, 0, lang).rows:  # likeliest first: the first row of a task is its band
                found.setdefault(row.instance_id, row)
            return found
        return self._while_unchanged(f"today:{lang}", by_task)  # type: ignore[no-any-return]

    def forecast_record(self) -> dict[str, Any]:
        """How well the forecast would have done on this installation's own history: made on the first day of each
        of the last eight quarters, scored against what is known today (``service.record.track_record``)."""
        today = local_date(self.app.clock.now())
        return self._while_unchanged("record", lambda: track_record(  # type: ignore[no-any-return]
            self.app.engine, self.app.store, today, quarter_starts(today)))

    def forecast(self, as_of: dt.date | None = None, seed: int = 0, lang: str = "vi") -> Forecast:
        """For each obligation open at the end of ``as_of``: how likely it is to be finished late, and when it will
        probably be done (``service.record``); the same for the same seed and day."""
        if not 0 <= seed < 2**63:
            raise PayloadInvalid([("seed", "a whole number from 0")])
        return forecast(self._standing(as_of), self.app.engine.calendar, seed, lang)

    def tasks(self, where: TaskFilter, page: int = 1, size: int = 50, lang: str = "vi") -> TaskPage:
        """The obligations matching ``where`` (now), nearest last day first, a page at a time. Reads: every role."""
        problems = []
        if where.category is not None and where.category not in CATEGORY_NAMES:
            problems.append(("category", f"one of {', '.join(CATEGORY_NAMES)}"))
        if where.due_from and where.due_to and where.due_from > where.due_to:
            problems.append(("due_to", "before due_from"))
        if page < 1:
            problems.append(("page", "from 1"))
        if not 1 <= size <= MAX_PAGE_SIZE:
            problems.append(("size", f"from 1 to {MAX_PAGE_SIZE}"))
        if problems:
            raise PayloadInvalid(problems)
        engine, store, now = self.app.engine, self.app.store, self.app.clock.now()
        text = (where.text or "").strip()
        if text:
            needle = fold(text)  # with or without accents
            titled = tuple(sorted({d.id for d in (x.definition for x in store.list_definitions())
                                   if needle in fold(d.title.vi) or needle in fold(d.title.en or "")}))
            where = replace(where, text=text[:200], titled=titled)
        else:
            where = replace(where, text=None)
        total, rows = store.find_tasks(now, where, (page - 1) * size, size)
        names = store.agency_names()
        out: list[TaskView] = []
        for r in rows:
            definition = engine.definition(r.definition_id, r.definition_version)
            late = days_past(r.due_at, now) if r.status == "open" else None
            out.append({"instance_id": r.instance_id, "obligation_id": r.obligation_id, "agency": r.agency,
                        "agency_name": names.get(r.agency, r.agency), "definition": r.definition_id,
                        "title": definition.title.en if lang == "en" and definition.title.en else definition.title.vi,
                        "state": r.state, "state_label": word(definition.state(r.state).label, lang),
                        "business_key": r.business_key, "section": r.section, "duty": r.duty,
                        "last_day": r.last_day, "due_at": instant(r.due_at), "status": r.status,
                        "category": r.category, "days_late": late})
        return {"total": total, "page": page, "pages": max(1, -(-total // size)), "size": size, "rows": out}

    def sections(self) -> list[str]:
        return self.app.store.sections()

    def issuing(self, number: str = "", signer: str = "", position: str = "GIÁM ĐỐC") -> Issuing:
        """Who issues the report to sign, as the registry names them today: the provincial People's Committee
        above the standing body (after 01/07/2025, Khánh Hòa's), the place in the date line its province."""
        names = self.app.store.agency_names_on(self.today())
        standing = self.app.settings.standing_body or "SKHCN"
        committee = names.get("UBND", "")
        issuer = names.get(standing, "Sở Khoa học và Công nghệ")
        named = " tỉnh " in committee  # the registry's first name is "Ủy ban nhân dân tỉnh": the plan's province
        place = committee.split(" tỉnh ", 1)[1] if named else Issuing.place
        issuer_short = issuer.split(" tỉnh ", 1)[0]  # the province is on the line above
        return Issuing(parent=committee.upper() if named else Issuing.parent, issuer=issuer_short.upper(),
                       issuer_name=issuer_short, place=place, number=number, signer=signer, position=position)

    def today(self) -> dt.date:
        """Today in the province (the date a document is issued on)."""
        return local_date(self.app.clock.now())

    def day(self, as_of: dt.date | None) -> dt.date:
        """The day a report speaks of (for its file name)."""
        return as_of or local_date(self.app.clock.now())
