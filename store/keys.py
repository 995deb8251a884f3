"""API keys, for machines (mixed into ``SqlStore``); people log in with accounts (``store.accounts``).

A key may name the account that owns it (refused while that account is disabled), may expire, and remembers
when it was last used (written at most once an hour per key, so reads stay reads). A key is a 256-bit random
token shown once; only its SHA-256 is stored (a fast hash is right for tokens
with that much entropy; there is nothing to brute-force). Lookups go by hash and the match is confirmed with
``hmac.compare_digest``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import and_, insert, select, update

from definitions import NotFound, WorkflowError
from workflow.clock import Clock

from .connections import Connections
from .digests import hash_key
from .system_log import append_system
from .tables import api_keys

PREFIX = "wf_"


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    role: str
    agency: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    account_id: int | None = None
    expires_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    owner_name: str | None = None  # the owning account's full name (when the key was looked up)

    @property
    def actor_id(self) -> str:
        """What history records of the key's acts: the key by its name and, if it has one, its owner as an account
        is recorded (``key:<name>|account:<id>:<the owner's name then>``), so a machine's act names a person."""
        owner = f"|account:{self.account_id}:{self.owner_name}" if self.account_id is not None else ""
        return f"key:{self.name}{owner}"[:200]


_log = logging.getLogger("workflow.auth")
CACHE_SECONDS = 5.0  # a key looked up is not read again for this long (writes check it in their transaction)
#: The API key the current request writes with (the API sets it): every write transaction of the request checks,
#: inside that transaction, that the key is still live, so a key this process has cached writes nothing once it is
#: revoked, expired or its owner disabled, on any node (issue 30: no separate read per write).
WRITING_KEY: ContextVar[int | None] = ContextVar("writing_key", default=None)


class KeyRevoked(WorkflowError):
    def __init__(self) -> None:
        super().__init__("the API key is revoked or expired, or its owner's account is disabled: nothing was written")
USED_EVERY = dt.timedelta(hours=1)  # how stale a key's last-used date may be


def _key(row: Any) -> ApiKey:
    return ApiKey(int(row[0]), row[1], row[2], row[3], row[5], row[6], row[7], row[8], row[9], row[11])


class KeyQueries(Connections):
    _key_cache: dict[str, tuple[float, ApiKey | None]]
    clock: Clock

    def _key_row(self, digest: str) -> tuple[Any, ...] | None:
        raise NotImplementedError

    def create_key(self, name: str, role: str, agency: str | None, now: dt.datetime,
                   actor_id: str = "system", account_id: int | None = None,
                   expires_at: dt.datetime | None = None) -> tuple[ApiKey, str]:
        """A new key; (its record, the token, which is never stored or shown again). Logged in the system
        history with its hash, owner and expiry, so a key row planted or edited in the database is found by
        verify."""
        token = PREFIX + secrets.token_urlsafe(32)
        with self._begin() as c:
            result = c.execute(insert(api_keys).values(name=name, role=role, agency=agency, key_hash=hash_key(token),
                                                       created_at=now, revoked_at=None, account_id=account_id,
                                                       expires_at=expires_at, last_used_at=None))
            key = result.inserted_primary_key
            assert key is not None
            logged: dict[str, Any] = {"id": int(key[0]), "name": name, "role": role, "agency": agency,
                                      "key_hash": hash_key(token)}
            if account_id is not None or expires_at is not None:  # keys from before accounts: as they were logged
                logged |= {"account": account_id, "expires_at": None if expires_at is None else
                           expires_at.astimezone(dt.UTC).isoformat()}
            append_system(c.connection.driver_connection, self._system_sql, "key_created", actor_id, now, logged)
        return ApiKey(int(key[0]), name, role, agency, now, None, account_id, expires_at), token

    def _cache(self) -> dict[str, tuple[float, ApiKey | None]]:
        cache: dict[str, tuple[float, ApiKey | None]] = self.__dict__.setdefault("_key_cache", {})
        return cache

    def _cache_hit(self, digest: str) -> tuple[float, ApiKey | None] | None:
        """The cached answer for this digest if younger than ``CACHE_SECONDS``."""
        hit = self._cache().get(digest)
        return hit if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS else None

    def cached_key(self, token: str) -> ApiKey | None:
        """The live key this token is if this process looked it up less than ``CACHE_SECONDS`` ago (no database
        read; None: not cached, or cached as unknown: ask ``authenticate``)."""
        hit = self._cache_hit(hash_key(token))
        return None if hit is None else hit[1]

    def authenticate(self, token: str, cached: bool = True) -> ApiKey | None:
        """The live key this token is, or None. ``cached`` (reads): looked up at most every few seconds per key;
        a write always reads the database, so a revoked key can write nothing anywhere once revoked."""
        digest = hash_key(token)
        cache = self._cache()
        hit = self._cache_hit(digest) if cached else None
        if hit is not None:
            return hit[1]
        row = self._key_row(digest)
        found = None
        now = self.clock.now()
        # live: not revoked, not expired, its owner (if any) not disabled
        if row is not None and row[6] is None and (row[8] is None or row[8] > now) and row[10] is None \
                and hmac.compare_digest(row[4], digest):
            found = _key(row)
            if found.last_used_at is None or now - found.last_used_at >= USED_EVERY:
                try:  # advisory: a disk that is full or read-only must not stop a key from reading
                    with self._begin() as c:
                        c.execute(update(api_keys).where(api_keys.c.id == found.id).values(last_used_at=now))
                    found = replace(found, last_used_at=now)
                except Exception as err:  # the store's own error, whatever the fault; logged, and the key works
                    _log.warning("the last use of API key %s could not be recorded: %s", found.id, err)
        if len(cache) > 10_000:
            cache.clear()  # unknown tokens must not grow it for ever
        cache[digest] = (time.monotonic(), found)
        return found

    def revoke_key(self, key_id: int, now: dt.datetime, actor_id: str = "system") -> None:
        with self._begin() as c:
            done = c.execute(update(api_keys).where(and_(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)))
                             .values(revoked_at=now)).rowcount
            if done:
                append_system(c.connection.driver_connection, self._system_sql, "key_revoked", actor_id, now,
                              {"id": key_id})
        if not done:
            raise NotFound("live API key", key_id)
        self.__dict__.get("_key_cache", {}).clear()

    def list_keys(self) -> list[ApiKey]:
        with self._read() as c:
            return [ApiKey(r.id, r.name, r.role, r.agency, r.created_at, r.revoked_at, r.account_id, r.expires_at,
                           r.last_used_at) for r in c.execute(select(api_keys).order_by(api_keys.c.id))]

    def has_keys(self) -> bool:
        with self._read() as c:
            return c.execute(select(api_keys.c.id).limit(1)).first() is not None
