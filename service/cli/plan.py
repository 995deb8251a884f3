"""``workflow plan``: a plan read from its Word document, and loaded as running workflows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from definitions import load_data
from definitions.agencies import Registry, Reorganisation
from definitions.plan import Plan
from definitions.plan_import import import_document, registry_from_files
from definitions.plan_import.labels import flag_words, rule_words
from definitions.shipped_files import PLAN, REGISTRY, REORGANISATION, shipped

from ..plan import load_plan
from .common import (
    Bar,
    Options,
    date_arg,
    emit,
    run,
    visible,
)

plan_cli = typer.Typer(no_args_is_help=True, help="The plan: every duty as running workflows.")


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
