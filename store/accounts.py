"""Personal accounts (mixed into ``SqlStore``): people who log in to the pages.

Each change to an account is an event in the system history in the same transaction (created, password set,
second factor set, disabled, enabled, locked, logged in), so ``audit verify`` replays the table: a row planted or
edited in the database file (a role raised, a password hash swapped) is found. The history holds a SHA-256
fingerprint of the password hash and of the TOTP secret, never the hash or the secret.

The password is hashed by the caller (``service.app.accounts``, argon2-cffi); this module stores and compares
nothing secret itself except through the caller's verdicts.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, insert, select, update

from definitions import NotFound

from .connections import Connections
from .digests import fingerprint, hash_key
from .system_log import append_system
from .tables import accounts, outbox, web_sessions


@dataclass(frozen=True)
class Account:
    id: int
    login: str
    name: str
    position: str | None
    role: str
    agency: str | None
    email: str | None
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    has_password: bool
    has_totp: bool
    oidc_subject: str | None
    locked_until: dt.datetime | None

    @property
    def actor_id(self) -> str:
        """What the history records: the account and the name it had when it acted."""
        return f"account:{self.id}:{self.name}"


@dataclass(frozen=True)
class Credentials:
    """What a log-in is checked against (read by the log-in use case only)."""

    account: Account
    password_hash: str | None
    totp_secret: str | None
    totp_last_step: int | None


def _account(r: Any) -> Account:
    return Account(int(r.id), r.login, r.name, r.position, r.role, r.agency, r.email, r.created_at, r.disabled_at,
                   r.password_hash is not None, r.totp_secret is not None, r.oidc_subject, r.locked_until)


class AccountQueries(Connections):
    def create_account(self, login: str, name: str, role: str, agency: str | None, email: str | None,
                       position: str | None, password_hash: str | None, now: dt.datetime, actor_id: str,
                       oidc_subject: str | None = None) -> Account:
        with self._begin() as c:
            if c.execute(select(accounts.c.id).where(accounts.c.login == login)).first() is not None:
                raise ValueError(f"account {login!r} already exists")
            result = c.execute(insert(accounts).values(
                login=login, name=name, position=position, role=role, agency=agency, email=email,
                password_hash=password_hash, totp_secret=None, totp_last_step=None, oidc_subject=oidc_subject,
                failed_logins=0, locked_until=None, created_at=now, disabled_at=None))
            key = result.inserted_primary_key
            assert key is not None
            account_id = int(key[0])
            append_system(c.connection.driver_connection, self._system_sql, "account_created", actor_id, now, {
                "id": account_id, "login": login, "name": name, "position": position, "role": role,
                "agency": agency, "email": email, "password": fingerprint(password_hash),
                "oidc_subject": oidc_subject})
            row = c.execute(select(accounts).where(accounts.c.id == account_id)).one()
        return _account(row)

    def account(self, login: str) -> Account | None:
        with self._read() as c:
            row = c.execute(select(accounts).where(accounts.c.login == login)).first()
        return None if row is None else _account(row)

    def account_by_subject(self, subject: str) -> Account | None:
        with self._read() as c:
            row = c.execute(select(accounts).where(accounts.c.oidc_subject == subject)).first()
        return None if row is None else _account(row)

    def list_accounts(self) -> list[Account]:
        with self._read() as c:
            return [_account(r) for r in c.execute(select(accounts).order_by(accounts.c.id))]

    def has_accounts(self) -> bool:
        with self._read() as c:
            return c.execute(select(accounts.c.id).limit(1)).first() is not None

    def credentials(self, login: str) -> Credentials | None:
        with self._read() as c:
            r = c.execute(select(accounts).where(accounts.c.login == login)).first()
        if r is None:
            return None
        return Credentials(_account(r), r.password_hash, r.totp_secret, r.totp_last_step)

    def _change(self, login: str, now: dt.datetime, actor_id: str, event: str, values: dict[str, Any],
                logged: dict[str, Any], end_sessions: bool) -> Account:
        with self._begin() as c:
            row = c.execute(select(accounts.c.id).where(accounts.c.login == login)).first()
            if row is None:
                raise NotFound("account", login)
            account_id = int(row.id)
            c.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
            append_system(c.connection.driver_connection, self._system_sql, event, actor_id, now,
                          {"id": account_id, **logged})
            if end_sessions:
                c.execute(delete(web_sessions).where(web_sessions.c.account_id == account_id))
            changed = c.execute(select(accounts).where(accounts.c.id == account_id)).one()
        self.__dict__.get("_key_cache", {}).clear()
        return _account(changed)

    def set_password(self, login: str, password_hash: str, now: dt.datetime, actor_id: str) -> Account:
        """A new password; the account's sessions end and a lock is lifted."""
        return self._change(login, now, actor_id, "account_password_set",
                            {"password_hash": password_hash, "failed_logins": 0, "locked_until": None},
                            {"password": fingerprint(password_hash)}, end_sessions=True)

    def set_totp(self, login: str, secret: str | None, now: dt.datetime, actor_id: str) -> Account:
        return self._change(login, now, actor_id, "account_totp_set", {"totp_secret": secret, "totp_last_step": None},
                            {"totp": fingerprint(secret)}, end_sessions=True)

    def disable_account(self, login: str, now: dt.datetime, actor_id: str) -> Account:
        """Disabled: its sessions end in the same transaction, its keys are refused from then on."""
        return self._change(login, now, actor_id, "account_disabled", {"disabled_at": now}, {}, end_sessions=True)

    def enable_account(self, login: str, now: dt.datetime, actor_id: str) -> Account:
        return self._change(login, now, actor_id, "account_enabled",
                            {"disabled_at": None, "failed_logins": 0, "locked_until": None}, {}, end_sessions=False)

    def login_slowed(self, account: Account, now: dt.datetime, until: dt.datetime, address: str,
                     mail: tuple[str, str] | None) -> None:
        """Log-ins to this account have started being slowed down (failed attempts from ``address``): shown on the
        accounts page until ``until``, an ``account_locked`` event in the system history, and an e-mail (subject,
        body) to its owner in the outbox, in one transaction."""
        with self._begin() as c:
            c.execute(update(accounts).where(accounts.c.id == account.id).values(locked_until=until))
            append_system(c.connection.driver_connection, self._system_sql, "account_locked", "system:login", now,
                          {"id": account.id, "address": address[:64], "until": until.isoformat()})
            if mail is not None and account.email:
                c.execute(insert(outbox).values(
                    created_at=now, instance_id=None, kind="account_locked", channel="email",
                    recipient=account.email, subject=mail[0], body=mail[1], status="pending", attempts=0,
                    next_attempt_at=now, last_error=None, sent_at=None, claimed_by=None, lease_until=None,
                    message_id=f"<account_locked.{account.id}.{now.timestamp():.0f}@khcn-workflow>"))

    def logged_in(self, account: Account, now: dt.datetime, lifetime: dt.timedelta,
                  totp_step: int | None = None, how: str = "password") -> tuple[str, str]:
        """A successful log-in: failures reset, the TOTP step used up, an ``account_login`` event, and a new session;
        (the cookie token, the session's CSRF token). The TOTP step is taken only if it is later than the last
        one (a code is accepted once, even by two nodes at the same moment)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._begin() as c:
            values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
            where = accounts.c.id == account.id
            if totp_step is not None:
                values["totp_last_step"] = totp_step
                where = and_(where, (accounts.c.totp_last_step.is_(None)) | (accounts.c.totp_last_step < totp_step))
            if c.execute(update(accounts).where(where).values(**values)).rowcount != 1:
                raise PermissionError("this second-factor code was used already")
            c.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
            c.execute(insert(web_sessions).values(token_hash=hash_key(token), account_id=account.id, csrf=csrf,
                                                  created_at=now, expires_at=now + lifetime))
            append_system(c.connection.driver_connection, self._system_sql, "account_login", account.actor_id, now,
                          {"id": account.id, "how": how})
        return token, csrf

    def use_totp_step(self, account_id: int, step: int) -> None:
        """Use up a TOTP step outside a log-in (re-checking the person before a link): ``PermissionError`` if it
        (or a later one) was used already."""
        where = and_(accounts.c.id == account_id,
                     (accounts.c.totp_last_step.is_(None)) | (accounts.c.totp_last_step < step))
        with self._begin() as c:
            if c.execute(update(accounts).where(where).values(totp_last_step=step)).rowcount != 1:
                raise PermissionError("this second-factor code was used already")

    def set_subject(self, login: str, subject: str | None, now: dt.datetime, actor_id: str) -> Account:
        """Bind an account to an identity provider's subject (single sign-on), or unbind it (None). A subject
        bound to another account already is refused (``ValueError``)."""
        if subject is not None:
            bound = self.account_by_subject(subject)
            if bound is not None and bound.login != login:
                raise ValueError(f"that identity is linked to the account {bound.login!r} already")
        return self._change(login, now, actor_id, "account_sso_bound", {"oidc_subject": subject},
                            {"oidc_subject": subject}, end_sessions=False)

    # -- page sessions -------------------------------------------------------------------------------

    def session(self, token: str, now: dt.datetime) -> tuple[Account, str] | None:
        """(the account, the CSRF token) of a live session, or None (unknown, expired, or the account disabled)."""
        query = (select(web_sessions.c.csrf, web_sessions.c.expires_at, accounts)
                 .join(accounts, accounts.c.id == web_sessions.c.account_id)
                 .where(web_sessions.c.token_hash == hash_key(token), web_sessions.c.stage == "full"))
        with self._read() as c:
            row = c.execute(query).first()
        if row is None or row.disabled_at is not None or row.expires_at <= now:
            return None
        return _account(row), row.csrf

    def staged_session(self, account: Account, stage: str, now: dt.datetime, lifetime: dt.timedelta) -> str:
        """A short-lived step towards a log-in or a link (``second_factor``, ``link``) that opens no page: its
        token (for a cookie)."""
        token = secrets.token_urlsafe(32)
        with self._begin() as c:
            c.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
            c.execute(insert(web_sessions).values(token_hash=hash_key(token), account_id=account.id, csrf="-",
                                                  created_at=now, expires_at=now + lifetime, stage=stage))
        return token

    def take_staged(self, token: str, stage: str, now: dt.datetime) -> Account | None:
        """The account of a live step of that stage, which is used up (deleted) by being taken; else None."""
        where = (web_sessions.c.token_hash == hash_key(token)) & (web_sessions.c.stage == stage)
        with self._begin() as c:
            row = c.execute(select(web_sessions.c.expires_at, accounts)
                            .join(accounts, accounts.c.id == web_sessions.c.account_id).where(where)).first()
            if row is None:
                return None
            c.execute(delete(web_sessions).where(where))
        if row.disabled_at is not None or row.expires_at <= now:
            return None
        return _account(row)

    def end_session(self, token: str) -> None:
        with self._begin() as c:
            c.execute(delete(web_sessions).where(web_sessions.c.token_hash == hash_key(token)))
