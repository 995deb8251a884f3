"""The system history: changes made outside instances (accounts, API keys, calendar overrides, contacts, the registry,
schedules), each an event in one append-only, hash-chained log written in the same transaction as the change.

Each row's hash is SHA-256 over ``0x00 || canonical(row without its hash)`` including the previous row's hash,
as for instance histories (``workflow.audit``). ``SqlStore.integrity_problems`` recomputes the chain and replays
the events that define a table's rows (keys, overrides, contacts, the registry, schedules) against the table,
so a key row planted or edited in the database file is found. The statements run on the DBAPI connection of
whatever transaction makes the change (a unit of work, or a SQLAlchemy transaction's own connection).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from workflow.audit import canonical, format_instant

from .connections import Connections, SystemStatements
from .digests import fingerprint
from .tables import (
    accounts,
    agencies,
    agency_changes,
    api_keys,
    calendar_overrides,
    contacts,
    scheduled_changes,
    schedules,
    system_history,
)

GENESIS = ""


def system_hash(seq: int, event: str, actor_id: str, at: dt.datetime, payload: Any, prev: str) -> str:
    fields = {"seq": seq, "event": event, "actor": actor_id, "at": format_instant(at), "payload": payload,
              "prev": prev}
    return hashlib.sha256(b"\x00" + canonical(fields)).hexdigest()


def append_system(dbapi: Any, sql: SystemStatements, event: str, actor_id: str, now: dt.datetime,
                  payload: dict[str, Any]) -> None:
    """Append one event to the system history inside the caller's transaction."""
    last = sql.last.first(dbapi, {})
    seq, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    body = json.loads(canonical(payload))  # as it will be read back
    sql.insert.run(dbapi, {"seq": seq, "event": event, "actor_id": actor_id, "at": now,
                           "payload": canonical(body).decode(), "prev_hash": prev,
                           "hash": system_hash(seq, event, actor_id, now, body, prev)})


@dataclass
class _Replay:
    """The tables the system history's events define, as the events leave them."""

    keys: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    overrides: dict[str, tuple[str, str]] = field(default_factory=dict)
    people: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    registered: set[str] = field(default_factory=set)
    changes: list[dict[str, Any]] = field(default_factory=list)
    scheduled: list[tuple[str, str | None]] = field(default_factory=list)
    plans: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    accounts: dict[int, dict[str, Any]] = field(default_factory=dict)

    def apply(self, event: str, payload: dict[str, Any]) -> None:
        if event == "key_created":
            self.keys[payload["id"]] = (payload["name"], payload["role"], payload["agency"], payload["key_hash"], False,
                                        payload.get("account"), payload.get("expires_at"))
        elif event == "key_revoked" and payload["id"] in self.keys:
            old = self.keys[payload["id"]]
            self.keys[payload["id"]] = (*old[:4], True, *old[5:])
        elif event.startswith("account_"):
            self._account(event, payload)
        elif event == "calendar_override":
            self.overrides[payload["day"]] = (payload["kind"], payload["reason"])
        elif event == "contact_set":
            self.people[payload["agency"]] = (payload["name"], payload["email"], payload["webhook_url"])
        elif event == "agency_registered":
            self.registered.add(payload["code"])
        elif event == "agency_change":
            self.changes.append({k: payload.get(k) for k in _CHANGE_FIELDS})
        elif event == "agency_change_scheduled":
            self.scheduled.append((payload["change"], payload["document"]))
        elif event == "schedule_added":
            self.plans[payload["id"]] = (payload["name"], payload["definition_id"], payload["cron"],
                                         list(payload["assignees"]), payload["key_template"], False)
        elif event == "schedule_changed" and payload["id"] in self.plans:  # a revised plan (migration 0013)
            name, definition_id, _, _, _, ended = self.plans[payload["id"]]
            to = payload["to"]
            self.plans[payload["id"]] = (name, definition_id, to["cron"], list(to["assignees"]), to["key_template"],
                                         ended)
        elif event == "schedule_ended" and payload["id"] in self.plans:
            self.plans[payload["id"]] = (*self.plans[payload["id"]][:5], True)


    def _account(self, event: str, payload: dict[str, Any]) -> None:
        if event == "account_created":
            self.accounts[payload["id"]] = {**{k: payload[k] for k in _ACCOUNT_FIELDS if k in payload},
                                            "totp": None, "disabled": False}
            return
        account = self.accounts.get(payload["id"])
        if account is None:
            return
        if event == "account_password_set":
            account["password"] = payload["password"]
        elif event == "account_totp_set":
            account["totp"] = payload["totp"]
        elif event in ("account_disabled", "account_enabled"):
            account["disabled"] = event == "account_disabled"
        elif event == "account_sso_bound":
            account["oidc_subject"] = payload["oidc_subject"]


_ACCOUNT_FIELDS = ("login", "name", "position", "role", "agency", "email", "password", "oidc_subject")


def _account_problems(connection: Connection, replay: _Replay) -> list[str]:
    stored = {r.id: {"login": r.login, "name": r.name, "position": r.position, "role": r.role, "agency": r.agency,
                     "email": r.email, "password": fingerprint(r.password_hash), "oidc_subject": r.oidc_subject,
                     "totp": fingerprint(r.totp_secret), "disabled": r.disabled_at is not None}
              for r in connection.execute(select(accounts))}
    problems = []
    for account_id in sorted(set(stored) | set(replay.accounts)):
        if stored.get(account_id) != replay.accounts.get(account_id):
            what = ("not in the system history (planted)" if account_id not in replay.accounts
                    else "not as the system history says")
            problems.append(f"account {account_id} is {what}")
    return problems


