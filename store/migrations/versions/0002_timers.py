"""Timers, escalations, the notification outbox, calendar overrides, contacts, recurring schedules.

Instances gain ``entry_seq`` (the history row that entered the current state: the fence that makes a
timer fire only for the state entry that armed it) and ``suspended_at`` (the legal clock is stopped).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("entry_seq", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("suspended_at", UTCDateTime, nullable=True))
    # Existing instances entered their state with their last state-changing row; before this
    # revision every row changed state, so that is the last row.
    op.execute("UPDATE instances SET entry_seq = version")
    op.create_table(
        "timers",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("instance_id", ID, sa.ForeignKey("instances.id"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("offset_days", sa.Integer, nullable=False),
        sa.Column("event", sa.String(64), nullable=True),
        sa.Column("fence", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("deadline", sa.Text, nullable=False),
        sa.Column("anchor", sa.String(40), nullable=False),
        sa.Column("extension", sa.Text, nullable=True),
        sa.Column("base_due", UTCDateTime, nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("remaining", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("fired_at", UTCDateTime, nullable=True),
        sa.Column("outcome", sa.Text, nullable=True),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("lease_until", UTCDateTime, nullable=True),
    )
    op.create_index("ix_timers_status_due", "timers", ['status', 'due_at'])
    op.create_index("ix_timers_instance", "timers", ['instance_id', 'status'])
    op.create_table(
        "escalations",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("instance_id", ID, sa.ForeignKey("instances.id"), nullable=False),
        sa.Column("timer_id", ID, sa.ForeignKey("timers.id"), nullable=True),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime, nullable=True),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_escalations_status", "escalations", ['status'])
    op.create_table(
        "outbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("instance_id", ID, sa.ForeignKey("instances.id"), nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("recipient", sa.Text, nullable=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("lease_until", UTCDateTime, nullable=True),
    )
    op.create_index("ix_outbox_status_next", "outbox", ['status', 'next_attempt_at'])
    op.create_table(
        "calendar_overrides",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "contacts",
        sa.Column("agency", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("webhook_url", sa.Text, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "schedules",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("definition_id", sa.String(100), nullable=False),
        sa.Column("cron", sa.String(100), nullable=False),
        sa.Column("assignees", sa.Text, nullable=False),
        sa.Column("key_template", sa.String(200), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("next_run_at", UTCDateTime, nullable=False),
        sa.Column("last_run_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("restore a backup instead of downgrading")
