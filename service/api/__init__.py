"""The HTTP API: FastAPI over the same engine, store and functions as the CLI.

Every response carries ``X-Request-ID`` (ours; a client's own is logged beside it as ``client_request_id``); each
request is logged as one line (``service/logs.py``: request id, client address (``http.client_address``), method,
path, route, status, milliseconds, actor; never the key). Bodies above the limit get 413 before they are read whole.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from fastapi import HTTPException, Request

from ..http import client_address
from ..logs import fields
from .metrics import Metrics
from .problems import problem, unexpected

log = logging.getLogger("workflow.http")
# Before any key is looked at. (The server has already read them: a reverse proxy in front should cap them too,
# see docs/operations.md; nginx's default is 8 KiB a line.)
MAX_HEADERS = 100
MAX_HEADER_BYTES = 32 * 1024


UPLOADS = re.compile(r"^(/instances/\d{1,19}/fire|/api/v1/files)$")  # where an attached file may come


CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class Around:
    """Pure ASGI middleware around every request: its id (``X-Request-ID``), the body limit, metrics and one
    JSON log line. (Starlette's ``BaseHTTPMiddleware`` costs a task and two memory streams per request; with it
    and h11 the server spent 2.4 ms of CPU per API call here, see README, performance.)

    The limit: a Content-Length above it is answered 413 before anything is read; a body sent without a length
    (chunked) is counted as it arrives and the route's body reader gets the 413 once it passes the limit. The
    pages' action forms, which may carry an attached file, get ``upload_limit`` instead."""

    def __init__(self, app: Any, limit: int, metrics: Metrics, upload_limit: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = max(limit, upload_limit or limit)
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k: v for k, v in scope["headers"] if k in (b"x-request-id", b"content-length")}
        # the id the history and the log record is always ours; a client's own id (if it is a plain token) is only
        # logged beside it, for the client to find its request, and never reaches the history
        sent = headers.get(b"x-request-id", b"").decode("latin-1")[:100]
        client_request_id = sent if CLIENT_REQUEST_ID.match(sent) else None
        request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"], state["actor"] = request_id, None
        started = time.perf_counter()
        status = 500  # what the log says if the app fails before answering
        limit = self.upload_limit if UPLOADS.match(scope.get("path", "")) else self.limit
        received = 0

        answered = [False]

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                answered[0] = True
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
        raw_headers = scope["headers"]
        try:
            if len(raw_headers) > MAX_HEADERS or sum(len(k) + len(v) for k, v in raw_headers) > MAX_HEADER_BYTES:
                response = problem(431, "Request headers too large",
                                   f"at most {MAX_HEADERS} headers and {MAX_HEADER_BYTES} bytes of them",
                                   Request(scope))
                await response(scope, receive, sending)
            elif length is not None and (not length.isdigit() or int(length) > limit):
                response = problem(413, "Body too large", f"request bodies are limited to {limit} bytes",
                                   Request(scope))
                await response(scope, receive, sending)
            else:
                await self.app(scope, counted, sending)
        except Exception as err:  # a fault of ours: answered here, so the connection stays usable
            if answered[0]:  # already answering: nothing more can be said on this connection
                raise
            await unexpected(Request(scope), err)(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.request(route, scope["method"], status, elapsed)
            client = scope.get("client")
            log.info("%s %s %s", scope["method"], scope["path"], status, extra=fields(
                request_id=request_id, client_request_id=client_request_id,
                client=client_address(Request(scope)) if client else None, method=scope["method"],
                path=scope["path"], route=route, status=status, ms=round(elapsed * 1000, 2),
                actor=state.get("actor")))
