"""API keys: creating, listing and revoking them (CLI and API share these rules)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from definitions import Role
from workflow.errors import PayloadInvalid
from workflow.payload import AGENCY_CODE

from .cli_common import Options, emit, run

keys_cli = typer.Typer(no_args_is_help=True, help="API keys: admin, officer (of an agency), committee, auditor.")
KEY_ROLES = ("admin", "officer", "committee", "auditor")


def check_key_request(app: Any, role: str, agency: str | None) -> None:
    if role not in KEY_ROLES:
        raise PayloadInvalid([("role", f"must be one of {', '.join(KEY_ROLES)}")])
    if role == Role.OFFICER.value:
        if agency is None or not AGENCY_CODE.match(agency):
            raise PayloadInvalid([("agency", "an officer's key needs the code of its agency")])
    elif agency is not None:
        raise PayloadInvalid([("agency", f"only officers' keys are bound to an agency, not {role}")])


@keys_cli.command("create")
def keys_create(ctx: typer.Context, role: Annotated[str, typer.Option(help="admin, officer, committee or auditor")],
                name: Annotated[str, typer.Option(help="Who holds it, e.g. nguyen.van.a@syt")],
                agency: Annotated[str | None, typer.Option(help="The officer's agency code")] = None) -> None:
    """Create a key; it is printed once and stored only as a hash."""
    def act(opts: Options) -> None:
        check_key_request(opts.app, role, agency)
        key, token = opts.app.store.create_key(name, role, agency, opts.app.clock.now())
        emit(opts, {"id": key.id, "name": name, "role": role, "agency": agency, "key": token},
             f"key {key.id} ({role}{'/' + agency if agency else ''}) for {name}:\n{token}\n"
             "(shown once; only its hash is stored)")
    run(ctx, act)


@keys_cli.command("list")
def keys_list(ctx: typer.Context) -> None:
    def act(opts: Options) -> None:
        rows = [{"id": k.id, "name": k.name, "role": k.role, "agency": k.agency,
                 "revoked": k.revoked_at is not None} for k in opts.app.store.list_keys()]
        emit(opts, rows, "\n".join(f"{r['id']:>4} {r['role']:<10} {r['agency'] or '-':<10} {r['name']}"
                                   + (" (revoked)" if r["revoked"] else "") for r in rows) or "no keys")
    run(ctx, act)


@keys_cli.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: int) -> None:
    def act(opts: Options) -> None:
        opts.app.store.revoke_key(key_id, opts.app.clock.now())
        emit(opts, {"revoked": key_id}, f"key {key_id} revoked")
    run(ctx, act)
