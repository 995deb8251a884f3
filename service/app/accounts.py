"""Personal accounts: create, list, disable, enable, reset a password, set up a second factor (administrators
only), and log in (anyone, with a password and, if set up, a TOTP code).

Passwords are hashed with Argon2id by ``argon2-cffi`` (its defaults: RFC 9106's second recommended profile,
64 MiB, 3 passes, 4 lanes); an unknown login is checked against a dummy hash, so it takes as long as a wrong
password. Failed log-ins slow further attempts down (``login_guard``: per address, per login from strange browsers,
per login and browser for its owner's), checked before the password is; when a login starts being slowed its owner
gets an e-mail and the system history an ``account_locked`` event. TOTP (RFC 6238, 30-second steps, 6 digits) by
``pyotp``: a code is accepted one step either side of now and only once. What the history records for a person is
``account:<id>:<name as it was>``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple, TypeVar

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from typing_extensions import TypedDict
from zxcvbn import zxcvbn

from definitions import NotFound, Role
from store.accounts import Account, Credentials
from workflow import Actor
from workflow.clock import PROVINCE_TZ
from workflow.errors import PayloadInvalid, Refused
from workflow.notify import is_address
from workflow.payload import AGENCY_CODE

from ..views import instant
from .access import require
from .login_guard import Busy, LoginGuard, Slowed, delay, device_cookie, device_token
from .ports import Services

ROLES = ("admin", "officer", "committee", "auditor")
LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD = 10
MIN_PASSWORD_SCORE = 3  # zxcvbn: "safely unguessable", about 10^10 guesses
TOTP_STEP = 30
HASHER = PasswordHasher()
STEP_LIFETIME = dt.timedelta(minutes=10)  # a sign-on's second step or a link, from start to finish
STRONG_AMR = frozenset({"mfa", "otp", "hwk", "swk", "sc", "fpt", "face", "iris", "retina", "vbm"})  # RFC 8176
T = TypeVar("T")
_DUMMY = HASHER.hash(secrets.token_urlsafe(16))  # what an unknown login is checked against (same time taken)


class AccountView(TypedDict):
    id: int
    login: str
    name: str
    position: str | None
    role: str
    agency: str | None
    email: str | None
    created_at: str | None
    disabled_at: str | None
    second_factor: bool
    single_sign_on: bool
    locked_until: str | None


def account_view(a: Account) -> AccountView:
    return {"id": a.id, "login": a.login, "name": a.name, "position": a.position, "role": a.role, "agency": a.agency,
            "email": a.email, "created_at": instant(a.created_at), "disabled_at": instant(a.disabled_at),
            "second_factor": a.has_totp, "single_sign_on": a.oidc_subject is not None,
            "locked_until": instant(a.locked_until)}


def actor_of(account: Account) -> Actor:
    return Actor(account.actor_id, Role(account.role), account.agency)


class LoginRefused(Refused):
    """A log-in refused; ``reason``: ``bad_credentials`` (unknown login, wrong password, or a login being slowed
    down: not told apart), ``throttled`` (this address, until ``until``), ``busy`` (every password check taken),
    ``disabled``, ``totp_needed``, ``bad_totp``, ``no_account`` (single sign-on
    for a subject no account is bound to)."""

    def __init__(self, reason: str, until: dt.datetime | None = None, pace: float = 0.0) -> None:
        self.reason = reason
        self.until = until
        self.pace = pace  # seconds to wait before answering (a refusal given without checking the password)
        super().__init__(f"log-in refused: {reason}" + (f" until {instant(until)}" if until else ""))


class Session(NamedTuple):
    account: Account
    token: str  # the cookie's value
    csrf: str
    device: str | None = None  # the device cookie for this browser (log-in by password)


class SecondFactorDue(NamedTuple):
    """Single sign-on done; our TOTP code is still to come (``token``: the step's cookie)."""

    account: Account
    token: str


class NewSecondFactor(NamedTuple):
    account: Account
    secret: str  # base32, shown once
    uri: str  # otpauth:// for an authenticator app's QR code


def _plain(text: str) -> str:
    """Lower case without accents or punctuation ("Nguyễn Văn A" → "nguyenvana"), as people fold names into
    passwords."""
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in folded.lower() if c.isalnum() and not unicodedata.combining(c))


