"""``workflow`` commands of the plan: the agency registry and its restructurings, loading the plan, the report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from definitions import load_data
from definitions.agencies import Certainty, ChangeKind, Registry, Reorganisation
from definitions.plan import Plan
from definitions.plan_import import import_document, registry_from_files
from definitions.plan_import.labels import flag_words, rule_words
from definitions.shipped_files import PLAN, REGISTRY, REORGANISATION, shipped
from workflow.calendar import local_date

from .cli_common import (
    FORCE_HELP,
    Bar,
    Options,
    check_output,
    date_arg,
    emit,
    emit_table,
    instant_arg,
    run,
    visible,
    written,
)
from .plan import load_plan
from .record import forecast_table, record_table
from .report import to_csv, to_json, to_table, to_xlsx
from .report_docx import to_docx

agencies_cli = typer.Typer(no_args_is_help=True, help="The agency registry: names over time, mergers, retirements.")
plan_cli = typer.Typer(no_args_is_help=True, help="The plan: every duty as running workflows.")
report_cli = typer.Typer(no_args_is_help=True, help="Reports.")


def register(cli: typer.Typer) -> None:
    cli.add_typer(agencies_cli, name="agencies")
    cli.add_typer(plan_cli, name="plan")
    cli.add_typer(report_cli, name="report")


@agencies_cli.command("load")
def agencies_load(ctx: typer.Context, path: Annotated[Path | None, typer.Argument(
        help="A registry file (default: the one shipped, definitions/registry/agencies.yaml)")] = None) -> None:
    """Register the agencies of a registry file (known ones are left as they are)."""
    def act(opts: Options) -> None:
        added, same = opts.uses.registry.load(opts.actor, load_data(path or shipped(*REGISTRY), Registry))
        emit(opts, {"added": added, "unchanged": same}, f"{len(added)} agencies added, {len(same)} already known")
    run(ctx, act)


@agencies_cli.command("list")
def agencies_list(ctx: typer.Context) -> None:
    """Every registered agency, active or not, with its latest name and successor."""
    def act(opts: Options) -> None:
        rows = opts.uses.registry.agencies()
        emit_table(opts, rows, [("Mã", lambda r: r["code"]), ("Tên", lambda r: r["name"]),
                                ("Tình trạng", lambda r: r["status"]), ("Kế thừa", lambda r: r["successor"])],
                   "Chưa có cơ quan nào (no agencies)")
    run(ctx, act)


@agencies_cli.command("show")
def agencies_show(ctx: typer.Context, code: str,
                  on: Annotated[str | None, typer.Option(help="The name in force on this date")] = None) -> None:
    """An agency, its names over time, and its open tasks."""
    def act(opts: Options) -> None:
        body = opts.uses.registry.agency(code, date_arg(on, "--on") if on is not None else None)
        text = [f"{body['code']} ({body['kind']}, {body['status']}): {body['name']}"]
        text += [f"  {n['valid_from']} .. {n['valid_to'] or 'now'}: {n['name']}" for n in body["names"]]
        if "name_on" in body:
            text.append(f"  on {on}: {body['name_on']['name']}")
        text.append(f"  open instances: {len(body['open_instances'])}")
        emit(opts, body, "\n".join(text))
    run(ctx, act)


def _change(ctx: typer.Context, op: ChangeKind, code: str, effective: str, document: str, **fields: Any) -> None:
    def act(opts: Options) -> None:
        done = opts.uses.registry.change(opts.actor, op, code, date_arg(effective, "--effective"), document,
                                         **fields)
        emit(opts, done, f"{op.value} {code}: " + (
            "scheduled for its date" if done["scheduled"] else f"done, {len(done['moved'])} open instances moved"
            if done["applied"] else "already applied, nothing changed"))
    run(ctx, act)


Effective = Annotated[str, typer.Option(help="Effective date (YYYY-MM-DD)")]
Document = Annotated[str, typer.Option(help="The deciding document, e.g. 123/QĐ-UBND")]


@agencies_cli.command("rename")
def agencies_rename(ctx: typer.Context, code: str, name: Annotated[str, typer.Option()], effective: Effective,
                    document: Document, short_name: Annotated[str | None, typer.Option()] = None) -> None:
    """Rename an agency from a date (the old name stays in force before it)."""
    _change(ctx, ChangeKind.RENAME, code, effective, document, name=name, short_name=short_name)


@agencies_cli.command("merge")
def agencies_merge(ctx: typer.Context, code: str, into: Annotated[str, typer.Option()], effective: Effective,
                   document: Document) -> None:
    """Merge an agency into another: its open tasks move there, each with a history row."""
    _change(ctx, ChangeKind.MERGE, code, effective, document, into=into)


@agencies_cli.command("retire")
def agencies_retire(ctx: typer.Context, code: str, successor: Annotated[str, typer.Option()], effective: Effective,
                    document: Document) -> None:
    """Retire an agency: its open tasks move to the successor, each with a history row."""
    _change(ctx, ChangeKind.RETIRE, code, effective, document, successor=successor)


@agencies_cli.command("apply")
def agencies_apply(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(
        help="A reorganisation file (default: the one shipped, definitions/registry/reorg-2025.yaml)")] = None,
    document: Annotated[str | None, typer.Option(help="The deciding document for changes that name none")] = None,
    until: Annotated[str | None, typer.Option(help="Apply only changes effective on or before this date")] = None,
    facts_only: Annotated[bool, typer.Option(help="Apply only what is fact: skip assumed changes, and end agencies "
                                                  "whose successor is assumed without handing over their tasks")]
    = False,
) -> None:
    """Apply a reorganisation file (e.g. definitions/registry/reorg-2025.yaml), in effective-date order; changes
    dated after today are scheduled and applied on their date by `workflow serve`."""
    def act(opts: Options) -> None:
        reorganisation = load_data(path or shipped(*REORGANISATION), Reorganisation)
        changes = opts.uses.registry.reorganise(opts.actor, reorganisation, document,
                                                date_arg(until, "--until") if until else None, facts_only)
        results: list[dict[str, Any]] = []
        for r in changes:
            outcome = ("scheduled" if r["scheduled"] else "skipped (assumption)" if facts_only and not r["applied"]
                       and r["certainty"] == Certainty.ASSUMPTION.value else "applied" if r["applied"]
                       else "already applied")
            results.append({**r, "outcome": outcome})
        emit(opts, results, "\n".join(
            f"{r['effective']} {r['op']:<7} {r['code']:<10} {r['certainty']:<10} {r['outcome']}"
            + (f", moved {len(r['moved'])}" if r["moved"] else "")
            + (f", {len(r['awaiting_successor'])} open tasks stay with it until a successor is confirmed"
               if r["awaiting_successor"] else "") for r in results))
    run(ctx, act)


@plan_cli.command("import")
def plan_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The plan's Word document (.docx)")],
    registry: Annotated[Path | None, typer.Option(
        help="The registry to match bodies against (default: the one shipped, with its later names)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The proposal as JSON (docs/plans.md has its shape)")]
    = False,
) -> None:
    """Read a plan's Word document and propose every duty (lead, co-operating bodies, deadline, workflow) for a
    person to review; nothing is written."""
    def act(opts: Options) -> None:
        known = registry_from_files(load_data(registry or shipped(*REGISTRY), Registry), () if registry else (
            load_data(shipped(*REORGANISATION), Reorganisation),))
        proposal = import_document(path, known)
        if as_json or opts.json:
            typer.echo(json.dumps(proposal, ensure_ascii=False, indent=2))
            return
        typer.echo(visible(proposal_text(proposal)))
    run(ctx, act)


def proposal_text(proposal: dict[str, Any]) -> str:
    """The proposal for a person: one block per duty, its flags in words."""
    doc = proposal["document"]
    lines = [f"Văn bản: {doc.get('title') or '(không rõ tên)'}",
             f"  Số: {doc.get('number') or '(không rõ)'}; ngày: {doc.get('issued_on') or '(chưa ghi)'}"]
    lines += [f"  ! {flag_words(f)}" for f in doc.get("flags", [])]
    flagged = 0
    for duty in proposal["duties"]:
        lead = duty["lead"]
        who = lead["as_written"] if lead else "(không rõ)"
        lines.append("")
        lines.append(f"{duty['ref']}  {duty['text'][:110]}")
        lines.append(f"  Chủ trì: {who}")
        if duty["cooperating"]:
            lines.append("  Phối hợp: " + "; ".join(c["as_written"] for c in duty["cooperating"]))
        written = f" (\"{duty['deadline']['as_written']}\")" if duty["deadline"] else ""
        lines.append(f"  Thời hạn: {rule_words(duty['deadline'])}{written}"
                     + ("; lặp lại" if duty["recurring"] else ""))
        lines.append(f"  Quy trình: {duty['definition']}; đoạn {duty['source']['paragraph']}")
        lines += [f"  ! {flag_words(f)}" for f in duty["flags"]]
        flagged += bool(duty["flags"])
    lines.append("")
    lines.append(f"{len(proposal['duties'])} nhiệm vụ đề xuất, {flagged} cần xem lại.")
    return "\n".join(lines)


@plan_cli.command("load")
def plan_load(ctx: typer.Context, path: Annotated[Path | None, typer.Argument(
        help="A plan file (default: the one shipped, definitions/plan/ke-hoach-2022.yaml)")] = None,
              rebase_to: Annotated[str | None, typer.Option(help="Shift every date so the plan is issued then")] = None
              ) -> None:
    """Start every duty of the plan (twice: nothing new) and its recurring schedules."""
    def act(opts: Options) -> None:
        plan = load_data(path or shipped(*PLAN), Plan)
        with Bar(opts, "Nạp kế hoạch (loading the plan)", len(plan.tasks) + len(plan.schedules)) as bar:
            result = load_plan(opts.app.engine, opts.app.store, plan, opts.actor,
                               date_arg(rebase_to, "--rebase-to") if rebase_to else None, bar.advance)
        emit(opts, result.__dict__, f"plan {result.plan} (cycle {result.cycle}): {len(result.created)} instances "
             f"started, {len(result.existing)} already there; schedules added: "
             f"{', '.join(result.schedules_added) or 'none'}")
    run(ctx, act)


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
        report = opts.uses.reports.status(day, instant_arg(known_at, "--known-at") if known_at else None)
        if fmt in ("xlsx", "docx"):
            assert output is not None
            record = None if known_at else opts.uses.reports.agencies(day)  # the evaluation: as of a day only
            with written(output, force, binary=True) as handle:
                handle.write(to_xlsx(report, record) if fmt == "xlsx" else to_docx(
                    report, opts.uses.reports.issuing(number, signer, position),
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
