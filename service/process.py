"""The running process: ``serve``'s composition (the catch-up pass, the alarm, the metrics, uvicorn, signals), and
how a background pass is reported: by ``serve`` as log records of the ``workflow.serve`` logger (one format with
the rest of the process, see ``service/logs.py``; each record carries an ``event`` field: ``catching_up``,
``timer``, ``schedule``, ``notification``, ``work``, ``caught_up``, ``first_admin``, ``first_key``, ``ready``,
``stopping``, ``stopped``), by ``simulate`` as lines on its standard output."""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from scheduler.alarm import Alarm
from scheduler.ticker import Pass
from workflow import TimerOutcome

from . import logs
from .context import App, ServeRefused
from .logs import fields
from .views import instant

log = logging.getLogger("workflow.serve")

Say = Callable[..., None]  # say(event, text, **fields)


def to_log(event: str, text: str, **values: Any) -> None:
    """``serve``'s voice: a log record with the event's name and fields."""
    log.info(text, extra=fields(event=event, **values))


def to_stdout(event: str, text: str, **values: Any) -> None:
    """``simulate``'s voice: the text, one line on standard output."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def report_batch(batch: list[TimerOutcome], say: Say) -> None:
    for o in batch:
        say("timer", f"timer {o.timer_id} {o.kind} {o.name} instance {o.instance_id} due {instant(o.due_at)}: "
            f"{o.status.value} ({o.outcome})", timer=o.timer_id, instance=o.instance_id, kind=o.kind, name=o.name,
            status=o.status.value)


def report_pass(done: Pass, say: Say) -> None:
    for line in done.other:
        say("work", line)
    for r in done.runs:
        say("schedule", f"schedule {r.schedule} {instant(r.occurrence)}: started {len(r.started)}, existing "
            f"{len(r.existing)}", schedule=r.schedule, started=len(r.started), existing=len(r.existing))
    for d in done.deliveries:
        state = "delivered" if d.ok else ("dead" if d.dead else "will retry")
        say("notification", f"notification {d.message.id} {d.message.channel.value} {d.message.recipient}: {state}"
            + (f" ({d.error})" if d.error else ""), message=d.message.id, channel=d.message.channel.value,
            outcome=state)


def run_service(app: App, host: str, port: int, workers: int = 1) -> None:
    """Serve until SIGTERM/Ctrl-C: the catch-up pass first, then the alarm and uvicorn in one process, and with
    ``workers`` > 1 as many more processes answering requests on the same socket (no alarm of their own)."""
    from .api.metrics import Metrics
    from .asgi import create_app

    logs.configure(app.settings.log_format)  # before the first record: the catch-up pass reports through it
    store = app.store  # fails early with a clear message if the database has no schema
    lock = _hold_serve_lock(app)  # noqa: F841 (held open until the process ends)
    listening = _listen(host, port)  # before the catch-up pass: a taken port fails at once
    if not store.has_accounts():
        _first_admin(app)
    if not store.has_keys():
        _first_key(app)
    ticker = app.ticker()
    to_log("catching_up", f"workflow serve: {_shown(app.settings.database_url)}; catching up")
    # Overdue timers fire first, in due order; their notifications go out from the running dispatcher,
    # so a restart after a long outage does not keep the API down while mail is sent.
    caught = ticker.run_once(on_batch=lambda batch: report_batch(batch, to_log), deliver=False)
    report_pass(caught, to_log)
    to_log("caught_up", f"caught up: {len(caught.timers)} timers, {len(caught.runs)} schedule runs",
           timers=len(caught.timers), runs=len(caught.runs))
    metrics = Metrics()

    def on_batch(batch: list[TimerOutcome]) -> None:
        report_batch(batch, to_log)
        metrics.timers([(o.kind, o.status.value, o.lateness > 1.0) for o in batch])

    alarm = Alarm(ticker, dt.timedelta(seconds=app.settings.poll_s), on_pass=lambda done: report_pass(done, to_log),
                  on_batch=on_batch)
    alarm.start()
    server = _server(create_app(app, alarm, app.settings.body_limit, metrics=metrics), host, port)
    threading.Thread(target=_announce, args=(server, host, listening, workers), daemon=True).start()
    # uvicorn catches SIGTERM/SIGINT, shuts down gracefully, then re-raises the signal to the handler that
    # was there before it; a no-op one lets us stop the scheduler afterwards instead of dying at once.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    helpers = [_spawn_worker(app, listening, n) for n in range(1, workers)]
    try:
        server.run(sockets=[listening])
    finally:
        to_log("stopping", "stopping: finishing the pass in progress")
        for helper in helpers:  # they finish their requests in flight, as this process does
            helper.send_signal(signal.SIGTERM)
        alarm.stop()
        for helper in helpers:
            try:
                helper.wait(timeout=40)
            except subprocess.TimeoutExpired:
                helper.kill()
        app.sql_engine.dispose()
        to_log("stopped", "stopped")


def _server(api: Any, host: str, port: int) -> Any:
    import uvicorn

    from .http_protocol import BoundedHttpTools

    config = uvicorn.Config(api, host=host, port=port, log_config=None,  # its loggers go through service/logs.py
                            proxy_headers=False,  # X-Forwarded-For only from WORKFLOW_TRUSTED_PROXIES (http.py)
                            http=BoundedHttpTools,  # an endless header line is cut off (http_protocol.py)
                            log_level="warning", access_log=False, timeout_graceful_shutdown=30)
    return uvicorn.Server(config)


WORKER_FD = "WORKFLOW_WORKER_FD"


def _spawn_worker(app: App, listening: socket.socket, number: int) -> subprocess.Popen[bytes]:
    """Another process answering on the same listening socket (its descriptor inherited): a fresh interpreter,
    not a fork, so no thread, lock or database connection of this one is copied into it."""
    env = {**os.environ, WORKER_FD: str(listening.fileno()), "WORKFLOW_DATABASE_URL": app.settings.database_url,
           "WORKFLOW_WORKER_NUMBER": str(number)}
    return subprocess.Popen([sys.executable, "-c", "from service.process import run_worker; run_worker()"],
                            env=env, pass_fds=(listening.fileno(),))


def run_worker() -> None:
    """A helper process of ``serve --workers N``: the API and the pages on the inherited socket, until SIGTERM.
    The timers, schedules and mail stay with the first process (its alarm); a deadline set here is picked up by
    its next pass (``WORKFLOW_POLL_S``), the database being the truth."""
    from .api.metrics import Metrics
    from .asgi import create_app
    from .settings import Settings

    app = App(Settings())
    logs.configure(app.settings.log_format)
    listening = socket.socket(fileno=int(os.environ[WORKER_FD]))
    server = _server(create_app(app, None, app.settings.body_limit, metrics=Metrics()), "", 0)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        server.run(sockets=[listening])
    finally:
        app.sql_engine.dispose()


def _shown(url: str) -> str:
    """The database URL as it may be logged: without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _hold_serve_lock(app: App) -> IO[str] | None:
    """One ``serve`` per SQLite file (several nodes need PostgreSQL): an exclusive lock on ``<file>.serve.lock``
    for the life of the process (the kernel drops it when the process dies, even by SIGKILL)."""
    file = app.sqlite_file()
    if file is None:
        return None
    path = file.with_name(file.name + ".serve.lock")
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise ServeRefused(f"another `workflow serve` (process {holder}) is running on {file}; one process serves a "
                           "SQLite file (several nodes need PostgreSQL)") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound now so that a taken port is said before any work is done."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ServeRefused(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.set_inheritable(True)
    return sock


