"""The /api/v1 routes: parse the request, call the application layer (``service/app``), render its views."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, cast

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from typing_extensions import TypedDict

from definitions.agencies import ChangeKind
from definitions.model import EMAIL_PATTERN
from store.accounts import Account
from store.sql_store import TaskFilter
from workflow import OverrideKind
from workflow.errors import PayloadInvalid
from workflow.payload import AGENCY_CODE

from .. import limits
from ..app import Outcome
from ..app.accounts import LOGIN, AccountView, account_view
from ..app.attachments import Attached, uploader_of
from ..app.audit import CheckpointView, VerificationView, verification_view
from ..app.deadlines import DueView, OverrideAdded, OverrideView, due_view
from ..app.definitions import DefinitionShown, DefinitionSummary, Loaded
from ..app.escalations import Acknowledged
from ..app.keys import CreatedKey, KeyView, key_view
from ..app.plan_imports import PlanImportView
from ..app.registers import Receipt, ReceiptAnswer, RegisterView
from ..app.registry import AgencyDetail, ChangeDone, OutboxStatus, Requeued
from ..app.reports import AgencyRecordView, ForecastView, StatusView, TaskPage, status_view
from ..http import export_response, nudge, uses, written
from ..report import to_csv
from ..report_docx import to_docx
from ..views import (
    AgencyView,
    EscalationView,
    HistoryView,
    InstanceDetail,
    InstanceView,
    NotificationView,
    ScheduleView,
    TimerView,
    typed_date,
)
from .auth import Principal, principal
from .problems import ApiProblem, documented

router = APIRouter(prefix="/api/v1")
Who = Annotated[Principal, Depends(principal)]
Limit = Annotated[int, Query(ge=1, le=1000)]
MAX_ID = 2**62  # SQLite and PostgreSQL integers are 64-bit; larger ids cannot exist
InstanceId = Annotated[int, Path(ge=1, le=MAX_ID)]
AgencyCodePath = Annotated[str, Path(max_length=limits.AGENCY, pattern=AGENCY_CODE.pattern,
                                     description="an agency's code")]


def _iso(value: Any) -> Any:
    """Dates and instants in query strings are ISO 8601 text, never a number that pydantic would read as seconds
    since 1970 (``known_at=0.5``, ``due_to=0``)."""
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date YYYY-MM-DD (or an instant YYYY-MM-DDTHH:MM:SS±HH:MM)")
    return value


def _day(value: Any) -> Any:
    """A date: YYYY-MM-DD, or dd/mm/yyyy as people write it here; the one parser the pages and the CLI use too
    (``service.views.typed_date``)."""
    if isinstance(value, str) and "/" in value:
        day = typed_date(value)
        if day is None:
            raise ValueError("must be a date dd/mm/yyyy or YYYY-MM-DD")
        return day
    return _iso(value)


def _day_text(value: Any) -> Any:
    """A date in a JSON body is text (YYYY-MM-DD or dd/mm/yyyy), never a number read as seconds since 1970."""
    if not isinstance(value, str | dt.date):
        raise ValueError("must be a date YYYY-MM-DD or dd/mm/yyyy")
    return _day(value)


Day = Annotated[dt.date, BeforeValidator(_day)]
BodyDay = Annotated[dt.date, BeforeValidator(_day_text)]
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # a tab or a line break is text; other control characters not
Instant = Annotated[dt.datetime, BeforeValidator(_iso)]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)]  # a 32-bit integer column; true is not 1


class InstancePage(TypedDict):
    items: list[InstanceView]
    next_cursor: int | None


class Fired(InstanceView):
    seq: int  # the history row the event wrote
    replayed: bool  # an Idempotency-Key matched an earlier request: nothing was written


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def example(**values: Any) -> ConfigDict:
    """A request body's configuration: no unknown fields, and this example in the API document."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [values]})


class StartBody(Body):
    model_config = example(
        definition="annual_report", business_key="bao-cao-2026/SYT", assignee="SYT", data={"year": 2026},
        effective_on="2026-01-05")

    definition: str = Field(max_length=limits.DOCUMENT)
    business_key: str = Field(min_length=1, max_length=limits.NAME)
    assignee: str = Field(max_length=limits.AGENCY)
    data: dict[str, Any] = Field(default_factory=dict)
    version: Version | None = None
    effective_on: BodyDay | None = None  # the day the duty was assigned (default: today, province time)


class AttachmentRef(Body):
    model_config = example(sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                           name="Công văn 45-SYT.pdf")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    name: str = Field(min_length=1, max_length=limits.NAME)


class FireBody(Body):
    model_config = example(
        event="record_receipt", payload={"received_on": "2026-03-02"}, reason="Văn bản đến số 125/SKHCN",
        expected_version=1)

    event: str = Field(max_length=limits.IDENTIFIER)
    payload: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = Field(default=None, max_length=limits.REASON)
    expected_version: Version | None = None
    effective_on: BodyDay | None = None  # the document's date, the day of receipt (default: today)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=10, description="signed documents "
                                             "uploaded first with POST /files, named here: recorded in the history "
                                             "row by their SHA-256")


class DocumentBody(Body):
    """An official document by its parts (Nghị định 30/2020/NĐ-CP): số/ký hiệu, ngày ban hành, trích yếu, người ký."""

    model_config = example(number="15/BCĐ-KHCN", issued_on="2023-01-03", summary="V/v gia hạn thời hạn góp ý",
                           signer="Phó Trưởng ban Nguyễn Văn A")
    number: str = Field(max_length=limits.DOCUMENT)
    issued_on: BodyDay
    summary: str | None = Field(default=None, max_length=limits.VALUE)
    signer: str | None = Field(default=None, max_length=limits.NAME)


Document = Annotated[str | DocumentBody, Field(description="the deciding document: its parts, or its bare reference "
                                                          "(số/ký hiệu, e.g. 15/BCĐ-KHCN)")]


def document_arg(document: str | DocumentBody | None) -> Any:
    return document.model_dump(mode="json", exclude_none=True) if isinstance(document, DocumentBody) else document


