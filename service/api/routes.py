"""The /api/v1 routes: a thin layer over the engine, the store and the same functions the CLI uses."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from definitions import Deadline, Role, load_text
from definitions.agencies import Certainty, Change, ChangeKind
from workflow import FireResult, OverrideKind, make_checkpoint
from workflow.agencies import Agencies
from workflow.calendar import DeadlineOutOfRange, Due, local_date
from workflow.clock import PROVINCE_TZ
from workflow.errors import PayloadInvalid

from .. import report as status
from ..app.keys import Keys
from ..http import app_of, export_response, nudge
from ..verification import verify_all
from ..views import (
    agency_view,
    escalation_view,
    history_view,
    instance_view,
    instant,
    mermaid,
    notification_view,
    schedule_view,
    timer_view,
)
from .auth import Principal, principal, require
from .problems import ApiProblem

router = APIRouter(prefix="/api/v1")
Who = Annotated[Principal, Depends(principal)]
Limit = Annotated[int, Query(ge=1, le=1000)]
MAX_ID = 2**62  # SQLite and PostgreSQL integers are 64-bit; larger ids cannot exist
InstanceId = Annotated[int, Path(ge=1, le=MAX_ID)]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]  # a 32-bit integer column


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartBody(Body):
    definition: str = Field(max_length=100)
    business_key: str = Field(min_length=1, max_length=200)
    assignee: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict)
    version: Version | None = None
    effective_on: dt.date | None = None  # the day the duty was assigned (default: today, province time)


class FireBody(Body):
    event: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = Field(default=None, max_length=10_000)
    expected_version: Version | None = None
    effective_on: dt.date | None = None  # the document's date, the day of receipt (default: today)


class ExtendBody(Body):
    reason: str = Field(max_length=10_000)
    document: str = Field(max_length=100)
    to_date: dt.date | None = None
    days: int | None = Field(default=None, ge=1, le=3650)
    working_days: int | None = Field(default=None, ge=1, le=2500)


class ClockBody(Body):
    reason: str = Field(max_length=10_000)
    document: str | None = Field(default=None, max_length=100)


class AckBody(Body):
    note: str | None = Field(default=None, max_length=10_000)


class RenameBody(Body):
    name: str = Field(min_length=1, max_length=500)
    short_name: str | None = Field(default=None, max_length=100)
    effective: dt.date
    document: str = Field(max_length=100)


class MergeBody(Body):
    into: str = Field(max_length=32)
    effective: dt.date
    document: str = Field(max_length=100)


class RetireBody(Body):
    successor: str = Field(max_length=32)
    effective: dt.date
    document: str = Field(max_length=100)


class OverrideBody(Body):
    day: dt.date
    kind: OverrideKind
    reason: str = Field(min_length=1, max_length=2000)


class RetryBody(Body):
    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(default=None, max_length=10_000)


class KeyBody(Body):
    name: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "officer", "committee", "auditor"]
    agency: str | None = Field(default=None, max_length=32)


class DefinitionBody(Body):
    yaml: str = Field(min_length=1, max_length=1_000_000)


ctx = app_of


def scoped_key(who: Principal, key: str | None) -> str | None:
    """An Idempotency-Key belongs to the API key that sent it; the engine checks and records it inside the
    event's own transaction (one write transaction per request)."""
    if key is None:
        return None
    if not 1 <= len(key) <= 180:
        raise PayloadInvalid([("Idempotency-Key", "1 to 180 characters")])
    return f"api:{who.key_id}:{key}"


