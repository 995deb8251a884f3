"""Definitions, instances, the append-only hash-chained history, idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER history_no_update BEFORE UPDATE ON history "
    "BEGIN SELECT RAISE(ABORT, 'history is append-only: UPDATE refused'); END",
    "CREATE TRIGGER history_no_delete BEFORE DELETE ON history "
    "BEGIN SELECT RAISE(ABORT, 'history is append-only: DELETE refused'); END",
]
POSTGRES_APPEND_ONLY = [
    "CREATE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'history is append-only: % refused', TG_OP; END $$",
    "CREATE TRIGGER history_no_change BEFORE UPDATE OR DELETE ON history "
    "FOR EACH ROW EXECUTE FUNCTION history_append_only()",
    "CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON history "
    "FOR EACH STATEMENT EXECUTE FUNCTION history_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "definitions",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("title_vi", sa.Text, nullable=False),
        sa.Column("seed_section", sa.String(100), nullable=False),
        sa.Column("loaded_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "instances",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("definition_id", sa.String(100), nullable=False),
        sa.Column("definition_version", sa.Integer, nullable=False),
        sa.Column("business_key", sa.String(200), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("assignee", sa.String(32), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("parent_id", ID, sa.ForeignKey("instances.id"), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("definition_id", "business_key", name="uq_instances_business_key"),
        sa.ForeignKeyConstraint(["definition_id", "definition_version"],
                                ["definitions.id", "definitions.version"], name="fk_instances_definition"),
    )
    op.create_index("ix_instances_assignee_state", "instances", ["assignee", "state"])
    op.create_index("ix_instances_parent", "instances", ["parent_id"])
    op.create_table(
        "history",
        sa.Column("instance_id", ID, sa.ForeignKey("instances.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(64), nullable=True),
        sa.Column("to_state", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("actor_agency", sa.String(32), nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("definition_id", sa.String(100), nullable=False),
        sa.Column("definition_version", sa.Integer, nullable=False),
        sa.Column("request_id", sa.String(100), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "idempotency",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("instance_id", ID, sa.ForeignKey("instances.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
    )
    statements = SQLITE_APPEND_ONLY if op.get_bind().dialect.name == "sqlite" else POSTGRES_APPEND_ONLY
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the audit history is never dropped; restore a backup instead")
