"""People's accounts on a real database: the CLI's commands and refusals, logging in (password, lockout, second
factor), keys owned by accounts (disabled with them, expiring, last use), and audit verify finding an account row
planted or edited in the database file."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from definitions import NotFound, Role
from service.app.accounts import LoginRefused
from service.cli import cli
from service.context import App
from service.settings import Settings
from tests.api.conftest import prepared
from workflow import Actor, SimulatedClock
from workflow.errors import PayloadInvalid, Refused

NOW = dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC)  # 09:00 in the province
ADMIN = Actor("cli:it", Role.ADMIN)
PASSWORD = "Mật khẩu đủ dài 2026"


@pytest.fixture
def app(tmp_path: Path) -> App:
    return prepared(Settings(database_url=f"sqlite:///{tmp_path / 'accounts.db'}", sqlite_synchronous="NORMAL"),
                    SimulatedClock(NOW))


def _cli(app: App, *args: str, stdin: str | None = None, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--db", app.settings.database_url, *args], input=stdin, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def test_the_cli_creates_lists_disables_and_resets_and_never_prints_a_password(app: App) -> None:
    made = json.loads(_cli(app, "--json", "accounts", "create", "nguyen.van.a", "--name", "Nguyễn Văn A", "--role",
                           "officer", "--agency", "SYT", "--email", "nva@syt.example.vn", "--position",
                           "Chuyên viên", "--password-stdin", stdin=PASSWORD + "\n"))
    assert made["login"] == "nguyen.van.a"
    assert made["name"] == "Nguyễn Văn A"
    assert (made["role"], made["agency"], made["second_factor"]) == ("officer", "SYT", False)
    listed = _cli(app, "accounts", "list")
    assert "Nguyễn Văn A" in listed
    assert PASSWORD not in listed
    assert PASSWORD not in json.dumps(made)
    session = app.uses.accounts.log_in("nguyen.van.a", PASSWORD)
    assert session.account.actor_id == f"account:{made['id']}:Nguyễn Văn A"  # the history's name for them

    _cli(app, "accounts", "disable", "nguyen.van.a")
    assert app.store.session(session.token, app.clock.now()) is None  # the session ended with it
    with pytest.raises(LoginRefused) as refused:
        app.uses.accounts.log_in("nguyen.van.a", PASSWORD)
    assert refused.value.reason == "disabled"
    _cli(app, "accounts", "enable", "nguyen.van.a")
    _cli(app, "accounts", "reset-password", "nguyen.van.a", "--password-stdin", stdin="Một mật khẩu mới hơn\n")
    with pytest.raises(LoginRefused):
        app.uses.accounts.log_in("nguyen.van.a", PASSWORD)
    assert app.uses.accounts.log_in("nguyen.van.a", "Một mật khẩu mới hơn").account.login == "nguyen.van.a"


@pytest.mark.parametrize(("args", "stdin", "said"), [
    (["x", "--name", "A", "--role", "admin"], "ngắn\n", "password: needs at least 10 characters"),
    (["tran.b", "--name", "B", "--role", "officer"], PASSWORD, "agency: an officer's account needs"),
    (["tran.b", "--name", "B", "--role", "officer", "--agency", "SYTT"], PASSWORD, "did you mean 'SYT'?"),
    (["tran.b", "--name", "B", "--role", "committee", "--agency", "SYT"], PASSWORD, "only officers belong"),
    (["tran.b", "--name", "B", "--role", "chairman"], PASSWORD, "role: must be one of"),
    (["Trần B", "--name", "B", "--role", "auditor"], PASSWORD, "login: 2–64 characters"),
    (["tran.b", "--name", "B", "--role", "auditor", "--email", "not-an-address"], PASSWORD,
     "email: not one e-mail address"),
    (["tran.b", "--name", "B", "--role", "auditor", "--email", "b@x.vn, c@y.vn"], PASSWORD,
     "email: not one e-mail address"),
])
def test_the_cli_refuses_what_is_wrong_and_says_which_field(app: App, args: list[str], stdin: str, said: str) -> None:
    out = _cli(app, "accounts", "create", *args, "--password-stdin", stdin=stdin + "\n", code=1 if "did" not in said
               else 3)
    assert said in out
    assert app.store.list_accounts() == []  # nothing half-made


def test_a_login_taken_already_is_refused(app: App) -> None:
    _cli(app, "accounts", "create", "le.c", "--name", "Lê C", "--role", "auditor", "--password-stdin",
         stdin=PASSWORD + "\n")
    out = _cli(app, "accounts", "create", "le.c", "--name", "Lê Cường", "--role", "auditor", "--password-stdin",
               stdin=PASSWORD + "\n", code=1)
    assert "an account 'le.c' exists already" in out


def test_failures_slow_the_login_down_and_a_reset_lifts_it(app: App) -> None:
    """The slowing itself is tested in test_login_guard.py; here: an administrator's reset ends it."""
    app.uses.accounts.create(ADMIN, "pham.d", "Phạm D", "committee", password=PASSWORD)
    reasons = []
    for _ in range(6):
        with pytest.raises(LoginRefused) as refused:
            app.uses.accounts.log_in("pham.d", "wrong password")
        reasons.append(refused.value.reason)
    assert reasons == ["bad_credentials"] * 6
    checked = app.uses.accounts.guard.checks
    with pytest.raises(LoginRefused) as refused:
        app.uses.accounts.log_in("pham.d", PASSWORD)  # the right password, but too early
    assert refused.value.reason == "bad_credentials"
    assert app.uses.accounts.guard.checks == checked == 5
    app.uses.accounts.reset_password(ADMIN, "pham.d", "Mật khẩu sau khi khóa")
    assert app.uses.accounts.log_in("pham.d", "Mật khẩu sau khi khóa").account.login == "pham.d"


