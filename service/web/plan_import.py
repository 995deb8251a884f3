"""The "Nhập kế hoạch" pages (issue 28): upload a plan's Word document, review each proposed duty beside its source
paragraph (the words that set the deadline and the lead highlighted), accept, reject or edit it, submit, and let a
second person approve and load. A page family of its own: it calls only ``uses(request).plan_imports`` and
``uses(request).registry``, and renders."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from definitions import NotFound, WorkflowError
from definitions.vietnamese import sort_key
from workflow.errors import PayloadInvalid, VersionConflict

from ..http import uses
from ..views import local_time, typed_date
from .base import SECURITY_HEADERS, User, _lang, _message, _not_found, _posted, _render, _role_refused, _signed_in
from .i18n import words
from .refusals import said

router = APIRouter(include_in_schema=False)
DONE = {"proposed", "decided", "body_added", "settings", "all", "submitted", "approved", "returned"}


def highlighted(text: str, spans: dict[str, Any]) -> list[tuple[str, str]]:
    """``text`` cut into (words, kind) where kind is "deadline", "lead" or "": the review page marks what set each
    field. Overlapping spans keep the first."""
    marks: list[tuple[int, int, str]] = []
    for kind in ("deadline", "lead"):
        span = spans.get(kind)
        if span and 0 <= span[0] < span[1] <= len(text) and not any(a < span[1] and span[0] < b
                                                                    for a, b, _ in marks):
            marks.append((span[0], span[1], kind))
    out: list[tuple[str, str]] = []
    at = 0
    for a, b, kind in sorted(marks):
        out += [(text[at:a], ""), (text[a:b], kind)]
        at = b
    out.append((text[at:], ""))
    return [(t, k) for t, k in out if t]


def _may(request: Request, user: User) -> bool:
    return uses(request).plan_imports.may_import(user.actor)


def _agencies(request: Request) -> list[tuple[str, str]]:
    rows = uses(request).registry.agencies()
    return sorted(((r["code"], r["name"]) for r in rows if r["status"] == "active"), key=lambda cn: sort_key(cn[1]))


@router.get("/plans/import", response_class=HTMLResponse)
def imports_page(request: Request) -> HTMLResponse:
    user = _signed_in(request)
    if not _may(request, user):
        return _role_refused(request, user)
    return _list(request, user)


def _list(request: Request, user: User, status: int = 200, flash: str | None = None) -> HTMLResponse:
    rows = uses(request).plan_imports.imports(user.actor)
    for row in rows:
        row["imported_at"] = local_time(row["imported_at"])
    return _render(request, "plan_imports.html", status, user, imports=rows, flash=flash, flash_kind="error")


@router.post("/plans/import")
async def upload(request: Request) -> Response:
    user, form, refused = await _posted(request)
    if refused:
        return refused
    if not _may(request, user):
        return _role_refused(request, user)
    t = words(_lang(request))
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _list(request, user, 422, t["import_choose_file"])
    data = await file.read()
    await file.close()
    try:
        import_id = await run_in_threadpool(uses(request).plan_imports.propose, user.actor, file.filename, data)
    except WorkflowError as err:
        return _list(request, user, 422, said(err, _lang(request), {})[0])
    return RedirectResponse(f"/plans/import/{import_id}?done=proposed", status_code=303, headers=SECURITY_HEADERS)


@router.get("/plans/import/{import_id}", response_class=HTMLResponse)
def review_page(request: Request, import_id: int, done: str = "") -> HTMLResponse:
    user = _signed_in(request)
    if not _may(request, user):
        return _role_refused(request, user)
    t = words(_lang(request))
    flash = t[f"import_done_{done}"] if done in DONE else None
    return _review(request, user, import_id, flash=flash, flash_kind="ok")


def _review(request: Request, user: User, import_id: int, status: int = 200, flash: str | None = None,
            flash_kind: str = "", problems: dict[str, str] | None = None, problem_ref: str | None = None
            ) -> HTMLResponse:
    lang = _lang(request)
    try:
        view = uses(request).plan_imports.review(user.actor, import_id, lang)
    except NotFound as err:
        return _not_found(request, user, err)
    agencies = _agencies(request)
    names = dict(agencies)
    for item in view["items"]:
        duty = item["proposed"]
        item["segments"] = highlighted(duty["text"], duty.get("evidence", {}))
        item["lead_names"] = [names.get(c, c) for c in item["codes"]]
        item["cooperating"] = [c["as_written"] for c in item["decided"].get("cooperating", [])]
        item["phrase"] = (item["decided"].get("deadline") or {}).get("as_written", "")
    issued = view["settings"].get("issued_on")
    view["settings"]["issued_shown"] = dt.date.fromisoformat(issued).strftime("%d/%m/%Y") if issued else ""
    return _render(request, "plan_import.html", status, user, view=view, agencies=agencies,
                   definitions=view["definitions"], flash=flash, flash_kind=flash_kind, problems=problems or {},
                   problem_ref=problem_ref)


def _do(request: Request, user: User, import_id: int, act: str, form: FormData) -> str:
    """One act on an import (in a worker thread); the word for what was done."""
    imports = uses(request).plan_imports
    try:
        version = int(str(form.get("version") or "0"))
    except ValueError:
        version = 0
    if act == "decide":
        imports.decide(user.actor, import_id, version, str(form.get("ref") or ""), str(form.get("status")),
                       [c for c in form.getlist("lead") if isinstance(c, str) and c] if form.get("edit_lead") else None,
                       str(form.get("deadline")) if form.get("deadline") is not None else None,
                       str(form.get("definition") or "") or None)
        return "decided"
    if act == "add_body":
        imports.add_body(user.actor, import_id, version, str(form.get("ref") or ""), str(form.get("code") or ""),
                         str(form.get("name") or ""), str(form.get("kind") or ""))
        return "body_added"
    if act == "all":
        imports.decide_all(user.actor, import_id, version, "accepted")
        return "all"
    if act == "settings":
        issued = typed_date(str(form.get("issued_on") or ""))
        if issued is None:
            raise PayloadInvalid([("issued_on", words(_lang(request))["import_date_format"])])
        imports.configure(user.actor, import_id, version, str(form.get("plan_id") or ""),
                          str(form.get("title") or ""), str(form.get("implements") or ""), issued,
                          str(form.get("standing_body") or ""))
        return "settings"
    if act == "submit":
        imports.submit(user.actor, import_id, version)
        return "submitted"
    if act == "approve":
        imports.approve(user.actor, import_id, version)
        return "approved"
    imports.send_back(user.actor, import_id, version, str(form.get("reason") or ""))
    return "returned"


async def _act(request: Request, import_id: int, act: str) -> Response:
    user, form, refused = await _posted(request)
    if refused:
        return refused
    if not _may(request, user):
        return _role_refused(request, user)
    lang = _lang(request)
    try:
        done = await run_in_threadpool(_do, request, user, import_id, act, form)
    except NotFound as err:
        return _not_found(request, user, err)
    except VersionConflict:
        return _review(request, user, import_id, 409, words(lang)["import_stale"], "error")
    except PayloadInvalid as err:
        sentence, problems = said(err, lang, {})
        return _review(request, user, import_id, 422, sentence, "error", problems,
                       str(form.get("ref") or "") if act in ("decide", "add_body") else None)
    except WorkflowError as err:
        return _message(request, user, 403, "forbidden", said(err, lang, {})[0])
    anchor = f"#duty-{quote(str(form.get('ref') or ''))}" if act in ("decide", "add_body") else ""
    return RedirectResponse(f"/plans/import/{import_id}?done={done}{anchor}", status_code=303,
                            headers=SECURITY_HEADERS)


@router.post("/plans/import/{import_id}/{act}")
async def act(request: Request, import_id: int, act: str) -> Response:
    if act not in ("decide", "add_body", "all", "settings", "submit", "approve", "return"):
        return _message(request, _signed_in(request), 404, "not_found", words(_lang(request))["no_such_page"])
    return await _act(request, import_id, act)
