"""Who is calling: ``Authorization: Bearer <key>`` → a principal with a role (and an agency for officers).

Reads need any live key. Writes: never for auditors (403 on every write route, before anything runs); for
the rest, the engine's own rules decide (roles per transition, officers only for their agency). A key is looked
up in the database at most every few seconds per process; a write's own transaction checks that its key is still
live (``store.keys.WRITING_KEY``), so a revoked key writes nothing from the moment of revocation, on every node,
without a read of its own before each write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from definitions import Role
from store.keys import WRITING_KEY
from workflow import Actor

from ..http import app_of, client_address, throttle_of
from .problems import ApiProblem

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    actor: Actor


BEARER = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>` (workflow keys create)")


async def principal(request: Request,
                    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None) -> Principal:
    """The FastAPI dependency every /api/v1 route uses. Asynchronous, so a read whose key is in this process's
    cache costs no hop to the thread pool (a sync dependency would: ~0.3 ms of a 1.3 ms read, benchmarks/README);
    a write, or a key not cached, is looked up in the database on the pool."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(401, "Authentication required", "send `Authorization: Bearer <API key>`",
                         {"WWW-Authenticate": "Bearer"})
    store, writes = app_of(request).store, request.method in WRITE_METHODS
    key = store.cached_key(token.strip())  # a write's key is checked again inside its transaction (WRITING_KEY)
    if key is None:
        key = await run_in_threadpool(store.authenticate, token.strip(), not writes)
    if key is None:  # only failures are counted and only they are refused: a valid key always gets through
        throttle, address = throttle_of(request), client_address(request)
        wait = throttle.retry_after(address)
        throttle.failed(address, "unknown API key")
        if wait is not None:
            raise ApiProblem(429, "Too many failed attempts", f"too many unknown keys from {address}; try again "
                             "later", {"Retry-After": str(wait)})
        raise ApiProblem(401, "Unknown API key", "the API key is unknown or revoked", {"WWW-Authenticate": "Bearer"})
    found = Principal(key.id, key.name, Actor(key.actor_id, Role(key.role), key.agency))
    request.state.actor = found.actor.id
    if writes:  # this request's write transactions refuse to write if the key has been revoked meanwhile
        WRITING_KEY.set(key.id)
    if request.method in WRITE_METHODS and found.actor.role is Role.AUDITOR:
        raise ApiProblem(403, "Read-only role", "auditors read everything and change nothing")
    return found


def require(who: Principal, *roles: Role, what: str) -> None:
    if who.actor.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise ApiProblem(403, "Role not allowed", f"{what} needs the role {allowed}; this key is "
                                                  f"{who.actor.role.value}")
