"""The composition of the HTTP service: the API's routes and the dashboard's pages in one ASGI app, behind the
API's middleware, with every error answered as problem+json (or a log-in redirect for pages). ``serve`` and the
tests build the app here; ``api`` and ``web`` do not import each other."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from definitions import WorkflowError

from . import logs
from .api import Around
from .api.metrics import CONTENT_TYPE, Metrics
from .api.problems import MEDIA, ApiProblem, api_problem, http_error, unexpected, validation_error, workflow_error
from .api.routes import router
from .context import App
from .web import pages
from .web.base import LoginRequired, login_redirect, page_not_found


def create_app(ctx: App, alarm: Any = None, body_limit: int = 1 << 20, metrics: Metrics | None = None) -> FastAPI:
    """``ctx`` is the service's ``App`` (engine, store, clock); ``alarm`` the running scheduler, if any;
    ``metrics`` shared with the scheduler so timer outcomes show in /metrics."""
    logs.configure(ctx.settings.log_format)
    # Swagger UI and ReDoc load unpinned scripts from a CDN: not on the dashboard's origin unless asked for
    docs = "/docs" if ctx.settings.api_docs else None
    app = FastAPI(title="KH&CN workflow engine", version="1", openapi_url="/openapi.json", docs_url=docs,
                  redoc_url=None,
                  description="Durable workflows for the Ninh Thuận science-and-technology plan. "
                              "Authenticate with `Authorization: Bearer <API key>`.")
    app.state.ctx = ctx
    app.state.alarm = alarm
    app.state.metrics = metrics or Metrics()
    app.add_middleware(Around, limit=body_limit, metrics=app.state.metrics,
                       upload_limit=int(ctx.settings.max_file_mb * 1024 * 1024) + (1 << 20))
    app.include_router(router)
    app.include_router(pages)
    app.openapi = lambda: _problem_media(app)  # type: ignore[method-assign]
    app.add_exception_handler(LoginRequired, login_redirect)
    app.add_exception_handler(WorkflowError, workflow_error)
    app.add_exception_handler(ApiProblem, api_problem)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_or_page_error)
    app.add_exception_handler(Exception, unexpected)  # a 500 as problem+json with the request id, logged whole

    @app.get("/healthz", include_in_schema=True)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=True, response_model=None, responses={
        503: {"description": "Not ready: the database unreachable, or the scheduler not running in this process"}})
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
    def metrics_page() -> Response:
        """Prometheus metrics (``service/api/metrics.py``): requests, transitions, timers, the outbox,
        escalations and the process."""
        store = ctx.store
        metrics: Metrics = app.state.metrics
        metrics.read_database(store.count_timers, store.count_outbox, store.count_escalations)
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return app


def _problem_media(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with every error answer under ``application/problem+json`` (what is sent) instead of
    the route's own media type."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                for code, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if code[0] in "45" and content:
                        answer["content"] = {MEDIA: next(iter(content.values()))}
        app.openapi_schema = schema
    return app.openapi_schema


def http_or_page_error(request: Any, err: Exception) -> Response:
    """An HTTP error as problem+json, except a page a browser asked for that does not exist: a page that says so
    in the reader's language."""
    if isinstance(err, StarletteHTTPException) and err.status_code == 404 \
            and not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", ""):
        return page_not_found(request)
    return http_error(request, err)
