"""The HTTP API: FastAPI over the same engine, store and functions as the CLI.

Every response carries ``X-Request-ID``; each request is logged as one JSON line (method, path, status,
milliseconds, actor; never the key). Bodies above the limit get 413 before they are read whole.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from definitions import WorkflowError

from ..web import LoginRequired, login_redirect, pages
from .metrics import Metrics
from .problems import ApiProblem, api_problem, http_error, problem, validation_error, workflow_error
from .routes import router

log = logging.getLogger("workflow.http")


class _StderrHandler(logging.Handler):
    """Writes each record to whatever ``sys.stderr`` is when it is logged (not when the handler was made)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def _log_handler() -> None:
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


class Around:
    """Pure ASGI middleware around every request: its id (``X-Request-ID``), the body limit, metrics and one
    JSON log line. (Starlette's ``BaseHTTPMiddleware`` costs a task and two memory streams per request; with it
    and h11 the server spent 2.4 ms of CPU per API call here, see README, performance.)

    The limit: a Content-Length above it is answered 413 before anything is read; a body sent without a length
    (chunked) is counted as it arrives and the route's body reader gets the 413 once it passes the limit."""

    def __init__(self, app: Any, limit: int, metrics: Metrics) -> None:
        self.app = app
        self.limit = limit
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k: v for k, v in scope["headers"] if k in (b"x-request-id", b"content-length")}
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:100] or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"], state["actor"] = request_id, None
        started = time.perf_counter()
        status = 500  # what the log says if the app fails before answering
        limit = self.limit
        received = 0

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"request bodies are limited to {limit} bytes")
            return message

        length = headers.get(b"content-length")
        try:
            if length is not None and (not length.isdigit() or int(length) > limit):
                response = problem(413, "Body too large", f"request bodies are limited to {limit} bytes",
                                   Request(scope))
                await response(scope, receive, sending)
            else:
                await self.app(scope, counted, sending)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.request(scope["method"], status, elapsed)
            log.info(json.dumps({"ts": time.time(), "request_id": request_id, "method": scope["method"],
                                 "path": scope["path"], "status": status, "ms": round(elapsed * 1000, 2),
                                 "actor": state.get("actor")}))


def create_app(ctx: Any, alarm: Any = None, body_limit: int = 1 << 20, metrics: Metrics | None = None) -> FastAPI:
    """``ctx`` is the service's ``App`` (engine, store, clock); ``alarm`` the running scheduler, if any;
    ``metrics`` shared with the scheduler so timer outcomes show in /metrics."""
    _log_handler()
    app = FastAPI(title="KH&CN workflow engine", version="1", openapi_url="/openapi.json", docs_url="/docs",
                  description="Durable workflows for the Ninh Thuận science-and-technology plan. "
                              "Authenticate with `Authorization: Bearer <API key>`.")
    app.state.ctx = ctx
    app.state.alarm = alarm
    app.state.metrics = metrics or Metrics()
    app.add_middleware(Around, limit=body_limit, metrics=app.state.metrics)
    app.include_router(router)
    app.include_router(pages)
    app.add_exception_handler(LoginRequired, login_redirect)
    app.add_exception_handler(WorkflowError, workflow_error)
    app.add_exception_handler(ApiProblem, api_problem)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)

    @app.get("/healthz", include_in_schema=True)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=True, response_model=None)
    def readyz() -> JSONResponse | dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            with ctx.sql_engine.connect() as c:
                c.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as err:
            checks["database"] = f"unreachable: {type(err).__name__}"
        checks["scheduler"] = "running" if alarm is not None and alarm.running else "not running"
        ready = checks["database"] == "ok" and checks["scheduler"] == "running"
        return checks if ready else JSONResponse(checks, status_code=503)

    @app.get("/metrics", response_class=PlainTextResponse, include_in_schema=True)
    def metrics_page() -> PlainTextResponse:
        store = ctx.store
        return PlainTextResponse(app.state.metrics.render(store.count_timers(), store.count_outbox()),
                                 media_type="text/plain; version=0.0.4")

    return app
