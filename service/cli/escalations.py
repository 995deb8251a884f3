"""``workflow escalations``: escalations to the Steering Committee."""

from __future__ import annotations

from typing import Annotated

import typer

from workflow.errors import PayloadInvalid

from .common import (
    Options,
    emit,
    emit_table,
    local_time,
    run,
)

escalations_cli = typer.Typer(no_args_is_help=True, help="Escalations to the Steering Committee.")


@escalations_cli.command("list")
def escalations_list(ctx: typer.Context,
                     status: Annotated[str | None, typer.Option(help="open or acknowledged")] = None) -> None:
    """Escalations, oldest first."""
    def act(opts: Options) -> None:
        if status not in (None, "open", "acknowledged"):
            raise PayloadInvalid([("--status", "open or acknowledged")])
        rows = opts.uses.escalations.find("open" if status == "open" else "acknowledged" if status else None)
        emit_table(opts, rows, [("Số", lambda r: r["id"]), ("Nhiệm vụ", lambda r: r["instance_id"]),
                                ("Trạng thái", lambda r: r["status"]), ("Hạn", lambda r: local_time(r["due_at"])),
                                ("Báo cáo lúc", lambda r: local_time(r["created_at"]))],
                   "Không có báo cáo Ban Chỉ đạo (no escalations)")
    run(ctx, act)


@escalations_cli.command("ack")
def escalations_ack(ctx: typer.Context, escalation_id: int,
                    note: Annotated[str | None, typer.Option()] = None) -> None:
    """Acknowledge an escalation (Steering Committee or admin)."""
    def act(opts: Options) -> None:
        done = opts.uses.escalations.acknowledge(opts.actor, escalation_id, note)
        emit(opts, done, f"escalation {escalation_id} acknowledged (instance {done['instance_id']})")
    run(ctx, act)
