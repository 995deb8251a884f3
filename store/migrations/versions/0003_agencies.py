"""The agency registry: agencies, their names over time, and the log of renames, mergers and retirements;
and each instance's current deadline (``instances.due_at``) for overdue lists.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("due_at", UTCDateTime, nullable=True))
    op.create_index("ix_instances_assignee_due", "instances", ["assignee", "due_at"])
    op.execute("UPDATE instances SET due_at = (SELECT min(t.base_due) FROM timers t WHERE t.instance_id = instances.id "
               "AND t.status = 'pending' AND t.kind != 'reminder')")
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("successor", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "agency_names",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(32), sa.ForeignKey("agencies.code"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("short_name", sa.Text, nullable=False),
        sa.Column("valid_from", sa.String(10), nullable=False),
        sa.Column("valid_to", sa.String(10), nullable=True),
        sa.Column("document", sa.Text, nullable=True),
    )
    op.create_index("ix_agency_names_code", "agency_names", ["code", "valid_from"])
    op.create_table(
        "agency_changes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("op", sa.String(10), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("target", sa.String(32), nullable=True),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("effective", sa.String(10), nullable=False),
        sa.Column("document", sa.Text, nullable=True),
        sa.Column("certainty", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("moved", sa.Integer, nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("applied_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("op", "code", "effective", name="uq_agency_changes"),
    )


def downgrade() -> None:
    raise NotImplementedError("restore a backup instead of downgrading")
