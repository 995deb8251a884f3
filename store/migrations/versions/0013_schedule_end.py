"""A schedule's end (issue 28): a revised plan that drops a recurring duty ends its schedule. The row stays (its
occurrences refer to it, and the history of what it started must stay readable); an ended schedule starts nothing.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.tables import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedules") as batch:
        batch.add_column(sa.Column("ended_at", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedules") as batch:
        batch.drop_column("ended_at")
