"""``workflow serve`` (the long-running process) and ``workflow simulate`` (the same work on a simulated clock)."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from definitions import load_data
from definitions.agencies import Reorganisation
from definitions.shipped_files import PLAN, REGISTRY, REORGANISATION, WORKFLOWS, shipped
from workflow import SimulatedClock, TimerOutcome
from workflow.calendar import end_of_day
from workflow.clock import PROVINCE_TZ
from workflow.errors import PayloadInvalid

from ..context import App
from ..process import report_batch, report_pass, run_service, to_stdout
from .common import (
    Bar,
    Options,
    date_arg,
    emit,
    instant,
    run,
    written,
)


def serve(ctx: typer.Context,
          host: Annotated[str, typer.Option(help="Address to listen on", envvar="WORKFLOW_HOST")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port (0: any free port)", min=0, max=65535,
                                            envvar="WORKFLOW_PORT")] = 8000,
          workers: Annotated[int, typer.Option(help="Processes answering requests (the first also runs the "
                                                    "timers); see docs/operations.md for when more than 1 helps",
                                               min=1, max=16, envvar="WORKFLOW_WORKERS")] = 1) -> None:
    """Run the HTTP API, the scheduler and the notification dispatcher in one process until SIGTERM/Ctrl-C.

    Stopping is graceful: no new requests, requests in flight finish, the scheduler's pass in progress
    commits. On the very first run (no API key yet) an admin key is created and written to a file only this user
    can read (see WORKFLOW_FIRST_KEY_FILE), never printed. One serve per SQLite file."""
    run(ctx, lambda opts: run_service(opts.app, host, port, workers))


def simulate(
    ctx: typer.Context,
    to: Annotated[str | None, typer.Option("--to", help="Run until the end of this day (YYYY-MM-DD)")] = None,
    until: Annotated[str | None, typer.Option(help="Same as --to")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Start at 00:00 of this day (default: now)")] = None,
    seed: Annotated[int | None, typer.Option(help="Simulate the whole plan with seeded agency behaviour")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the status report (.xlsx, .csv, .json or text)")] = None,
    force: Annotated[bool, typer.Option(help="Replace the --report file if it exists")] = False,
    equal_paces: Annotated[bool, typer.Option(help="Every agency the same odds (default: each its own seeded pace: "
                                                   "prompt, steady, late or erratic)")] = False,
) -> None:
    """Advance a simulated clock: timers and schedules fire in order through the same code as ``serve``.

    With --seed: the whole plan on a fresh database (var/simulate-SEED.db unless --db is given), agencies
    acting on time, late or never as the seed decides, the 2025 reorganisation on its dates. Without it: the
    given database's timers and schedules only. Notifications are queued, not delivered."""
    end_day = to or until
    if end_day is None:
        raise typer.BadParameter("give --to DATE", param_hint="--to")

    def act(opts: Options) -> None:
        if seed is not None and report is not None and report.exists() and not force:
            raise PayloadInvalid([("--report", f"{report} exists already; add --force to replace it")])
        begin = (dt.datetime.combine(date_arg(start, "--from"), dt.time(), PROVINCE_TZ).astimezone(dt.UTC)
                 if start else opts.app.clock.now())
        end = end_of_day(date_arg(end_day, "--to"))
        clock = SimulatedClock(begin)
        if seed is None:
            _simulate_database(opts, App(opts.app.settings, clock=clock), clock, end)
            return
        settings = opts.app.settings
        if not opts.db_given:
            path = Path("var") / f"simulate-{seed}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            settings = settings.model_copy(update={"database_url": f"sqlite:///{path}", "sqlite_synchronous": "NORMAL"})
        app = App(settings, clock=clock)
        app.init()
        _simulate_plan(opts, app, clock, seed, end, report, force, equal_paces)
    run(ctx, act)


def _simulate_database(opts: Options, app: App, clock: SimulatedClock, end: dt.datetime) -> None:
    ticker = app.ticker(deliver=False)
    kinds: Counter[str] = Counter()
    runs = 0
    quiet = opts.json

    def count(batch: list[TimerOutcome]) -> None:
        kinds.update(f"{o.kind} {o.status.value}" for o in batch)
        if not quiet:
            report_batch(batch, to_stdout)

    while True:
        done = ticker.run_once(on_batch=count)
        runs += len(done.runs)
        if not quiet:
            report_pass(done, to_stdout)
        nxt = ticker.next_wake()
        if nxt is None or nxt > end:
            break
        clock.set(max(nxt, clock.now()))
    clock.set(max(end, clock.now()))
    summary: dict[str, Any] = {"until": instant(clock.now()), "timers": dict(kinds), "schedule_runs": runs,
                               "open_escalations": len(app.store.list_escalations("open"))}
    emit(opts, summary, f"simulated to {instant(clock.now())}: " + ", ".join(
        f"{n} {k}" for k, n in sorted(kinds.items())) + f"; {runs} schedule runs; "
        f"{summary['open_escalations']} escalations open")


def _simulate_plan(opts: Options, app: App, clock: SimulatedClock, seed: int, end: dt.datetime,
                   report_file: Path | None, force: bool, equal_paces: bool = False) -> None:
    from .. import report as status
    from .. import simulation

    started = time.perf_counter()
    simulation.set_up(app.engine, app.store, shipped(*WORKFLOWS), shipped(*REGISTRY), shipped(*PLAN))
    reorg = load_data(shipped(*REORGANISATION), Reorganisation)
    sim = simulation.Simulation(app.engine, app.ticker(deliver=False), clock, seed,
                                simulation.Behaviour(equal_paces=equal_paces))
    start = clock.now()
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    with Bar(opts, "Mô phỏng (simulating)", months) as bar:
        def progress(text: str) -> None:
            if bar.live:
                bar.describe(f"Mô phỏng {text}")
                bar.advance()
            elif not opts.json:
                typer.echo(text)
        simulation.run(sim, app.store, reorg, end, progress)
    result = status.status_report(app.engine, app.store, clock.now())
    elapsed = time.perf_counter() - started
    if report_file is not None:
        suffix = report_file.suffix.lower()
        with written(report_file, force, binary=True) as handle:
            if suffix == ".xlsx":
                handle.write(status.to_xlsx(result))
            else:
                text = {".csv": status.to_csv, ".json": status.to_json}.get(suffix, status.to_table)(result)
                handle.write(text.encode("utf-8"))
    if opts.json:
        emit(opts, {"database": app.settings.database_url, "seed": seed, "actions": sim.actions,
                    "seconds": round(elapsed, 2), "timeline": sim.timeline, "report": result.as_dict()}, "")
        return
    typer.echo("timeline:")
    for line in sim.timeline:
        typer.echo(f"  {line}")
    typer.echo(status.to_table(result))
    typer.echo(f"simulated {instant(clock.now())} with seed {seed} in {elapsed:.1f} s ({sim.actions} agency actions); "
               f"database {app.settings.database_url}" + (f"; report written to {report_file}" if report_file else ""))
