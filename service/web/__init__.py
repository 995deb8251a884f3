"""The dashboard: server-rendered pages (Jinja2, no JavaScript) over the same engine, store and functions as
the API and the CLI, served by the same process.

People log in with their account (``service.app.accounts``: a password, a TOTP code if they have a second factor;
locked after repeated failures); API keys are for machines and open no page. The session is a random token in an
HttpOnly, SameSite=Strict cookie, stored in the database only as its SHA-256 and tied to the account (disabling
it, or a new password, ends the session). Every form
carries the session's CSRF token (the log-in form a double-submit one). Roles are the API's: everyone
signed in reads; auditors get no write control and every write route refuses them; officers act only on
their agency's tasks (the engine's rule). Vietnamese by default, English by a cookie the header switches.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import logging
import secrets
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from definitions import Definition, NotFound, Role, WorkflowError
from definitions.labels import shown, word
from definitions.model import FieldType
from definitions.vietnamese import sort_key
from store.accounts import Account
from store.sql_store import TaskFilter
from workflow.audit import parse_instant
from workflow.authority import who_acts
from workflow.clock import PROVINCE_TZ
from workflow.errors import PayloadInvalid
from workflow.obligations import CATEGORIES
from workflow.payload import DOCUMENT_PARTS
from workflow.ports import InstanceRecord

from ..app.accounts import LoginRefused, NewSecondFactor, SecondFactorDue, Session
from ..app.attachments import TYPES, Attached, clean_name, kind_of, uploader_of
from ..app.reports import FIRST_DAY, TaskPage
from ..errors import answer
from ..http import client_address, export_response, nudge, throttle_of, uses
from ..report import to_csv, to_xlsx
from ..report_docx import to_docx
from ..views import cell, local_time, typed_date
from . import charts, plan_import, sso
from .base import (
    DEVICE_COOKIE,
    LANG_COOKIE,
    LOGIN_COOKIE,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    SSO_LINK_COOKIE,
    SSO_STEP_COOKIE,
    User,
    _check_csrf,
    _day,
    _lang,
    _local_path,
    _message,
    _not_found,
    _now,
    _posted,
    _render,
    _role_refused,
    _signed_in,
    days_late,
)
from .diagram import state_svg
from .i18n import LANGUAGES, system_reason, words
from .refusals import said

_log = logging.getLogger("workflow.auth")
OVERVIEW_ROWS = 20  # rows of each overview list; the rest on /tasks, a page at a time
TASK_PAGE = 50  # rows of a /tasks page
pages = APIRouter(include_in_schema=False)



def _parent_title(request: Request, parent_id: int | None) -> str | None:
    """The task a child belongs to (the consultation it answers), by its title and key."""
    if parent_id is None:
        return None
    try:
        parent = uses(request).records.instance(parent_id)
    except NotFound:
        return None
    title = _title(_definition(request, parent.definition_id, parent.definition_version), _lang(request))
    return f"{title} ({parent.business_key})"


def _verdicts(request: Request, instance_id: int) -> list[str]:
    """A finished task's duties, each with its last day and how it ended: on time, or how many days late."""
    t = words(_lang(request))
    out = []
    for o in uses(request).records.obligations(instance_id):
        last = f"{o.last_day:%d/%m/%Y}"
        if o.closed_on is None:
            continue
        late = (o.closed_on - o.last_day).days
        if o.status.value == "waived":
            out.append(t["verdict_waived"].format(last=last))
        elif late <= 0:
            out.append(t["verdict_on_time"].format(last=last, done=f"{o.closed_on:%d/%m/%Y}"))
        else:
            out.append(t["verdict_late"].format(last=last, done=f"{o.closed_on:%d/%m/%Y}", days=late))
    return out


def _definition(request: Request, definition_id: str, version: int | None = None) -> Definition:
    """A definition as the page's reader reads it: its labels in the page's language (definitions/labels.py)."""
    return shown(uses(request).records.definition(definition_id, version), _lang(request))


def _title(definition: Definition, lang: str) -> str:
    return definition.title.en if lang == "en" and definition.title.en else definition.title.vi


# -- log-in, log-out, language -------------------------------------------------------------------


def _login_form(request: Request, target: str, status: int = 200, flash: str | None = None, login: str = "",
                wants_code: bool = False) -> HTMLResponse:
    token = secrets.token_urlsafe(32)  # the form's CSRF token: a double-submit cookie (there is no session yet)
    settings = uses(request).records.settings
    response = _render(request, "login.html", status, csrf=token, next=target, flash=flash, login=login,
                       wants_code=wants_code, hours=int(settings.session_lifetime.total_seconds() // 3600),
                       sso=settings.oidc_issuer is not None)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        max_age=3600, path="/login")
    return response


LANDING = {"officer": "/inbox", "committee": "/inbox", "auditor": "/audit"}  # admins land on the overview


@pages.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_form(request, _local_path(next))


@pages.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    target = _local_path(str(form.get("next") or "/"))
    if not _check_csrf(str(form.get("csrf") or ""), request.cookies.get(LOGIN_COOKIE, "")):
        return _login_form(request, target, 403, words(_lang(request))["bad_csrf"])
    login_name = str(form.get("login") or "").strip()[:64]
    try:
        session = await run_in_threadpool(uses(request).accounts.log_in, login_name,
                                          str(form.get("password") or "")[:200], str(form.get("code") or "")[:12],
                                          client_address(request), request.cookies.get(DEVICE_COOKIE))
    except LoginRefused as refused:
        if refused.pace:
            await asyncio.sleep(refused.pace)  # as long as a password check: a refusal without one looks the same
        t = words(_lang(request))
        status = {"throttled": 429, "busy": 503}.get(refused.reason, 401)
        answer = _login_form(request, target, status, t["login_" + refused.reason], login_name,
                             wants_code=refused.reason in ("totp_needed", "bad_totp"))
        if status in (429, 503):
            wait = 1 if refused.until is None else int((refused.until - _now(request)).total_seconds()) + 1
            answer.headers["Retry-After"] = str(max(1, wait))
        return answer
    return _session_response(request, session, target)


def _clock_time(at: dt.datetime | None) -> str:
    """HH:MM dd/mm/yyyy in province time (a lock's end)."""
    return "" if at is None else at.astimezone(PROVINCE_TZ).strftime("%H:%M %d/%m/%Y")


def _session_response(request: Request, session: Session, target: str) -> Response:
    if target == "/":  # each role lands where its work is
        target = LANDING.get(session.account.role, "/")
    response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    lifetime = uses(request).records.settings.session_lifetime
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=int(lifetime.total_seconds()), path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    if session.device is not None:  # this browser has logged in to this login: others' failures do not slow it
        response.set_cookie(DEVICE_COOKIE, session.device, httponly=True, samesite="strict", max_age=400 * 86400,
                            secure=request.url.scheme == "https", path="/login")
    return response


def _redirect_uri(request: Request) -> str:
    base = uses(request).records.settings.public_url or str(request.base_url)
    return base.rstrip("/") + "/login/sso/callback"


