"""The schema as SQLAlchemy Core tables (the migrations in ``store/migrations`` create the same).

Instants are stored as naive UTC (``UTCDateTime`` adds and checks the zone); JSON is stored as text
in its canonical form so the bytes an auditor hashes are the bytes stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive values are refused."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]


metadata = MetaData()

definitions = Table(
    "definitions", metadata,
    Column("id", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("content", Text, nullable=False),  # canonical JSON of the checked model
    Column("title_vi", Text, nullable=False),
    Column("seed_section", String(100), nullable=False),
    Column("loaded_at", UTCDateTime, nullable=False),
)

instances = Table(
    "instances", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("definition_id", String(100), nullable=False),
    Column("definition_version", Integer, nullable=False),
    Column("business_key", String(200), nullable=False),
    Column("state", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("assignee", String(32), nullable=False),
    Column("data", Text, nullable=False),
    Column("parent_id", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instances.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("head_hash", String(64), nullable=False),
    UniqueConstraint("definition_id", "business_key", name="uq_instances_business_key"),
    Index("ix_instances_assignee_state", "assignee", "state"),
    Index("ix_instances_parent", "parent_id"),
    ForeignKeyConstraint(["definition_id", "definition_version"], ["definitions.id", "definitions.version"],
                         name="fk_instances_definition"),
)

history = Table(
    "history", metadata,
    Column("instance_id", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instances.id"),
           primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("event", String(64), nullable=False),
    Column("from_state", String(64), nullable=True),
    Column("to_state", String(64), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("actor_role", String(20), nullable=False),
    Column("actor_agency", String(32), nullable=True),
    Column("at", UTCDateTime, nullable=False),
    Column("payload", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("definition_id", String(100), nullable=False),
    Column("definition_version", Integer, nullable=False),
    Column("request_id", String(100), nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

idempotency = Table(
    "idempotency", metadata,
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("instance_id", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instances.id"),
           nullable=False),
    Column("seq", Integer, nullable=False),
)
