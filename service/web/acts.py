"""Acts from a task's page: an event with its payload and files, a change of the legal clock, a decision by the body
with authority."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from definitions import NotFound, Role, WorkflowError

from .. import limits
from ..app.attachments import TYPES, clean_name, kind_of, uploader_of
from ..errors import answer
from ..http import nudge, uses
from ..views import typed_date
from .base import (
    SECURITY_HEADERS,
    User,
    _lang,
    _message,
    _not_found,
    _posted,
    _role_refused,
    _signed_in,
)
from .forms import _attached, _count_field, _date_field, _decision_document, _payload
from .i18n import words
from .refusals import said
from .task import _instance_page

router = APIRouter(include_in_schema=False)


def _fire(request: Request, user: User, instance_id: int, form: FormData) -> HTMLResponse | Response:
    records = uses(request).records
    if user.actor.role is Role.AUDITOR:  # no act of any definition is an auditor's: said before reading the form
        return _role_refused(request, user)
    event = str(form.get("event") or "")[:limits.IDENTIFIER]
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


@router.post("/instances/{instance_id}/fire")
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


@router.get("/files/{sha256}")
def attached_file(request: Request, sha256: str) -> Response:
    """An attached file, for anyone signed in (everyone reads everything), under the name recorded with it."""
    user = _signed_in(request)
    files = uses(request).attachments.files
    try:
        path = files.path(sha256[:limits.SHA256])
    except ValueError:
        path = None
    if path is None or not path.is_file():
        return _message(request, user, 404, "not_found", words(_lang(request))["file_gone"])
    data = path.read_bytes()
    kind = kind_of(data) or "pdf"
    shown = uses(request).attachments.download_name(sha256[:limits.SHA256], kind)
    return Response(data, media_type=TYPES[kind], headers={
        **SECURITY_HEADERS, "Content-Disposition": f"attachment; filename*=UTF-8''{quote(shown)}"})


DEADLINE_EVENTS = {"extend": "@deadline_extended", "suspend": "@suspended", "resume": "@resumed",
                   "ask": "@extension_requested", "decide": "@deadline_extended", "claim": "@receipt_claim_accepted",
                   "correct": "@corrected", "progress": "@progress", "explain": "@explanation_requested"}


def _decide(request: Request, user: User, instance_id: int, op: str, form: FormData) -> str:
    """One decision from the task page; the event it wrote (for the page's "done" line)."""
    clock, decisions, actor = uses(request).deadlines, uses(request).decisions, user.actor
    reason = str(form.get("reason") or "").strip()[:limits.REASON]
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
        value = str(form.get("value") or "").strip()[:limits.VALUE]
        field = str(form.get("field") or "")[:limits.FIELD_NAME]
        typed = typed_date(value)
        decisions.correct(actor, instance_id, seq=_count_field(str(form.get("row") or ""), "seq") or 0, field=field,
                          value=typed.isoformat() if typed is not None else value, reason=reason, document=document)
    elif op == "explain":
        decisions.request_explanation(actor, instance_id, reason=reason,
                                      working_days=_count_field(str(form.get("working_days") or ""), "working_days"))
    elif op == "progress":
        decisions.report_progress(actor, instance_id, text=str(form.get("text") or "")[:limits.TEXT],
                                  percent=_count_field(str(form.get("percent") or ""), "percent"), document=document,
                                  reason=reason or None)
    elif op == "suspend":
        clock.suspend(actor, instance_id, reason=reason, document=document)
    else:
        clock.resume(actor, instance_id, reason=reason, document=document)
    return DEADLINE_EVENTS[op]


def _deadline(request: Request, user: User, instance_id: int, op: str, form: FormData) -> Response:
    try:
        done = _decide(request, user, instance_id, op, form)
    except WorkflowError as err:
        if isinstance(err, NotFound) and err.kind == "instance":
            return _not_found(request, user, err)
        lang = _lang(request)
        sentence, problems = said(err, lang, uses(request).records.agency_names())
        kept = {"event": f"@{op}", "fields": problems, "reason": str(form.get("reason") or "")[:limits.REASON],
                "values": {k: str(v)[:limits.REASON] for k, v in form.items() if k != "csrf"}}
        return _instance_page(request, user, instance_id, answer(err).status, f"{words(lang)['error']}: {sentence}",
                              kept=kept)
    nudge(request)
    return RedirectResponse(f"/instances/{instance_id}?done={done}#history", status_code=303,
                            headers=SECURITY_HEADERS)


@router.post("/instances/{instance_id}/deadline/{op}")
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
