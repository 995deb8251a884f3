"""The overview (the Steering Committee's view: the status report, the agencies' record, what is overdue and what comes
next) and /tasks, the list with filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from definitions.vietnamese import sort_key
from store.sql_store import TaskFilter
from workflow.audit import parse_instant
from workflow.clock import PROVINCE_TZ
from workflow.obligations import CATEGORIES, days_past
from workflow.ports import InstanceRecord

from .. import limits
from ..app.reports import FIRST_DAY, TaskPage
from ..http import uses
from ..views import typed_date
from . import charts
from .base import (
    User,
    _day,
    _lang,
    _now,
    _render,
    _signed_in,
)
from .i18n import words
from .labels import _band, _decimal, _title, _value
from .task import _definition

router = APIRouter(include_in_schema=False)


OVERVIEW_ROWS = 20  # rows of each overview list; the rest on /tasks, a page at a time


TASK_PAGE = 50  # rows of a /tasks page


def _sum_by(rows: list[Any], attribute: str) -> list[tuple[str, dict[str, int]]]:
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        bucket = out.setdefault(getattr(row, attribute), dict.fromkeys(CATEGORIES, 0))
        for c in CATEGORIES:
            bucket[c] += getattr(row, c)
    return sorted(out.items())


def _open_rows(request: Request, instances: list[InstanceRecord], now: dt.datetime) -> list[dict[str, Any]]:
    lang = _lang(request)
    rows = []
    for i in instances:  # a closed task with an obligation still unmet (no answer) is overdue all the same
        definition = _definition(request, i.definition_id, i.definition_version)
        if i.due_at is None:
            continue
        rows.append({"id": i.id, "title": _title(definition, lang), "assignee": i.assignee,
                     "state": definition.state(i.state).label, "due": _day(i.due_at), "due_at": i.due_at,
                     # days late counts the first day after the deadline as 1 (as the agency and instance pages do)
                     "days": days_past(i.due_at, now) or (i.due_at - now).days})
    return rows


def _as_of(request: Request) -> dt.date | None:
    """``?as_of=dd/mm/yyyy`` (or YYYY-MM-DD): the figures as of the end of that day, from history (ignored if not a
    past date)."""
    day = typed_date(request.query_params.get("as_of", ""))
    if day is None:
        return None
    return day if FIRST_DAY <= day < _now(request).astimezone(PROVINCE_TZ).date() else None


def _overview(request: Request, user: User) -> HTMLResponse:
    records = uses(request).records
    now = _now(request)
    as_of = _as_of(request)
    report = uses(request).reports.status(as_of)
    # the first rows of each list; the rest are a click away on /tasks, with filters and pages
    overdue = _open_rows(request, records.by_deadline(due_before=now, limit=OVERVIEW_ROWS + 1), now)
    upcoming = _open_rows(request, records.by_deadline(due_from=now, due_before=now + dt.timedelta(days=30),
                                                         limit=OVERVIEW_ROWS + 1), now)
    escalations = []
    lang = _lang(request)
    t = words(lang)
    open_escalations = records.open_escalations()
    for e in open_escalations[:OVERVIEW_ROWS]:
        instance = records.instance(e.instance_id)
        definition = _definition(request, instance.definition_id, instance.definition_version)
        escalations.append({"id": e.id, "instance_id": e.instance_id, "agency": instance.assignee,
                            "due": _day(e.due_at), "title": _title(definition, lang)})
    names = records.agency_names(as_of or now.astimezone(PROVINCE_TZ).date())
    by_agency, by_section = _sum_by(report.rows, "agency"), _sum_by(report.rows, "section")
    category_names = [(c, t[c]) for c in CATEGORIES]
    laggards = sorted(by_agency, key=lambda item: (-item[1]["overdue"], -sum(item[1].values()), item[0]))
    agency_chart = charts.stacked_bars(
        [charts.Bar(names.get(code, code), [(c, row[c]) for c in CATEGORIES], f"/agencies/{code}")
         for code, row in laggards], category_names, t["chart_agencies"], t["chart_agencies_desc"], "chart-agencies")
    months = records.completions_by_month()[-24:]
    month_rows = [(f"{m[5:7]}/{m[2:4]}", on_time, late) for m, on_time, late in months]
    month_chart = charts.columns([charts.Bar(label, [("done_on_time", a), ("done_late", b)])
                                  for label, a, b in month_rows], category_names[:2], t["chart_months"],
                                 t["chart_months_desc"], "chart-months")
    bands = _escalation_ages(open_escalations, now)
    age_chart = charts.columns([charts.Bar(t[band], [("overdue", n)]) for band, n in bands],
                               [("overdue", t["escalations"])], t["chart_ages"], t["chart_ages_desc"], "chart-ages")
    committee = _committee_view(request, as_of, lang)
    return _render(request, "overview.html", user=user, as_of=f"{as_of:%d/%m/%Y}" if as_of else _day(now),
                   **committee,
                   as_of_value=f"{as_of:%d/%m/%Y}" if as_of else "",
                   as_of_query=f"?as_of={as_of.isoformat()}" if as_of else "",
                   today=f"{now.astimezone(PROVINCE_TZ):%d/%m/%Y}",
                   totals=report.totals,
                   categories=CATEGORIES, by_section=by_section,
                   by_agency=by_agency, names=names,
                   overdue=overdue[:OVERVIEW_ROWS], more_overdue=len(overdue) > OVERVIEW_ROWS,
                   upcoming=upcoming[:OVERVIEW_ROWS], more_upcoming=len(upcoming) > OVERVIEW_ROWS,
                   upcoming_to=f"{(now + dt.timedelta(days=30)).astimezone(PROVINCE_TZ):%d/%m/%Y}",
                   escalations=escalations, escalation_count=len(open_escalations),
                   agency_chart=agency_chart, month_chart=month_chart, month_rows=month_rows,
                   age_chart=age_chart, bands=bands, filters=_filter_choices(request, [n for n, _ in by_section]))


AGE_BANDS = ((7, "age_week"), (30, "age_month"), (90, "age_quarter"), (None, "age_older"))


def _escalation_ages(open_escalations: list[Any], now: dt.datetime) -> list[tuple[str, int]]:
    """Open escalations by how long they have waited for the Steering Committee."""
    counts = dict.fromkeys((band for _, band in AGE_BANDS), 0)
    for e in open_escalations:
        days = (now - e.created_at).days
        band = next(b for limit, b in AGE_BANDS if limit is None or days <= limit)
        counts[band] += 1
    return list(counts.items())


def _filter_choices(request: Request, sections: list[str] | None = None) -> dict[str, Any]:
    """What the task filters offer: agencies by name, the plan's sections (``sections`` when the caller has them
    already: the overview's report holds them; else one query), the definitions, their states."""
    records, lang = uses(request).records, _lang(request)
    names = records.agency_names()
    # the engine's copy of each (parsed once per version), so its English copy is built once too
    latest = {d.definition.id: _definition(request, d.definition.id, d.definition.version)
              for d in records.definitions()}
    # one choice per label a person reads: states of several definitions with the same name are one choice
    states: dict[str, list[str]] = {}
    for d in latest.values():
        for st in d.states:
            if st.id not in states.setdefault(st.label, []):
                states[st.label].append(st.id)
    return {"agencies": _agency_choices(request, names),
            "sections": sections if sections is not None else uses(request).reports.sections(),
            "definitions": sorted(((d.id, _title(d, lang)) for d in latest.values()), key=lambda x: sort_key(x[1])),
            "states": sorted(((",".join(ids), label) for label, ids in states.items()), key=lambda x: sort_key(x[1]))}


