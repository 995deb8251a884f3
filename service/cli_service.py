"""``workflow serve`` (the long-running process) and ``workflow simulate`` (the same work on a simulated clock)."""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from collections import Counter
from typing import Annotated, Any

import typer

from scheduler.alarm import Alarm
from scheduler.ticker import Pass
from workflow import SimulatedClock, TimerOutcome
from workflow.calendar import end_of_day

from .cli_common import Options, date_arg, emit, instant, opts_of, run
from .context import App


def register(cli: typer.Typer) -> None:
    cli.command("serve")(serve)
    cli.command("simulate")(simulate)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _print_batch(batch: list[TimerOutcome]) -> None:
    for o in batch:
        _say(f"timer {o.timer_id} {o.kind} {o.name} instance {o.instance_id} due {instant(o.due_at)}: "
             f"{o.status.value} ({o.outcome})")


def _print_pass(done: Pass) -> None:
    for r in done.runs:
        _say(f"schedule {r.schedule} {instant(r.occurrence)}: started {len(r.started)}, existing {len(r.existing)}")
    for d in done.deliveries:
        state = "delivered" if d.ok else ("dead" if d.dead else "will retry")
        _say(f"notification {d.message.id} {d.message.channel.value} {d.message.recipient}: {state}"
             + (f" ({d.error})" if d.error else ""))


def serve(ctx: typer.Context) -> None:
    """Run the scheduler and the notification dispatcher until SIGTERM or Ctrl-C (HTTP comes with the API)."""
    opts = opts_of(ctx)

    def act(opts: Options) -> None:
        app = opts.app
        app.store  # noqa: B018 - fails early with a clear message if the database has no schema
        ticker = app.ticker()
        _say(f"workflow serve: {app.settings.database_url}; catching up")
        caught = ticker.run_once(on_batch=_print_batch)
        _print_pass(caught)
        _say(f"caught up: {len(caught.timers)} timers, {len(caught.runs)} schedule runs, "
             f"{len(caught.deliveries)} notifications")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        alarm = Alarm(ticker, dt.timedelta(seconds=app.settings.poll_s), on_pass=_print_pass, on_batch=_print_batch)
        alarm.start()
        _say("ready")
        # Python runs signal handlers only in the main thread, and only between bytecodes: when the kernel
        # delivers SIGTERM to one of the scheduler's threads, an untimed wait here would never wake up.
        while not stop.wait(0.5):
            pass
        _say("stopping: finishing the pass in progress")
        alarm.stop()
        app.sql_engine.dispose()
        _say("stopped")
    run(ctx, act)
    del opts


def simulate(
    ctx: typer.Context,
    until: Annotated[str, typer.Option(help="Run until the end of this day (YYYY-MM-DD), province time")],
    start: Annotated[str | None, typer.Option("--from", help="Start at 00:00 of this day (default: now)")] = None,
) -> None:
    """Advance a simulated clock over the database: timers and schedules fire in order through the same code
    as ``serve``. Notifications are queued, not delivered."""
    def act(opts: Options) -> None:
        begin = (dt.datetime.combine(date_arg(start, "--from"), dt.time(), dt.UTC) - dt.timedelta(hours=7)
                 if start else opts.app.clock.now())
        end = end_of_day(date_arg(until, "--until"))
        clock = SimulatedClock(begin)
        app = App(opts.app.settings, clock=clock)
        ticker = app.ticker(deliver=False)
        kinds: Counter[str] = Counter()
        runs = 0
        quiet = opts.json

        def count(batch: list[TimerOutcome]) -> None:
            kinds.update(f"{o.kind} {o.status.value}" for o in batch)
            if not quiet:
                _print_batch(batch)

        while True:
            done = ticker.run_once(on_batch=count)
            runs += len(done.runs)
            if not quiet:
                _print_pass(done)
            nxt = ticker.next_wake()
            if nxt is None or nxt > end:
                break
            clock.set(max(nxt, clock.now()))
        clock.set(max(end, clock.now()))
        summary: dict[str, Any] = {"from": instant(begin), "until": instant(clock.now()), "timers": dict(kinds),
                                   "schedule_runs": runs,
                                   "open_escalations": len(app.store.list_escalations("open"))}
        emit(opts, summary, f"simulated to {instant(clock.now())}: " + ", ".join(
            f"{n} {k}" for k, n in sorted(kinds.items())) + f"; {runs} schedule runs; "
            f"{summary['open_escalations']} escalations open")
    run(ctx, act)
