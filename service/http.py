"""What the two HTTP front ends (``api`` and ``web``) share, so neither imports the other: the typed handle on
the service's ``App`` for a request, waking the scheduler after a new deadline, and the history download."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import Request
from fastapi.responses import StreamingResponse

from .context import App
from .views import export_lines


def app_of(request: Request) -> App:
    """The service's ``App`` (engine, store, clock, settings) behind this request."""
    app = request.app.state.ctx
    assert isinstance(app, App)
    return app


def nudge(request: Request, due: dt.datetime | None = None) -> None:
    """Wake the scheduler sooner if a deadline just set is earlier than its next wake-up (the database is the
    truth either way; this is only for promptness). ``due``: the deadline just set, if the caller knows it."""
    alarm = getattr(request.app.state, "alarm", None)
    if alarm is None:
        return
    nxt = due if due is not None else app_of(request).store.next_timer_due()
    if nxt is not None:
        alarm.nudge(nxt)


def export_response(app: App, fmt: Literal["jsonl", "csv"], headers: dict[str, str] | None = None
                    ) -> StreamingResponse:
    """The whole history, streamed, as a download named by the server (the API and the dashboard)."""
    media = "application/x-ndjson; charset=utf-8" if fmt == "jsonl" else "text/csv; charset=utf-8"
    disposition = {"Content-Disposition": f'attachment; filename="history.{fmt}"'}
    return StreamingResponse(export_lines(app.store.iter_history(), fmt), media_type=media,
                             headers={**(headers or {}), **disposition})