@pages.get("/login/sso")
async def sso_start(request: Request, next: str = "/") -> Response:
    """Off to the identity provider (single sign-on), if one is configured."""
    settings = uses(request).records.settings
    t = words(_lang(request))
    if settings.oidc_issuer is None:
        return _message(request, None, 404, "not_found", t["sso_off"])
    try:
        started = await run_in_threadpool(sso.provider_of(settings).start, _redirect_uri(request), _local_path(next))
    except Exception as err:  # the provider unreachable or misconfigured: said in the log, not to the person
        _log.warning("single sign-on could not start: %s", err)
        return _login_form(request, _local_path(next), 502, t["login_sso_failed"])
    response = RedirectResponse(started.url, status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(sso.STATE_COOKIE, started.cookie, httponly=True, samesite="lax", max_age=600,
                        secure=request.url.scheme == "https", path="/login/sso")
    return response


@pages.get("/login/sso/callback")
async def sso_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    """Back from the identity provider: a link step finishes its link; otherwise the account linked to that
    identity gets a session, or the page for our second factor first."""
    settings = uses(request).records.settings
    t = words(_lang(request))
    if settings.oidc_issuer is None:
        return _message(request, None, 404, "not_found", t["sso_off"])
    throttle, address = throttle_of(request), client_address(request)
    accounts = uses(request).accounts
    linking = request.cookies.get(SSO_LINK_COOKIE, "")[:100]
    try:
        if error or not code or not state:
            raise sso.SsoFailed(f"the provider answered {error or 'without a code'}")
        identity, target = await run_in_threadpool(sso.provider_of(settings).finish, _redirect_uri(request),
                                                   request.cookies.get(sso.STATE_COOKIE, ""), state[:200], code[:2000])
        if linking:
            await run_in_threadpool(accounts.finish_link, linking, identity.subject)
            response = _render(request, "moving_on.html", 200, target="/account?done=linked")
            response.delete_cookie(SSO_LINK_COOKIE, path="/login/sso")
            response.delete_cookie(sso.STATE_COOKIE, path="/login/sso")
            return response
        signed = await run_in_threadpool(accounts.single_sign_on, identity.subject, identity.amr)
    except LoginRefused as refused:
        throttle.failed(address, f"single sign-on refused: {refused.reason}")
        answer = _login_form(request, "/", 403, t["login_" + refused.reason])
        answer.delete_cookie(SSO_LINK_COOKIE, path="/login/sso")
        return answer
    except Exception as err:  # the provider's errors are of many kinds: each is logged and refused
        throttle.failed(address, "single sign-on failed")
        _log.warning("single sign-on failed: %s", err)
        return _login_form(request, "/", 401, t["login_sso_failed"])
    target = _local_path(target)
    if isinstance(signed, SecondFactorDue):  # our own code next, on a page of this site
        return _sso_code_form(request, target, signed.token)
    return _sso_landed(request, signed, target)


def _sso_landed(request: Request, session: Session, target: str) -> Response:
    if target == "/":
        target = LANDING.get(session.account.role, "/")
    # a page that moves on by itself (not a redirect): the browser arrived here from the provider's site, and the
    # SameSite=Strict session cookie is sent only on a navigation that starts on this site
    response = _render(request, "moving_on.html", 200, target=target)
    lifetime = uses(request).records.settings.session_lifetime
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=int(lifetime.total_seconds()), path="/")
    response.delete_cookie(sso.STATE_COOKIE, path="/login/sso")
    response.delete_cookie(SSO_STEP_COOKIE, path="/login/sso")
    return response


def _sso_code_form(request: Request, target: str, step: str | None, status: int = 200,
                   flash: str | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = _render(request, "sso_code.html", status, csrf=token, next=target, flash=flash)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        max_age=600, path="/login")
    if step is not None:
        response.set_cookie(SSO_STEP_COOKIE, step, httponly=True, samesite="strict", max_age=600,
                            secure=request.url.scheme == "https", path="/login/sso")
    return response


@pages.post("/login/sso/code")
async def sso_code(request: Request) -> Response:
    """Our TOTP code after single sign-on."""
    form = await request.form()
    target = _local_path(str(form.get("next") or "/"))
    t = words(_lang(request))
    if not _check_csrf(str(form.get("csrf") or ""), request.cookies.get(LOGIN_COOKIE, "")):
        return _login_form(request, target, 403, t["bad_csrf"])
    try:
        session = await run_in_threadpool(uses(request).accounts.second_factor_after_sign_on,
                                          request.cookies.get(SSO_STEP_COOKIE, "")[:100],
                                          str(form.get("code") or "")[:12], client_address(request))
    except LoginRefused as refused:
        if refused.pace:
            await asyncio.sleep(refused.pace)
        reason = "sso_bad_totp" if refused.reason == "bad_totp" else refused.reason
        answer = _login_form(request, target, 401, t["login_" + reason])
        answer.delete_cookie(SSO_STEP_COOKIE, path="/login/sso")
        return answer
    return _sso_landed(request, session, target)


# -- the person's own account --------------------------------------------------------------------


@pages.get("/account")
def own_account(request: Request, done: str = "") -> HTMLResponse:
    user = _signed_in(request)
    t = words(_lang(request))
    flash = t["account_sso_linked"] if done == "linked" else None
    return _own_account_page(request, user, 200, flash, "ok" if flash else "")


def _own_account_page(request: Request, user: User, status: int, flash: str | None = None,
                      flash_kind: str = "") -> HTMLResponse:
    settings = uses(request).records.settings
    return _render(request, "account.html", status, user, me=user.account, sso=settings.oidc_issuer is not None,
                   flash=flash, flash_kind=flash_kind)


@pages.post("/account/sso")
async def link_sso(request: Request) -> Response:
    """Link this person's identity at the provider: their password (and code) again, then off to the provider."""
    user, form, refused = await _posted(request)
    if refused is not None:
        return refused
    t = words(_lang(request))
    if uses(request).records.settings.oidc_issuer is None:
        return _message(request, user, 404, "not_found", t["sso_off"])
    try:
        step = await run_in_threadpool(uses(request).accounts.start_link, user.account,
                                       str(form.get("password") or "")[:200], str(form.get("code") or "")[:12],
                                       client_address(request), request.cookies.get(DEVICE_COOKIE))
    except LoginRefused as no:
        if no.pace:
            await asyncio.sleep(no.pace)
        return _own_account_page(request, user, 401, t["login_" + no.reason], "error")
    # a page that moves on by itself, not a redirect: the policy's form-action 'self' forbids a form's answer to
    # lead to the provider's site, and a new navigation from this page is not the form's
    response = _render(request, "moving_on.html", 200, user, target="/login/sso?next=/account",
                       note=t["moving_on_provider"])
    response.set_cookie(SSO_LINK_COOKIE, step, httponly=True, samesite="lax", max_age=600,
                        secure=request.url.scheme == "https", path="/login/sso")
    return response


@pages.post("/logout")
async def logout(request: Request) -> Response:
    _, _, refused = await _posted(request)
    if refused is not None:
        return refused
    await run_in_threadpool(uses(request).accounts.log_out, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@pages.get("/lang")
def switch_language(to: str = "vi", next: str = "/") -> Response:
    response = RedirectResponse(_local_path(next), status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(LANG_COOKIE, to if to in LANGUAGES else "vi", samesite="strict", max_age=365 * 86400,
                        path="/")
    return response


# -- overview -------------------------------------------------------------------------------------


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
                     "days": days_late(i.due_at, now) or (i.due_at - now).days})
    return rows


def _band(row: Any, lang: str, day: dt.date) -> dict[str, str] | None:
    """A forecast row (``service.record``) as a coloured band: red at 70 % or more likely late, amber at 30 %, green
    below, grey without enough history; its words for people."""
    if row is None:
        return None
    t = words(lang)
    if row.p_late is None:
        return {"kind": "grey", "words": t["forecast_unknown"], "basis": row.basis, "past": ""}
    kind = "red" if row.p_late >= 0.7 else "amber" if row.p_late >= 0.3 else "green"
    done = "" if row.p50 is None else t["forecast_done_by"].format(
        p50=_value(row.p50, lang), p85=_value(row.p85, lang) if row.p85 else t["forecast_not_sure"])
    past = row.last_day < day.isoformat()  # already late on the day the page speaks of
    said = t["forecast_past"] if past else t["forecast_p"].format(p=round(row.p_late * 100))
    basis = row.basis
    for prefix in ("đã quá hạn; ", "already past its last day; "):  # the band says it already
        basis = basis.removeprefix(prefix)
    return {"kind": kind, "words": said + done, "basis": basis, "past": "1" if past else ""}


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


