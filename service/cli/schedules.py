"""``workflow schedules``: recurring obligations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from workflow.calendar import end_of_day

from .common import (
    Options,
    date_arg,
    emit,
    emit_table,
    json_arg,
    local_time,
    run,
)

schedules_cli = typer.Typer(no_args_is_help=True, help="Recurring obligations.")


@schedules_cli.command("list")
def schedules_list(ctx: typer.Context) -> None:
    """Recurring obligations and their next run."""
    def act(opts: Options) -> None:
        rows = opts.uses.registry.schedules()
        emit_table(opts, rows, [("Tên", lambda r: r["name"]), ("Quy trình", lambda r: r["definition"]),
                                ("Lịch (cron)", lambda r: r["cron"]),
                                ("Lần tới", lambda r: local_time(r["next_run_at"])),
                                ("Số cơ quan", lambda r: len(r["assignees"]))], "Không có lịch định kỳ (no schedules)")
    run(ctx, act)


@schedules_cli.command("add")
def schedules_add(
    ctx: typer.Context, name: str,
    definition: Annotated[str, typer.Option()],
    cron: Annotated[str, typer.Option(help="Five fields in province time, e.g. '0 8 1 10 *'")],
    assignees: Annotated[str, typer.Option(help="Comma-separated agency codes")],
    key_template: Annotated[str, typer.Option(help="e.g. annual-report/{year}/{agency}")],
    data: Annotated[str | None, typer.Option()] = None,
    start: Annotated[str | None, typer.Option("--from", help="First run after this date (default: now)")] = None,
) -> None:
    """Add a recurring obligation; occurrences between --from and now are caught up by the next pass."""
    def act(opts: Options) -> None:
        codes = [a.strip() for a in assignees.split(",") if a.strip()]
        begin = end_of_day(date_arg(start, "--from")) - dt.timedelta(days=1) if start else None
        added = opts.uses.registry.add_schedule(opts.actor, name, definition, cron, codes, key_template,
                                                json_arg(data, "--data"), begin)
        emit(opts, added, f"schedule {name} added; first run {added['next_run_at']}")
    run(ctx, act)
