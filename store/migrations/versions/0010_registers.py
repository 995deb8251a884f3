"""Registers of documents in and out (sổ văn bản đến / đi): each agency numbers its documents per direction and
year; a receipt recorded on a task is an entry of the agency's incoming register, an answer an entry of its
outgoing one; the province's e-office system posts receipts into it (idempotent by its own id).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.tables import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "registers",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("registered_on", sa.String(10), nullable=False),
        sa.Column("counterpart", sa.String(300), nullable=True),
        sa.Column("reference", sa.String(100), nullable=True),
        sa.Column("issued_on", sa.String(10), nullable=True),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("signer", sa.String(200), nullable=True),
        sa.Column("instance_id", ID, sa.ForeignKey("instances.id"), nullable=True),
        sa.Column("seq", sa.Integer, nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("agency", "direction", "year", "number", name="uq_registers_number"),
        sa.UniqueConstraint("source", "external_id", name="uq_registers_external"),
    )
    op.create_index("ix_registers_instance", "registers", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_registers_instance", table_name="registers")
    op.drop_table("registers")
