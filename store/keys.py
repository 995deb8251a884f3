"""API keys and dashboard sessions (mixed into ``SqlStore``).

A key is a 256-bit random token shown once; only its SHA-256 is stored (a fast hash is right for tokens
with that much entropy; there is nothing to brute-force). Lookups go by hash and the match is confirmed with
``hmac.compare_digest``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, insert, select, update

from definitions import NotFound

from .connections import Connections
from .system_log import append_system
from .tables import api_keys, web_sessions

PREFIX = "wf_"


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    role: str
    agency: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


CACHE_SECONDS = 5.0  # reads: a revoked key is refused at once in this process, within this long in others


class KeyQueries(Connections):
    _key_cache: dict[str, tuple[float, ApiKey | None]]

    def _key_row(self, digest: str) -> tuple[Any, ...] | None:
        raise NotImplementedError

    def create_key(self, name: str, role: str, agency: str | None, now: dt.datetime,
                   actor_id: str = "system") -> tuple[ApiKey, str]:
        """A new key; (its record, the token, which is never stored or shown again). Logged in the system
        history with its hash, so a key row planted in the database is found by verify."""
        token = PREFIX + secrets.token_urlsafe(32)
        with self._begin() as c:
            result = c.execute(insert(api_keys).values(name=name, role=role, agency=agency, key_hash=hash_key(token),
                                                       created_at=now, revoked_at=None))
            key = result.inserted_primary_key
            assert key is not None
            append_system(c.connection.driver_connection, self._system_sql, "key_created", actor_id, now, {
                "id": int(key[0]), "name": name, "role": role, "agency": agency, "key_hash": hash_key(token)})
        return ApiKey(int(key[0]), name, role, agency, now, None), token

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
        if row is not None and row[6] is None and hmac.compare_digest(row[4], digest):
            key_id, name, role, agency, _, created_at, revoked_at = row
            found = ApiKey(int(key_id), name, role, agency, created_at, revoked_at)
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
            c.execute(delete(web_sessions).where(web_sessions.c.key_id == key_id))
        if not done:
            raise NotFound("live API key", key_id)
        self.__dict__.get("_key_cache", {}).clear()

    def list_keys(self) -> list[ApiKey]:
        with self._read() as c:
            return [ApiKey(r.id, r.name, r.role, r.agency, r.created_at, r.revoked_at)
                    for r in c.execute(select(api_keys).order_by(api_keys.c.id))]

    def has_keys(self) -> bool:
        with self._read() as c:
            return c.execute(select(api_keys.c.id).limit(1)).first() is not None

    # -- dashboard sessions ------------------------------------------------------------------------

    def create_session(self, key: ApiKey, now: dt.datetime, lifetime: dt.timedelta) -> tuple[str, str]:
        """A new session for a live key; (the cookie token, the session's CSRF token). Expired rows go."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._begin() as c:
            c.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
            c.execute(insert(web_sessions).values(token_hash=hash_key(token), key_id=key.id, csrf=csrf,
                                                  created_at=now, expires_at=now + lifetime))
        return token, csrf

    def session(self, token: str, now: dt.datetime) -> tuple[ApiKey, str] | None:
        """(the key, the CSRF token) of a live session, or None (unknown, expired, or its key revoked)."""
        digest = hash_key(token)
        query = (select(web_sessions.c.token_hash, web_sessions.c.csrf, web_sessions.c.expires_at, api_keys)
                 .join(api_keys, api_keys.c.id == web_sessions.c.key_id)
                 .where(web_sessions.c.token_hash == digest))
        with self._read() as c:
            row = c.execute(query).first()
        if row is None or row.revoked_at is not None or row.expires_at <= now \
                or not hmac.compare_digest(row.token_hash, digest):
            return None
        return ApiKey(row.id, row.name, row.role, row.agency, row.created_at, row.revoked_at), row.csrf

    def end_session(self, token: str) -> None:
        with self._begin() as c:
            c.execute(delete(web_sessions).where(web_sessions.c.token_hash == hash_key(token)))
