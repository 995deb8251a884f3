"""``workflow report``: the status report, the agencies' record and the forecast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from workflow.calendar import local_date

from ..record import forecast_table, record_table
from ..report import to_csv, to_json, to_table
from ..report_docx import to_docx
from .common import (
    FORCE_HELP,
    Options,
    check_output,
    date_arg,
    emit,
    instant_arg,
    run,
    written,
)

report_cli = typer.Typer(no_args_is_help=True, help="Reports.")


@report_cli.command("status")
def report_status(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option(help="Report as of the end of this date, rebuilt from history "
                                                   "(YYYY-MM-DD or dd/mm/yyyy; default: now)")] = None,
    known_at: Annotated[str | None, typer.Option(help="Only what had been recorded by this instant (ISO 8601, "
                                                      "province time): what the system said then")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, xlsx, docx or json")] = "table",
    output: Annotated[Path | None, typer.Option(help="File to write (required for xlsx and docx)")] = None,
    force: Annotated[bool, typer.Option(help=FORCE_HELP)] = False,
    number: Annotated[str, typer.Option(help="docx: the document's number (blank: filled in by hand)")] = "",
    signer: Annotated[str, typer.Option(help="docx: the signer's full name")] = "",
    position: Annotated[str, typer.Option(help="docx: the signer's position")] = "GIÁM ĐỐC",
) -> None:
    """Per agency and duty: done on time, done late, within the deadline, overdue; escalations open. As a table,
    CSV, xlsx, JSON, or a .docx report in the administrative layout of Nghị định 30/2020/NĐ-CP."""
    if fmt not in ("table", "csv", "xlsx", "docx", "json"):
        raise typer.BadParameter("must be table, csv, xlsx, docx or json", param_hint="--format")
    if fmt in ("xlsx", "docx") and output is None:
        raise typer.BadParameter(f"{fmt} needs --output FILE", param_hint="--output")

    def act(opts: Options) -> None:
        check_output(output, force)
        day = date_arg(as_of, "--as-of") if as_of else None
        known = instant_arg(known_at, "--known-at") if known_at else None
        if fmt == "xlsx":  # as of a day: with the agencies' record and every task's obligations
            assert output is not None
            with written(output, force, binary=True) as handle:
                handle.write(opts.uses.reports.workbook(day, known))
            emit(opts, {"file": str(output)}, f"written to {output}")
            return
        report = opts.uses.reports.status(day, known)
        if fmt == "docx":
            assert output is not None
            record = None if known_at else opts.uses.reports.agencies(day)  # the evaluation: as of a day only
            with written(output, force, binary=True) as handle:
                handle.write(to_docx(report, opts.uses.reports.issuing(number, signer, position),
                                     local_date(opts.app.clock.now()), record))
            emit(opts, {"file": str(output)}, f"written to {output}")
            return
        shape = "json" if opts.json and fmt == "table" else fmt  # the global --json, as every command honours it
        text = {"table": to_table, "csv": to_csv, "json": to_json}[shape](report)
        if output is not None:
            with written(output, force) as handle:
                handle.write(text)
            emit(opts, {"file": str(output)}, f"written to {output}")
        else:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
    run(ctx, act)


@report_cli.command("agencies")
def report_agencies(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option(help="As of the end of this date, rebuilt from history "
                                                   "(YYYY-MM-DD or dd/mm/yyyy; default: today)")] = None,
    updated_days: Annotated[int, typer.Option(help="An open obligation counts as kept up to date when its task was "
                                                   "acted on within this many days")] = 30,
) -> None:
    """Each agency's record (bảng theo dõi, đánh giá): the four categories, share done on time, median and worst
    days late, overdue by age band, share kept up to date, extensions asked and granted; worst first."""
    def act(opts: Options) -> None:
        record = opts.uses.reports.agencies(date_arg(as_of, "--as-of") if as_of else None, updated_days)
        emit(opts, record.as_dict(), record_table(record))
    run(ctx, act)


@report_cli.command("forecast")
def report_forecast(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option(help="As of the end of this date (default: today)")] = None,
    seed: Annotated[int, typer.Option(help="The bootstrap's seed: the same seed and day give the same figures")] = 0,
) -> None:
    """For each obligation open at the end of the day: the probability it is finished late and the days by which
    it is done with 50 % and 85 % likelihood, from the owing agency's own history (docs/cli.md)."""
    def act(opts: Options) -> None:
        result = opts.uses.reports.forecast(date_arg(as_of, "--as-of") if as_of else None, seed)
        emit(opts, result.as_dict(), forecast_table(result))
    run(ctx, act)
