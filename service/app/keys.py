"""API keys, for machines: create (the token is shown once, only its hash is stored; owned by an account, with an
expiry), list, revoke. Admins only, whether the request comes from the CLI or the API."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from typing_extensions import TypedDict

from definitions import NotFound, Role
from store import SqlStore
from store.keys import ApiKey
from workflow import Actor, Clock
from workflow.errors import PayloadInvalid

from ..views import instant
from .access import require


class KeyView(TypedDict):
    id: int
    name: str
    role: str
    agency: str | None
    created_at: str | None
    revoked_at: str | None
    account: str | None  # the login of the account that owns it (None: a key from before accounts)
    expires_at: str | None  # None: until revoked
    last_used_at: str | None  # to the hour


class CreatedKey(KeyView):
    key: str  # the key itself: shown once, only its hash is stored
    note: str


def key_view(k: ApiKey, owners: dict[int, str] | None = None) -> KeyView:
    return {"id": k.id, "name": k.name, "role": k.role, "agency": k.agency, "created_at": instant(k.created_at),
            "revoked_at": instant(k.revoked_at),
            "account": None if k.account_id is None else (owners or {}).get(k.account_id, str(k.account_id)),
            "expires_at": instant(k.expires_at), "last_used_at": instant(k.last_used_at)}


class NewKey(NamedTuple):
    key: ApiKey
    token: str  # shown once


class Keys:
    def __init__(self, store: SqlStore, clock: Clock, lifetime_days: int = 365) -> None:
        self.store = store
        self.clock = clock
        self.lifetime_days = lifetime_days

    @staticmethod
    def _require(actor: Actor, what: str) -> None:
        require(actor, Role.ADMIN, what=what)

    def create(self, actor: Actor, name: str, role: str | None, agency: str | None, account: str | None = None,
               days: int | None = None) -> NewKey:
        """A key for a machine, owned by ``account`` (a login): it acts with that account's role and agency (``role``
        and ``agency``, if given, must be the account's), is refused while the account is disabled, and history names
        the account. It expires after ``days`` (default ``key_lifetime_days``; 0: never). Keys made before accounts
        existed may have no owner; no new one is made without."""
        self._require(actor, "creating API keys")
        if account is None or not account.strip():
            raise PayloadInvalid([("account", "a key belongs to an account: give the login of the account it acts "
                                              "for (workflow accounts create makes one)")])
        owner = self.store.account(account.strip().lower())
        if owner is None:
            raise NotFound("account", account, [a.login for a in self.store.list_accounts()])
        if (role is not None and role != owner.role) or (agency is not None and agency != owner.agency):
            raise PayloadInvalid([("role", f"a key of account {owner.login} has its role ({owner.role}"
                                           f"{'/' + owner.agency if owner.agency else ''})")])
        if days is not None and not 0 <= days <= 3660:
            raise PayloadInvalid([("days", "between 0 (never expires) and 3660")])
        now, lifetime = self.clock.now(), self.lifetime_days if days is None else days
        expires = now + dt.timedelta(days=lifetime) if lifetime else None
        return NewKey(*self.store.create_key(name, owner.role, owner.agency, now, actor.id, owner.id, expires))

    def owners(self) -> dict[int, str]:
        """Account id → login, to name each key's owner."""
        return {a.id: a.login for a in self.store.list_accounts()}

    def list(self, actor: Actor) -> list[ApiKey]:
        self._require(actor, "listing API keys")
        return self.store.list_keys()

    def revoke(self, actor: Actor, key_id: int) -> None:
        self._require(actor, "revoking API keys")
        self.store.revoke_key(key_id, self.clock.now(), actor.id)
