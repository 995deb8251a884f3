"""Plan imports (issue 28): a plan's Word document read into proposed duties, reviewed item by item, approved by a
second person, then loaded. The proposal and the reviewer's decisions are kept as JSON beside the document's
SHA-256 (the document itself is in the attached files' store), so an auditor sees what was proposed, what a person
changed and who approved it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.tables import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "plan_imports",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("proposal", sa.Text, nullable=False),
        sa.Column("decisions", sa.Text, nullable=False, server_default="{}"),
        sa.Column("settings", sa.Text, nullable=False, server_default="{}"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("imported_by", sa.String(200), nullable=False),
        sa.Column("imported_at", UTCDateTime, nullable=False),
        sa.Column("submitted_by", sa.String(200)),
        sa.Column("submitted_at", UTCDateTime),
        sa.Column("approved_by", sa.String(200)),
        sa.Column("approved_at", UTCDateTime),
        sa.Column("loaded_at", UTCDateTime),
        sa.Column("plan_id", sa.String(100)),
    )
    op.create_index("ix_plan_imports_status", "plan_imports", ["status"])


def downgrade() -> None:
    op.drop_index("ix_plan_imports_status", "plan_imports")
    op.drop_table("plan_imports")
