"""Errors as RFC 9457 problem details (``application/problem+json``), mapped from the project's error tree."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from definitions import WorkflowError

from ..errors import TABLE, answer, context
from ..logs import fields

MEDIA = "application/problem+json"
# (error class, status, title), from the one table of every front end (service/errors.py)
STATUS: tuple[tuple[type[WorkflowError], int, str], ...] = tuple((cls, a.status, a.title) for cls, a in TABLE)


class FieldProblem(BaseModel):
    field: str
    message: str
    line: int | None = None  # definitions: where in the YAML
    column: int | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of the API is answered (``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None  # the request's path
    request_id: str | None = None
    errors: list[FieldProblem] | None = None  # every bad field
    allowed: list[str] | None = None  # the events allowed in the instance's state
    instance_id: int | None = None
    event: str | None = None
    state: str | None = None


WHY = {400: "Bad request: the body is not JSON, or a header is malformed",
       401: "No API key, or an unknown or revoked one",
       403: "The key's role may not do this (auditors change nothing; officers act for their agency only)",
       404: "No such definition, instance, agency, escalation or key",
       409: "Refused in the current state: event not allowed, guard, stale version, duplicate business key",
       413: "Request body above the limit, or an account's uploads never attached above its quota",
       422: "Invalid request or payload (every bad field is listed)",
       429: "Too many failed authentications from this address (see Retry-After)",
       431: "Request headers too large",
       503: "Database (or the attached files' disk) unavailable (see Retry-After)"}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def documented(path: str, methods: set[str]) -> dict[int | str, dict[str, Any]]:
    """The problem answers an operation can give, for its OpenAPI entry."""
    statuses = {401, 422, 429, 431, 503}
    if "{" in path or path.startswith("/api/v1/integration/"):  # an integration not configured is not there
        statuses.add(404)
    if methods & WRITES:  # a write may name what does not exist in its body (a definition, an account, an agency)
        statuses |= {400, 403, 404, 409, 413}
    elif path.endswith(("/keys", "/accounts")):
        statuses.add(403)
    return {status: {"model": Problem, "description": WHY[status]} for status in sorted(statuses)}


class ApiProblem(Exception):
    """An HTTP-level refusal (401, 403, 412, 413, ...)."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extra = extra
        super().__init__(detail)


def problem(status: int, title: str, detail: str, request: Request | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


def unexpected(request: Request, err: Exception) -> JSONResponse:
    """A fault of ours, not of the request: logged whole with the request's id, answered as a problem that names
    the id (so an operator can find the log line) and nothing of the fault's inside."""
    logging.getLogger("workflow.http").error("unexpected error", exc_info=err, extra=fields(
        request_id=getattr(request.state, "request_id", None), path=request.url.path))
    return problem(500, "Internal error", "an unexpected error; it is logged with this request's id", request)


def workflow_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, WorkflowError)
    status = answer(err)
    headers = {"Retry-After": "5"} if status.status == 503 else None
    return problem(status.status, status.title, str(err), request, headers, **context(err))


def api_problem(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, ApiProblem)
    return problem(err.status, err.title, err.detail, request, err.headers, **err.extra)


def validation_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, RequestValidationError)
    errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in err.errors()]
    if any(e.get("type") == "json_invalid" for e in err.errors()):  # not JSON at all: the request is bad, 400
        return problem(400, "Malformed JSON", "; ".join(f"{e['field']}: {e['message']}" for e in errors), request,
                       errors=errors)
    return problem(422, "Invalid request", "; ".join(f"{e['field']}: {e['message']}" for e in errors), request,
                   errors=errors)


def http_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, StarletteHTTPException)
    # its headers too: a 405 says which methods the path allows (Allow), as RFC 9110 requires
    return problem(err.status_code, str(err.detail), str(err.detail), request, headers=dict(err.headers or {}))
