"""The running process: ``serve``'s composition (the catch-up pass, the alarm, the metrics, uvicorn, signals), and
how a background pass is reported on standard output (``serve`` and ``simulate`` alike)."""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
import time
from typing import Any

from scheduler.alarm import Alarm
from scheduler.ticker import Pass
from workflow import TimerOutcome

from .context import App
from .views import instant


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def print_batch(batch: list[TimerOutcome]) -> None:
    for o in batch:
        say(f"timer {o.timer_id} {o.kind} {o.name} instance {o.instance_id} due {instant(o.due_at)}: "
            f"{o.status.value} ({o.outcome})")


def print_pass(done: Pass) -> None:
    for line in done.other:
        say(line)
    for r in done.runs:
        say(f"schedule {r.schedule} {instant(r.occurrence)}: started {len(r.started)}, existing {len(r.existing)}")
    for d in done.deliveries:
        state = "delivered" if d.ok else ("dead" if d.dead else "will retry")
        say(f"notification {d.message.id} {d.message.channel.value} {d.message.recipient}: {state}"
            + (f" ({d.error})" if d.error else ""))


def run_service(app: App, host: str, port: int) -> None:
    """Serve until SIGTERM/Ctrl-C: the catch-up pass first, then the alarm and uvicorn in one process."""
    import uvicorn

    from .api.metrics import Metrics
    from .asgi import create_app

    store = app.store  # fails early with a clear message if the database has no schema
    if not store.has_keys():
        _, token = store.create_key("first-admin", "admin", None, app.clock.now())
        say(f"admin key (shown once, stored hashed): {token}")
    ticker = app.ticker()
    say(f"workflow serve: {app.settings.database_url}; catching up")
    # Overdue timers fire first, in due order; their notifications go out from the running dispatcher,
    # so a restart after a long outage does not keep the API down while mail is sent.
    caught = ticker.run_once(on_batch=print_batch, deliver=False)
    print_pass(caught)
    say(f"caught up: {len(caught.timers)} timers, {len(caught.runs)} schedule runs")
    metrics = Metrics()

    def on_batch(batch: list[TimerOutcome]) -> None:
        print_batch(batch)
        metrics.timers([(o.kind, o.status.value, o.lateness > 1.0) for o in batch])

    alarm = Alarm(ticker, dt.timedelta(seconds=app.settings.poll_s), on_pass=print_pass, on_batch=on_batch)
    alarm.start()
    api = create_app(app, alarm, app.settings.body_limit, metrics=metrics)
    config = uvicorn.Config(api, host=host, port=port,
                            log_level="warning", access_log=False, timeout_graceful_shutdown=30)
    server = uvicorn.Server(config)
    threading.Thread(target=_announce, args=(server, host), daemon=True).start()
    # uvicorn catches SIGTERM/SIGINT, shuts down gracefully, then re-raises the signal to the handler that
    # was there before it; a no-op one lets us stop the scheduler afterwards instead of dying at once.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        server.run()
    finally:
        say("stopping: finishing the pass in progress")
        alarm.stop()
        app.sql_engine.dispose()
        say("stopped")


def _announce(server: Any, host: str) -> None:
    """Print the URL once the socket is listening (uvicorn binds after the app's start-up)."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    say(f"ready http://{host}:{port} (API under /api/v1, docs at /docs)")