def _password_problems(password: str, login: str, name: str = "") -> list[tuple[str, str]]:
    """At least ``MIN_PASSWORD`` characters, not the login, and not easy to guess: zxcvbn's estimate (common
    passwords, keyboard walks, repeats, dates, the person's own login and name in any case or accents) of at least
    10^10 guesses (its score 3)."""
    if len(password) < MIN_PASSWORD:
        return [("password", f"needs at least {MIN_PASSWORD} characters")]
    if password.strip().lower() == login.lower():
        return [("password", "must not be the login name")]
    own = [login, _plain(login), *name.split(), _plain(name), *(_plain(part) for part in name.split())]
    contains_own = any(len(w) >= 4 and w in _plain(password) for w in (_plain(login), _plain(name)))
    if contains_own or zxcvbn(password[:100], user_inputs=[w for w in own if len(w) > 1])["score"] < \
            MIN_PASSWORD_SCORE:
        return [("password", "too easy to guess (a common password, a pattern, or your own name or login)")]
    return []


def hash_password(password: str) -> str:
    return HASHER.hash(password)


@dataclass
class Accounts:
    app: Services

    @property
    def _now(self) -> dt.datetime:
        return self.app.clock.now()

    # -- administration ------------------------------------------------------------------------------

    def create(self, actor: Actor, login: str, name: str, role: str, agency: str | None = None,
               email: str | None = None, position: str | None = None, password: str | None = None,
               also: Sequence[tuple[str, str]] = ()) -> Account:
        """A new account. Without a password it can log in only by single sign-on (or after reset-password).
        ``also``: problems the caller found itself (the two passwords typed differ), refused with the others, so
        a person sees every problem of the form at once."""
        require(actor, Role.ADMIN, what="creating accounts")
        login = login.strip().lower()
        problems: list[tuple[str, str]] = list(also)
        if not LOGIN.match(login):
            problems.append(("login", "2–64 characters: lower-case letters, digits, '.', '_', '-', '@'"))
        if not name.strip():
            problems.append(("name", "the person's full name is required"))
        if role not in ROLES:
            problems.append(("role", f"must be one of {', '.join(ROLES)}"))
        elif role == Role.OFFICER.value:
            if agency is None or not AGENCY_CODE.match(agency):
                problems.append(("agency", "an officer's account needs the code of their agency"))
            else:
                known = self.app.store.agency_names()
                if agency not in known:
                    raise NotFound("agency", agency, list(known))
        elif agency is not None:
            problems.append(("agency", f"only officers belong to an agency in this system, not {role}"))
        if email is not None and not is_address(email):
            problems.append(("email", "not one e-mail address"))
        if password is not None:
            problems += _password_problems(password, login, name)
        if self.app.store.account(login) is not None:
            problems.append(("login", f"an account {login!r} exists already"))
        if problems:
            raise PayloadInvalid(problems)
        return self.app.store.create_account(login, name.strip(), role, agency, email, position,
                                             None if password is None else hash_password(password), self._now,
                                             actor.id)

    @staticmethod
    def may_manage(actor: Actor) -> bool:
        """Whether ``actor`` creates and changes people's accounts (administrators; auditors only read them)."""
        return actor.role is Role.ADMIN

    def list(self, actor: Actor) -> list[Account]:
        require(actor, Role.ADMIN, Role.AUDITOR, what="listing accounts")
        return self.app.store.list_accounts()

    def _existing(self, login: str) -> Account:
        found = self.app.store.account(login)
        if found is None:
            raise NotFound("account", login, [a.login for a in self.app.store.list_accounts()])
        return found

    def disable(self, actor: Actor, login: str) -> Account:
        """Disabled at once: its page sessions end in the same transaction and its API keys are refused."""
        require(actor, Role.ADMIN, what="disabling accounts")
        target = self._existing(login)
        acting = actor.id.split("|", 1)[-1]  # the account acting, directly or through a key it owns ("key:x|account:…")
        if acting.startswith(f"account:{target.id}:"):
            raise PayloadInvalid([("login", "an administrator cannot disable their own account")])
        return self.app.store.disable_account(login, self._now, actor.id)

    def enable(self, actor: Actor, login: str) -> Account:
        require(actor, Role.ADMIN, what="enabling accounts")
        self._existing(login)
        self.guard.forget_login(login)
        return self.app.store.enable_account(login, self._now, actor.id)

    def reset_password(self, actor: Actor, login: str, password: str,
                       also: Sequence[tuple[str, str]] = ()) -> Account:
        """A new password (the person's sessions end, their browsers' marks are void, the slowing is lifted)."""
        require(actor, Role.ADMIN, what="resetting passwords")
        account = self._existing(login)
        problems = [*also, *_password_problems(password, login, account.name)]
        if problems:
            raise PayloadInvalid(problems)
        self.guard.forget_login(login)
        return self.app.store.set_password(login, hash_password(password), self._now, actor.id)

    def second_factor(self, actor: Actor, login: str, on: bool = True) -> NewSecondFactor | Account:
        """Turn the TOTP second factor on (a new secret, shown once) or off."""
        require(actor, Role.ADMIN, what="setting up a second factor")
        account = self._existing(login)
        if not on:
            return self.app.store.set_totp(login, None, self._now, actor.id)
        secret = pyotp.random_base32()
        account = self.app.store.set_totp(login, secret, self._now, actor.id)
        uri = pyotp.TOTP(secret).provisioning_uri(name=account.login, issuer_name="Kế hoạch KH&CN")
        return NewSecondFactor(account, secret, uri)

    # -- logging in ----------------------------------------------------------------------------------

    @cached_property
    def guard(self) -> LoginGuard:
        """This process's counts of failed log-ins and its bounded password checks (``login_guard``)."""
        settings = self.app.settings
        return LoginGuard(limit=settings.login_failure_limit, cap=dt.timedelta(minutes=settings.login_lock_minutes),
                          address_limit=settings.login_address_limit, workers=settings.password_check_workers,
                          queue=settings.password_check_queue)

    def session(self, token: str) -> tuple[Account, str] | None:
        """(the account, the CSRF token) of a live session, or None (unknown, expired, or the account disabled)."""
        if not token or len(token) > 200:
            return None
        return self.app.store.session(token, self.app.clock.now())

    def log_out(self, token: str) -> None:
        """The session ends (its row removed): the cookie opens nothing any more."""
        self.app.store.end_session(token)

    def log_in(self, login: str, password: str, code: str | None = None, address: str = "local",
               device: str | None = None) -> Session:
        """A page session for this login and password (and TOTP code, if the account has a second factor), asked
        from ``address`` by a browser holding the device cookie ``device`` (if any).

        A wrong password, an unknown login and a login being slowed down get the same refusal
        (``bad_credentials``; ``pace`` says how long to wait before answering one that was not checked)."""
        settings = self.app.settings

        def open_session(found: Credentials, step: int | None) -> Session:
            token, csrf = self.app.store.logged_in(found.account, self._now, settings.session_lifetime, step)
            assert found.password_hash is not None
            return Session(found.account, token, csrf, device_cookie(found.account.login, found.password_hash))

        return self._authenticated(login, password, code, address, device, open_session)

    def _authenticated(self, login: str, password: str, code: str | None, address: str, device: str | None,
                       then: Callable[[Credentials, int | None], T]) -> T:
        """Check a login, password and TOTP code under the guard (``login_guard``), then ``then`` with what was
        checked and the TOTP step to use up (a code is accepted once: ``PermissionError`` if used meanwhile)."""
        settings, store, now, guard = self.app.settings, self.app.store, self._now, self.guard
        login = login.strip().lower()[:64]
        found = store.credentials(login)
        password_hash = found.password_hash if found is not None else None
        token = device_token(device, login, password_hash)
        try:
            ticket = guard.admit(login, address, token, now)
        except Slowed as slowed:
            if slowed.scope == "address":
                raise LoginRefused("throttled", slowed.until) from None
            raise LoginRefused("bad_credentials", pace=guard.pace) from None
        ok: bool | None = False
        try:
            try:
                right = guard.verify(lambda: _verify(password_hash or _DUMMY, password))
            except Busy:
                ok = None
                raise LoginRefused("busy") from None
            if found is None or password_hash is None or not right:
                raise LoginRefused("bad_credentials")
            if found.account.disabled_at is not None:
                raise LoginRefused("disabled")
            step = None
            if found.totp_secret is not None:
                if not code or not code.strip():
                    ok = None  # the password was right: the code is still to come
                    raise LoginRefused("totp_needed")
                step = _totp_step(found.totp_secret, code.strip(), now)
                if step is None or (found.totp_last_step is not None and step <= found.totp_last_step):
                    raise LoginRefused("bad_totp")
            try:
                done = then(found, step)
            except PermissionError:
                raise LoginRefused("bad_totp") from None  # the same code used at the same moment elsewhere
            ok = True
            return done
        finally:
            if guard.settle(ticket, ok) and found is not None:
                until = now + delay(settings.login_failure_limit, settings.login_failure_limit, guard.cap)
                store.login_slowed(found.account, now, until, address, _lock_mail(found.account, address, now))

    # -- single sign-on ------------------------------------------------------------------------------

    def single_sign_on(self, subject: str, amr: Sequence[str] = ()) -> Session | SecondFactorDue:
        """After the identity provider vouched for ``subject``: a session for the account linked to it. Nothing
        else opens one (an e-mail address the provider vouches for links nothing: a link is made by an
        administrator, or by the person after typing their password and code again, ``start_link``). An account
        with our second factor, or an administrator's, needs a second factor: the provider's (``amr`` naming one,
        RFC 8176) or, failing that, our own TOTP code next (``SecondFactorDue``); an administrator without either
        is refused."""
        store, now = self.app.store, self._now
        account = store.account_by_subject(subject)
        if account is None:
            raise LoginRefused("no_account")
        if account.disabled_at is not None:
            raise LoginRefused("disabled")
        if not STRONG_AMR & set(amr) and (account.has_totp or account.role == Role.ADMIN.value):
            if not account.has_totp:
                raise LoginRefused("second_factor_required")
            return SecondFactorDue(account, store.staged_session(account, "second_factor", now, STEP_LIFETIME))
        token, csrf = store.logged_in(account, now, self.app.settings.session_lifetime, None, how="sso")
        return Session(account, token, csrf)

    def second_factor_after_sign_on(self, token: str, code: str, address: str = "local") -> Session:
        """Our TOTP code after single sign-on (``SecondFactorDue``); the step is used up either way (a wrong code
        means signing on again), and a wrong code counts as a failed log-in."""
        store, now, guard = self.app.store, self._now, self.guard
        account = store.take_staged(token, "second_factor", now)
        if account is None:
            raise LoginRefused("sso_expired")
        try:
            ticket = guard.admit(account.login, address, None, now)
        except Slowed:
            raise LoginRefused("bad_totp", pace=guard.pace) from None
        ok = False
        try:
            found = store.credentials(account.login)
            secret = found.totp_secret if found is not None else None
            step = _totp_step(secret, code.strip(), now) if secret and code.strip() else None
            if found is None or step is None or (found.totp_last_step is not None and step <= found.totp_last_step):
                raise LoginRefused("bad_totp")
            try:
                session_token, csrf = store.logged_in(account, now, self.app.settings.session_lifetime, step,
                                                      how="sso")
            except PermissionError:
                raise LoginRefused("bad_totp") from None
            ok = True
            return Session(account, session_token, csrf)
        finally:
            guard.settle(ticket, ok)

    def start_link(self, account: Account, password: str, code: str | None, address: str = "local",
                   device: str | None = None) -> str:
        """The person logged in as ``account`` types their password (and code) again to link their identity at the
        provider: a short-lived link step (its token, for a cookie the provider's callback brings back)."""

        def staged(found: Credentials, step: int | None) -> str:
            if step is not None:
                self.app.store.use_totp_step(found.account.id, step)
            return self.app.store.staged_session(found.account, "link", self._now, STEP_LIFETIME)

        return self._authenticated(account.login, password, code, address, device, staged)

    def finish_link(self, token: str, subject: str) -> Account:
        """Back from the provider with a link step: the identity ``subject`` is linked to the step's account."""
        store, now = self.app.store, self._now
        account = store.take_staged(token, "link", now)
        if account is None:
            raise LoginRefused("sso_expired")
        try:
            return store.set_subject(account.login, subject, now, account.actor_id)
        except ValueError:
            raise LoginRefused("sso_taken") from None

    def link_identity(self, actor: Actor, login: str, subject: str | None) -> Account:
        """An administrator links an account to the identity provider's subject (``None``: unlinks it)."""
        require(actor, Role.ADMIN, what="linking single sign-on identities")
        self._existing(login)
        if subject is not None and not (subject := subject.strip()):
            raise PayloadInvalid([("subject", "the identity provider's subject (sub) is required")])
        try:
            return self.app.store.set_subject(login, subject, self._now, actor.id)
        except ValueError as err:
            raise PayloadInvalid([("subject", str(err))]) from None


