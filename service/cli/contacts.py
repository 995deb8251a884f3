"""``workflow contacts``: how to reach agencies and the Steering Committee."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import (
    Options,
    emit,
    emit_table,
    run,
)

contacts_cli = typer.Typer(no_args_is_help=True, help="How to reach agencies and the Steering Committee (BCD).")


@contacts_cli.command("set")
def contacts_set(ctx: typer.Context, agency: str, name: Annotated[str | None, typer.Option()] = None,
                 email: Annotated[str | None, typer.Option()] = None,
                 webhook: Annotated[str | None, typer.Option()] = None) -> None:
    """Set how to reach an agency (BCD: the Steering Committee)."""
    def act(opts: Options) -> None:
        emit(opts, opts.uses.registry.set_contact(opts.actor, agency, name, email, webhook),
             f"contact of {agency} set")
    run(ctx, act)


@contacts_cli.command("list")
def contacts_list(ctx: typer.Context) -> None:
    def act(opts: Options) -> None:
        rows = opts.uses.registry.contacts()
        emit_table(opts, rows, [("Cơ quan", lambda r: r["agency"]), ("Tên", lambda r: r["name"]),
                                ("Thư điện tử", lambda r: r["email"]), ("Webhook", lambda r: r["webhook_url"])],
                   "Chưa có địa chỉ liên hệ (no contacts)")
    run(ctx, act)