def _private(file: Path, text: str) -> None:
    """Write a file only its owner can read (created 0600 before anything is written into it)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def _beside_database(app: App, name: str) -> Path:
    database = app.sqlite_file()
    return (database.parent if database is not None else Path.cwd()) / name


def _first_admin(app: App) -> None:
    """The first run has no account: create the administrator ``admin`` with a random password written to a file
    only its owner can read (never to the output). Log in with it, create people's accounts, set your own password
    (``workflow accounts reset-password admin``), then delete the file."""
    from .app.accounts import hash_password

    file = app.settings.first_admin_file or _beside_database(app, "first-admin-account")
    password = secrets.token_urlsafe(15)
    try:
        app.store.create_account("admin", "Quản trị hệ thống", "admin", None, None, None, hash_password(password),
                                 app.clock.now(), "system:first-run")
    except Exception:  # the unique login: whatever the driver calls it, the question is whether it now exists
        if app.store.account("admin") is None:
            raise
        return  # another node starting on the same database at the same moment made it (and wrote the file)
    _private(file, f"login: admin\npassword: {password}\n")
    to_log("first_admin", f"first administrator's login and password written to {file} (readable by this user "
           "only): log in with them, set your own password, then delete the file", file=str(file))


def _first_key(app: App) -> None:
    """The first run has no key: create an admin key and write it to a file only its owner can read (never to
    the output, which under systemd is the journal)."""
    file = app.settings.first_key_file or _beside_database(app, "first-admin-key")
    owner = app.store.account("admin")
    _, token = app.store.create_key("first-admin", "admin", None, app.clock.now(), "system:first-run",
                                    None if owner is None else owner.id)
    _private(file, token + "\n")
    to_log("first_key", f"first admin API key written to {file} (readable by this user only): for machines and "
           "scripts (Authorization: Bearer); create your own keys, then delete the file", file=str(file))


def _announce(server: Any, host: str, sock: socket.socket, workers: int = 1) -> None:
    """Print the URL once the server is accepting connections."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.02)
    port = sock.getsockname()[1]
    url = f"http://{host}:{port}"
    docs = "/docs" if getattr(server.config.app, "docs_url", None) else "/openapi.json"
    more = f"; {workers} processes answer" if workers > 1 else ""
    to_log("ready", f"ready {url} (the pages at /, the API under /api/v1, its description at {docs}){more}", url=url,
           workers=workers)