def _agency_choices(request: Request, names: Mapping[str, str], ended: bool = True) -> list[tuple[str, str]]:
    """Agencies as a picker offers them: by name in Vietnamese order; a merged or retired one (only if ``ended``)
    says so after its name ("… (đã sáp nhập vào Sở Khoa học và Công nghệ tỉnh Khánh Hòa)")."""
    t = words(_lang(request))
    statuses = uses(request).records.agency_statuses()
    out = []
    for code, name in names.items():
        status, successor = statuses.get(code, ("active", None))
        if status == "active":
            out.append((code, name))
        elif ended:
            into = names.get(successor or "", successor or "")
            out.append((code, f"{name} ({t['agency_merged_into'].format(into=into)})" if status == "merged"
                        else f"{name} ({t['agency_retired_mark']})"))
    return sorted(out, key=lambda item: sort_key(item[1]))


@router.get("/")
def overview(request: Request) -> HTMLResponse:
    return _overview(request, _signed_in(request))


#: The record's columns, and whether more is worse (sorted largest first) or better (a share: smallest first).
RECORD_COLUMNS = {"done_on_time": False, "done_late": True, "within_deadline": True, "overdue": True,
                  "share_on_time": False, "days_late_median": True, "days_late_worst": True,
                  "overdue_le_30": True, "overdue_31_90": True, "overdue_91_180": True, "overdue_over_180": True,
                  "share_updated": False, "explanations_owed": True, "extensions_asked": True,
                  "extensions_granted": True}


