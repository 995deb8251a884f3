"""``workflow audit``: read and verify the tamper-evident history; checkpoints and their keys; the export."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from workflow.errors import PayloadInvalid

from .. import signing
from .common import (
    FORCE_HELP,
    Bar,
    Options,
    check_output,
    emit,
    run,
    written,
)

audit_cli = typer.Typer(no_args_is_help=True, help="Read and verify the tamper-evident history.")


@audit_cli.command("history")
def audit_history(ctx: typer.Context, instance_id: int) -> None:
    """One instance's history: who did what, when, from which state to which, and why."""
    def act(opts: Options) -> None:
        rows = opts.uses.instances.history(instance_id)
        lines = [f"{r['seq']:>3} {r['at']} {r['event']:<20} {r['from'] or '-'} -> {r['to']}  by {r['actor_id']}"
                 f" ({r['actor_role']}{'/' + r['actor_agency'] if r['actor_agency'] else ''})"
                 + (f"  reason: {r['reason']}" if r["reason"] else "")
                 + (f"  payload: {json.dumps(r['payload'], ensure_ascii=False)}" if r["payload"] else "")
                 for r in rows]
        emit(opts, rows, "\n".join(lines))
    run(ctx, act)


@audit_cli.command("verify")
def audit_verify(ctx: typer.Context,
                 checkpoint: Annotated[Path | None, typer.Option(help="A checkpoint file taken earlier")] = None,
                 public_key: Annotated[Path | None, typer.Option(help="The auditor's Ed25519 public key (PEM): the "
                                                                      "checkpoint must be signed by it")] = None,
                 jobs: Annotated[int | None, typer.Option(
                     min=1, help="Processes (default: one per CPU from 50,000 instances, else 1)")] = None,
                 incremental: Annotated[bool, typer.Option(
                     help="With --checkpoint: re-hash only the rows written since it (and the rows it saw last); "
                          "a full verification still re-hashes everything")] = False,
                 ) -> None:
    """Recompute every hash chain; report the first bad row of each instance. Exit 1 if any."""
    def act(opts: Options) -> None:
        audit = opts.uses.audit
        with Bar(opts, "Kiểm tra chuỗi băm (verifying)", None if incremental else audit.rows()) as bar:
            result = audit.verify_from(checkpoint, public_key, jobs, incremental, bar.advance)
        text = (f"ok: {result.instances} instance histories verified" if result.ok
                else "\n".join([*(f"TAMPERED {p}" for p in result.problems),
                                *(f"TAMPERED database: {d}" for d in result.database)]))
        emit(opts, result.as_dict(), text)
        if not result.ok:
            raise typer.Exit(1)
    run(ctx, act)


@audit_cli.command("checkpoint")
def audit_checkpoint(ctx: typer.Context,
                     output: Annotated[Path | None, typer.Option(help="File to write (default stdout)")] = None,
                     sign: Annotated[Path | None, typer.Option(help="Sign it with this Ed25519 private key (PEM)")]
                     = None, force: Annotated[bool, typer.Option(help=FORCE_HELP)] = False) -> None:
    """Write every chain head and a Merkle root over them, with the time (signed with --sign). Keep it, and the
    public key, off this machine."""
    def act(opts: Options) -> None:
        check_output(output, force)
        document = opts.uses.audit.checkpoint(sign)
        text = json.dumps(document, indent=1)
        if output is None:
            typer.echo(text)
            return
        with written(output, force) as handle:
            handle.write(text + "\n")
        emit(opts, {"file": str(output), "root": document["root"], "instances": len(document["heads"])},
              f"checkpoint of {len(document['heads'])} chains, root {document['root']}, written to {output}")
    run(ctx, act)


@audit_cli.command("keygen")
def audit_keygen(ctx: typer.Context, private: Annotated[Path, typer.Option(help="Where the private key goes")],
                 public: Annotated[Path, typer.Option(help="Where the public key goes (give it to the auditors)")]
                 ) -> None:
    """A new Ed25519 key pair for signing checkpoints (the private file is readable by its owner only)."""
    def act(opts: Options) -> None:
        for path in (private, public):
            if path.exists():
                raise PayloadInvalid([(str(path), "exists already; choose a new file name")])
        signing.new_key_pair(private, public)
        emit(opts, {"private": str(private), "public": str(public)}, f"private key {private}, public key {public}")
    run(ctx, act)


@audit_cli.command("export")
def audit_export(ctx: typer.Context,
                 fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
                 output: Annotated[Path | None, typer.Option(help="File to write (default stdout)")] = None,
                 force: Annotated[bool, typer.Option(help=FORCE_HELP)] = False) -> None:
    """Stream the whole history as JSON lines or CSV (UTF-8)."""
    if fmt not in ("jsonl", "csv"):
        raise typer.BadParameter("must be jsonl or csv", param_hint="--format")

    def act(opts: Options) -> None:
        check_output(output, force)
        audit = opts.uses.audit
        lines = audit.export("jsonl" if fmt == "jsonl" else "csv")
        if output is None:
            for text in lines:
                sys.stdout.write(text)
            return
        with written(output, force) as handle, Bar(opts, "Xuất nhật ký (exporting)", audit.rows()) as bar:
            if fmt == "csv":
                handle.write(next(lines))  # the header
            for text in lines:
                handle.write(text)
                bar.advance()
        emit(opts, {"file": str(output), "format": fmt}, f"written to {output}")
    run(ctx, act)
