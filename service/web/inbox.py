"""The inbox (what waits for me: my agency's tasks, the committee's escalations and decisions) and an agency's page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from definitions import Definition, NotFound, Role, WorkflowError
from workflow.clock import PROVINCE_TZ
from workflow.obligations import days_past
from workflow.ports import InstanceRecord

from .. import limits
from ..errors import answer
from ..http import uses
from .base import (
    SECURITY_HEADERS,
    User,
    _day,
    _lang,
    _not_found,
    _now,
    _posted,
    _render,
    _role_refused,
    _signed_in,
)
from .i18n import words
from .labels import _band, _title, _value
from .refusals import said
from .task import _body_name, _definition, _next_actors

router = APIRouter(include_in_schema=False)


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
            late = days_past(i.due_at, now) if i.due_at is not None else None
            left = None if i.due_at is None or late else (
                (i.due_at - dt.timedelta(microseconds=1)).astimezone(PROVINCE_TZ).date() - today).days
            tasks.append({"id": i.id, "title": _title(definition, lang), "state": definition.state(i.state).label,
                          "due": _day(i.due_at), "due_at": i.due_at, "late": late, "left": left,
                          "waiting_for": _waiting_for(request, user, i, definition, lang),
                          "band": _band(forecasts.get(i.id), lang, today)})
        tasks.sort(key=lambda r: (r["due_at"] is None, r["due_at"] or now, r["id"]))  # nearest deadline first
    decisions = _decisions_waiting(request, user, lang)
    if uses(request).escalations.may_acknowledge(user.actor):
        names = records.agency_names()
        escalations = []
        for e in records.open_escalations():
            instance = records.instance(e.instance_id)
            definition = _definition(request, instance.definition_id, instance.definition_version)
            escalations.append({"id": e.id, "instance_id": e.instance_id, "title": _title(definition, lang),
                                "agency_name": names.get(instance.assignee, instance.assignee),
                                "due": _day(e.due_at), "late": days_past(e.due_at, now)})
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


@router.get("/inbox")
def inbox(request: Request, acknowledged: int | None = None) -> Response:
    """"Việc của tôi": an officer's open tasks, nearest deadline first; the committee's open escalations."""
    user = _signed_in(request)
    if user.actor.role is Role.AUDITOR:
        return RedirectResponse("/audit", status_code=303, headers=SECURITY_HEADERS)
    flash = words(_lang(request))["ack_done"].format(n=acknowledged) if acknowledged is not None else None
    return _inbox(request, user, flash=flash, flash_kind="ok")


@router.post("/inbox/acknowledge")
async def acknowledge_escalations(request: Request) -> Response:
    """Acknowledge the chosen escalations: first a confirmation naming each, then all of them."""
    user, form, refused = await _posted(request)
    if refused is not None:
        return refused
    if not uses(request).escalations.may_acknowledge(user.actor):
        return _role_refused(request, user)
    t = words(_lang(request))
    ids = [int(str(x)) for x in form.getlist("ids") if str(x).isdigit() and len(str(x)) < 19]
    if form.get("all") and not form.get("confirmed"):  # "all of them": every open one, named on the confirmation
        ids = [e.id for e in await run_in_threadpool(uses(request).records.open_escalations)]
    if not ids:
        return await run_in_threadpool(_inbox, request, user, 422, t["ack_none"])
    note = str(form.get("note") or "").strip()[:limits.REASON] or None
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


@router.get("/agencies/{code}")
def agency_page(request: Request, code: str) -> HTMLResponse:
    user = _signed_in(request)
    records = uses(request).records
    try:
        agency = records.agency(code[:limits.AGENCY])
    except NotFound as err:
        return _not_found(request, user, err)
    now = _now(request)
    lang = _lang(request)
    tasks = []
    for i in records.instances(assignee=agency.code):
        definition = _definition(request, i.definition_id, i.definition_version)
        final = i.state in definition.final_states
        late = None if final else days_past(i.due_at, now)
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
