"""Errors as RFC 9457 problem details (``application/problem+json``), mapped from the project's error tree."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from definitions import DefinitionConflict, DefinitionInvalid, NotFound, StoreUnavailable, ValueRejected, WorkflowError
from workflow.errors import (
    AgencyMismatch,
    DuplicateBusinessKey,
    EventNotAllowed,
    GuardFailed,
    IdempotencyKeyReused,
    PayloadInvalid,
    Refused,
    RoleNotAllowed,
    VersionConflict,
)

MEDIA = "application/problem+json"
# (error class, status, title); the first match wins, so subclasses come before their parents.
STATUS: tuple[tuple[type[WorkflowError], int, str], ...] = (
    (NotFound, 404, "Not found"),
    (RoleNotAllowed, 403, "Role not allowed"),
    (AgencyMismatch, 403, "Not your agency's instance"),
    (PayloadInvalid, 422, "Invalid payload"),
    (IdempotencyKeyReused, 422, "Idempotency key reused"),
    (DefinitionInvalid, 422, "Invalid definition"),
    (ValueRejected, 422, "Value rejected"),
    (EventNotAllowed, 409, "Event not allowed"),
    (VersionConflict, 409, "Version conflict"),
    (DuplicateBusinessKey, 409, "Duplicate business key"),
    (GuardFailed, 409, "Guard refused"),
    (DefinitionConflict, 409, "Definition conflict"),
    (Refused, 409, "Refused"),
    (StoreUnavailable, 503, "Database unavailable"),
)


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


def workflow_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, WorkflowError)
    status, title = next(((s, t) for cls, s, t in STATUS if isinstance(err, cls)), (400, "Bad request"))
    extra: dict[str, Any] = {}
    if isinstance(err, PayloadInvalid):
        extra["errors"] = [{"field": f, "message": m} for f, m in err.errors]
    if isinstance(err, DefinitionInvalid):
        extra["errors"] = [{"field": p.field, "line": p.line, "column": p.column, "message": p.message}
                           for p in err.problems]
    if isinstance(err, EventNotAllowed):
        extra["allowed"] = list(err.allowed)
    for name in ("instance_id", "event", "state"):
        value = getattr(err, name, None)
        if value is not None:
            extra[name] = value
    headers = {"Retry-After": "5"} if status == 503 else None
    return problem(status, title, str(err), request, headers, **extra)


def api_problem(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, ApiProblem)
    return problem(err.status, err.title, err.detail, request, err.headers, **err.extra)


def validation_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, RequestValidationError)
    errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in err.errors()]
    return problem(422, "Invalid request", "; ".join(f"{e['field']}: {e['message']}" for e in errors), request,
                   errors=errors)


def http_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, StarletteHTTPException)
    return problem(err.status_code, str(err.detail), str(err.detail), request)