@pages.get("/")
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


def _decimal(value: float | None, lang: str) -> str:
    return "—" if value is None else f"{value:.3f}".replace(".", "," if lang == "vi" else ".")


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


@pages.get("/tasks")
def tasks(request: Request, page: int = 1) -> HTMLResponse:
    """Every task, narrowed by the filters (the API's GET /tasks), a page at a time."""
    user = _signed_in(request)
    lang = _lang(request)
    t = words(lang)
    given = {k: str(request.query_params.get(k) or "").strip()[:200] for k in FILTERS}
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


# -- inbox: what waits on the person signed in -----------------------------------------------------


def _inbox(request: Request, user: User, status: int = 200, flash: str | None = None,
           flash_kind: str = "") -> HTMLResponse:
    records, lang, now = uses(request).records, _lang(request), _now(request)
    today = now.astimezone(PROVINCE_TZ).date()
    tasks: list[dict[str, Any]] | None = None
    escalations: list[dict[str, Any]] | None = None
    if user.actor.role is Role.OFFICER and user.agency:
        tasks = []
        forecasts = uses(request).reports.forecast_today(lang)
        for i in records.instances(assignee=user.agency):
            definition = _definition(request, i.definition_id, i.definition_version)
            if i.state in definition.final_states:
                continue
            late = days_late(i.due_at, now) if i.due_at is not None else None
            left = None if i.due_at is None or late else (
                (i.due_at - dt.timedelta(microseconds=1)).astimezone(PROVINCE_TZ).date() - today).days
            tasks.append({"id": i.id, "title": _title(definition, lang), "state": definition.state(i.state).label,
                          "due": _day(i.due_at), "due_at": i.due_at, "late": late, "left": left,
                          "waiting_for": _waiting_for(request, user, i, definition, lang),
                          "band": _band(forecasts.get(i.id), lang, today)})
        tasks.sort(key=lambda r: (r["due_at"] is None, r["due_at"] or now, r["id"]))  # nearest deadline first
    decisions = _decisions_waiting(request, user, lang)
    if user.actor.role in (Role.COMMITTEE, Role.ADMIN):
        names = records.agency_names()
        escalations = []
        for e in records.open_escalations():
            instance = records.instance(e.instance_id)
            definition = _definition(request, instance.definition_id, instance.definition_version)
            escalations.append({"id": e.id, "instance_id": e.instance_id, "title": _title(definition, lang),
                                "agency_name": names.get(instance.assignee, instance.assignee),
                                "due": _day(e.due_at), "late": days_late(e.due_at, now)})
    return _render(request, "inbox.html", status, user, tasks=tasks, escalations=escalations, flash=flash,
                   flash_kind=flash_kind, decisions=decisions)


def _waiting_for(request: Request, user: User, instance: InstanceRecord, definition: Definition,
                 lang: str) -> str | None:
    """Who the task waits on when it is not the viewer: the body deciding a request, or who must act next."""
    t = words(lang)
    if isinstance(instance.data.get("@extension_request"), dict):
        deciders = ", ".join(_body_name(request, r, instance, lang) for r in definition.extensions_by)
        return f"{t['decide_extension']}: {deciders}"
    if uses(request).records.allowed(instance, user.actor):
        return None
    return "; ".join(_next_actors(request, instance, definition, lang)) or None


def _decisions_waiting(request: Request, user: User, lang: str) -> list[dict[str, Any]] | None:
    """The tasks waiting on a decision the viewer may take: a request for more time, a receipt claimed too late."""
    if user.actor.role not in (Role.COMMITTEE, Role.OFFICER, Role.ADMIN):
        return None
    records, t, out = uses(request).records, words(lang), []
    names = records.agency_names()
    for i in records.instances():
        waiting = [key for key, what in (("@extension_request", "decide"), ("@receipt_claim", "claim"))
                   if isinstance(i.data.get(key), dict)]
        if not waiting:
            continue
        allowed = uses(request).decisions.allowed(user.actor, i.id)
        what = [t["decide_extension"] if k == "@extension_request" else t["decide_claim"] for k in waiting
                if ("decide" if k == "@extension_request" else "claim") in allowed]
        if what:
            definition = _definition(request, i.definition_id, i.definition_version)
            out.append({"id": i.id, "title": _title(definition, lang), "agency_name": names.get(i.assignee, i.assignee),
                        "what": "; ".join(what)})
    return out


@pages.get("/inbox")
def inbox(request: Request, acknowledged: int | None = None) -> Response:
    """"Việc của tôi": an officer's open tasks, nearest deadline first; the committee's open escalations."""
    user = _signed_in(request)
    if user.actor.role is Role.AUDITOR:
        return RedirectResponse("/audit", status_code=303, headers=SECURITY_HEADERS)
    flash = words(_lang(request))["ack_done"].format(n=acknowledged) if acknowledged is not None else None
    return _inbox(request, user, flash=flash, flash_kind="ok")


@pages.post("/inbox/acknowledge")
async def acknowledge_escalations(request: Request) -> Response:
    """Acknowledge the chosen escalations: first a confirmation naming each, then all of them."""
    user, form, refused = await _posted(request)
    if refused is not None:
        return refused
    if user.actor.role not in (Role.COMMITTEE, Role.ADMIN):
        return _role_refused(request, user)
    t = words(_lang(request))
    ids = [int(str(x)) for x in form.getlist("ids") if str(x).isdigit() and len(str(x)) < 19]
    if form.get("all") and not form.get("confirmed"):  # "all of them": every open one, named on the confirmation
        ids = [e.id for e in await run_in_threadpool(uses(request).records.open_escalations)]
    if not ids:
        return await run_in_threadpool(_inbox, request, user, 422, t["ack_none"])
    note = str(form.get("note") or "").strip()[:10_000] or None
    if not form.get("confirmed"):
        return await run_in_threadpool(_confirm_acknowledge, request, user, ids, note)
    try:
        done = await run_in_threadpool(uses(request).escalations.acknowledge_many, user.actor, ids, note)
    except WorkflowError as err:
        return await run_in_threadpool(_inbox, request, user, answer(err).status,
                                       f"{t['error']}: {said(err, _lang(request), {})[0]}")
    return RedirectResponse(f"/inbox?acknowledged={len(done)}", status_code=303, headers=SECURITY_HEADERS)


def _confirm_acknowledge(request: Request, user: User, ids: list[int], note: str | None) -> HTMLResponse:
    records, lang = uses(request).records, _lang(request)
    t, names = words(lang), records.agency_names()
    chosen = [e for e in records.open_escalations() if e.id in set(ids)]
    lines = []
    for e in chosen:
        instance = records.instance(e.instance_id)
        definition = _definition(request, instance.definition_id, instance.definition_version)
        lines.append(f"#{e.instance_id} {_title(definition, lang)} — {names.get(instance.assignee, instance.assignee)}"
                     f" ({t['deadline'].lower()} {_day(e.due_at)})")
    hidden = [("ids", str(e.id)) for e in chosen] + ([("note", note)] if note else [])
    return _render(request, "confirm.html", user=user, heading=t["inbox"],
                   question=t["ack_question"].format(n=len(chosen)), lines=lines, hidden=hidden,
                   action="/inbox/acknowledge", back="/inbox")


# -- agency ---------------------------------------------------------------------------------------


