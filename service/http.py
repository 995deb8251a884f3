"""What the two HTTP front ends (``api`` and ``web``) share, so neither imports the other: the typed handle on
the service's ``App`` for a request, waking the scheduler after a new deadline, and the history download."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Literal, TypeVar

from fastapi import Request
from fastapi.responses import StreamingResponse

from .app import UseCases
from .context import App

T = TypeVar("T")

log = logging.getLogger("workflow.auth")


class Throttle:
    """Failed authentications (unknown API keys, refused single sign-ons) per client address: after ``limit``
    failures within ``window`` seconds a further *failure* from the address is answered 429 (``Retry-After``)
    instead of 401, until the oldest failure leaves the window; a valid key is never refused, so clients sharing
    one address (an office behind NAT) are not locked out by one of them. Every failure is logged with the address.
    In this process only: several nodes each keep their own count."""

    def __init__(self, limit: int = 60, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int | None:
        """Seconds to wait, if this address is throttled now."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(address)
            while failures and now - failures[0] > self.window:
                failures.popleft()
            if failures is None or len(failures) < self.limit:
                return None
            return max(1, int(self.window - (now - failures[0])) + 1)

    def failed(self, address: str, what: str) -> None:
        log.warning("authentication failed: %s from %s", what, address)
        with self._lock:
            if len(self._failures) > 100_000:
                self._failures.clear()  # many addresses must not grow it for ever
            self._failures.setdefault(address, deque(maxlen=self.limit)).append(time.monotonic())


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def _trusted(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request) -> str:
    """The address the request came from: the connection's peer, unless that peer is one of the reverse proxies
    named in ``WORKFLOW_TRUSTED_PROXIES``; then the nearest address in ``X-Forwarded-For`` that is not one of them
    (each proxy appends the address it saw, so only the part written by our own proxies is believed)."""
    peer = request.client.host if request.client else "unknown"
    ctx = getattr(getattr(request.scope.get("app"), "state", None), "ctx", None)
    networks = _networks(ctx.settings.trusted_proxies) if isinstance(ctx, App) else ()
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # not an address: written by someone other than our proxy
    return peer


def throttle_of(request: Request) -> Throttle:
    throttle = getattr(request.app.state, "throttle", None)
    if throttle is None:
        throttle = request.app.state.throttle = Throttle(app_of(request).settings.auth_failure_limit)
    assert isinstance(throttle, Throttle)
    return throttle


def app_of(request: Request) -> App:
    """The service's ``App`` (engine, store, clock, settings) behind this request."""
    app = request.app.state.ctx
    assert isinstance(app, App)
    return app


def uses(request: Request) -> UseCases:
    """The application layer behind this request."""
    return app_of(request).uses


async def written(request: Request, command: Callable[[], T]) -> T:
    """Run a write of the application layer on the process's writer thread, in a batch's transaction
    (``service/writer.py``); its result once committed."""
    return await app_of(request).writer.run(command)


def nudge(request: Request, due: dt.datetime | None = None) -> None:
    """Wake the scheduler sooner if a deadline just set is earlier than its next wake-up (the database is the
    truth either way; this is only for promptness). ``due``: the deadline just set, if the caller knows it."""
    alarm = getattr(request.app.state, "alarm", None)
    if alarm is None:
        return
    nxt = due if due is not None else app_of(request).store.next_timer_due()
    if nxt is not None:
        alarm.nudge(nxt)


def export_response(lines: Iterator[str], fmt: Literal["jsonl", "csv"], headers: dict[str, str] | None = None
                    ) -> StreamingResponse:
    """The whole history (``Audit.export``), streamed, as a download named by the server (API and pages)."""
    media = "application/x-ndjson; charset=utf-8" if fmt == "jsonl" else "text/csv; charset=utf-8"
    disposition = {"Content-Disposition": f'attachment; filename="history.{fmt}"'}
    return StreamingResponse(lines, media_type=media,
                             headers={**(headers or {}), **disposition})