def _lock_mail(account: Account, address: str, now: dt.datetime) -> tuple[str, str] | None:
    """The e-mail that tells the account's owner someone is guessing its password (subject, body), or None."""
    if not account.email:
        return None
    local = now.astimezone(PROVINCE_TZ)
    subject = "Cảnh báo: nhiều lần đăng nhập sai vào tài khoản của ông/bà"
    body = (f"Kính gửi {account.name},\n\nLúc {local:%H:%M} ngày {local:%d/%m/%Y}, tài khoản {account.login} trên hệ "
            f"thống theo dõi Kế hoạch KH&CN bị nhập sai mật khẩu nhiều lần liên tiếp từ địa chỉ {address}. Từ nay "
            "mỗi lần thử tiếp theo từ trình duyệt lạ phải chờ lâu dần; trình duyệt ông/bà đã đăng nhập trước đây "
            "không bị ảnh hưởng.\n\nNếu không phải ông/bà, xin báo ngay quản trị viên hệ thống và đổi mật khẩu.\n")
    return subject, body


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _totp_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The 30-second step whose code this is (now, or one step either side for clocks a little apart), or None."""
    totp = pyotp.TOTP(secret)
    here = int(now.timestamp()) // TOTP_STEP
    for step in (here, here - 1, here + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None
