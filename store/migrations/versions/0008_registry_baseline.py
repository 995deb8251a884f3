"""The registry and the schedules in the system history: agencies, applied and scheduled registry changes and
schedules that exist without the event that made them (rows from before migration 0007 started the system
history) get that event now, by ``system:migration-0008``, so that verify compares them with its replay.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FIELDS = ("op", "code", "target", "name", "effective", "document", "certainty", "note", "moved")


def upgrade() -> None:
    from store.connections import SystemStatements
    from store.system_log import append_system
    from workflow.audit import canonical

    bind = op.get_bind()
    # a migration has no injected clock: the baseline is stamped with the moment of the upgrade itself
    dbapi, sql, now = bind.connection.driver_connection, SystemStatements(bind.dialect), dt.datetime.now(dt.UTC)
    actor = "system:migration-0008"
    events = [(e, json.loads(p)) for e, p in bind.execute(sa.text(
        "SELECT event, payload FROM system_history ORDER BY seq"))]
    registered = {p["code"] for e, p in events if e == "agency_registered"}
    for code, kind in bind.execute(sa.text("SELECT code, kind FROM agencies ORDER BY code")):
        if code in registered:
            continue
        name, short_name, valid_from = bind.execute(sa.text(
            "SELECT name, short_name, valid_from FROM agency_names WHERE code = :c ORDER BY valid_from, id LIMIT 1"),
            {"c": code}).one()
        append_system(dbapi, sql, "agency_registered", actor, now, {
            "code": code, "kind": kind, "name": name, "short_name": short_name, "valid_from": valid_from})
    logged = Counter(canonical({k: p.get(k) for k in FIELDS}) for e, p in events if e == "agency_change")
    for row in bind.execute(sa.text(f"SELECT {', '.join(FIELDS)} FROM agency_changes ORDER BY id")):
        values = dict(zip(FIELDS, row, strict=True))
        if logged[canonical(values)] > 0:
            logged[canonical(values)] -= 1
            continue
        append_system(dbapi, sql, "agency_change", actor, now, values)
    waiting = Counter((p["change"], p["document"]) for e, p in events if e == "agency_change_scheduled")
    for change, document in bind.execute(sa.text("SELECT change, document FROM scheduled_changes ORDER BY id")):
        if waiting[(change, document)] > 0:
            waiting[(change, document)] -= 1
            continue
        append_system(dbapi, sql, "agency_change_scheduled", actor, now, {"change": change, "document": document})
    planned = {p["id"] for e, p in events if e == "schedule_added"}
    for row in bind.execute(sa.text(
            "SELECT id, name, definition_id, cron, assignees, key_template FROM schedules ORDER BY id")):
        if row.id in planned:
            continue
        append_system(dbapi, sql, "schedule_added", actor, now, {
            "id": row.id, "name": row.name, "definition_id": row.definition_id, "cron": row.cron,
            "assignees": json.loads(row.assignees), "key_template": row.key_template})


def downgrade() -> None:
    """The events stay: the system history is append-only (its triggers refuse a delete)."""