class ExtendBody(Body):
    model_config = example(
        reason="Gia hạn theo đề nghị của Sở Y tế", document="45/UBND-KGVX", working_days=10)

    reason: str = Field(max_length=limits.REASON)
    document: Document
    to_date: BodyDay | None = None
    days: int | None = Field(default=None, ge=1, le=3650, strict=True)
    working_days: int | None = Field(default=None, ge=1, le=2500, strict=True)
    effective_on: BodyDay | None = None  # the decision's date (default: its document's date of issue, else today)
    # one obligation (default: every open one)
    obligation: str | None = Field(default=None, max_length=limits.IDENTIFIER)


class ExtensionRequestBody(Body):
    model_config = example(reason="Cần thêm thời gian lấy ý kiến các bệnh viện tuyến tỉnh", to_date="2023-01-25",
                           document={"number": "88/SYT-KHTC", "issued_on": "2022-12-28"})

    reason: str = Field(max_length=limits.REASON)
    to_date: BodyDay
    document: Document | None = None
    effective_on: BodyDay | None = None
    obligation: str | None = Field(default=None, max_length=limits.IDENTIFIER)


class ProgressBody(Body):
    model_config = example(text="Đã hoàn thành dự thảo, đang lấy ý kiến các phòng chuyên môn", percent=60)

    text: str = Field(max_length=limits.TEXT)
    percent: int | None = Field(default=None, ge=0, le=100, strict=True)
    document: Document | None = None
    reason: str | None = Field(default=None, max_length=limits.REASON)


class ExplanationRequestBody(Body):
    model_config = example(reason="Đề nghị Sở Y tế giải trình lý do chậm gửi kết quả", working_days=5)

    reason: str = Field(max_length=limits.REASON)
    working_days: int | None = Field(default=None, ge=1, le=60, strict=True)


class ExtensionDecisionBody(Body):
    model_config = example(grant=True, to_date="2023-01-20", reason="Đồng ý gia hạn đến ngày 20/01/2023",
                           document={"number": "15/BCĐ-KHCN", "issued_on": "2023-01-03"})

    grant: bool = Field(strict=True)
    reason: str = Field(max_length=limits.REASON)
    document: Document
    to_date: BodyDay | None = None  # a grant to another day than asked (shorter, or longer)
    effective_on: BodyDay | None = None


class ClaimDecisionBody(Body):
    model_config = example(accept=True, reason="Sổ văn bản đến của Sở Y tế ghi ngày 01/12/2026")

    accept: bool = Field(strict=True)
    reason: str = Field(max_length=limits.REASON)
    document: Document | None = None


class CorrectionBody(Body):
    model_config = example(seq=2, field="received_on", value="2022-12-15",
                           reason="Sổ văn bản đến số 1520 ghi ngày 15/12/2022")

    seq: int = Field(ge=1, le=2**31 - 1, strict=True)  # the history row whose fact is corrected
    field: str = Field(max_length=limits.FIELD_NAME)  # effective_on, a date field of its payload, or document.<part>
    value: str = Field(max_length=limits.VALUE)
    reason: str = Field(max_length=limits.REASON)
    document: Document | None = None


class ClockBody(Body):
    model_config = example(
        reason="Tạm dừng chờ ý kiến của Bộ Khoa học và Công nghệ", document="Công văn số 12/SKHCN-QLKH")

    reason: str = Field(min_length=1, max_length=limits.REASON, pattern=r"\S", description="why (required, not blank)")
    document: str | None = Field(default=None, max_length=limits.DOCUMENT)


class AckBody(Body):
    model_config = example(note="Đã nhắc Sở Y tế qua điện thoại ngày 03/03/2026")

    note: str | None = Field(default=None, max_length=limits.REASON)


class RenameBody(Body):
    model_config = example(
        name="Sở Khoa học và Công nghệ tỉnh Khánh Hòa", short_name="Sở KH&CN", effective="2025-07-01",
        document="Nghị quyết số 202/2025/QH15")

    name: str = Field(min_length=1, max_length=limits.LONG_NAME)
    short_name: str | None = Field(default=None, max_length=limits.DOCUMENT)
    effective: BodyDay
    document: str = Field(max_length=limits.DOCUMENT)


class MergeBody(Body):
    model_config = example(into="SKHCN", effective="2025-03-01", document="Quyết định số 300/QĐ-UBND")

    into: str = Field(max_length=limits.AGENCY, pattern=AGENCY_CODE.pattern)
    effective: BodyDay
    document: str = Field(max_length=limits.DOCUMENT)


class RetireBody(Body):
    model_config = example(successor="SKHCN", effective="2025-03-01", document="Quyết định số 300/QĐ-UBND")

    successor: str = Field(max_length=limits.AGENCY, pattern=AGENCY_CODE.pattern)
    effective: BodyDay
    document: str = Field(max_length=limits.DOCUMENT)


class OverrideBody(Body):
    model_config = example(day="2026-09-01", kind="day_off", reason="Nghỉ bù Quốc khánh theo thông báo của Thủ tướng")

    day: BodyDay
    kind: OverrideKind
    reason: str = Field(min_length=1, max_length=2000, pattern=NO_CONTROL)


class RetryBody(Body):
    model_config = example(ids=[12, 13])

    ids: list[Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]] | None = Field(default=None, max_length=10_000)


class KeyBody(Body):
    model_config = example(name="tich-hop-cong-van", account="nguyen.van.a", days=365)

    name: str = Field(min_length=1, max_length=limits.NAME)
    account: str = Field(min_length=1, max_length=limits.IDENTIFIER,
                         description="the login of the account that owns it: the "
                         "key acts with its role and agency and is refused while it is disabled")
    role: Literal["admin", "officer", "committee", "auditor"] | None = Field(
        default=None, description="if given, checked: must be the account's role")
    agency: str | None = Field(default=None, max_length=limits.AGENCY,
                               description="if given, checked: must be the account's "
                               "agency")
    days: int | None = Field(default=None, ge=0, le=3660, strict=True,
                             description="it expires after this many days (default `WORKFLOW_KEY_LIFETIME_DAYS`, "
                                         "365; 0: never)")