@pages.get("/agencies/{code}")
def agency_page(request: Request, code: str) -> HTMLResponse:
    user = _signed_in(request)
    records = uses(request).records
    try:
        agency = records.agency(code[:32])
    except NotFound as err:
        return _not_found(request, user, err)
    now = _now(request)
    lang = _lang(request)
    tasks = []
    for i in records.instances(assignee=agency.code):
        definition = _definition(request, i.definition_id, i.definition_version)
        final = i.state in definition.final_states
        late = None if final else days_late(i.due_at, now)
        tasks.append({"id": i.id, "title": _title(definition, lang), "key": i.business_key,
                      "state": definition.state(i.state).label, "due": None if final else _day(i.due_at),
                      "late": late})
    current = agency.names[-1]
    t = words(_lang(request))
    view = {"code": agency.code, "kind": t.get(f"agency_kind_{agency.kind}", agency.kind),
            "status": t.get(f"agency_status_{agency.status}", agency.status), "successor": agency.successor,
            "name": current.name,
            "names": [{"name": n.name, "valid_from": f"{dt.date.fromisoformat(n.valid_from[:10]):%d/%m/%Y}"}
                      for n in agency.names]}
    names = records.agency_names()
    registers = [(direction, [{
        "number": e["number"], "year": e["year"], "day": _value(e["registered_on"], lang),
        "counterpart": names.get(e["counterpart"] or "", e["counterpart"] or ""), "reference": e["reference"] or "",
        "issued_on": _value(e["issued_on"], lang) if e["issued_on"] else "", "summary": e["summary"] or "",
        "instance_id": e["instance_id"], "eoffice": e["source"] == "eoffice"}
        for e in uses(request).registers.entries(agency.code, direction, limit=200)]) for direction in ("in", "out")]
    return _render(request, "agency.html", user=user, agency=view, tasks=tasks, registers=registers,
                   successor_name=names.get(agency.successor or "", None))


# -- instance -------------------------------------------------------------------------------------


def _actions(request: Request, user: User, instance: InstanceRecord, definition: Definition) -> list[dict[str, Any]]:
    """The forms of the acts the user may take. ``definition`` as written (Vietnamese): each label is put into the
    page's language here, the heading of a document's parts from its Vietnamese label."""
    actor, lang = user.actor, _lang(request)
    records = uses(request).records
    out = []
    for event in records.allowed(instance, actor):
        transition = definition.transition_from(instance.state, event)
        if transition is None:
            continue
        decision = records.decision(transition, instance, actor)  # an administrator acts for a body with a reason
        fields = [{"name": name, "type": spec.type.value, "required": spec.required,
                   "label": word(spec.label or name, lang), "legend": word(_document_title(spec.label or name), lang),
                   "values": [(v, word(spec.value_label(v), lang)) for v in spec.values or ()],
                   "parts": [(part, needed and spec.required) for part, (needed, _) in DOCUMENT_PARTS.items()]
                   if spec.type is FieldType.DOCUMENT else []}
                  for name, spec in transition.payload.items()]
        fields.sort(key=lambda f: not f["required"])  # required first (stable: otherwise as stored)
        body = None if decision.on_behalf_of is None else _body_name(request, decision.on_behalf_of, instance, lang)
        out.append({"event": event, "label": word(transition.label, lang), "fields": fields,
                    "reason_required": transition.reason_required or decision.needs_reason,
                    "on_behalf": None if body is None else words(lang)["on_behalf"].format(body=body),
                    # an act that issues or answers with an official document may carry the signed file
                    "attach": next((name for name, spec in transition.payload.items()
                                    if spec.type is FieldType.DOCUMENT), None)})
    return out


def _body_name(request: Request, role: str, instance: InstanceRecord, lang: str) -> str:
    """A plan role on a task in words: "Cán bộ Sở Y tế", "Ban Chỉ đạo Chương trình"."""
    t = words(lang)
    if role == Role.COMMITTEE.value:
        return t["committee_body"]
    records = uses(request).records
    code = instance.assignee if role == Role.OFFICER.value else records.standing_body(instance)
    return f"{t['officer_of']} {records.agency_names().get(code or '', code or '')}"


def _next_actors(request: Request, instance: InstanceRecord, definition: Definition, lang: str) -> list[str]:
    """Who must act next on a task, in words, each with the acts it can take (what a viewer who cannot act
    reads instead of a bare "nothing for you")."""
    records = uses(request).records
    out = []
    for n in who_acts(definition, instance.state, instance.assignee, records.standing_body(instance)):
        acts = ", ".join(word(t.label, lang) for e in n.events
                         if (t := definition.transition_from(instance.state, e)) is not None)
        out.append(f"{_body_name(request, n.role, instance, lang)}: {acts}")
    return out


# the engine's own references and workings (the timers' arithmetic, the request as sent), not for people
HIDDEN_KEYS = {"escalation_id", "cause", "timer_id", "fence", "request", "steps", "timers", "moves", "request_seq",
               "claim_seq", "obligation"}


def _value(value: Any, lang: str) -> str:
    """A payload value as people read it: dates dd/mm/yyyy, instants in province time, yes/no in words."""
    t = words(lang)
    if isinstance(value, bool):
        return t["yes"] if value else t["no"]
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return f"{dt.date.fromisoformat(value):%d/%m/%Y}"
            if "T" in value and len(value) >= 19:
                return local_time(value)
        except ValueError:
            pass
        return value
    if isinstance(value, list):
        return ", ".join(_value(v, lang) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{t.get('field_' + str(k), k)}: {_value(v, lang)}" for k, v in value.items())
    return str(value)


def _event_label(definition: Definition, event: str, lang: str) -> str:
    if event.startswith("@"):
        return words(lang).get(f"event_{event}", event)
    transition = next((x for x in definition.transitions if x.event == event), None)
    return transition.label if transition is not None else event


def _state_label(definition: Definition, state: str | None) -> str:
    if state is None:
        return "∅"
    try:
        return definition.state(state).label
    except (KeyError, ValueError, LookupError):
        return state


def _note_lines(payload: Mapping[str, Any], lang: str, names: Mapping[str, str]) -> list[str]:
    """What the engine noted in a row besides the payload, in words: an administrator's act for a body, the register
    entry it made, the escalations it closed."""
    t = words(lang)
    out = []
    behalf = payload.get("@on_behalf_of")
    if isinstance(behalf, Mapping):  # an administrator's act for a body
        role = str(behalf.get("role"))
        body = t["committee_body"] if role == Role.COMMITTEE.value else \
            f"{t['officer_of']} {names.get(str(behalf.get('agency')), str(behalf.get('agency')))}"
        out.append(f"{t['field_on_behalf']}: {body}")
    entry = payload.get("@register")
    if isinstance(entry, Mapping) and entry.get("direction") in ("in", "out"):  # the register it entered
        direction = str(entry["direction"])
        out.append(f"{t['register_' + direction]}: {t['register_number_' + direction].lower()} "
                   f"{entry.get('number')}/{entry.get('year')}"
                   + (f" ({t['register_eoffice']})" if entry.get("source") == "eoffice" else ""))
    closed = payload.get("@escalations_closed")
    if isinstance(closed, list) and closed:
        out.append(f"{t['field_escalations_closed']}: {', '.join(str(c) for c in closed)}")
    return out


def _payload_lines(definition: Definition, event: str, payload: Mapping[str, Any], lang: str,
                   latest: Definition | None = None, names: Mapping[str, str] | None = None) -> list[str]:
    """Each field as "its label: its value" (the transition's labels; the engine's own fields by name); a choice
    by its label, from the instance's version or else the definition's latest (older versions had none)."""
    t = words(lang)
    transition = next((x for x in definition.transitions if x.event == event), None)
    specs = transition.payload if transition is not None else {}
    newer = next((x for x in latest.transitions if x.event == event), None) if latest is not None else None
    out = _note_lines(payload, lang, names or {})
    for key, value in payload.items():
        if key in HIDDEN_KEYS or str(key).startswith("@"):
            continue
        if event == "@deadline_extended" and (key == "due_at" or (key == "late" and not value)):
            continue  # the new last day says it; "late" only when it was
        if key == "field" and event == "@corrected":  # the fact corrected, in words
            out.append(f"{t['field_field']}: {_fact_label(definition, str(value), lang)}")
            continue
        spec = specs.get(key)
        label = (spec.label if spec is not None and spec.label else None) or t.get(f"field_{key}", key)
        if spec is not None and spec.values and isinstance(value, str):
            named = spec if spec.value_labels or newer is None else newer.payload.get(key, spec)
            out.append(f"{label}: {named.value_label(value)}")
            continue
        if spec is not None and spec.type is FieldType.DECIMAL and isinstance(value, str):
            out.append(f"{label}: {shown_decimal(value, lang)}")
            continue
        if isinstance(value, Mapping) and (spec is None or spec.type is FieldType.DOCUMENT) and "number" in value:
            out.append(f"{label}: {document_words(value, lang)}")
            continue
        if isinstance(value, list) and key == "missed_stay":  # obligations by their labels
            labels = {o.name: word(o.label, lang) for o in definition.obligations}
            out.append(f"{t['field_missed_stay']}: {'; '.join(labels.get(str(v), str(v)) for v in value)}")
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value) and key in ("from", "to"):
            out.append(f"{label}: {', '.join((names or {}).get(v, v) for v in value) or '—'}")  # agencies by name
            continue
        agency = key in ("assignee", "agency") or (spec is not None and spec.type is FieldType.AGENCY)
        if names and agency and isinstance(value, str):
            out.append(f"{label}: {names.get(value, value)}")  # an agency by its registry name, not its code
            continue
        out.append(f"{label}: {_value(value, lang)}")
    return out


