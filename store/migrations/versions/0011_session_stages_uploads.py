"""Session stages and uploads (issue 26).

``web_sessions.stage``: ``full`` (a log-in), ``second_factor`` (single sign-on done, our own TOTP code still to
come: no page opens with it) or ``link`` (a person who has just typed their password and code again is off to the
identity provider to link their identity to their account: the callback binds it only through this row).

``uploads``: who uploaded which file when, so each account's files never attached to an act have a quota and are
removed after ``WORKFLOW_UNATTACHED_FILE_DAYS``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.tables import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(sa.Column("stage", sa.String(16), nullable=False, server_default="full"))
    op.create_table(
        "uploads",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploader", sa.String(200), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("uploaded_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_uploads_uploader", "uploads", ["uploader"])
    op.create_index("ix_uploads_sha256", "uploads", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_uploads_sha256", "uploads")
    op.drop_index("ix_uploads_uploader", "uploads")
    op.drop_table("uploads")
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_column("stage")
