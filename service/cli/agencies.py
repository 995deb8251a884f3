"""``workflow agencies``: the agency registry, its names over time and its restructurings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from definitions import load_data
from definitions.agencies import Certainty, ChangeKind, Registry, Reorganisation
from definitions.shipped_files import REGISTRY, REORGANISATION, shipped

from .common import (
    Options,
    date_arg,
    emit,
    emit_table,
    run,
)

agencies_cli = typer.Typer(no_args_is_help=True, help="The agency registry: names over time, mergers, retirements.")


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