def _fact_label(definition: Definition, field: str, lang: str) -> str:
    """A correctable fact in words: "Ngày nhận", "Văn bản — ngày ban hành"."""
    t = words(lang)
    if field == "effective_on":
        return t["field_effective_on"]
    name, _, part = field.partition(".")
    label = next((word(spec.label or name, lang) for tr in definition.transitions
                  for n, spec in tr.payload.items() if n == name), t.get(f"field_{name}", name))
    return f"{label} — {t.get('doc_' + part, part).lower()}" if part else label


def document_words(document: Mapping[str, Any], lang: str) -> str:
    """A document's particulars as one reads them: "12/BC-SKHCN ngày 02/11/2026 — Báo cáo kết quả … (người ký:
    Giám đốc Nguyễn Văn A)"."""
    t = words(lang)
    text = str(document.get("number", ""))
    if document.get("issued_on"):
        text += f" {t['doc_dated']} {_value(str(document['issued_on']), lang)}"
    if document.get("summary"):
        text += f" — {document['summary']}"
    if document.get("signer"):
        text += f" ({t['doc_signed_by']}: {document['signer']})"
    return text


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def _who(actor_id: str, role: str, agency: str | None, lang: str,
         names: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The person or key that acted, and its role in words (the engine itself: "Hệ thống (tự động)"; an agency by
    its name when ``names`` has it)."""
    t = words(lang)
    role_text = t.get(f"role_{role}", role) + (f", {(names or {}).get(agency, agency)}" if agency else "")
    if actor_id.startswith("system:"):
        return t["role_system"], ""
    if actor_id.startswith("account:"):  # account:<id>:<the name it had then>
        return actor_id.split(":", 2)[-1], role_text
    if actor_id.startswith("key:"):  # a machine's key, by the name its administrator gave it, and its owner
        name, _, owner = actor_id[4:].partition("|account:")
        if owner:
            return t["by_key_of"].format(name=name, owner=owner.split(":", 1)[-1]), role_text
        return t["by_key"].format(name=name), role_text
    if actor_id.startswith("cli:"):  # the command line on the server, by the system user who ran it
        return t["by_cli"].format(user=actor_id.split(":", 1)[1]), role_text
    return actor_id, role_text


def _timer_rows(request: Request, instance: InstanceRecord, definition: Definition) -> list[dict[str, Any]]:
    records = uses(request).records
    lang = _lang(request)
    t = words(lang)
    labels = {o.name: o.label for o in definition.obligations}
    rows = []
    for timer in records.open_timers(instance.id):
        steps = records.timer_steps(timer, lang)  # how the period ran, then how an extension moved it
        name = labels.get(timer.obligation or timer.name) or labels.get(timer.name) or (
            _event_label(definition, timer.event, lang) if timer.event else timer.name)
        rows.append({"name": name, "kind": t.get(f"timer_{timer.kind.value}", timer.kind.value),
                     "offset": t["days_before"].format(n=timer.offset_days) if timer.offset_days else "",
                     "due": _day(timer.due_at), "steps": steps, "status": timer.status.value})
    return rows


def _children(request: Request, instance_id: int) -> list[dict[str, Any]]:
    records = uses(request).records
    names = records.agency_names()
    out = []
    for child in records.children(instance_id):
        definition = _definition(request, child.definition_id, child.definition_version)
        last = records.history(child.id)[-1]
        answer = ""
        if child.state in definition.final_states:
            lang = _lang(request)
            details = "; ".join(_payload_lines(definition, last.event, last.payload, lang,
                                               _definition(request, child.definition_id)))
            answer = _event_label(definition, last.event, lang) + (f" ({details})" if details else "") + (
                f" ⚠ {words(lang)['overdue_short']}" if child.data.get("@late") else "")
        out.append({"id": child.id, "assignee": child.assignee, "agency_name": names.get(child.assignee,
                                                                                          child.assignee),
                    "state": definition.state(child.state).label, "answer": answer,
                    "due": None if child.state in definition.final_states else _day(child.due_at)})
    return out


def _instance_page(request: Request, user: User, instance_id: int, status: int = 200,
                   flash: str | None = None, flash_kind: str = "",
                   kept: dict[str, Any] | None = None) -> HTMLResponse:
    """``kept``: after a refusal, the form that was sent (its event, values and reason) and each field's problem,
    so that nothing typed is lost and the problem shows beside its field."""
    records = uses(request).records
    lang = _lang(request)
    try:
        instance = records.instance(instance_id)
    except NotFound as err:
        return _not_found(request, user, err)
    written = records.definition(instance.definition_id, instance.definition_version)
    definition = shown(written, lang)
    now = _now(request)
    final = instance.state in definition.final_states
    history = []
    rows = records.history(instance.id)
    latest = _definition(request, instance.definition_id)
    names = records.agency_names()
    for h in rows:
        then = definition if h.definition_version == definition.version else _definition(
            request, h.definition_id, h.definition_version)
        who, role = _who(h.actor_id, h.actor_role, h.actor_agency, lang, names)
        history.append({"seq": h.seq, "at": _day(h.at), "who": who, "role": role, "event": h.event,
                        "event_label": _event_label(then, h.event, lang),
                        "from": _state_label(then, h.from_state) if h.from_state else None,
                        "to": _state_label(then, h.to_state), "reason": system_reason(h.reason, h.actor_id, lang),
                        "payload": _payload_lines(then, h.event, h.payload, lang, latest, names),
                        "files": [{**f, "size_text": _size(int(f.get("size", 0)))}
                                  for f in h.payload.get("@files", ()) if isinstance(f, dict)]})
    late = None if final else days_late(instance.due_at, now)
    return _render(
        request, "instance.html", status, user, i=instance, title=_title(definition, lang),
        verdicts=_verdicts(request, instance.id) if final else [],
        parent_title=_parent_title(request, instance.parent_id),
        section=definition.seed_section, assignee_name=records.agency_names().get(instance.assignee,
                                                                                    instance.assignee),
        state_label=definition.state(instance.state).label, due=None if final else _day(instance.due_at),
        late_days=late, svg=state_svg(definition, instance.state, _title(definition, lang),
                                      [(h.from_state, h.to_state) for h in rows], words(lang)["any_state"]),
        actions=_actions(request, user, instance, written),
        timers=_timer_rows(request, instance, definition),
        children=_children(request, instance.id), history=history, flash=flash, flash_kind=flash_kind,
        kept=kept or {"event": None, "values": {}, "reason": "", "fields": {}},
        max_file_mb=records.settings.max_file_mb, next_actors=_next_actors(request, instance, written, lang),
        inherited=next((f"{words(lang)['inherited_from']} {names.get(str(h.payload.get('from')), '')} "
                        f"{words(lang)['on_day']} {_value(h.effective_on or '', lang)}"
                        for h in reversed(rows) if h.event == "@reassigned"), None),
        cooperating=", ".join(names.get(str(c), str(c)) for c in instance.data.get("cooperating", ())
                              if isinstance(instance.data.get("cooperating"), list)),
        decisions=_decision_forms(request, user, instance, written, lang),
        band=None if final else _band(uses(request).reports.forecast_today(lang).get(instance.id), lang,
                                      _now(request).astimezone(PROVINCE_TZ).date()),
        clock_forms=None if final or user.actor.role not in (Role.COMMITTEE, Role.ADMIN) or (instance.due_at is None
        and instance.suspended_at is None) else ("resume" if instance.suspended_at is not None else "suspend"))


def _decision_forms(request: Request, user: User, instance: InstanceRecord, definition: Definition,
                    lang: str) -> dict[str, Any]:
    """The decisions the user may take on the task (``workflow.facts`` says which), and what they are about: the
    request for more time waiting, the receipt claimed, the rows and facts a correction may name."""
    allowed = uses(request).decisions.allowed(user.actor, instance.id)
    waiting = instance.data.get("@extension_request")
    claim = instance.data.get("@receipt_claim")
    facts = [("effective_on", words(lang)["field_effective_on"])]
    for transition in definition.transitions:
        for name, spec in transition.payload.items():
            if spec.type is FieldType.DATE and all(f != name for f, _ in facts):
                facts.append((name, word(spec.label or name, lang)))
            elif spec.type is FieldType.DOCUMENT and all(not f.startswith(name + ".") for f, _ in facts):
                facts += [(f"{name}.{part}", _fact_label(definition, f"{name}.{part}", lang))
                          for part in DOCUMENT_PARTS]
    rows = [(h.seq, f"{h.seq}. {word(_event_label(definition, h.event, lang), lang)} "
                    f"({_value(h.effective_on or '', lang)})")
            for h in uses(request).records.history(instance.id) if h.event == "@start" or not h.event.startswith("@")
            ] if "correct" in allowed else []
    progress = instance.data.get("@progress")
    explanations = []
    for e in uses(request).decisions.explanations(instance.id):
        shown = _definition(request, e.definition_id, e.definition_version)
        answer = next((h.payload.get("text") for h in reversed(uses(request).records.history(e.id))
                       if h.event == "explain"), None)
        explanations.append({"id": e.id, "state": word(_state_label(shown, e.state), lang),
                             "reason": str(e.data.get("reason", "")), "answer": answer,
                             "asked": _value(e.effective_on.isoformat() if e.effective_on else "", lang)})
    return {"allowed": allowed, "rows": rows, "facts": facts, "explanations": explanations,
            "explain_days": uses(request).records.settings.explanation_working_days,
            "progress": {"text": str(progress.get("text", "")), "percent": progress.get("percent"),
                         "seq": progress.get("seq")} if isinstance(progress, dict) else None,
            "waiting": {"day": _value(str(waiting.get("proposed")), lang), "seq": waiting.get("seq"),
                        "proposed": _value(str(waiting.get("proposed")), lang)} if isinstance(waiting, dict) else None,
            "claim": {"day": _value(str(claim.get("started_on")), lang)} if isinstance(claim, dict) else None}


@pages.get("/instances/{instance_id}")
def instance_page(request: Request, instance_id: int, done: str | None = None) -> HTMLResponse:
    user = _signed_in(request)
    if not 0 < instance_id < 2**62:
        return _not_found(request, user, NotFound("instance", instance_id))
    flash = None
    if done:  # the event just fired, said by its label
        lang = _lang(request)
        try:
            instance = uses(request).records.instance(instance_id)
            label = _event_label(_definition(request, instance.definition_id, instance.definition_version),
                                 done[:64], lang)
        except WorkflowError:
            label = ""
        flash = f"{words(lang)['done']} {label}".strip()
    return _instance_page(request, user, instance_id, flash=flash, flash_kind="ok")


def _document_title(label: str) -> str:
    """The heading of a document's parts: the definitions name a document field by its number ("Số báo cáo",
    written when the field was the number alone); over its parts (số, ngày, trích yếu, người ký) it is the document:
    "Báo cáo"."""
    rest = label[3:] if label.startswith("Số ") and len(label) > 3 else label
    return rest[:1].upper() + rest[1:]


def _typed_day(value: str) -> str:
    """A day typed as dd/mm/yyyy (or YYYY-MM-DD) as the engine takes it; else as typed, for the engine to name."""
    typed = typed_date(value)
    return typed.isoformat() if typed is not None else value


def _payload(form: Any, definition: Definition, state: str, event: str, lang: str = "vi") -> dict[str, Any]:
    transition = definition.transition_from(state, event)
    if transition is None:
        return {}
    payload: dict[str, Any] = {}
    for name, spec in transition.payload.items():
        if spec.type is FieldType.BOOLEAN:
            payload[name] = form.get(f"p.{name}") is not None
            continue
        if spec.type is FieldType.DOCUMENT:  # its parts, each an input (p.document.number, …); none typed: absent
            parts = {part: str(form.get(f"p.{name}.{part}") or "").strip() for part in DOCUMENT_PARTS}
            if any(parts.values()):
                if parts["issued_on"]:
                    parts["issued_on"] = _typed_day(parts["issued_on"])
                payload[name] = {part: value for part, value in parts.items() if value}
            continue
        value = str(form.get(f"p.{name}") or "").strip()
        if not value:
            continue  # absent: the engine says so if it is required
        if spec.type is FieldType.DATE:
            payload[name] = _typed_day(value)
            continue
        if spec.type is FieldType.INTEGER:
            try:
                payload[name] = int(value.replace(".", "") if lang == "vi" else value.replace(",", ""))
                continue
            except ValueError:
                pass  # passed on as text: the engine names the field and what is wrong
        if spec.type is FieldType.DECIMAL:
            payload[name] = typed_decimal(value, lang)
            continue
        payload[name] = value
    return payload


def typed_decimal(text: str, lang: str) -> str:
    """A number as people type it, as the engine reads it: on Vietnamese pages the comma is the decimal mark and
    the dot groups thousands ("1.250,5" → "1250.5"); on English ones the other way round. What is not a number is
    passed on as typed, and the engine says so."""
    mark, group = (",", ".") if lang == "vi" else (".", ",")
    text = text.replace(" ", "").replace("\u00a0", "")
    if text.count(mark) > 1:
        return text
    whole, _, fraction = text.partition(mark)
    if group in whole and not all(len(part) == 3 for part in whole.split(group)[1:]):
        return text  # "12.5" on a Vietnamese page is not a grouping: left for the engine to refuse in words
    return whole.replace(group, "") + ("." + fraction if fraction else "")


def shown_decimal(value: str, lang: str) -> str:
    """A stored decimal ("1250.5") as the reader writes it ("1.250,5" in Vietnamese)."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    whole, _, fraction = f"{abs(number):f}".partition(".")
    mark, group = (",", ".") if lang == "vi" else (".", ",")
    grouped = f"{int(whole):,}".replace(",", group)
    return ("-" if number < 0 else "") + grouped + (mark + fraction if fraction else "")


