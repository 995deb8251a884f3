"""Slowing down password guessing without letting anyone lock a person out (issue 26, findings 2–4).

Three counts of *failed* log-ins, each taken before the password is checked (a reservation: an attempt is counted
as failed the moment it is admitted, and given back if it succeeds), so a burst of parallel attempts can never
have more passwords checked than the counts allow:

- per client address, over every login: after ``address_limit`` failures the address waits (429, ``Retry-After``);
- per login, from browsers that never logged in to it: after ``limit`` failures each further attempt must wait
  1 s, 2 s, 4 s, … up to ``cap`` after the last failure; an attempt that comes too early is answered exactly as a
  wrong password is (the same words, after the time a check takes), so it tells nothing;
- per login *and browser*, for a browser that has logged in to that login before (it holds a device cookie signed
  with the account's own password hash, OWASP's "device cookies"): the same delays, counted for that browser
  alone. Whoever hammers a login from elsewhere slows the strangers' attempts, never its owner's own browser.

A count is forgotten after ``forget`` without failures. The counts live in this process (a second node keeps its
own; the per-login delay is still at most ``cap``). When a login starts being slowed, its owner is told by e-mail
with the address the attempts came from (``Accounts``).

Password checks (Argon2id, 64 MiB each) run at most ``workers`` at a time; ``queue`` more may wait; beyond that an
attempt is refused at once (503, ``Retry-After``), so no burst can exhaust the memory or the processors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Count:
    failures: int = 0
    last: dt.datetime | None = None


@dataclass(frozen=True)
class Ticket:
    """An admitted attempt: the counts it reserved a failure in."""

    keys: tuple[tuple[str, ...], ...]
    login_key: tuple[str, ...]
    starts_slowing: bool  # this attempt, if it fails, is the one after which the login is slowed


class Slowed(Exception):
    """Too early for this login (answered as a wrong password) or this address (429 until ``until``)."""

    def __init__(self, scope: str, until: dt.datetime) -> None:
        self.scope = scope  # "login" or "address"
        self.until = until
        super().__init__(f"{scope} slowed until {until.isoformat()}")


class Busy(Exception):
    """Every password-check slot and its queue are taken."""


def delay(failures: int, limit: int, cap: dt.timedelta) -> dt.timedelta:
    """How long after the last failure the next attempt may come: nothing below ``limit``, then 1 s doubling."""
    if failures < limit:
        return dt.timedelta(0)
    return min(cap, dt.timedelta(seconds=2 ** min(failures - limit, 30)))


def device_cookie(login: str, password_hash: str, token: str | None = None) -> str:
    """``login:token:mac``: the mark a browser gets when it logs in, signed with the account's password hash (which
    never leaves the server), so it is void when the password changes and cannot be made for another login."""
    token = token or secrets.token_urlsafe(18)
    mac = hmac.new(password_hash.encode(), f"{login}:{token}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{login}:{token}:{mac}"


def device_token(cookie: str | None, login: str, password_hash: str | None) -> str | None:
    """The browser's token if its device cookie is one this login's password hash signed, else None."""
    if not cookie or password_hash is None or cookie.count(":") != 2:
        return None
    said_login, token, _ = cookie.split(":")
    if said_login != login or not secrets.compare_digest(device_cookie(login, password_hash, token), cookie):
        return None
    return token


@dataclass
class LoginGuard:
    limit: int = 5
    cap: dt.timedelta = dt.timedelta(minutes=15)
    address_limit: int = 20
    forget: dt.timedelta = dt.timedelta(hours=1)
    workers: int = 2
    queue: int = 16
    _counts: dict[tuple[str, ...], _Count] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: threading.Semaphore = field(init=False)
    _admission: threading.Semaphore = field(init=False)
    checks: int = 0  # passwords checked since start
    active: int = 0
    peak: int = 0  # most checks that ran at once
    pace: float = 0.1  # seconds a check takes (a moving average): how long a refusal without a check waits

    def __post_init__(self) -> None:
        self._running = threading.Semaphore(self.workers)
        self._admission = threading.Semaphore(self.workers + self.queue)

    def _count(self, key: tuple[str, ...], now: dt.datetime) -> _Count:
        count = self._counts.get(key)
        if count is None:
            if len(self._counts) > 200_000:  # a flood of addresses or logins must not grow it for ever
                self._counts.clear()
            count = self._counts[key] = _Count()
        elif count.last is not None and now - count.last > self.forget:
            count.failures, count.last = 0, None
        return count

    def admit(self, login: str, address: str, device: str | None, now: dt.datetime) -> Ticket:
        """Reserve a failure in each count this attempt falls under, or refuse (``Slowed``) with nothing counted."""
        login_key = ("device", login, device) if device else ("login", login)
        keys = (("address", address), login_key)
        with self._lock:
            for key, limit in zip(keys, (self.address_limit, self.limit), strict=True):
                count = self._count(key, now)
                if count.last is not None:
                    until = count.last + delay(count.failures, limit, self.cap)
                    if now < until:
                        raise Slowed(key[0] if key[0] == "address" else "login", until)
            for key in keys:
                count = self._counts[key]
                count.failures += 1
                count.last = now
            starts = self._counts[login_key].failures == self.limit
        return Ticket(keys, login_key, starts)

    def settle(self, ticket: Ticket, ok: bool | None) -> bool:
        """The attempt's outcome: a success clears the login's count and gives the address its reservation back; a
        failure keeps both; ``None`` (not checked: the service was busy) gives both back. True when this failure
        is the one that starts slowing the login (its owner is then told)."""
        with self._lock:
            login_count = self._counts.get(ticket.login_key)
            address_count = self._counts.get(ticket.keys[0])
            if ok is None or ok:
                if address_count is not None:
                    address_count.failures = max(0, address_count.failures - 1)
                if login_count is not None:
                    login_count.failures = 0 if ok else max(0, login_count.failures - 1)
                return False
            return ticket.starts_slowing

    def forget_login(self, login: str) -> None:
        """An administrator reset the password or enabled the account: its strangers' count starts again."""
        with self._lock:
            self._counts.pop(("login", login), None)

    def verify(self, check: Callable[[], bool]) -> bool:
        """Run one password check in a bounded slot (``Busy`` when every slot and the queue are taken)."""
        if not self._admission.acquire(blocking=False):
            raise Busy()
        try:
            with self._running:
                with self._lock:
                    self.checks += 1
                    self.active += 1
                    self.peak = max(self.peak, self.active)
                started = time.perf_counter()
                try:
                    return check()
                finally:
                    took = time.perf_counter() - started
                    with self._lock:
                        self.active -= 1
                        self.pace = 0.8 * self.pace + 0.2 * took
        finally:
            self._admission.release()