def test_a_second_factor_code_is_needed_and_accepted_once(app: App) -> None:
    app.uses.accounts.create(ADMIN, "vo.e", "Võ E", "auditor", password=PASSWORD)
    out = json.loads(_cli(app, "--json", "accounts", "second-factor", "vo.e"))
    assert out["uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(out["secret"])
    with pytest.raises(LoginRefused) as refused:
        app.uses.accounts.log_in("vo.e", PASSWORD)
    assert refused.value.reason == "totp_needed"
    code = totp.at(app.clock.now())
    assert app.uses.accounts.log_in("vo.e", PASSWORD, code).account.has_totp
    with pytest.raises(LoginRefused) as refused:
        app.uses.accounts.log_in("vo.e", PASSWORD, code)  # the same code again
    assert refused.value.reason == "bad_totp"
    with pytest.raises(LoginRefused):
        app.uses.accounts.log_in("vo.e", PASSWORD, totp.at(app.clock.now() - dt.timedelta(minutes=5)))  # too old
    assert isinstance(app.clock, SimulatedClock)
    app.clock.advance(dt.timedelta(seconds=30))
    assert app.uses.accounts.log_in("vo.e", PASSWORD, totp.at(app.clock.now())).account.login == "vo.e"
    _cli(app, "accounts", "second-factor", "vo.e", "--off")
    assert app.uses.accounts.log_in("vo.e", PASSWORD).account.has_totp is False


def test_a_key_owned_by_an_account_has_its_role_expires_and_stops_with_it(app: App) -> None:
    app.uses.accounts.create(ADMIN, "nguyen.f", "Nguyễn F", "officer", "SYT", password=PASSWORD)
    key, token = app.uses.keys.create(ADMIN, "tich-hop", None, None, account="nguyen.f", days=30)
    assert (key.role, key.agency, key.expires_at) == ("officer", "SYT", NOW + dt.timedelta(days=30))
    found = app.store.authenticate(token, cached=False)
    assert found is not None
    assert found.last_used_at == NOW
    assert isinstance(app.clock, SimulatedClock)
    app.clock.advance(dt.timedelta(minutes=20))
    app.store.authenticate(token, cached=False)
    assert app.store.list_keys()[-1].last_used_at == NOW  # written at most once an hour
    app.clock.advance(dt.timedelta(hours=1))
    app.store.authenticate(token, cached=False)
    assert app.store.list_keys()[-1].last_used_at == app.clock.now()

    app.uses.accounts.disable(ADMIN, "nguyen.f")
    assert app.store.authenticate(token, cached=False) is None  # the owner disabled: refused
    app.uses.accounts.enable(ADMIN, "nguyen.f")
    assert app.store.authenticate(token, cached=False) is not None
    app.clock.set(NOW + dt.timedelta(days=30))
    assert app.store.authenticate(token, cached=False) is None  # expired
    default, _ = app.uses.keys.create(ADMIN, "mac-dinh", None, None, account="nguyen.f")
    assert default.expires_at == app.clock.now() + dt.timedelta(days=365)


def test_a_key_of_an_account_cannot_claim_another_role_and_no_key_is_made_without_an_owner(app: App) -> None:
    from workflow.errors import PayloadInvalid

    app.uses.accounts.create(ADMIN, "le.g", "Lê G", "auditor", password=PASSWORD)
    with pytest.raises(PayloadInvalid, match="has its role"):
        app.uses.keys.create(ADMIN, "x", "admin", None, account="le.g")
    with pytest.raises(PayloadInvalid, match="a key belongs to an account"):
        app.uses.keys.create(ADMIN, "x", "auditor", None)
    with pytest.raises(NotFound):
        app.uses.keys.create(ADMIN, "x", None, None, account="khong.co")
    assert [k.name for k in app.store.list_keys()] == []


@pytest.mark.parametrize("tamper", [
    "UPDATE accounts SET role = 'admin' WHERE login = 'le.h'",
    "UPDATE accounts SET password_hash = (SELECT password_hash FROM accounts WHERE login = 'tran.i') "
    "WHERE login = 'le.h'",
    "UPDATE accounts SET disabled_at = NULL WHERE login = 'tran.i'",
    "INSERT INTO accounts (login, name, role, failed_logins, created_at) VALUES ('x', 'X', 'admin', 0, "
    "'2026-03-02 02:00:00')",
    "UPDATE api_keys SET expires_at = NULL",
])
def test_verify_finds_an_account_or_key_edited_in_the_database_file(app: App, tmp_path: Path, tamper: str) -> None:
    app.uses.accounts.create(ADMIN, "le.h", "Lê H", "auditor", password=PASSWORD)
    app.uses.accounts.create(ADMIN, "tran.i", "Trần I", "admin", password="Mật khẩu quản trị dài")
    app.uses.accounts.disable(ADMIN, "tran.i")
    app.uses.keys.create(ADMIN, "k", None, None, account="le.h")
    assert app.store.integrity_problems() == []
    with sqlite3.connect(tmp_path / "accounts.db") as db:
        db.execute(tamper)
    problems = app.store.integrity_problems()
    assert problems
    assert any(p.startswith(("account ", "API key ")) for p in problems), problems


def test_an_administrator_cannot_disable_their_own_account_through_their_own_key(app: App) -> None:
    """Issue 26, finding 11: the guard compared the key's actor (key:…|account:1:…) with the account's own."""
    from workflow.errors import PayloadInvalid

    accounts = app.uses.accounts
    made = accounts.create(ADMIN, "quan.tri", name="Quản trị", role="admin", password=PASSWORD)
    own = f"key:tich-hop|account:{made.id}:Quản trị"
    with pytest.raises(PayloadInvalid, match="cannot disable their own account"):
        accounts.disable(Actor(own, Role.ADMIN), "quan.tri")
    with pytest.raises(PayloadInvalid, match="cannot disable their own account"):
        accounts.disable(Actor(f"account:{made.id}:Quản trị", Role.ADMIN), "quan.tri")
    other = accounts.create(ADMIN, "quan.tri.2", name="Quản trị 2", role="admin", password=PASSWORD)
    assert accounts.disable(Actor(own, Role.ADMIN), "quan.tri.2").disabled_at is not None
    assert other.login == "quan.tri.2"


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "1234567890", "password123", "nguyenvanb2023", "Nguyễn Văn B 1",
                                      "nguyen.van.b.2026"])