def _attached(request: Request, form: Any, uploader: str | None = None) -> list[Attached]:
    """The file sent with an action form, checked and stored (none: an empty list). Read at most one byte past the
    limit, so that a file too large is refused without holding more of it."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return []
    attachments = uses(request).attachments
    data = upload.file.read(attachments.limit + 1)
    return [attachments.accept(upload.filename, data, uploader=uploader)]


def _fire(request: Request, user: User, instance_id: int, form: Any) -> HTMLResponse | Response:
    records = uses(request).records
    if user.actor.role is Role.AUDITOR:
        return _message(request, user, 403, "forbidden", "auditors read everything and change nothing")
    event = str(form.get("event") or "")[:64]
    instances = uses(request).instances
    try:
        instance = instances.record(instance_id)
        definition = records.definition(instance.definition_id, instance.definition_version)
        expected = str(form.get("expected_version") or "")
        payload = _payload(form, definition, instance.state, event, _lang(request))
        attached = _attached(request, form, uploader_of(user.actor))
        done = instances.fire(
            user.actor, instance_id, event, payload=payload,
            reason=str(form.get("reason") or "").strip() or None,
            expected_version=int(expected) if expected.isdigit() and len(expected) < 11 else None,
            request_id=request.state.request_id, attachments=attached)
    except WorkflowError as err:
        status = answer(err).status
        if isinstance(err, NotFound) and err.kind == "instance":
            return _not_found(request, user, err)
        lang = _lang(request)
        sentence, problems = said(err, lang, records.agency_names())
        values = {str(k)[2:]: str(v) for k, v in form.items() if str(k).startswith("p.")}
        upload = form.get("file")
        if isinstance(upload, UploadFile) and upload.filename and "file" not in problems:
            # a browser never keeps a chosen file across a refusal: say so beside the file's input
            problems = {**problems, "file": words(lang)["attach_again"].format(name=clean_name(upload.filename))}
        kept = {"event": event, "values": values, "reason": str(form.get("reason") or ""), "fields": problems}
        return _instance_page(request, user, instance_id, status, f"{words(lang)['error']}: {sentence}", kept=kept)
    if done.due_at is not None:
        nudge(request, done.due_at)
    return RedirectResponse(f"/instances/{instance_id}?done={quote(event)}#history", status_code=303,
                            headers=SECURITY_HEADERS)


@pages.post("/instances/{instance_id}/fire")
async def fire(request: Request, instance_id: int) -> Response:
    user, form, refused = await _posted(request)
    try:
        if refused is not None:
            return refused
        if not 0 < instance_id < 2**62:
            return _not_found(request, user, NotFound("instance", instance_id))
        return await run_in_threadpool(_fire, request, user, instance_id, form)
    finally:
        await form.close()  # an attached file's spooled copy


@pages.get("/files/{sha256}")
def attached_file(request: Request, sha256: str) -> Response:
    """An attached file, for anyone signed in (everyone reads everything), under the name recorded with it."""
    user = _signed_in(request)
    files = uses(request).attachments.files
    try:
        path = files.path(sha256[:64])
    except ValueError:
        path = None
    if path is None or not path.is_file():
        return _message(request, user, 404, "not_found", words(_lang(request))["file_gone"])
    data = path.read_bytes()
    kind = kind_of(data) or "pdf"
    shown = uses(request).attachments.download_name(sha256[:64], kind)
    return Response(data, media_type=TYPES[kind], headers={
        **SECURITY_HEADERS, "Content-Disposition": f"attachment; filename*=UTF-8''{quote(shown)}"})


DEADLINE_EVENTS = {"extend": "@deadline_extended", "suspend": "@suspended", "resume": "@resumed",
                   "ask": "@extension_requested", "decide": "@deadline_extended", "claim": "@receipt_claim_accepted",
                   "correct": "@corrected", "progress": "@progress", "explain": "@explanation_requested"}


def _date_field(value: str, name: str) -> dt.date | None:
    if not value.strip():
        return None
    day = typed_date(value)
    if day is None:
        raise PayloadInvalid([(name, f"{value.strip()!r} is not a date (YYYY-MM-DD)")])
    return day


def _count_field(value: str, name: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 5:
        raise PayloadInvalid([(name, f"must be a whole number, not {value!r}")])
    return int(value)


def _decision_document(form: Any) -> Any:
    """The deciding document as typed: its number, with its date of issue when given (the decision's date)."""
    number = str(form.get("document.number") or "").strip()[:100]
    issued = str(form.get("document.issued_on") or "").strip()[:10]
    if not number and not issued:
        return None
    return {"number": number, "issued_on": _typed_day(issued)} if issued else number


def _decide(request: Request, user: User, instance_id: int, op: str, form: Any) -> str:
    """One decision from the task page; the event it wrote (for the page's "done" line)."""
    clock, decisions, actor = uses(request).deadlines, uses(request).decisions, user.actor
    reason = str(form.get("reason") or "").strip()[:10_000]
    document = _decision_document(form)
    to_date = _date_field(str(form.get("to_date") or ""), "to_date")
    choice = str(form.get("decision") or "")
    if op == "extend":
        clock.extend(actor, instance_id, reason=reason, document=document, to_date=to_date,
                     days=_count_field(str(form.get("days") or ""), "days"),
                     working_days=_count_field(str(form.get("working_days") or ""), "working_days"))
    elif op == "ask":
        decisions.request_extension(actor, instance_id, reason=reason, to_date=to_date, document=document)
    elif op == "decide":
        return str(decisions.decide_extension(actor, instance_id, grant=choice != "refuse", reason=reason,
                                              document=document, to_date=to_date)["event"])
    elif op == "claim":
        return str(decisions.decide_claim(actor, instance_id, accept=choice != "reject", reason=reason,
                                          document=document)["event"])
    elif op == "correct":
        value = str(form.get("value") or "").strip()[:1000]
        field = str(form.get("field") or "")[:80]
        typed = typed_date(value)
        decisions.correct(actor, instance_id, seq=_count_field(str(form.get("row") or ""), "seq") or 0, field=field,
                          value=typed.isoformat() if typed is not None else value, reason=reason, document=document)
    elif op == "explain":
        decisions.request_explanation(actor, instance_id, reason=reason,
                                      working_days=_count_field(str(form.get("working_days") or ""), "working_days"))
    elif op == "progress":
        decisions.report_progress(actor, instance_id, text=str(form.get("text") or "")[:10_000],
                                  percent=_count_field(str(form.get("percent") or ""), "percent"), document=document,
                                  reason=reason or None)
    elif op == "suspend":
        clock.suspend(actor, instance_id, reason=reason, document=document)
    else:
        clock.resume(actor, instance_id, reason=reason, document=document)
    return DEADLINE_EVENTS[op]


def _deadline(request: Request, user: User, instance_id: int, op: str, form: Any) -> Response:
    try:
        done = _decide(request, user, instance_id, op, form)
    except WorkflowError as err:
        if isinstance(err, NotFound) and err.kind == "instance":
            return _not_found(request, user, err)
        lang = _lang(request)
        sentence, problems = said(err, lang, uses(request).records.agency_names())
        kept = {"event": f"@{op}", "fields": problems, "reason": str(form.get("reason") or "")[:10_000],
                "values": {k: str(v)[:10_000] for k, v in form.items() if k != "csrf"}}
        return _instance_page(request, user, instance_id, answer(err).status, f"{words(lang)['error']}: {sentence}",
                              kept=kept)
    nudge(request)
    return RedirectResponse(f"/instances/{instance_id}?done={done}#history", status_code=303,
                            headers=SECURITY_HEADERS)


@pages.post("/instances/{instance_id}/deadline/{op}")
async def deadline(request: Request, instance_id: int, op: str) -> Response:
    """A decision on a task's clock from its page: the owing agency asks for more time; the deciding body grants or
    refuses it, or extends, suspends, resumes; the standing body decides a claimed receipt or corrects a recorded
    fact. Who may do which is the engine's rule."""
    user, form, refused = await _posted(request)
    if refused is not None:
        return refused
    if op not in DEADLINE_EVENTS or not 0 < instance_id < 2**62:
        return _not_found(request, user, NotFound("page", op))
    return await run_in_threadpool(_deadline, request, user, instance_id, op, form)


# -- audit ----------------------------------------------------------------------------------------


HISTORY_FILTERS = ("agency", "actor", "event", "from", "to")
HISTORY_PAGE = 50


@pages.get("/audit/history")
def history_search(request: Request, page: int = 1) -> HTMLResponse:
    """Every task's history, newest first, searched by agency, by who acted, by act and by the days recorded (in
    province time): what an auditor reads."""
    user = _signed_in(request)
    records, lang = uses(request).records, _lang(request)
    t = words(lang)
    given = {k: str(request.query_params.get(k) or "").strip()[:100] for k in HISTORY_FILTERS}
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


@pages.get("/audit")
def audit_page(request: Request, run: bool = False) -> HTMLResponse:
    """Verification runs when asked (``?run=1``): it reads every history row (about 16 s for 1,000,000)."""
    user = _signed_in(request)
    if not run:
        return _render(request, "audit.html", user=user, ran=False)
    result = uses(request).audit.verify()
    return _render(request, "audit.html", user=user, ran=True, ok=result.ok, instances=result.instances,
                   problems=[p.as_dict() for p in result.problems], database=result.database)


@pages.get("/audit/checkpoint")
def audit_checkpoint(request: Request) -> JSONResponse:
    _signed_in(request)
    audit = uses(request).audit
    document = audit.checkpoint()
    name = audit.checkpoint_name()
    return JSONResponse(document, headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})


