"""``workflow accounts``: people's accounts for the pages."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from store.accounts import Account
from workflow.errors import PayloadInvalid

from ..app.accounts import account_view
from .common import (
    Options,
    emit,
    emit_table,
    local_time,
    run,
)

accounts_cli = typer.Typer(no_args_is_help=True, help="People's accounts (log in to the pages): admin, officer (of "
                                                      "an agency), committee, auditor.")


PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of "
                                                                        "standard input")]


PasswordFile = Annotated[Path | None, typer.Option("--password-file", help="Read the password from the first line "
                                                                           "of this file")]


def _password(stdin: bool, file: Path | None, required: bool) -> str | None:
    """The password from stdin, a file, or a hidden prompt on a terminal; None when not given and not required."""
    if stdin and file is not None:
        raise PayloadInvalid([("password", "give --password-stdin or --password-file, not both")])
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if file is not None:
        try:
            return file.read_text(encoding="utf-8").splitlines()[0] if file.stat().st_size else ""
        except OSError as err:
            raise PayloadInvalid([("password-file", f"{file}: {err.strerror or err}")]) from None
    if sys.stdin.isatty():
        typed: str = typer.prompt("Mật khẩu (password)", hide_input=True, confirmation_prompt=True)
        return typed
    if required:
        raise PayloadInvalid([("password", "give it with --password-stdin or --password-file (no terminal here to "
                                           "ask on)")])
    return None


def _said(a: Account) -> str:
    return f"{a.login} ({a.name}; {a.role}{'/' + a.agency if a.agency else ''})"


@accounts_cli.command("create")
def accounts_create(ctx: typer.Context, login: Annotated[str, typer.Argument(help="Login name, e.g. nguyen.van.a")],
                    name: Annotated[str, typer.Option(help="Họ và tên, e.g. \"Nguyễn Văn A\"")],
                    role: Annotated[str, typer.Option(help="admin, officer, committee or auditor")],
                    agency: Annotated[str | None, typer.Option(help="An officer's agency code")] = None,
                    email: Annotated[str | None, typer.Option(help="E-mail address")] = None,
                    position: Annotated[str | None, typer.Option(help="Chức vụ")] = None,
                    password_stdin: PasswordStdin = False, password_file: PasswordFile = None,
                    no_password: Annotated[bool, typer.Option("--no-password", help="Single sign-on only (until "
                                                              "reset-password)")] = False) -> None:
    """Create a person's account; the password is asked for (hidden, twice) unless given on stdin or in a file."""
    def act(opts: Options) -> None:
        password = None if no_password else _password(password_stdin, password_file, required=True)
        account = opts.uses.accounts.create(opts.actor, login, name, role, agency, email, position, password)
        emit(opts, account_view(account), f"account {account.id} created: {_said(account)}")
    run(ctx, act)


@accounts_cli.command("list")
def accounts_list(ctx: typer.Context) -> None:
    def act(opts: Options) -> None:
        rows = [account_view(a) for a in opts.uses.accounts.list(opts.actor)]
        emit_table(opts, rows, [("Tên đăng nhập", lambda r: r["login"]), ("Họ và tên", lambda r: r["name"]),
                                ("Chức vụ", lambda r: r["position"]), ("Vai trò", lambda r: r["role"]),
                                ("Cơ quan", lambda r: r["agency"]), ("Thư điện tử", lambda r: r["email"]),
                                ("Xác thực hai bước", lambda r: "có" if r["second_factor"] else ""),
                                ("Vô hiệu hóa lúc", lambda r: local_time(r["disabled_at"]))],
                   "Chưa có tài khoản (no accounts)")
    run(ctx, act)


@accounts_cli.command("disable")
def accounts_disable(ctx: typer.Context, login: str) -> None:
    """Disable an account: its page sessions end at once and its API keys are refused."""
    def act(opts: Options) -> None:
        account = opts.uses.accounts.disable(opts.actor, login)
        emit(opts, account_view(account), f"account {_said(account)} disabled; its sessions ended")
    run(ctx, act)


@accounts_cli.command("enable")
def accounts_enable(ctx: typer.Context, login: str) -> None:
    def act(opts: Options) -> None:
        account = opts.uses.accounts.enable(opts.actor, login)
        emit(opts, account_view(account), f"account {_said(account)} enabled")
    run(ctx, act)


@accounts_cli.command("reset-password")
def accounts_reset_password(ctx: typer.Context, login: str, password_stdin: PasswordStdin = False,
                            password_file: PasswordFile = None) -> None:
    """A new password (asked for, or from stdin or a file): the person's sessions end, a lock is lifted."""
    def act(opts: Options) -> None:
        password = _password(password_stdin, password_file, required=True)
        assert password is not None
        account = opts.uses.accounts.reset_password(opts.actor, login, password)
        emit(opts, account_view(account), f"password of {_said(account)} set; its sessions ended")
    run(ctx, act)


@accounts_cli.command("second-factor")
def accounts_second_factor(ctx: typer.Context, login: str,
                           off: Annotated[bool, typer.Option("--off", help="Turn it off")] = False) -> None:
    """Turn on the TOTP second factor: prints the secret and its otpauth:// address once, for the person's
    authenticator app (or --off)."""
    def act(opts: Options) -> None:
        made = opts.uses.accounts.second_factor(opts.actor, login, on=not off)
        if isinstance(made, Account):
            emit(opts, account_view(made), f"second factor of {_said(made)} turned off")
            return
        emit(opts, {"account": account_view(made.account), "secret": made.secret, "uri": made.uri},
             f"second factor of {_said(made.account)} on; give the person, in private (shown once):\n"
             f"secret: {made.secret}\n{made.uri}")
    run(ctx, act)


@accounts_cli.command("link-sso")
def accounts_link_sso(ctx: typer.Context, login: str,
                      subject: Annotated[str | None, typer.Argument(help="The identity provider's subject (sub) of "
                                                                         "the person")] = None,
                      unlink: Annotated[bool, typer.Option("--unlink", help="Remove the link")] = False) -> None:
    """Link an account to the person's single sign-on identity (their subject at the identity provider), or remove
    the link. An e-mail address never links anything by itself; a person may also link their own from their page
    "Tài khoản của tôi" after typing their password (and code) again."""
    def act(opts: Options) -> None:
        if unlink == (subject is not None):
            raise PayloadInvalid([("subject", "give the subject to link, or --unlink (not both)")])
        account = opts.uses.accounts.link_identity(opts.actor, login, None if unlink else subject)
        emit(opts, account_view(account), f"single sign-on of {_said(account)} "
                                          + ("unlinked" if unlink else f"linked to the subject {subject}"))
    run(ctx, act)