def test_a_password_easy_to_guess_is_refused_with_the_reason(app: App, password: str) -> None:
    """Issue 26, finding 13: length alone let 'aaaaaaaaaa' and '1234567890' through; a common password, a pattern
    or the person's own name or login (in any case, with or without accents) is refused, in words."""
    from service.web.refusals import field_problem
    from workflow.errors import PayloadInvalid

    with pytest.raises(PayloadInvalid) as refused:
        app.uses.accounts.create(ADMIN, "nguyen.van.b", name="Nguyễn Văn B", role="auditor", password=password)
    [(field, message)] = refused.value.errors
    assert field == "password"
    assert field_problem(message, "vi").startswith(("Mật khẩu quá dễ đoán", "Không được trùng tên đăng nhập",
                                                    "Phải có ít nhất"))
    assert app.store.account("nguyen.van.b") is None
    assert app.uses.accounts.create(ADMIN, "nguyen.van.b", name="Nguyễn Văn B", role="auditor",
                                    password="Sổ văn bản đến năm 2026").login == "nguyen.van.b"


def test_an_administrator_links_and_unlinks_a_single_sign_on_identity(app: App) -> None:
    """Issue 26, finding 6: only an administrator (or the person, after their password again: tests/web/test_sso.py)
    links an identity; one identity opens one account; an e-mail address links nothing."""
    app.uses.accounts.create(ADMIN, "le.c", "Lê C", "auditor", email="le.c@example.vn")
    app.uses.accounts.create(ADMIN, "vo.e", "Võ E", "auditor")
    out = json.loads(_cli(app, "--json", "accounts", "link-sso", "le.c", "sub-4711"))
    assert out["single_sign_on"] is True
    assert app.uses.accounts.single_sign_on("sub-4711").account.login == "le.c"
    with pytest.raises(PayloadInvalid):
        app.uses.accounts.link_identity(ADMIN, "vo.e", "sub-4711")  # linked to le.c already
    with pytest.raises(Refused):
        app.uses.accounts.link_identity(Actor("account:9:Lê C", Role.AUDITOR), "vo.e", "sub-9")
    _cli(app, "accounts", "link-sso", "le.c", "--unlink")
    with pytest.raises(LoginRefused) as refused:
        app.uses.accounts.single_sign_on("sub-4711")
    assert refused.value.reason == "no_account"
    assert "give the subject to link, or --unlink" in _cli(app, "accounts", "link-sso", "le.c", code=1)
    linked = app.store.last_system_event("account_sso_bound")
    assert linked is not None
    assert linked[1]["oidc_subject"] is None