REPORT_FILES = {"docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "bao-cao"),
                "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "tinh-hinh"),
                "csv": ("text/csv; charset=utf-8", "tinh-hinh")}


@pages.get("/report.{fmt}")
def report_file(request: Request, fmt: str) -> Response:
    """The overview's figures to download: the report to sign (.docx, Nghị định 30/2020), the workbook, the CSV;
    as of the day the overview shows."""
    user = _signed_in(request)
    if fmt not in REPORT_FILES:
        return _message(request, user, 404, "error", "docx, xlsx or csv")
    reports = uses(request).reports
    as_of = _as_of(request)
    report = reports.status(as_of)
    record = reports.agencies(as_of) if fmt != "csv" else None
    body: bytes | str = (to_docx(report, today=reports.today(), record=record) if fmt == "docx"
                         else to_xlsx(report, record) if fmt == "xlsx" else to_csv(report))
    media, stem = REPORT_FILES[fmt]
    name = f"{stem}-{reports.day(as_of)}.{fmt}"
    return Response(body, media_type=media,
                    headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})


@pages.get("/audit/export")
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


# -- accounts: administrators manage people's accounts; auditors read the list ------------------------------------

ACCOUNT_FIELDS = ("login", "name", "position", "role", "agency", "email")
ACCOUNT_DONE = {"created", "disabled", "enabled", "password", "second_factor_off"}


