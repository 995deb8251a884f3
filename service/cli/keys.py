"""``workflow keys``: API keys for machines."""

from __future__ import annotations

from typing import Annotated

import typer

from ..app.keys import key_view
from .common import (
    Options,
    emit,
    emit_table,
    local_time,
    run,
)

keys_cli = typer.Typer(no_args_is_help=True, help="API keys for machines, each owned by an account: admin, officer "
                                                  "(of an agency), committee, auditor.")


@keys_cli.command("create")
def keys_create(ctx: typer.Context,
                name: Annotated[str, typer.Option(help="What uses it, e.g. tich-hop-cong-van")],
                account: Annotated[str, typer.Option(help="The login of the account that owns it: the key acts "
                                                     "with its role and agency, and is refused while it is disabled")],
                role: Annotated[str | None, typer.Option(help="Checked: must be the account's role")] = None,
                agency: Annotated[str | None, typer.Option(help="Checked: must be the account's agency")] = None,
                days: Annotated[int | None, typer.Option(help="Expires after this many days (default "
                                                         "WORKFLOW_KEY_LIFETIME_DAYS, 365; 0: never)")] = None) -> None:
    """Create a key for a machine; it is printed once and stored only as a hash."""
    def act(opts: Options) -> None:
        keys = opts.uses.keys
        key, token = keys.create(opts.actor, name, role, agency, account, days)
        shown = key_view(key, keys.owners())
        emit(opts, {**shown, "key": token},
             f"key {key.id} ({key.role}{'/' + key.agency if key.agency else ''}) {name}"
             f"{' of ' + str(shown['account']) if shown['account'] else ''}, expires "
             f"{local_time(shown['expires_at']) or 'never'}:\n{token}\n(shown once; only its hash is stored)")
    run(ctx, act)


@keys_cli.command("list")
def keys_list(ctx: typer.Context) -> None:
    def act(opts: Options) -> None:
        keys = opts.uses.keys
        owners = keys.owners()
        rows = [key_view(k, owners) for k in keys.list(opts.actor)]
        emit_table(opts, rows, [("Số", lambda r: r["id"]), ("Vai trò", lambda r: r["role"]),
                                ("Cơ quan", lambda r: r["agency"]), ("Tên", lambda r: r["name"]),
                                ("Tài khoản", lambda r: r["account"]),
                                ("Tạo lúc", lambda r: local_time(r["created_at"])),
                                ("Hết hạn", lambda r: local_time(r["expires_at"])),
                                ("Dùng lần cuối", lambda r: local_time(r["last_used_at"])),
                                ("Thu hồi lúc", lambda r: local_time(r["revoked_at"]))], "Chưa có khóa (no keys)")
    run(ctx, act)


@keys_cli.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: int) -> None:
    def act(opts: Options) -> None:
        opts.uses.keys.revoke(opts.actor, key_id)
        emit(opts, {"revoked": key_id}, f"key {key_id} revoked")
    run(ctx, act)
