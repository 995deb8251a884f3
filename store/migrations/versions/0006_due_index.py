"""An index on instances.due_at alone: the dashboard lists the overdue and upcoming deadlines of every agency
in due order (the (assignee, due_at) index serves one agency at a time).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_instances_due", "instances", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_instances_due", "instances")
