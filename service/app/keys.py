"""API keys, for machines: create (the token is shown once, only its hash is stored), list, revoke. Admins only,
whether the request comes from the CLI or the API."""

from __future__ import annotations

from typing import NamedTuple

from typing_extensions import TypedDict

from definitions import Role
from store import SqlStore
from store.keys import ApiKey
from workflow import Actor, Clock
from workflow.errors import PayloadInvalid
from workflow.payload import AGENCY_CODE

from ..views import instant
from .access import require

KEY_ROLES = ("admin", "officer", "committee", "auditor")


class KeyView(TypedDict):
    id: int
    name: str
    role: str
    agency: str | None
    created_at: str | None
    revoked_at: str | None


class CreatedKey(KeyView):
    key: str  # the key itself: shown once, only its hash is stored
    note: str


def key_view(k: ApiKey) -> KeyView:
    return {"id": k.id, "name": k.name, "role": k.role, "agency": k.agency, "created_at": instant(k.created_at),
            "revoked_at": instant(k.revoked_at)}


class NewKey(NamedTuple):
    key: ApiKey
    token: str  # shown once


class Keys:
    def __init__(self, store: SqlStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    @staticmethod
    def _require(actor: Actor, what: str) -> None:
        require(actor, Role.ADMIN, what=what)

    def create(self, actor: Actor, name: str, role: str, agency: str | None) -> NewKey:
        self._require(actor, "creating API keys")
        if role not in KEY_ROLES:
            raise PayloadInvalid([("role", f"must be one of {', '.join(KEY_ROLES)}")])
        if role == Role.OFFICER.value:
            if agency is None or not AGENCY_CODE.match(agency):
                raise PayloadInvalid([("agency", "an officer's key needs the code of its agency")])
        elif agency is not None:
            raise PayloadInvalid([("agency", f"only officers' keys are bound to an agency, not {role}")])
        return NewKey(*self.store.create_key(name, role, agency, self.clock.now(), actor.id))

    def list(self, actor: Actor) -> list[ApiKey]:
        self._require(actor, "listing API keys")
        return self.store.list_keys()

    def revoke(self, actor: Actor, key_id: int) -> None:
        self._require(actor, "revoking API keys")
        self.store.revoke_key(key_id, self.clock.now(), actor.id)
