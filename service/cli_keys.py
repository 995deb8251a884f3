"""`workflow keys`: the CLI of ``service.app.keys`` (create, list, revoke API keys)."""

from __future__ import annotations

from typing import Annotated

import typer

from .app.keys import key_view
from .cli_common import Options, emit, emit_table, local_time, run

keys_cli = typer.Typer(no_args_is_help=True, help="API keys: admin, officer (of an agency), committee, auditor.")


@keys_cli.command("create")
def keys_create(ctx: typer.Context, role: Annotated[str, typer.Option(help="admin, officer, committee or auditor")],
                name: Annotated[str, typer.Option(help="Who holds it, e.g. nguyen.van.a@syt")],
                agency: Annotated[str | None, typer.Option(help="The officer's agency code")] = None) -> None:
    """Create a key; it is printed once and stored only as a hash."""
    def act(opts: Options) -> None:
        key, token = opts.uses.keys.create(opts.actor, name, role, agency)
        emit(opts, {**key_view(key), "key": token},
             f"key {key.id} ({role}{'/' + agency if agency else ''}) for {name}:\n{token}\n"
             "(shown once; only its hash is stored)")
    run(ctx, act)


@keys_cli.command("list")
def keys_list(ctx: typer.Context) -> None:
    def act(opts: Options) -> None:
        rows = [key_view(k) for k in opts.uses.keys.list(opts.actor)]
        emit_table(opts, rows, [("Số", lambda r: r["id"]), ("Vai trò", lambda r: r["role"]),
                                ("Cơ quan", lambda r: r["agency"]), ("Người giữ", lambda r: r["name"]),
                                ("Tạo lúc", lambda r: local_time(r["created_at"])),
                                ("Thu hồi lúc", lambda r: local_time(r["revoked_at"]))], "Chưa có khóa (no keys)")
    run(ctx, act)


@keys_cli.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: int) -> None:
    def act(opts: Options) -> None:
        opts.uses.keys.revoke(opts.actor, key_id)
        emit(opts, {"revoked": key_id}, f"key {key_id} revoked")
    run(ctx, act)
