"""Obligations and two clocks: the obligations table (a cache of the obligation changes that history rows now
record), each history row's effective date and obligation changes, each instance's latest effective date,
timers armed for an obligation, registry changes scheduled for their effective date, and the decisions of
each schedule run. Rows written before keep NULL in the new columns (their hashes do not cover them).
``system_history`` starts: changes outside instances, hash-chained and append-only. ``api_requests`` goes:
an HTTP Idempotency-Key is now the engine's own, checked and recorded inside the event's
transaction (one write transaction per request, one mechanism).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.add_column("instances", sa.Column("effective_on", sa.String(10), nullable=True))
    op.add_column("history", sa.Column("effective_on", sa.String(10), nullable=True))
    op.add_column("history", sa.Column("obligations", sa.Text, nullable=True))
    op.add_column("timers", sa.Column("obligation", sa.String(64), nullable=True))
    op.create_table(
        "obligations",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("instance_id", ID, sa.ForeignKey("instances.id"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("cooperating", sa.Text, nullable=False),
        sa.Column("opened_seq", sa.Integer, nullable=False),
        sa.Column("opened_on", sa.String(10), nullable=False),
        sa.Column("started_on", sa.String(10), nullable=False),
        sa.Column("presumed", sa.Integer, nullable=False),
        sa.Column("last_day", sa.String(10), nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("closed_on", sa.String(10), nullable=True),
        sa.Column("closed_seq", sa.Integer, nullable=True),
        sa.UniqueConstraint("instance_id", "name", name="uq_obligations_instance_name"),
    )
    op.create_index("ix_obligations_status_due", "obligations", ["status", "due_at"])
    op.create_index("ix_obligations_agency", "obligations", ["agency", "status"])
    op.create_table(
        "scheduled_changes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("change", sa.Text, nullable=False),
        sa.Column("effective", sa.String(10), nullable=False),
        sa.Column("document", sa.Text, nullable=True),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("applied_at", UTCDateTime, nullable=True),
        sa.Column("outcome", sa.Text, nullable=True),
    )
    op.create_index("ix_scheduled_changes_due", "scheduled_changes", ["applied_at", "effective"])
    op.create_table(
        "occurrences",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("schedule_id", ID, sa.ForeignKey("schedules.id"), nullable=False),
        sa.Column("occurrence", sa.String(10), nullable=False),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("assignee", sa.String(32), nullable=True),
        sa.Column("business_key", sa.String(200), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("decided_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_occurrences_schedule", "occurrences", ["schedule_id", "occurrence"])
    op.drop_table("api_requests")
    op.create_table(
        "system_history",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    _baseline()
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER system_history_no_{verb.lower()} BEFORE {verb} ON system_history "
                       f"BEGIN SELECT RAISE(ABORT, 'system history is append-only: {verb} refused'); END")
    else:
        op.execute("CREATE TRIGGER system_history_no_change BEFORE UPDATE OR DELETE ON system_history "
                   "FOR EACH ROW EXECUTE FUNCTION history_append_only()")


def _baseline() -> None:
    """The keys, overrides and contacts that exist at the upgrade, as the system history's first events (by
    ``system:migration-0007``), so verify compares later changes with a known start."""
    import datetime as dt

    from store.connections import SystemStatements
    from store.system_log import append_system

    bind = op.get_bind()
    # a migration has no injected clock: the baseline is stamped with the moment of the upgrade itself
    dbapi, sql, now = bind.connection.driver_connection, SystemStatements(bind.dialect), dt.datetime.now(dt.UTC)
    actor = "system:migration-0007"
    for key in bind.execute(sa.text("SELECT id, name, role, agency, key_hash, revoked_at FROM api_keys ORDER BY id")):
        append_system(dbapi, sql, "key_created", actor, now, {"id": key.id, "name": key.name, "role": key.role,
                                                             "agency": key.agency, "key_hash": key.key_hash})
        if key.revoked_at is not None:
            append_system(dbapi, sql, "key_revoked", actor, now, {"id": key.id})
    for day in bind.execute(sa.text("SELECT day, kind, reason FROM calendar_overrides ORDER BY day")):
        append_system(dbapi, sql, "calendar_override", actor, now,
                      {"day": day.day, "kind": day.kind, "reason": day.reason})
    for c in bind.execute(sa.text("SELECT agency, name, email, webhook_url FROM contacts ORDER BY agency")):
        append_system(dbapi, sql, "contact_set", actor, now,
                      {"agency": c.agency, "name": c.name, "email": c.email, "webhook_url": c.webhook_url})


def downgrade() -> None:
    op.drop_table("system_history")
    op.create_table(
        "api_requests",
        sa.Column("key_id", ID, sa.ForeignKey("api_keys.id"), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.drop_table("occurrences")
    op.drop_table("scheduled_changes")
    op.drop_table("obligations")
    with op.batch_alter_table("timers") as batch:
        batch.drop_column("obligation")
    with op.batch_alter_table("history") as batch:
        batch.drop_column("obligations")
        batch.drop_column("effective_on")
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("effective_on")