AGE_COLOURS = {"overdue_le_30": "#fbbf24", "overdue_31_90": "#f97316", "overdue_91_180": "#dc2626",
               "overdue_over_180": "#7f1d1d"}


def _committee_view(request: Request, as_of: dt.date | None, lang: str) -> dict[str, Any]:
    """The Committee's view on the overview (issue 29): each agency's record, sortable, with its overdue
    obligations by age as a chart; the forecast bands of the open obligations and the likeliest to be late."""
    t, reports = words(lang), uses(request).reports
    record = reports.agencies(as_of)
    sort = str(request.query_params.get("sort") or "")
    if sort in RECORD_COLUMNS:
        worse_high = RECORD_COLUMNS[sort]
        record.rows.sort(key=lambda r: (getattr(r, sort) is None, -(getattr(r, sort) or 0) if worse_high
                                        else (getattr(r, sort) or 0), r.agency))
    ages = [(c, t[c]) for c in AGE_COLOURS]
    late_rows = [r for r in record.rows if r.overdue]
    chart = charts.stacked_bars([charts.Bar(r.agency_name, [(c, getattr(r, c)) for c in AGE_COLOURS],
                                            f"/agencies/{r.agency}") for r in late_rows], ages, t["record_chart"],
                                t["record_chart_desc"], "chart-record", colours=AGE_COLOURS) if late_rows else None
    rows = reports.forecast(as_of, 0, lang).rows if as_of else list(reports.forecast_today(lang).values())
    day = as_of or _now(request).astimezone(PROVINCE_TZ).date()
    bands = [(row, b) for row in rows if (b := _band(row, lang, day)) is None or not b["past"]]  # still in time
    counts = {k: sum(1 for _, b in bands if b and b["kind"] == k) for k in ("red", "amber", "green", "grey")}
    likeliest = []
    for r, b in [(r, b) for r, b in bands if b and b["kind"] in ("red", "amber")][:OVERVIEW_ROWS]:
        instance = uses(request).records.instance(r.instance_id)
        title = _title(_definition(request, instance.definition_id, instance.definition_version), lang)
        likeliest.append({"id": r.instance_id, "title": title, "agency": r.agency,
                          "last_day": _value(r.last_day, lang), "band": b})
    tracked = reports.forecast_record()
    if tracked["scored"] >= 30:
        how_well = t["forecast_track"].format(n=tracked["scored"], ours=_decimal(tracked["brier_ours"], lang),
                                              naive=_decimal(tracked["brier_overall_rate"], lang),
                                              agency=_decimal(tracked["brier_agency_rate"], lang))
    else:
        how_well = t["forecast_track_thin"].format(n=tracked["scored"])
    return {"record": record.rows, "record_columns": list(RECORD_COLUMNS), "record_sort": sort,
            "forecast_track": how_well,
            "record_days": record.updated_days, "record_chart": chart, "band_counts": counts,
            "likeliest": likeliest}


FILTERS = ("agency", "section", "definition", "state", "category", "from", "to", "q")


@router.get("/tasks")
def tasks(request: Request, page: int = 1) -> HTMLResponse:
    """Every task, narrowed by the filters (the API's GET /tasks), a page at a time."""
    user = _signed_in(request)
    lang = _lang(request)
    t = words(lang)
    given = {k: str(request.query_params.get(k) or "").strip()[:limits.NAME] for k in FILTERS}
    problems: dict[str, str] = {}
    days: dict[str, dt.date | None] = {}
    for name in ("from", "to"):
        days[name] = typed_date(given[name]) if given[name] else None
        if given[name] and days[name] is None:
            problems[name] = t["bad_day"]
    where = TaskFilter(agency=given["agency"] or None, section=given["section"] or None,
                       definition_id=given["definition"] or None, state=given["state"] or None,
                       category=given["category"] if given["category"] in CATEGORIES else None,
                       due_from=days["from"], due_to=days["to"], text=given["q"] or None)
    if days["from"] and days["to"] and days["from"] > days["to"]:
        problems["to"] = t["bad_range"]
    found: TaskPage = {"total": 0, "page": 1, "pages": 1, "size": TASK_PAGE, "rows": []}
    if not problems:
        found = uses(request).reports.tasks(where, max(1, min(page, 1_000_000)), TASK_PAGE, lang)
    status = 422 if problems else 200
    query = "&".join(f"{k}={quote(v)}" for k, v in given.items() if v)
    return _render(request, "tasks.html", status, user, found=found, given=given, problems=problems,
                   query=query, filters=_filter_choices(request), categories=CATEGORIES,
                   rows=[{**r, "due": _day(parse_instant(r["due_at"])) if r["due_at"] else None}
                         for r in found["rows"]])