def system_problems(connection: Connection) -> list[str]:
    """The system history's chain recomputed, then the tables its events define compared with their replay:
    API keys (a key row planted or edited in the database is found), calendar overrides, contacts, the registry
    and its changes, the schedules."""
    problems: list[str] = []
    prev, expected = GENESIS, 1
    replay = _Replay()
    for row in connection.execute(select(system_history).order_by(system_history.c.seq)):
        payload = json.loads(row.payload)
        if row.seq != expected or row.prev_hash != prev or \
                system_hash(row.seq, row.event, row.actor_id, row.at, payload, row.prev_hash) != row.hash:
            problems.append(f"system history row {row.seq}: does not match its chain (removed, reordered or altered)")
            return problems
        prev, expected = row.hash, expected + 1
        replay.apply(row.event, payload)
    if expected == 1:
        return problems  # a database from before the system history (or without any such change yet)
    stored = {r.id: (r.name, r.role, r.agency, r.key_hash, r.revoked_at is not None, r.account_id,
                     None if r.expires_at is None else r.expires_at.isoformat())
              for r in connection.execute(select(api_keys))}
    for key_id in sorted(set(stored) | set(replay.keys)):
        if stored.get(key_id) != replay.keys.get(key_id):
            what = ("not in the system history (planted)" if key_id not in replay.keys
                    else "not as the system history says")
            problems.append(f"API key {key_id} is {what}")
    days = {r.day: (r.kind, r.reason) for r in connection.execute(select(calendar_overrides))}
    problems.extend(f"calendar override of {day} is not as the system history says"
                    for day in sorted(set(days) | set(replay.overrides)) if days.get(day) != replay.overrides.get(day))
    now = {r.agency: (r.name, r.email, r.webhook_url) for r in connection.execute(select(contacts))}
    problems.extend(f"contact of {code} is not as the system history says"
                    for code in sorted(set(now) | set(replay.people)) if now.get(code) != replay.people.get(code))
    problems.extend(_account_problems(connection, replay))
    problems.extend(_registry_problems(connection, replay))
    return problems


_CHANGE_FIELDS = ("op", "code", "target", "name", "effective", "document", "certainty", "note", "moved")


def _registry_problems(connection: Connection, replay: _Replay) -> list[str]:
    """The registry (agencies, their applied and scheduled changes) and the schedules against the events that
    made them: a row planted, deleted or edited in the database file is named."""
    problems: list[str] = []
    codes = {r.code for r in connection.execute(select(agencies.c.code))}
    problems.extend(f"agency {code} is not in the system history (planted)"
                    for code in sorted(codes - replay.registered))
    problems.extend(f"agency {code} is in the system history but not in the registry (deleted)"
                    for code in sorted(replay.registered - codes))
    # compared as collections: rows from before the system history got their events appended by migration 0008
    applied = Counter(canonical({k: r._mapping[k] for k in _CHANGE_FIELDS})
                      for r in connection.execute(select(agency_changes)))
    said = Counter(canonical(change) for change in replay.changes)
    if applied != said:
        extra, missing = sum((applied - said).values()), sum((said - applied).values())
        problems.append(f"the registry's applied changes are not as the system history says: {extra} not in it, "
                        f"{missing} missing (added, removed or edited behind the engine's back)")
    waiting = Counter((r.change, r.document) for r in connection.execute(
        select(scheduled_changes.c.change, scheduled_changes.c.document)))
    if waiting != Counter(replay.scheduled):
        problems.append("the scheduled registry changes are not as the system history says (added, removed or "
                        "edited behind the engine's back)")
    stored = {r.id: (r.name, r.definition_id, r.cron, json.loads(r.assignees), r.key_template,
                     r.ended_at is not None) for r in connection.execute(select(schedules))}
    problems.extend(f"schedule {i} is not as the system history says"
                    for i in sorted(set(stored) | set(replay.plans)) if stored.get(i) != replay.plans.get(i))
    return problems


class SystemRows:
    """The system history inside a unit of work (mixed into ``SqlUnitOfWork``)."""

    dbapi: Any
    system_sql: SystemStatements

    def last_system_event(self, event: str) -> tuple[dt.datetime, dict[str, Any]] | None:
        """When the latest system-history event of this kind was recorded, and its payload."""
        row = self.system_sql.last_of_event.first(self.dbapi, {"b_event": event})
        return None if row is None else (row[0], json.loads(row[1]))

    def append_system_event(self, event: str, actor_id: str, now: dt.datetime, payload: dict[str, Any]) -> None:
        append_system(self.dbapi, self.system_sql, event, actor_id, now, payload)


class SystemQueries(Connections):
    """The system history outside a transaction (mixed into ``SqlStore``)."""

    def last_system_event(self, event: str) -> tuple[dt.datetime, dict[str, Any]] | None:
        """When the latest system-history event of this kind was recorded, and its payload (a read)."""
        with self._read() as c:
            row = self._system_sql.last_of_event.first(c.connection.driver_connection, {"b_event": event})
        return None if row is None else (row[0], json.loads(row[1]))