def replayed(result: FireResult) -> dict[str, str]:
    return {"Idempotent-Replayed": "true"} if result.replayed else {}


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_version(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise ApiProblem(400, "Bad If-Match", "If-Match must be the ETag of the instance (its version), e.g. \"3\"")
    return int(text)


# -- definitions ---------------------------------------------------------------------------------


@router.get("/definitions")
def list_definitions(request: Request, who: Who) -> list[dict[str, Any]]:
    return [{"id": s.definition.id, "version": s.definition.version, "title": s.definition.title.model_dump(),
             "seed_section": s.definition.seed_section, "content_hash": s.content_hash}
            for s in ctx(request).store.list_definitions()]


@router.post("/definitions", status_code=201)
def load_definition(request: Request, who: Who, body: DefinitionBody) -> dict[str, Any]:
    require(who, Role.ADMIN, what="loading a definition")
    engine = ctx(request).engine
    definition = load_text(body.yaml, "request body", known_guards=engine.guards)
    new = engine.store.save_definition(definition)
    return {"id": definition.id, "version": definition.version, "new": new, "content_hash": definition.content_hash}


@router.get("/definitions/{definition_id}")
def show_definition(request: Request, who: Who, definition_id: str,
                    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> dict[str, Any]:
    stored = ctx(request).store.get_definition(definition_id, version)
    return {**stored.definition.model_dump(mode="json"), "content_hash": stored.content_hash}


@router.get("/definitions/{definition_id}/diagram", response_class=PlainTextResponse)
def definition_diagram(request: Request, who: Who, definition_id: str,
                       version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> PlainTextResponse:
    definition = ctx(request).store.get_definition(definition_id, version).definition
    return PlainTextResponse(mermaid(definition), media_type="text/vnd.mermaid; charset=utf-8")


# -- instances -----------------------------------------------------------------------------------


@router.post("/instances", status_code=201)
def start_instance(request: Request, who: Who, body: StartBody,
                   idempotency_key: Annotated[str | None, Header()] = None) -> JSONResponse:
    app = ctx(request)
    result = app.engine.start_request(body.definition, body.business_key, body.assignee, who.actor, data=body.data,
                                      version=body.version, request_id=request.state.request_id,
                                      effective_on=body.effective_on,
                                      idempotency_key=scoped_key(who, idempotency_key))
    if result.instance.due_at is not None and not result.replayed:
        nudge(request, result.instance.due_at)
    return JSONResponse(instance_view(app.engine, result.instance), status_code=201, headers=replayed(result))


@router.get("/instances")
def list_instances(request: Request, who: Who, definition: str | None = None, state: str | None = None,
                   agency: str | None = None, overdue: bool = False, due_before: dt.datetime | None = None,
                   key_prefix: Annotated[str | None, Query(max_length=200)] = None,
                   cursor: Annotated[int, Query(ge=0, le=MAX_ID)] = 0, limit: Limit = 100) -> dict[str, Any]:
    app = ctx(request)
    if due_before is not None and due_before.tzinfo is None:
        raise PayloadInvalid([("due_before", "give a timezone, e.g. 2023-01-04T17:00:00Z")])
    rows = app.store.list_instances(definition_id=definition, state=state, assignee=agency, after_id=cursor,
                                    limit=limit, overdue_at=app.clock.now() if overdue else None,
                                    due_before=due_before, key_prefix=key_prefix)
    return {"items": [instance_view(app.engine, i) for i in rows],
            "next_cursor": rows[-1].id if len(rows) == limit else None}


@router.get("/instances/{instance_id}")
def show_instance(request: Request, response: Response, who: Who, instance_id: InstanceId) -> dict[str, Any]:
    app = ctx(request)
    instance = app.store.get_instance(instance_id)
    response.headers["ETag"] = etag(instance.version)
    return instance_view(app.engine, instance)


@router.post("/instances/{instance_id}/events")
def fire_event(request: Request, who: Who, instance_id: InstanceId, body: FireBody,
               if_match: Annotated[str | None, Header()] = None,
               idempotency_key: Annotated[str | None, Header()] = None) -> JSONResponse:
    app = ctx(request)
    expected = if_match_version(if_match)
    if expected is not None and body.expected_version is not None and expected != body.expected_version:
        raise PayloadInvalid([("If-Match", "disagrees with expected_version in the body")])
    result = app.engine.fire(instance_id, body.event, who.actor, payload=body.payload, reason=body.reason,
                             expected_version=expected or body.expected_version,
                             idempotency_key=scoped_key(who, idempotency_key), request_id=request.state.request_id,
                             effective_on=body.effective_on)
    if not result.replayed:
        request.app.state.metrics.transition(result.instance.definition_id, body.event)
        if result.instance.due_at is not None:
            nudge(request, result.instance.due_at)
    content = instance_view(app.engine, result.instance) | {"seq": result.record.seq, "replayed": result.replayed}
    return JSONResponse(content, headers={"ETag": etag(result.instance.version), **replayed(result)})


@router.get("/instances/{instance_id}/history")
def instance_history(request: Request, who: Who, instance_id: InstanceId) -> list[dict[str, Any]]:
    store = ctx(request).store
    store.get_instance(instance_id)
    return [history_view(r) for r in store.history(instance_id)]


@router.get("/instances/{instance_id}/timers")
def instance_timers(request: Request, who: Who, instance_id: InstanceId) -> list[dict[str, Any]]:
    store = ctx(request).store
    store.get_instance(instance_id)
    return [timer_view(t) for t in store.list_timers(instance_id)]


@router.get("/instances/{instance_id}/children")
def instance_children(request: Request, who: Who, instance_id: InstanceId) -> list[dict[str, Any]]:
    app = ctx(request)
    app.store.get_instance(instance_id)
    return [instance_view(app.engine, c) for c in app.store.list_instances(parent_id=instance_id, limit=10_000)]


# -- deadlines and escalations -------------------------------------------------------------------


@router.post("/instances/{instance_id}/deadline/extend")
def extend_deadline(request: Request, who: Who, instance_id: InstanceId, body: ExtendBody) -> list[dict[str, Any]]:
    timers = ctx(request).deadlines.extend(instance_id, who.actor, reason=body.reason, document=body.document,
                                           to_date=body.to_date, days=body.days, working_days=body.working_days)
    nudge(request)
    return [timer_view(t) for t in timers]


@router.post("/instances/{instance_id}/deadline/suspend")
def suspend_deadline(request: Request, who: Who, instance_id: InstanceId, body: ClockBody) -> list[dict[str, Any]]:
    return [timer_view(t) for t in ctx(request).deadlines.suspend(instance_id, who.actor, reason=body.reason,
                                                                  document=body.document)]


@router.post("/instances/{instance_id}/deadline/resume")
def resume_deadline(request: Request, who: Who, instance_id: InstanceId, body: ClockBody) -> list[dict[str, Any]]:
    timers = ctx(request).deadlines.resume(instance_id, who.actor, reason=body.reason, document=body.document)
    nudge(request)
    return [timer_view(t) for t in timers]


@router.get("/escalations")
def list_escalations(request: Request, who: Who,
                     status_: Annotated[Literal["open", "acknowledged"] | None, Query(alias="status")] = None
                     ) -> list[dict[str, Any]]:
    return [escalation_view(e) for e in ctx(request).store.list_escalations(status_)]


@router.post("/escalations/{escalation_id}/acknowledge")
def acknowledge_escalation(request: Request, who: Who, escalation_id: RowId, body: AckBody) -> dict[str, Any]:
    instance_id = ctx(request).deadlines.acknowledge(escalation_id, who.actor, body.note)
    return {"escalation_id": escalation_id, "instance_id": instance_id, "status": "acknowledged"}


# -- agencies ------------------------------------------------------------------------------------


def _agency(request: Request, code: str) -> dict[str, Any]:
    return agency_view(Agencies(ctx(request).engine).get(code))


@router.get("/agencies")
def list_agencies(request: Request, who: Who) -> list[dict[str, Any]]:
    return [_agency(request, code) for code in sorted(ctx(request).store.agency_names())]


@router.get("/agencies/{code}")
def show_agency(request: Request, who: Who, code: str, on: dt.date | None = None) -> dict[str, Any]:
    body = _agency(request, code)
    if on is not None:
        body["name_on"] = {"date": on.isoformat(), "name": Agencies(ctx(request).engine).name_on(code, on)}
    return body


def _build(**fields: Any) -> Change:
    try:
        return Change(certainty=Certainty.FACT, note="API", **fields)
    except ValidationError as err:
        raise PayloadInvalid.from_pydantic(err.errors(include_url=False)) from None


def _change(request: Request, who: Principal, change: Change, document: str) -> dict[str, Any]:
    result = Agencies(ctx(request).engine).apply(change, who.actor, document)
    return {"applied": result.applied, "scheduled": result.scheduled, "moved": list(result.moved),
            "agency": _agency(request, change.code)}


@router.post("/agencies/{code}/rename")
def rename_agency(request: Request, who: Who, code: str, body: RenameBody) -> dict[str, Any]:
    return _change(request, who, _build(op=ChangeKind.RENAME, code=code, name=body.name, short_name=body.short_name,
                                        effective=body.effective), body.document)


@router.post("/agencies/{code}/merge")
def merge_agency(request: Request, who: Who, code: str, body: MergeBody) -> dict[str, Any]:
    return _change(request, who, _build(op=ChangeKind.MERGE, code=code, into=body.into, effective=body.effective),
                   body.document)


@router.post("/agencies/{code}/retire")
def retire_agency(request: Request, who: Who, code: str, body: RetireBody) -> dict[str, Any]:
    return _change(request, who, _build(op=ChangeKind.RETIRE, code=code, successor=body.successor,
                                        effective=body.effective), body.document)


# -- calendar, schedules, notifications ----------------------------------------------------------


@router.get("/calendar/due")
def calendar_due(request: Request, who: Who,
                 start: Annotated[dt.date, Query(alias="from", ge=dt.date(1900, 1, 1), le=dt.date(2200, 12, 31))],
                 days: Annotated[int | None, Query(ge=0, le=3650)] = None,
                 working_days: Annotated[int | None, Query(ge=0, le=2500)] = None,
                 hours: Annotated[int | None, Query(ge=0, le=87600)] = None,
                 end_of_month: Annotated[str | None, Query(max_length=7)] = None,
                 end_of_year: Annotated[int | None, Query(ge=2000, le=2200)] = None,
                 before: dt.date | None = None, on: dt.date | None = None,
                 yearly: Annotated[str | None, Query(max_length=5)] = None) -> dict[str, Any]:
    spec = {"days": days, "working_days": working_days, "hours": hours, "end_of_month": end_of_month,
            "end_of_year": end_of_year, "before_date": before, "on_date": on, "yearly": yearly}
    try:
        deadline = Deadline(**{k: v for k, v in spec.items() if v is not None})
    except ValueError as err:
        raise PayloadInvalid([("deadline", str(err).splitlines()[1].strip() if "\n" in str(err) else str(err))]) \
            from None
    try:
        due: Due = ctx(request).engine.calendar.due(deadline, start)
    except DeadlineOutOfRange as err:
        raise PayloadInvalid([("from", str(err))]) from None
    return due.as_dict()


@router.get("/calendar/overrides")
def calendar_overrides(request: Request, who: Who) -> list[dict[str, Any]]:
    return [{"day": o.day.isoformat(), "kind": o.kind.value, "reason": o.reason}
            for o in ctx(request).store.calendar_overrides()]


@router.post("/calendar/overrides", status_code=201)
def add_calendar_override(request: Request, who: Who, body: OverrideBody) -> dict[str, Any]:
    changes = ctx(request).deadlines.add_override(body.day, body.kind, body.reason, who.actor)
    nudge(request)
    return {"day": body.day.isoformat(), "kind": body.kind.value, "instances": {str(k): v for k, v in changes.items()}}


@router.get("/schedules")
def list_schedules(request: Request, who: Who) -> list[dict[str, Any]]:
    return [schedule_view(s) for s in ctx(request).store.list_schedules()]


@router.get("/notifications")
def list_notifications(request: Request, who: Who,
                       status_: Annotated[Literal["pending", "sent", "dead", "no_contact"] | None,
                                          Query(alias="status")] = None) -> list[dict[str, Any]]:
    admin = who.actor.role is Role.ADMIN
    return [notification_view(m, admin) for m in ctx(request).store.list_outbox(status_)]


@router.post("/notifications/retry")
def retry_notifications(request: Request, who: Who, body: RetryBody) -> dict[str, Any]:
    require(who, Role.ADMIN, what="retrying notifications")
    return {"requeued": ctx(request).store.retry_outbox(body.ids, ctx(request).clock.now())}


# -- reports and audit ---------------------------------------------------------------------------


@router.get("/reports/status", response_model=None)
def report_status(request: Request, who: Who, as_of: dt.date | None = None, known_at: dt.datetime | None = None,
                  format_: Annotated[Literal["json", "csv", "xlsx"], Query(alias="format")] = "json"
                  ) -> Response | dict[str, Any]:
    app = ctx(request)
    if known_at is not None and known_at.tzinfo is None:
        known_at = known_at.replace(tzinfo=PROVINCE_TZ)
    result = status.status_report(app.engine, app.store, app.clock.now(), as_of, known_at)
    day = as_of or local_date(app.clock.now())
    if format_ == "csv":
        return Response(status.to_csv(result), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="status-{day}.csv"'})
    if format_ == "xlsx":
        return Response(status.to_xlsx(result),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="status-{day}.xlsx"'})
    return result.as_dict()


@router.get("/audit/verify")
def audit_verify(request: Request, who: Who) -> dict[str, Any]:
    return verify_all(ctx(request).store).as_dict()  # one snapshot: writes during the scan are not "tampering"


@router.get("/audit/checkpoint")
def audit_checkpoint(request: Request, who: Who) -> dict[str, Any]:
    store = ctx(request).store
    return make_checkpoint(store.chain_heads(), ctx(request).clock.now())


@router.get("/audit/export")
def audit_export(request: Request, who: Who,
                 format_: Annotated[Literal["jsonl", "csv"], Query(alias="format")] = "jsonl") -> StreamingResponse:
    return export_response(ctx(request), format_)


# -- keys ----------------------------------------------------------------------------------------


def _keys(request: Request) -> Keys:
    app = ctx(request)
    return Keys(app.store, app.clock)


@router.get("/keys")
def list_keys(request: Request, who: Who) -> list[dict[str, Any]]:
    return [{"id": k.id, "name": k.name, "role": k.role, "agency": k.agency, "created_at": instant(k.created_at),
             "revoked_at": instant(k.revoked_at)} for k in _keys(request).list(who.actor)]


@router.post("/keys", status_code=201)
def create_key(request: Request, who: Who, body: KeyBody) -> dict[str, Any]:
    key, token = _keys(request).create(who.actor, body.name, body.role, body.agency)
    return {"id": key.id, "name": key.name, "role": key.role, "agency": key.agency, "key": token,
            "note": "shown once; only its hash is stored"}


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(request: Request, who: Who, key_id: RowId) -> Response:
    _keys(request).revoke(who.actor, key_id)
    return Response(status_code=204)
