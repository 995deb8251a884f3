"""``workflow notifications``: the notification outbox."""

from __future__ import annotations

from typing import Annotated

import typer

from workflow.errors import PayloadInvalid

from .common import (
    Options,
    emit,
    emit_table,
    run,
)

notifications_cli = typer.Typer(no_args_is_help=True, help="The notification outbox.")


@notifications_cli.command("list")
def notifications_list(ctx: typer.Context, status: Annotated[str | None, typer.Option(
        help="pending, sent, dead or no_contact")] = None) -> None:
    """The outbox: what was (or could not be) delivered, and why."""
    def act(opts: Options) -> None:
        if status not in (None, "pending", "sent", "dead", "no_contact"):
            raise PayloadInvalid([("--status", "pending, sent, dead or no_contact")])
        rows = opts.uses.registry.notifications(opts.actor, status)  # type: ignore[arg-type]
        emit_table(opts, rows, [("Số", lambda r: r["id"]), ("Trạng thái", lambda r: r["status"]),
                                ("Kênh", lambda r: r["channel"]), ("Người nhận", lambda r: r["recipient"]),
                                ("Tiêu đề", lambda r: r["subject"]), ("Lỗi", lambda r: r["last_error"])],
                   "Không có thông báo (no notifications)")
    run(ctx, act)


@notifications_cli.command("retry")
def notifications_retry(ctx: typer.Context, ids: Annotated[list[int] | None, typer.Argument()] = None) -> None:
    """Queue dead notifications again (all of them, or the ids given)."""
    def act(opts: Options) -> None:
        count = opts.uses.registry.retry(opts.actor, ids)
        emit(opts, {"requeued": count}, f"{count} notifications queued again")
    run(ctx, act)
