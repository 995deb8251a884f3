"""``workflow calendar``: when periods end; days off and working days."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from workflow import OverrideKind

from .common import (
    Options,
    date_arg,
    emit,
    emit_table,
    instant,
    run,
)

calendar_cli = typer.Typer(no_args_is_help=True, help="When periods end; days off and working days.")


@calendar_cli.command("due")
def calendar_due(
    ctx: typer.Context,
    start: Annotated[str, typer.Option("--from", help="The event's date (YYYY-MM-DD), province time")],
    days: Annotated[int | None, typer.Option(help="Calendar days (Civil Code)")] = None,
    working_days: Annotated[int | None, typer.Option()] = None,
    hours: Annotated[int | None, typer.Option()] = None,
    end_of_month: Annotated[str | None, typer.Option(help="YYYY-MM")] = None,
    end_of_year: Annotated[int | None, typer.Option()] = None,
    before: Annotated[str | None, typer.Option(help="Before this date (never moves)")] = None,
    on: Annotated[str | None, typer.Option(help="On this date (never moves)")] = None,
    yearly: Annotated[str | None, typer.Option(help="Before MM-DD every year")] = None,
) -> None:
    """When a period ends, with every step explained (holiday names in Vietnamese)."""
    def act(opts: Options) -> None:
        anchor = date_arg(start, "--from")
        spec: dict[str, Any] = {"days": days, "working_days": working_days, "hours": hours,
                                "end_of_month": end_of_month, "end_of_year": end_of_year,
                                "before_date": before and date_arg(before, "--before"),
                                "on_date": on and date_arg(on, "--on"), "yearly": yearly}
        due = opts.uses.deadlines.due(anchor, spec, "--from")
        text = "\n".join([f"last day: {due.last_day:%d/%m/%Y} ({due.last_day.isoformat()})",
                          f"due at:   {instant(due.due_at)} (24:00 province time of the last day)"
                          if hours is None else f"due at:   {instant(due.due_at)}",
                          "steps:", *(f"  - {s}" for s in due.steps)])
        emit(opts, due.as_dict(), text)
    run(ctx, act)


def _override(ctx: typer.Context, day: str, reason: str, kind: OverrideKind) -> None:
    def act(opts: Options) -> None:
        added = opts.uses.deadlines.add_override(opts.actor, date_arg(day, "DATE"), kind, reason)
        moved = sum(len(v) for v in added["instances"].values())
        emit(opts, added, f"{kind.value} {added['day']} recorded; {moved} timers of {len(added['instances'])} "
                          "instances moved")
    run(ctx, act)


@calendar_cli.command("add-day-off")
def calendar_add_day_off(ctx: typer.Context, day: Annotated[str, typer.Argument(metavar="DATE")],
                         reason: Annotated[str, typer.Option(help="Who announced it, e.g. the decision")]) -> None:
    """A day off announced late (storm, government decision): pending deadlines move, each in history."""
    _override(ctx, day, reason, OverrideKind.DAY_OFF)


@calendar_cli.command("add-working-day")
def calendar_add_working_day(ctx: typer.Context, day: Annotated[str, typer.Argument(metavar="DATE")],
                             reason: Annotated[str, typer.Option()]) -> None:
    """A weekend day turned into a working day."""
    _override(ctx, day, reason, OverrideKind.WORKING_DAY)


@calendar_cli.command("overrides")
def calendar_overrides(ctx: typer.Context) -> None:
    """Operator overrides of the calendar."""
    def act(opts: Options) -> None:
        rows = opts.uses.deadlines.overrides()
        emit_table(opts, rows, [("Ngày", lambda r: f"{dt.date.fromisoformat(r['day']):%d/%m/%Y}"),
                                ("Loại", lambda r: OVERRIDE_KINDS.get(r["kind"], r["kind"])),
                                ("Lý do", lambda r: r["reason"])], "Không có điều chỉnh lịch (no overrides)")
    run(ctx, act)


OVERRIDE_KINDS = {"day_off": "ngày nghỉ", "working_day": "ngày làm việc"}