class AccountBody(Body):
    model_config = example(login="nguyen.van.a", name="Nguyễn Văn A", role="officer", agency="SYT",
                           email="nva@syt.ninhthuan.gov.vn", position="Chuyên viên Phòng Kế hoạch - Tài chính",
                           password="một mật khẩu dài")

    login: str = Field(min_length=2, max_length=limits.IDENTIFIER, pattern=LOGIN.pattern)
    name: str = Field(min_length=1, max_length=limits.NAME, pattern=r"\S", description="họ và tên")
    role: Literal["admin", "officer", "committee", "auditor"]
    agency: str | None = Field(default=None, max_length=limits.AGENCY, pattern=AGENCY_CODE.pattern)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN, description="one address")
    position: str | None = Field(default=None, max_length=limits.NAME, description="chức vụ")
    password: str | None = Field(default=None, min_length=10, max_length=limits.NAME,
                                 description="at least 10 characters; "
                                 "without it the account logs in by single sign-on only, until reset-password")


class PasswordBody(Body):
    model_config = example(password="một mật khẩu mới dài")

    password: str = Field(min_length=10, max_length=limits.NAME,
                          description="at least 10 characters, not easy to guess")


class SecondFactorView(TypedDict):
    account: AccountView
    secret: str  # base32, shown once
    uri: str  # otpauth:// for an authenticator app


class DefinitionBody(Body):
    model_config = example(yaml="id: my_duty\nversion: 1\n...")

    yaml: str = Field(min_length=1, max_length=1_000_000)


class Answer(JSONResponse):
    """The hot routes' answer (a start, an event): the view serialised once, by orjson (the same bytes as the
    framework's JSON for these views: text, whole numbers, lists, no floats)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def scoped_key(who: Principal, key: str | None) -> str | None:
    """An Idempotency-Key belongs to the API key that sent it; the engine checks and records it inside the
    event's own transaction (one write transaction per request)."""
    if key is None:
        return None
    if not 1 <= len(key) <= 180:
        raise PayloadInvalid([("Idempotency-Key", "1 to 180 characters")])
    return f"api:{who.key_id}:{key}"


def replayed(done: Outcome) -> dict[str, str]:
    return {"Idempotent-Replayed": "true"} if done.replayed else {}


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
def list_definitions(request: Request, who: Who) -> list[DefinitionSummary]:
    """Every stored definition version: title (Vietnamese and English), section of the plan, number of states and
    transitions, instances per state."""
    return uses(request).definitions.summaries()


@router.post("/definitions", status_code=201)
def load_definition(request: Request, who: Who, body: DefinitionBody) -> Loaded:
    """Check a definition (YAML) and store it (admin). The same content again is a no-op; the same id and version
    with other content is 409."""
    return uses(request).definitions.load(who.actor, [("request body", body.yaml)])[0]