def _account_rows(request: Request, accounts: list[Account], names: dict[str, str]) -> list[dict[str, Any]]:
    now = _now(request)
    return [{"login": a.login, "name": a.name, "position": a.position, "role": a.role, "agency": a.agency,
             "agency_name": names.get(a.agency, a.agency) if a.agency else None, "email": a.email,
             "second_factor": a.has_totp, "sso": a.oidc_subject is not None, "password": a.has_password,
             "disabled": a.disabled_at is not None, "disabled_on": _day(a.disabled_at),
             "locked_until": _clock_time(a.locked_until) if a.locked_until and a.locked_until > now else None}
            for a in accounts]


def _accounts_page(request: Request, user: User, status: int = 200, flash: str | None = None, flash_kind: str = "",
                   kept: dict[str, Any] | None = None, secret: dict[str, str] | None = None) -> HTMLResponse:
    """``kept``: after a refusal, the form sent (``form``: which one, ``values``, each field's ``fields`` problem)."""
    records = uses(request).records
    try:
        accounts = uses(request).accounts.list(user.actor)
    except WorkflowError:
        return _message(request, user, 403, "forbidden", words(_lang(request))["accounts_forbidden"])
    names = records.agency_names()
    agencies = _agency_choices(request, names, ended=False)  # a new officer belongs to an agency that exists
    return _render(request, "accounts.html", status, user, accounts=_account_rows(request, accounts, names),
                   agencies=agencies, roles=["officer", "committee", "auditor", "admin"], flash=flash,
                   flash_kind=flash_kind, kept=kept or {"form": None, "values": {}, "fields": {}}, secret=secret,
                   writes=user.actor.role is Role.ADMIN)


@pages.get("/accounts")
def accounts_page(request: Request, done: str = "", who: str = "") -> HTMLResponse:
    user = _signed_in(request)
    t = words(_lang(request))
    flash = t[f"account_done_{done}"].format(login=who[:64]) if done in ACCOUNT_DONE else None
    return _accounts_page(request, user, flash=flash, flash_kind="ok" if flash else "")


def _account_act(request: Request, user: User, op: str, login: str, form: Any) -> Response:
    accounts, lang = uses(request).accounts, _lang(request)
    values = {k: str(form.get(k) or "").strip()[:500] for k in ACCOUNT_FIELDS}  # kept after a refusal
    secret = None
    try:
        differ: list[tuple[str, str]] = []
        if op in ("create", "password"):
            password = str(form.get("password") or "")[:200]
            if password != str(form.get("password2") or "")[:200]:  # said with every other problem of the form
                differ = [("password2", "the two passwords differ")]
        if op == "create":
            login = values["login"]
            accounts.create(user.actor, login, values["name"], values["role"], values["agency"] or None,
                            values["email"] or None, values["position"] or None, password or None, also=differ)
            done = "created"
        elif op == "disable":
            accounts.disable(user.actor, login)
            done = "disabled"
        elif op == "enable":
            accounts.enable(user.actor, login)
            done = "enabled"
        elif op == "password":
            accounts.reset_password(user.actor, login, password, also=differ)
            done = "password"
        elif form.get("on") == "1":
            made = accounts.second_factor(user.actor, login)
            assert isinstance(made, NewSecondFactor)
            secret = {"login": login, "secret": made.secret, "uri": made.uri,
                      "qr": segno.make(made.uri, error="m").svg_inline(scale=5, title=words(lang)["second_factor_qr"])}
            done = ""
        else:
            accounts.second_factor(user.actor, login, on=False)
            done = "second_factor_off"
    except WorkflowError as err:
        sentence, problems = said(err, lang, uses(request).records.agency_names())
        kept = {"form": op if op == "create" else f"{op}:{login}", "values": values, "fields": problems}
        return _accounts_page(request, user, answer(err).status, f"{words(lang)['error']}: {sentence}", kept=kept)
    if secret is not None:  # shown once, on this answer only (not in a URL, not in the log)
        return _accounts_page(request, user, flash=words(lang)["account_second_factor_on"].format(login=login),
                              flash_kind="ok", secret=secret)
    return RedirectResponse(f"/accounts?done={done}&who={quote(login)}", status_code=303, headers=SECURITY_HEADERS)


@pages.post("/accounts")
async def create_account(request: Request) -> Response:
    return await _account_post(request, "create", "")


@pages.post("/accounts/{login}/{op}")
async def change_account(request: Request, login: str, op: str) -> Response:
    if op not in ("disable", "enable", "password", "second-factor"):
        user = _signed_in(request)
        return _not_found(request, user, NotFound("page", op))
    return await _account_post(request, op.replace("second-factor", "second_factor"), login[:64])


async def _account_post(request: Request, op: str, login: str) -> Response:
    user, form, refused = await _posted(request)
    if refused is not None:
        return refused
    if user.actor.role is not Role.ADMIN:
        return _message(request, user, 403, "forbidden", words(_lang(request))["accounts_forbidden"])
    return await run_in_threadpool(_account_act, request, user, op, login, form)


pages.include_router(plan_import.router)  # a page family of its own (service/web/plan_import.py)
