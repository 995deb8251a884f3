"""The auditor's pages: the history search, the audit check, the report files and the readable history download."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from definitions.vietnamese import sort_key
from workflow.clock import PROVINCE_TZ

from .. import limits
from ..http import export_response, uses
from ..report import to_csv
from ..report_docx import to_docx
from ..views import cell, typed_date
from .base import (
    SECURITY_HEADERS,
    _day,
    _lang,
    _message,
    _render,
    _signed_in,
)
from .i18n import system_reason, words
from .labels import _event_label, _title, _who
from .overview import _agency_choices, _as_of
from .task import _definition

router = APIRouter(include_in_schema=False)


HISTORY_FILTERS = ("agency", "actor", "event", "from", "to")


HISTORY_PAGE = 50


@router.get("/audit/history")
def history_search(request: Request, page: int = 1) -> HTMLResponse:
    """Every task's history, newest first, searched by agency, by who acted, by act and by the days recorded (in
    province time): what an auditor reads."""
    user = _signed_in(request)
    records, lang = uses(request).records, _lang(request)
    t = words(lang)
    given = {k: str(request.query_params.get(k) or "").strip()[:limits.NAME] for k in HISTORY_FILTERS}
    names = records.agency_names()
    latest = [_definition(request, d.definition.id, d.definition.version) for d in records.definitions()]
    events: dict[str, str] = {}
    for d in latest:
        for tr in d.transitions:
            events.setdefault(tr.event, _event_label(d, tr.event, lang))
    for key in words(lang):
        if key.startswith("event_@"):
            events.setdefault(key[6:], t[key])
    problems: dict[str, str] = {}
    days: dict[str, dt.date | None] = {}
    for name in ("from", "to"):
        days[name] = typed_date(given[name]) if given[name] else None
        if given[name] and days[name] is None:
            problems[name] = t["not_a_day"].format(value=given[name])
    since = dt.datetime.combine(days["from"], dt.time(), PROVINCE_TZ) if days["from"] else None
    until = dt.datetime.combine(days["to"] + dt.timedelta(days=1), dt.time(), PROVINCE_TZ) if days["to"] else None
    page = max(1, min(page, 1_000_000))
    total, found = records.search_history(
        agency=given["agency"] or None, actor=given["actor"] or None,
        event=given["event"] if given["event"] in events else None, since=since, until=until,
        offset=(page - 1) * HISTORY_PAGE, limit=HISTORY_PAGE) if not problems else (0, [])
    titles: dict[int, tuple[str, str]] = {}
    rows = []
    for h in found:
        if h.instance_id not in titles:
            instance = records.instance(h.instance_id)
            definition = _definition(request, instance.definition_id, instance.definition_version)
            titles[h.instance_id] = (_title(definition, lang), names.get(instance.assignee, instance.assignee))
        who, role = _who(h.actor_id, h.actor_role, h.actor_agency, lang, names)
        then = _definition(request, h.definition_id, h.definition_version)
        rows.append({"instance_id": h.instance_id, "seq": h.seq, "title": titles[h.instance_id][0],
                     "agency": titles[h.instance_id][1], "at": _day(h.at), "who": who, "role": role,
                     "act": _event_label(then, h.event, lang), "reason": system_reason(h.reason, h.actor_id, lang)})
    pages_count = max(1, -(-total // HISTORY_PAGE))
    query = "&".join(f"{k}={quote(v)}" for k, v in given.items() if v)
    return _render(request, "history.html", 422 if problems else 200, user, rows=rows, given=given,
                   problems=problems, total=total, page=page, pages=pages_count, query=query,
                   agencies=_agency_choices(request, names),
                   events=sorted(events.items(), key=lambda item: sort_key(item[1])))


@router.get("/audit")
def audit_page(request: Request, run: bool = False) -> HTMLResponse:
    """Verification runs when asked (``?run=1``): it reads every history row (about 16 s for 1,000,000)."""
    user = _signed_in(request)
    if not run:
        return _render(request, "audit.html", user=user, ran=False)
    result = uses(request).audit.verify()
    return _render(request, "audit.html", user=user, ran=True, ok=result.ok, instances=result.instances,
                   problems=[p.as_dict() for p in result.problems], database=result.database)


@router.get("/audit/checkpoint")
def audit_checkpoint(request: Request) -> JSONResponse:
    _signed_in(request)
    audit = uses(request).audit
    document = audit.checkpoint()
    name = audit.checkpoint_name()
    return JSONResponse(document, headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})


REPORT_FILES = {"docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "bao-cao"),
                "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "tinh-hinh"),
                "csv": ("text/csv; charset=utf-8", "tinh-hinh")}


@router.get("/report.{fmt}")
def report_file(request: Request, fmt: str) -> Response:
    """The overview's figures to download: the report to sign (.docx, Nghị định 30/2020), the workbook, the CSV;
    as of the day the overview shows."""
    user = _signed_in(request)
    if fmt not in REPORT_FILES:
        return _message(request, user, 404, "error", "docx, xlsx or csv")
    reports = uses(request).reports
    as_of = _as_of(request)
    body: bytes | str
    if fmt == "xlsx":  # the report, the agencies' record and every task's obligations
        body = reports.workbook(as_of)
    elif fmt == "docx":
        body = to_docx(reports.status(as_of), today=reports.today(), record=reports.agencies(as_of))
    else:
        body = to_csv(reports.status(as_of))
    media, stem = REPORT_FILES[fmt]
    name = f"{stem}-{reports.day(as_of)}.{fmt}"
    return Response(body, media_type=media,
                    headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/audit/export")
def audit_export(request: Request, format: str = "jsonl") -> Response:
    user = _signed_in(request)
    if format not in ("jsonl", "csv"):
        return _message(request, user, 422, "error", "format must be jsonl or csv")
    if format == "csv":  # for a person: their language's columns and times, and the separator their Excel expects
        return export_response(_readable_csv(request), "csv", SECURITY_HEADERS)
    return export_response(uses(request).audit.export("jsonl"), "jsonl", SECURITY_HEADERS)


def _readable_csv(request: Request) -> Iterator[str]:
    """The whole history for a spreadsheet: headers in the page's language, times in province time (dd/mm/yyyy
    HH:MM:SS), who acted in words, the separator Excel expects in that language (";" where the decimal mark is a
    comma, as on Vietnamese Windows), and a byte-order mark so Excel reads UTF-8. The machine-readable export (raw
    columns, UTC, ",") is the API's and the CLI's (`workflow audit export`)."""
    lang = _lang(request)
    t = words(lang)
    records = uses(request).records
    names = records.agency_names()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if lang == "vi" else ",")

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([cell(v) for v in values])
        return buffer.getvalue()

    yield "\ufeff" + line([t[f"csv_{c}"] for c in READABLE_COLUMNS])
    for r in records.every_history_row():
        who, role = _who(r.actor_id, r.actor_role, r.actor_agency, lang, names)
        yield line([r.instance_id, r.seq, r.at.astimezone(PROVINCE_TZ).strftime("%d/%m/%Y %H:%M:%S"),
                    f"{dt.date.fromisoformat(r.effective_on):%d/%m/%Y}" if r.effective_on else "", who, role,
                    r.event, r.from_state or "", r.to_state, r.reason or "",
                    json.dumps(dict(r.payload), ensure_ascii=False, sort_keys=True), r.hash])


READABLE_COLUMNS = ("instance", "seq", "at", "effective_on", "who", "role", "event", "from", "to", "reason",
                    "payload", "hash")