@router.get("/definitions/{definition_id}")
def show_definition(request: Request, who: Who, definition_id: str,
                    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> DefinitionShown:
    """One definition in full (the latest version unless `version`), with its content hash."""
    return uses(request).definitions.shown(definition_id, version)


@router.get("/definitions/{definition_id}/diagram", response_class=PlainTextResponse, responses={
    200: {"content": {"text/vnd.mermaid": {"schema": {"type": "string"}}},
          "description": "Mermaid text (a state diagram)"}})
def definition_diagram(request: Request, who: Who, definition_id: str,
                       version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> PlainTextResponse:
    """The state diagram as Mermaid text."""
    return PlainTextResponse(uses(request).definitions.diagram(definition_id, version),
                             media_type="text/vnd.mermaid; charset=utf-8")


# -- instances -----------------------------------------------------------------------------------


@router.post("/instances", status_code=201, response_model=InstanceView)
async def start_instance(request: Request, who: Who, body: StartBody,
                         idempotency_key: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Start a duty: an instance in its definition's initial state, with its obligations and timers.
    `Idempotency-Key` makes a retry safe; the answer carries the instance's version as ETag."""
    instances, key = uses(request).instances, scoped_key(who, idempotency_key)
    done = await written(request, lambda: instances.start(
        who.actor, body.definition, body.business_key, body.assignee, data=body.data, version=body.version,
        effective_on=body.effective_on, idempotency_key=key, request_id=request.state.request_id))
    if done.due_at is not None and not done.replayed:
        nudge(request, done.due_at)
    return Answer(done.view, status_code=201, headers={"ETag": etag(done.version), **replayed(done)})


@router.get("/instances")
def list_instances(request: Request, who: Who, definition: str | None = None, state: str | None = None,
                   agency: str | None = None, overdue: bool = False, due_before: Instant | None = None,
                   key_prefix: Annotated[str | None, Query(max_length=limits.NAME)] = None,
                   cursor: Annotated[int, Query(ge=0, le=MAX_ID)] = 0, limit: Limit = 100) -> InstancePage:
    """Instances, oldest first, filtered by definition, state, agency, overdue, deadline or business-key prefix;
    `next_cursor` continues."""
    if due_before is not None and due_before.tzinfo is None:
        raise PayloadInvalid([("due_before", "give a timezone, e.g. 2023-01-04T17:00:00Z")])
    page = uses(request).instances.find(definition=definition, state=state, agency=agency, overdue=overdue,
                                        due_before=due_before, key_prefix=key_prefix, cursor=cursor, limit=limit,
                                        actor=who.actor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/instances/{instance_id}")
def show_instance(request: Request, response: Response, who: Who, instance_id: InstanceId) -> InstanceDetail:
    """One instance: state, version (also the ETag), assignee, deadline, the events this key may fire, who must
    act next, and its obligations (each: who owes it, from when, its last day, status, category and days late)."""
    view = uses(request).instances.show(instance_id, who.actor)
    response.headers["ETag"] = etag(view["version"])
    return view


@router.post("/instances/{instance_id}/events", response_model=Fired)
async def fire_event(request: Request, who: Who, instance_id: InstanceId, body: FireBody,
                     if_match: Annotated[str | None, Header(
                         pattern=r'^(W/)?"?[0-9]{1,18}"?$',
                         description='the ETag of the instance read before (its version), e.g. "3"')] = None,
                     idempotency_key: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Fire an event as this key's role: the engine checks the state, role, agency, payload, dates and guard.
    `If-Match` (the ETag) refuses a stale write with 409; `Idempotency-Key` makes a retry safe."""
    expected = if_match_version(if_match)
    if expected is not None and body.expected_version is not None and expected != body.expected_version:
        raise PayloadInvalid([("If-Match", "disagrees with expected_version in the body")])
    use, key = uses(request), scoped_key(who, idempotency_key)

    def fire() -> Outcome:  # on the writer thread: the files' rows are read there, not on the event loop
        files = use.attachments
        attached = [files.stored(a.sha256, a.name, f"attachments.{n}") for n, a in enumerate(body.attachments)]
        return use.instances.fire(
            who.actor, instance_id, body.event, payload=body.payload, reason=body.reason,
            expected_version=expected or body.expected_version, effective_on=body.effective_on,
            idempotency_key=key, request_id=request.state.request_id, attachments=attached)

    done = await written(request, fire)
    if not done.replayed:
        request.app.state.metrics.transition(done.definition_id, body.event)
        if done.due_at is not None:
            nudge(request, done.due_at)
    content = {**done.view, "seq": done.seq, "replayed": done.replayed}
    return Answer(content, headers={"ETag": etag(done.version), **replayed(done)})


UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "description": "the file itself (PDF, DOCX or XLSX)",
                                                "content": {"application/octet-stream": {
                                                    "schema": {"type": "string", "format": "binary"}}}}}


@router.post("/files", status_code=201, openapi_extra=UPLOAD_BODY)
async def upload_file(request: Request, who: Who,
                      name: Annotated[str, Query(min_length=1, max_length=limits.NAME)] = "van-ban") -> Attached:
    """Upload a signed document (the raw bytes as the body; at most `WORKFLOW_MAX_FILE_MB`): checked by content,
    stored once by its SHA-256. Name it in an event's `attachments` to record it with the act; a file never attached
    is removed after `WORKFLOW_UNATTACHED_FILE_DAYS`, and each account's unattached files have a quota
    (`WORKFLOW_UPLOAD_QUOTA_MB`: 413 beyond it). 503 when the files' disk budget is spent."""
    data = await request.body()
    return await run_in_threadpool(uses(request).attachments.accept, name, data, "body", uploader_of(who.actor))


@router.get("/instances/{instance_id}/history")
def instance_history(request: Request, who: Who, instance_id: InstanceId) -> list[HistoryView]:
    """The instance's hash-chained history: who did what, when it took effect, why."""
    return uses(request).instances.history(instance_id)


@router.get("/instances/{instance_id}/timers")
def instance_timers(request: Request, who: Who, instance_id: InstanceId) -> list[TimerView]:
    """The instance's timers (reminders, escalations, timeouts): due, fired, cancelled."""
    return uses(request).instances.timers(instance_id)


@router.get("/instances/{instance_id}/children")
def instance_children(request: Request, who: Who, instance_id: InstanceId) -> list[InstanceView]:
    """A fan-out's children (one per consulted agency)."""
    return uses(request).instances.children(instance_id, who.actor)


# -- deadlines and escalations -------------------------------------------------------------------


@router.post("/instances/{instance_id}/deadline/extend")
def extend_deadline(request: Request, who: Who, instance_id: InstanceId, body: ExtendBody) -> list[TimerView]:
    """Extend the pending deadline of the current state (to a date, or by calendar or working days), with the
    deciding document."""
    timers = uses(request).deadlines.extend(who.actor, instance_id, reason=body.reason,
                                            document=document_arg(body.document), to_date=body.to_date,
                                            days=body.days, working_days=body.working_days,
                                            effective_on=body.effective_on, obligation=body.obligation)
    nudge(request)
    return timers


@router.post("/instances/{instance_id}/extension-request")
def request_extension(request: Request, who: Who, instance_id: InstanceId, body: ExtensionRequestBody
                      ) -> HistoryView:
    """The owing agency asks for a later last day, with its reasons and its document."""
    return uses(request).decisions.request_extension(who.actor, instance_id, reason=body.reason, to_date=body.to_date,
                                                     document=document_arg(body.document),
                                                     effective_on=body.effective_on, obligation=body.obligation)


@router.post("/instances/{instance_id}/progress")
def report_progress(request: Request, who: Who, instance_id: InstanceId, body: ProgressBody) -> HistoryView:
    """The owing agency says how an open duty is going: a short text, optionally its document and a percentage.
    No state or deadline changes; the Committee's record counts the task as kept up to date."""
    return uses(request).decisions.report_progress(who.actor, instance_id, text=body.text, percent=body.percent,
                                                   document=document_arg(body.document), reason=body.reason)


@router.post("/instances/{instance_id}/explanation-request")
def request_explanation(request: Request, who: Who, instance_id: InstanceId, body: ExplanationRequestBody
                        ) -> HistoryView:
    """The Steering Committee or the standing body asks the owing agency to explain an overdue duty: an explanation
    task of its own (its `explains` names this task), with `working_days` to answer, escalated like any other."""
    row = uses(request).decisions.request_explanation(who.actor, instance_id, reason=body.reason,
                                                      working_days=body.working_days)
    nudge(request)
    return row


@router.post("/instances/{instance_id}/extension-request/decision")
def decide_extension(request: Request, who: Who, instance_id: InstanceId, body: ExtensionDecisionBody
                     ) -> HistoryView:
    """The body that assigned the duty grants (to the day asked, or another) or refuses the waiting request."""
    row = uses(request).decisions.decide_extension(who.actor, instance_id, grant=body.grant, reason=body.reason,
                                                   document=document_arg(body.document), to_date=body.to_date,
                                                   effective_on=body.effective_on)
    nudge(request)
    return row


@router.post("/instances/{instance_id}/receipt-claim/decision")
def decide_claim(request: Request, who: Who, instance_id: InstanceId, body: ClaimDecisionBody) -> HistoryView:
    """The standing body accepts a receipt stated after the presumed deadline (its period restarts) or rejects it."""
    row = uses(request).decisions.decide_claim(who.actor, instance_id, accept=body.accept, reason=body.reason,
                                               document=document_arg(body.document))
    nudge(request)
    return row


@router.get("/registers")
def list_registers(request: Request, who: Who, agency: Annotated[str | None, Query(max_length=limits.AGENCY)] = None,
                   direction: Annotated[Literal["in", "out"] | None, Query()] = None,
                   year: Annotated[int | None, Query(ge=2000, le=2200)] = None,
                   limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[RegisterView]:
    """The registers of documents in and out (sổ văn bản đến / đi), per agency, direction and year, newest first."""
    return uses(request).registers.entries(agency, direction, year, limit)


EOFFICE_SIGNATURE = APIKeyHeader(name="X-Signature", scheme_name="EofficeSignature", auto_error=False, description=(
    "sha256=<hex HMAC-SHA256 of '<X-Timestamp>.<body>' with WORKFLOW_EOFFICE_SECRET>: the e-office's posts only"))


@router.post("/integration/receipts", openapi_extra={
    "requestBody": {"required": True, "content": {"application/json": {"schema": Receipt.model_json_schema()}}}})
async def eoffice_receipt(request: Request, x_signature: Annotated[str | None, Depends(EOFFICE_SIGNATURE)] = None,
                          x_timestamp: Annotated[str | None, Header()] = None) -> ReceiptAnswer:
    """The province's e-office system posts a receipt it acknowledged: signed with the shared secret (HMAC-SHA256
    of "<X-Timestamp>.<body>", as X-Signature: sha256=<hex>), no API key. Idempotent by its id; entered in the
    receiving agency's incoming register and, where it belongs to a task, recorded as that task's receipt."""
    body = await request.body()
    answer = await run_in_threadpool(uses(request).registers.eoffice_receipt, body, x_signature, x_timestamp)
    nudge(request)
    return answer


@router.post("/instances/{instance_id}/corrections")
def correct_fact(request: Request, who: Who, instance_id: InstanceId, body: CorrectionBody) -> HistoryView:
    """Put right a recorded fact (an act's date, a date in it, a part of its document): a new history row naming
    the one it corrects; the original stays."""
    row = uses(request).decisions.correct(who.actor, instance_id, seq=body.seq, field=body.field, value=body.value,
                                          reason=body.reason, document=document_arg(body.document))
    nudge(request)
    return row


@router.post("/instances/{instance_id}/deadline/suspend")
def suspend_deadline(request: Request, who: Who, instance_id: InstanceId, body: ClockBody) -> list[TimerView]:
    """Stop the instance's legal clock; the remaining time is kept."""
    return uses(request).deadlines.suspend(who.actor, instance_id, reason=body.reason, document=body.document)


@router.post("/instances/{instance_id}/deadline/resume")
def resume_deadline(request: Request, who: Who, instance_id: InstanceId, body: ClockBody) -> list[TimerView]:
    """Restart the legal clock with the time that remained."""
    timers = uses(request).deadlines.resume(who.actor, instance_id, reason=body.reason, document=body.document)
    nudge(request)
    return timers


@router.get("/escalations")
def list_escalations(request: Request, who: Who,
                     status_: Annotated[Literal["open", "acknowledged"] | None, Query(alias="status")] = None
                     ) -> list[EscalationView]:
    """Escalations to the Steering Committee, oldest first (`status`: open or acknowledged)."""
    return uses(request).escalations.find(status_)


@router.post("/escalations/{escalation_id}/acknowledge")
def acknowledge_escalation(request: Request, who: Who, escalation_id: RowId, body: AckBody) -> Acknowledged:
    """The Steering Committee (or an admin) acknowledges an escalation; recorded in the instance's history."""
    return uses(request).escalations.acknowledge(who.actor, escalation_id, body.note)


# -- agencies ------------------------------------------------------------------------------------


@router.get("/agencies")
def list_agencies(request: Request, who: Who) -> list[AgencyView]:
    """Every registered agency, active or not, with its latest name and successor."""
    return uses(request).registry.agencies()


@router.get("/agencies/{code}")
def show_agency(request: Request, who: Who, code: AgencyCodePath, on: Day | None = None) -> AgencyDetail:
    """One agency: its names over time (the one in force `on` a date), successor, open tasks."""
    return uses(request).registry.agency(code, on)


def _change(request: Request, who: Principal, op: ChangeKind, code: str, effective: dt.date, document: str,
            **fields: Any) -> ChangeDone:
    registry = uses(request).registry
    return {**registry.change(who.actor, op, code, effective, document, **fields), "agency": registry.agency(code)}


@router.post("/agencies/{code}/rename")
def rename_agency(request: Request, who: Who, code: AgencyCodePath, body: RenameBody) -> ChangeDone:
    """Rename an agency from a date (the old name stays in force before it)."""
    return _change(request, who, ChangeKind.RENAME, code, body.effective, body.document, name=body.name,
                   short_name=body.short_name)


@router.post("/agencies/{code}/merge")
def merge_agency(request: Request, who: Who, code: AgencyCodePath, body: MergeBody) -> ChangeDone:
    """Merge an agency into another from a date: its open tasks move there, each with a history row."""
    return _change(request, who, ChangeKind.MERGE, code, body.effective, body.document, into=body.into)


@router.post("/agencies/{code}/retire")
def retire_agency(request: Request, who: Who, code: AgencyCodePath, body: RetireBody) -> ChangeDone:
    """Retire an agency from a date: its open tasks move to the successor, each with a history row."""
    return _change(request, who, ChangeKind.RETIRE, code, body.effective, body.document, successor=body.successor)


# -- calendar, schedules, notifications ----------------------------------------------------------


@router.get("/calendar/due")
def calendar_due(request: Request, who: Who,
                 start: Annotated[Day, Query(alias="from", ge=dt.date(1900, 1, 1), le=dt.date(2200, 12, 31))],
                 days: Annotated[int | None, Query(ge=0, le=3650)] = None,
                 working_days: Annotated[int | None, Query(ge=0, le=2500)] = None,
                 hours: Annotated[int | None, Query(ge=0, le=87600)] = None,
                 end_of_month: Annotated[str | None, Query(max_length=7)] = None,
                 end_of_year: Annotated[int | None, Query(ge=2000, le=2200)] = None,
                 before: Day | None = None, on: Day | None = None,
                 yearly: Annotated[str | None, Query(max_length=5)] = None) -> DueView:
    """When a period counted from `from` ends, with every step explained (Civil Code art. 147-148, holidays, working
    days)."""
    spec = {"days": days, "working_days": working_days, "hours": hours, "end_of_month": end_of_month,
            "end_of_year": end_of_year, "before_date": before, "on_date": on, "yearly": yearly}
    return due_view(uses(request).deadlines.due(start, spec))


@router.get("/calendar/overrides")
def calendar_overrides(request: Request, who: Who) -> list[OverrideView]:
    """The operator's overrides of the calendar (days off announced late, weekend days worked)."""
    return uses(request).deadlines.overrides()


@router.post("/calendar/overrides", status_code=201)
def add_calendar_override(request: Request, who: Who, body: OverrideBody) -> OverrideAdded:
    """Add a day off or a working day: every pending deadline it moves is recomputed and recorded in its instance's
    history."""
    added = uses(request).deadlines.add_override(who.actor, body.day, body.kind, body.reason)
    nudge(request)
    return added


@router.get("/schedules")
def list_schedules(request: Request, who: Who) -> list[ScheduleView]:
    """Recurring obligations and their next run."""
    return uses(request).registry.schedules()


@router.get("/notifications")
def list_notifications(request: Request, who: Who,
                       status_: Annotated[OutboxStatus | None, Query(alias="status")] = None
                       ) -> list[NotificationView]:
    """The notification outbox (addresses and delivery errors for admins only)."""
    return uses(request).registry.notifications(who.actor, status_)


@router.post("/notifications/retry")
def retry_notifications(request: Request, who: Who, body: RetryBody) -> Requeued:
    """Queue dead notifications again, all or the ids given (admin)."""
    return {"requeued": uses(request).registry.retry(who.actor, body.ids)}


# -- reports and audit ---------------------------------------------------------------------------


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
REPORT_FORMATS: dict[int | str, dict[str, Any]] = {200: {
    "description": "The report, in the `format` asked for", "model": StatusView,
    "content": {"text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
                DOCX: {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/tasks")
def find_tasks(request: Request, who: Who, agency: Annotated[str | None, Query(max_length=limits.AGENCY)] = None,
               section: Annotated[str | None, Query(max_length=limits.DOCUMENT)] = None,
               definition: Annotated[str | None, Query(max_length=limits.DOCUMENT)] = None,
               state: Annotated[str | None, Query(max_length=limits.DOCUMENT)] = None,
               category: Literal["done_on_time", "done_late", "within_deadline", "overdue"] | None = None,
               due_from: Day | None = None, due_to: Day | None = None,
               q: Annotated[str | None, Query(max_length=limits.NAME,
                                             description="in the business key, the duty's name "
                                                         "or the definition's title")] = None,
               page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
               size: Annotated[int, Query(ge=1, le=200)] = 50) -> TaskPage:
    """Every task (an obligation of an instance) the filters match, judged now, nearest last day first, a page at a
    time with the total: by agency, section of the plan, definition, state, one of the four categories, a range of
    last days, and words in the key, duty or title. The overview's task list is this."""
    where = TaskFilter(agency=agency, section=section, definition_id=definition, state=state, category=category,
                       due_from=due_from, due_to=due_to, text=q)
    return uses(request).reports.tasks(where, page, size)


@router.get("/reports/agencies")
def report_agencies(request: Request, who: Who, as_of: Day | None = None,
                    updated_days: Annotated[int, Query(ge=1, le=3650)] = 30) -> AgencyRecordView:
    """Each agency's record (bảng theo dõi, đánh giá) as of the end of `as_of` (default today), worst first: the four
    categories, share done on time, median and worst days late, overdue by age band, share of open obligations acted
    on within `updated_days`, extensions asked and granted."""
    return cast(AgencyRecordView, uses(request).reports.agencies(as_of, updated_days).as_dict())


@router.get("/reports/forecast")
def report_forecast(request: Request, who: Who, as_of: Day | None = None,
                    seed: Annotated[int, Query(ge=0, le=2**62)] = 0,
                    lang: Annotated[Literal["vi", "en"], Query(description="the language of `basis`")] = "vi",
                    ) -> ForecastView:
    """For each obligation open at the end of `as_of`: the probability it is finished late and the days by which it
    is done with 50 % and 85 % likelihood, from the owing agency's history; the same for the same seed and day."""
    return cast(ForecastView, uses(request).reports.forecast(as_of, seed, lang).as_dict())


@router.get("/reports/status", response_model=None, responses=REPORT_FORMATS)
def report_status(request: Request, who: Who, as_of: Day | None = None, known_at: Instant | None = None,
                  format_: Annotated[Literal["json", "csv", "xlsx", "docx"], Query(alias="format")] = "json",
                  number: Annotated[str, Query(max_length=50)] = "",
                  signer: Annotated[str, Query(max_length=limits.NAME)] = "",
                  position: Annotated[str, Query(max_length=limits.NAME)] = "GIÁM ĐỐC",
                  ) -> Response | StatusView:
    """Per agency and duty: done on time, done late, within the deadline, overdue; open escalations. Now, or `as_of`
    the end of a past day rebuilt from history (`known_at`: as recorded by then). JSON, CSV, xlsx, or docx: the report
    to sign, in the layout of Nghị định 30/2020/NĐ-CP (`number`, `signer`, `position` fill its blanks)."""
    reports = uses(request).reports
    day = reports.day(as_of)
    if format_ == "xlsx":  # as of a day: with the agencies' record and every task's obligations
        return Response(reports.workbook(as_of, known_at), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="status-{day}.xlsx"'})
    result = reports.status(as_of, known_at)
    if format_ == "csv":
        return Response(to_csv(result), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="status-{day}.csv"'})
    record = None if known_at or format_ != "docx" else reports.agencies(as_of)
    if format_ == "docx":  # the report to sign: number, signer and position as the office gives them
        document = to_docx(result, reports.issuing(number, signer, position), reports.today(), record)
        return Response(document, media_type=DOCX,
                        headers={"Content-Disposition": f'attachment; filename="bao-cao-{day}.docx"'})
    return status_view(result)


@router.get("/audit/verify")
def audit_verify(request: Request, who: Who) -> VerificationView:
    """Recompute every hash chain and compare the derived tables with the history; the first bad row of each
    instance."""
    return verification_view(uses(request).audit.verify())


@router.get("/audit/checkpoint")
def audit_checkpoint(request: Request, who: Who) -> CheckpointView:
    """Every chain head and a Merkle root over them, with the time: keep it off this machine."""
    return uses(request).audit.checkpoint()


EXPORT_FORMATS: dict[int | str, dict[str, Any]] = {200: {
    "description": "Every history row, streamed: JSON lines (one row object a line) or CSV with a header",
    "content": {"application/x-ndjson": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}}}}


@router.get("/audit/export", response_class=StreamingResponse, responses=EXPORT_FORMATS)
def audit_export(request: Request, who: Who,
                 format_: Annotated[Literal["jsonl", "csv"], Query(alias="format")] = "jsonl") -> StreamingResponse:
    """The whole history, streamed, as JSON lines or CSV."""
    return export_response(uses(request).audit.export(format_), format_)


# -- keys ----------------------------------------------------------------------------------------


@router.get("/keys")
def list_keys(request: Request, who: Who) -> list[KeyView]:
    """API keys (admin); never the keys themselves."""
    keys = uses(request).keys
    owners = keys.owners()
    return [key_view(k, owners) for k in keys.list(who.actor)]


@router.post("/keys", status_code=201)
def create_key(request: Request, who: Who, body: KeyBody) -> CreatedKey:
    """Create an API key (admin): shown once in this answer, stored only as a hash."""
    keys = uses(request).keys
    key, token = keys.create(who.actor, body.name, body.role, body.agency, body.account, body.days)
    return {**key_view(key, keys.owners()), "key": token, "note": "shown once; only its hash is stored"}


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(request: Request, who: Who, key_id: RowId) -> Response:
    """Revoke an API key (admin): it can write nothing from now on, on every node."""
    uses(request).keys.revoke(who.actor, key_id)
    return Response(status_code=204)


# -- accounts ------------------------------------------------------------------------------------

Login = Annotated[str, Path(min_length=2, max_length=limits.IDENTIFIER)]


@router.get("/accounts")
def list_accounts(request: Request, who: Who) -> list[AccountView]:
    """People's accounts (admin, auditor); never a password or a second-factor secret."""
    return [account_view(a) for a in uses(request).accounts.list(who.actor)]


@router.post("/accounts", status_code=201)
def create_account(request: Request, who: Who, body: AccountBody) -> AccountView:
    """Create a person's account (admin); the password is stored only as its Argon2id hash."""
    return account_view(uses(request).accounts.create(who.actor, body.login, body.name, body.role, body.agency,
                                                      body.email, body.position, body.password))


@router.post("/accounts/{login}/disable")
def disable_account(request: Request, who: Who, login: Login) -> AccountView:
    """Disable an account (admin): its page sessions end at once and its API keys are refused."""
    return account_view(uses(request).accounts.disable(who.actor, login))


@router.post("/accounts/{login}/enable")
def enable_account(request: Request, who: Who, login: Login) -> AccountView:
    """Enable a disabled account again (admin); a lock is lifted."""
    return account_view(uses(request).accounts.enable(who.actor, login))


@router.post("/accounts/{login}/password")
def reset_password(request: Request, who: Who, login: Login, body: PasswordBody) -> AccountView:
    """Set a new password (admin): the person's sessions end and a lock is lifted."""
    return account_view(uses(request).accounts.reset_password(who.actor, login, body.password))


@router.post("/accounts/{login}/second-factor")
def second_factor(request: Request, who: Who, login: Login) -> SecondFactorView:
    """Turn on the TOTP second factor (admin): a new secret, shown once in this answer."""
    made = uses(request).accounts.second_factor(who.actor, login)
    assert not isinstance(made, Account)
    return {"account": account_view(made.account), "secret": made.secret, "uri": made.uri}


@router.delete("/accounts/{login}/second-factor")
def no_second_factor(request: Request, who: Who, login: Login) -> AccountView:
    """Turn the second factor off (admin): the person logs in with the password alone."""
    made = uses(request).accounts.second_factor(who.actor, login, on=False)
    assert isinstance(made, Account)
    return account_view(made)


class SsoLinkBody(Body):
    model_config = example(subject="248289761001")
    subject: str = Field(min_length=1, max_length=255, pattern=r"^[!-~]+$",
                         description="the identity provider's subject (`sub` claim) of the person: from then on "
                                     "their single sign-on opens this account, and no other")


@router.put("/accounts/{login}/sso")
def link_sso(request: Request, who: Who, login: Login, body: SsoLinkBody) -> AccountView:
    """Link the account to a single sign-on identity (admin). An e-mail address never links anything by itself."""
    return account_view(uses(request).accounts.link_identity(who.actor, login, body.subject))


@router.delete("/accounts/{login}/sso")
def unlink_sso(request: Request, who: Who, login: Login) -> AccountView:
    """Unlink the account's single sign-on identity (admin): the person logs in with the password again."""
    return account_view(uses(request).accounts.link_identity(who.actor, login, None))


# -- plan imports (docs/plans.md) -----------------------------------------------------------------------------

DOCX_BODY: dict[str, Any] = {"requestBody": {"required": True, "description": "the plan's Word document (.docx)",
                                              "content": {"application/octet-stream": {
                                                  "schema": {"type": "string", "format": "binary"}}}}}
ImportId = Annotated[int, Path(ge=1, le=2**62)]


class ImportVersionBody(Body):
    model_config = example(version=3)

    version: int = Field(ge=1, le=2**31, strict=True)  # the version the caller read (a stale one: 409)


class ImportDecisionBody(ImportVersionBody):
    model_config = example(version=3, ref="II.4.a-1", status="accepted", deadline="trong tháng 11/2022")

    ref: str = Field(min_length=1, max_length=40)
    status: Literal["pending", "accepted", "rejected"]
    lead: list[Annotated[str, Field(max_length=limits.AGENCY)]] | None = Field(default=None, max_length=200)
    deadline: str | None = Field(default=None, max_length=limits.NAME)  # as a plan writes it; read by the grammar
    definition: str | None = Field(default=None, max_length=limits.DOCUMENT)


@router.post("/plan-imports", status_code=201, openapi_extra=DOCX_BODY)
async def propose_plan_import(request: Request, who: Who,
                              name: Annotated[str, Query(min_length=1, max_length=limits.NAME)] = "ke-hoach.docx"
                              ) -> PlanImportView:
    """Read a plan's Word document and keep its proposal for review (administrators and officers of the standing
    body): every duty with its lead, co-operating bodies, deadline rule, workflow and source paragraph."""
    data = await request.body()
    import_id = await run_in_threadpool(uses(request).plan_imports.propose, who.actor, name, data)
    return await run_in_threadpool(uses(request).plan_imports.review, who.actor, import_id)


@router.get("/plan-imports/{import_id}")
def plan_import(request: Request, who: Who, import_id: ImportId) -> PlanImportView:
    """An import as the review shows it: each duty as proposed and as decided, flags, what stops it loading."""
    return uses(request).plan_imports.review(who.actor, import_id)


@router.post("/plan-imports/{import_id}/decisions")
def decide_plan_import(request: Request, who: Who, import_id: ImportId, body: ImportDecisionBody) -> PlanImportView:
    """Accept, reject or edit one proposed duty (lead codes, a deadline phrase, the workflow)."""
    imports = uses(request).plan_imports
    imports.decide(who.actor, import_id, body.version, body.ref, body.status, body.lead, body.deadline,
                   body.definition)
    return imports.review(who.actor, import_id)


class ImportSettingsBody(ImportVersionBody):
    model_config = example(version=3, plan_id="ke-hoach-khcn-2025", title="Kế hoạch …", implements="472/QĐ-UBND",
                           issued_on="2022-11-01", standing_body="SKHCN")

    plan_id: str = Field(min_length=1, max_length=limits.DOCUMENT)
    title: str = Field(min_length=1, max_length=limits.LONG_NAME)
    implements: str = Field(default="", max_length=limits.LONG_NAME)
    issued_on: BodyDay
    standing_body: str = Field(min_length=1, max_length=limits.AGENCY)


@router.post("/plan-imports/{import_id}/settings")
def plan_import_settings(request: Request, who: Who, import_id: ImportId, body: ImportSettingsBody
                         ) -> PlanImportView:
    """The plan's own details: its code, title, the document it implements, its date, its standing body."""
    imports = uses(request).plan_imports
    imports.configure(who.actor, import_id, body.version, body.plan_id, body.title, body.implements, body.issued_on,
                      body.standing_body)
    return imports.review(who.actor, import_id)


@router.post("/plan-imports/{import_id}/accept-rest")
def accept_rest_of_plan_import(request: Request, who: Who, import_id: ImportId, body: ImportVersionBody
                               ) -> PlanImportView:
    """Accept every duty not decided yet."""
    imports = uses(request).plan_imports
    imports.decide_all(who.actor, import_id, body.version, "accepted")
    return imports.review(who.actor, import_id)


@router.post("/plan-imports/{import_id}/submit")
def submit_plan_import(request: Request, who: Who, import_id: ImportId, body: ImportVersionBody) -> PlanImportView:
    """The review done: every duty decided and the accepted ones loadable; a second person approves next."""
    imports = uses(request).plan_imports
    imports.submit(who.actor, import_id, body.version)
    return imports.review(who.actor, import_id)


@router.post("/plan-imports/{import_id}/approve")
def approve_plan_import(request: Request, who: Who, import_id: ImportId, body: ImportVersionBody) -> PlanImportView:
    """A second person (not the one who submitted) approves: the plan is loaded as `plan load` loads a file."""
    imports = uses(request).plan_imports
    imports.approve(who.actor, import_id, body.version)
    return imports.review(who.actor, import_id)


# -- the OpenAPI document: a tag per resource and the problem answers of each operation ---------------------------

TAGS = {"definitions": "definitions", "instances": "instances", "escalations": "deadlines", "calendar": "deadlines",
        "agencies": "registry", "schedules": "registry", "notifications": "registry", "reports": "reports",
        "audit": "audit", "keys": "keys", "accounts": "keys",
        "tasks": "reports", "files": "instances", "registers": "registry", "integration": "registry",
        "plan-imports": "registry"}

for _route in router.routes:
    if isinstance(_route, APIRoute):
        _resource = _route.path.removeprefix("/api/v1/").split("/")[0]
        _route.tags = ["deadlines" if "/deadline/" in _route.path else TAGS[_resource]]
        _route.responses = {**documented(_route.path, _route.methods or set()), **_route.responses}
