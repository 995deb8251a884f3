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
    Column("entry_seq", Integer, nullable=False, server_default="1"),  # seq of the row that entered `state`
    Column("suspended_at", UTCDateTime, nullable=True),
    Column("due_at", UTCDateTime, nullable=True),  # earliest open deadline (migration 0003)
    Column("effective_on", String(10), nullable=True),  # effective date of the latest event (migration 0007)
    UniqueConstraint("definition_id", "business_key", name="uq_instances_business_key"),
    Index("ix_instances_assignee_state", "assignee", "state"),
    Index("ix_instances_assignee_due", "assignee", "due_at"),
    Index("ix_instances_due", "due_at"),  # migration 0006
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
    Column("effective_on", String(10), nullable=True),  # the day the event took effect (migration 0007)
    Column("obligations", Text, nullable=True),  # JSON: what the event did to the obligations (migration 0007)
)

idempotency = Table(
    "idempotency", metadata,
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("instance_id", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instances.id"),
           nullable=False),
    Column("seq", Integer, nullable=False),
)

# -- timers, escalations, notifications, calendar, schedules (migration 0002) -----------------------

ID = BigInteger().with_variant(Integer, "sqlite")

timers = Table(
    "timers", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("instance_id", ID, ForeignKey("instances.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("offset_days", Integer, nullable=False),
    Column("event", String(64), nullable=True),
    Column("fence", Integer, nullable=False),  # instances.entry_seq when armed
    Column("status", String(20), nullable=False),  # pending, suspended, fired, cancelled, stale, failed
    Column("deadline", Text, nullable=False),  # the Deadline spec as JSON
    Column("anchor", String(40), nullable=False),  # ISO date or instant counting starts from
    Column("extension", Text, nullable=True),  # JSON of the last extension applied, kept across recomputes
    Column("base_due", UTCDateTime, nullable=False),  # end of the period (before a reminder's offset)
    Column("due_at", UTCDateTime, nullable=False),
    Column("remaining", Text, nullable=True),  # JSON while suspended
    Column("created_at", UTCDateTime, nullable=False),
    Column("fired_at", UTCDateTime, nullable=True),
    Column("outcome", Text, nullable=True),
    Column("claimed_by", String(100), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("obligation", String(64), nullable=True),  # armed for this obligation, not a state entry (0007)
    Index("ix_timers_status_due", "status", "due_at"),
    Index("ix_timers_instance", "instance_id", "status"),
)

registers = Table(  # migration 0010: each agency's registers of documents in and out (sổ văn bản đến / đi)
    "registers", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("agency", String(32), nullable=False),
    Column("direction", String(3), nullable=False),  # in, out
    Column("year", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Column("registered_on", String(10), nullable=False),
    Column("counterpart", String(300), nullable=True),
    Column("reference", String(100), nullable=True),
    Column("issued_on", String(10), nullable=True),
    Column("summary", Text, nullable=True),
    Column("signer", String(200), nullable=True),
    Column("instance_id", ID, ForeignKey("instances.id"), nullable=True),
    Column("seq", Integer, nullable=True),
    Column("source", String(20), nullable=False),
    Column("external_id", String(200), nullable=True),
    Column("fingerprint", String(64), nullable=True),
    Column("actor_id", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("agency", "direction", "year", "number", name="uq_registers_number"),
    UniqueConstraint("source", "external_id", name="uq_registers_external"),
    Index("ix_registers_instance", "instance_id"),
)

obligations = Table(  # migration 0007: a cache of the obligation changes written in history rows
    "obligations", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("instance_id", ID, ForeignKey("instances.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("agency", String(32), nullable=False),
    Column("cooperating", Text, nullable=False),  # JSON list of agency codes (phối hợp)
    Column("opened_seq", Integer, nullable=False),
    Column("opened_on", String(10), nullable=False),
    Column("started_on", String(10), nullable=False),
    Column("presumed", Integer, nullable=False),
    Column("last_day", String(10), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # open, satisfied, waived
    Column("closed_on", String(10), nullable=True),
    Column("closed_seq", Integer, nullable=True),
    UniqueConstraint("instance_id", "name", name="uq_obligations_instance_name"),
    Index("ix_obligations_status_due", "status", "due_at"),
    Index("ix_obligations_agency", "agency", "status"),
)

escalations = Table(
    "escalations", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("instance_id", ID, ForeignKey("instances.id"), nullable=False),
    Column("timer_id", ID, ForeignKey("timers.id"), nullable=True),
    Column("due_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # open, acknowledged
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", String(200), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_escalations_status", "status"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("instance_id", ID, ForeignKey("instances.id"), nullable=True),
    Column("kind", String(30), nullable=False),  # reminder, escalation
    Column("channel", String(20), nullable=False),  # email, webhook, none
    Column("recipient", Text, nullable=True),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(20), nullable=False),  # pending, sent, dead, no_contact
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("message_id", String(200), nullable=False),
    Column("claimed_by", String(100), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
)

calendar_overrides = Table(
    "calendar_overrides", metadata,
    Column("day", String(10), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

contacts = Table(
    "contacts", metadata,
    Column("agency", String(32), primary_key=True),
    Column("name", Text, nullable=True),
    Column("email", String(320), nullable=True),
    Column("webhook_url", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

schedules = Table(
    "schedules", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("definition_id", String(100), nullable=False),
    Column("cron", String(100), nullable=False),  # five fields, province time
    Column("assignees", Text, nullable=False),  # JSON list of agency codes
    Column("key_template", String(200), nullable=False),  # e.g. annual-report/{year}/{agency}
    Column("data", Text, nullable=False),
    Column("next_run_at", UTCDateTime, nullable=False),
    Column("last_run_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),  # migration 0013: a revised plan dropped it; starts nothing
)

# -- the agency registry (migration 0003) -----------------------------------------------------------

agencies = Table(
    "agencies", metadata,
    Column("code", String(32), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("status", String(20), nullable=False),  # active, merged, retired
    Column("successor", String(32), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

agency_names = Table(
    "agency_names", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("code", String(32), ForeignKey("agencies.code"), nullable=False),
    Column("name", Text, nullable=False),
    Column("short_name", Text, nullable=False),
    Column("valid_from", String(10), nullable=False),  # ISO date, province time
    Column("valid_to", String(10), nullable=True),  # exclusive; None while current
    Column("document", Text, nullable=True),
    Index("ix_agency_names_code", "code", "valid_from"),
)

agency_changes = Table(
    "agency_changes", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("op", String(10), nullable=False),
    Column("code", String(32), nullable=False),
    Column("target", String(32), nullable=True),  # into / successor
    Column("name", Text, nullable=True),
    Column("effective", String(10), nullable=False),
    Column("document", Text, nullable=True),
    Column("certainty", String(20), nullable=False),
    Column("note", Text, nullable=True),
    Column("moved", Integer, nullable=False),  # open instances moved
    Column("actor_id", String(200), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
    UniqueConstraint("op", "code", "effective", name="uq_agency_changes"),
)

scheduled_changes = Table(  # migration 0007: registry changes applied on their effective date, not when typed
    "scheduled_changes", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("change", Text, nullable=False),  # the Change as JSON
    Column("effective", String(10), nullable=False),
    Column("document", Text, nullable=True),
    Column("actor_id", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("applied_at", UTCDateTime, nullable=True),
    Column("outcome", Text, nullable=True),
    Index("ix_scheduled_changes_due", "applied_at", "effective"),
)

occurrences = Table(  # migration 0007: what each run of a schedule decided for each assignee, and why
    "occurrences", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("schedule_id", ID, ForeignKey("schedules.id"), nullable=False),
    Column("occurrence", String(10), nullable=False),  # ISO date, province time
    Column("agency", String(32), nullable=False),  # the schedule's assignee
    Column("assignee", String(32), nullable=True),  # who got it on that date (None: nobody)
    Column("business_key", String(200), nullable=True),
    Column("outcome", String(20), nullable=False),  # started, existing, skipped
    Column("note", Text, nullable=True),
    Column("decided_at", UTCDateTime, nullable=False),
    Index("ix_occurrences_schedule", "schedule_id", "occurrence"),
)

# -- the HTTP API (migration 0004) ----------------------------------------------------------------

accounts = Table(  # migration 0009: people who log in to the pages (machines use API keys)
    "accounts", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),  # họ và tên
    Column("position", String(200), nullable=True),  # chức vụ
    Column("role", String(20), nullable=False),
    Column("agency", String(32), nullable=True),  # officers only
    Column("email", String(320), nullable=True),
    Column("password_hash", String(200), nullable=True),  # Argon2id (argon2-cffi); None: single sign-on only
    Column("totp_secret", String(64), nullable=True),  # base32; None: no second factor
    Column("totp_last_step", BigInteger, nullable=True),  # the last 30-second step accepted: a code is used once
    Column("oidc_subject", String(255), nullable=True, unique=True),  # the identity provider's ``sub``
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime, nullable=True),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("agency", String(32), nullable=True),
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256 of a 256-bit random token
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("account_id", ID, ForeignKey("accounts.id"), nullable=True),  # its owner (0009; older keys: none)
    Column("expires_at", UTCDateTime, nullable=True),  # None: never (keys from before 0009)
    Column("last_used_at", UTCDateTime, nullable=True),  # written at most once an hour per key
)

web_sessions = Table(  # page log-ins (0005, tied to accounts since 0009); the cookie's token only as its SHA-256
    "web_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("stage", String(16), nullable=False, server_default="full"),  # 0011: full, second_factor, link
    Index("ix_web_sessions_account", "account_id"),
)

uploads = Table(  # migration 0011: who uploaded which file when (quota and clean-up of files never attached)
    "uploads", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False),
    Column("uploader", String(200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
    Index("ix_uploads_uploader", "uploader"),
    Index("ix_uploads_sha256", "sha256"),
)

plan_imports = Table(  # migration 0012: a plan's Word document proposed, reviewed, approved and loaded (issue 28)
    "plan_imports", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("proposal", Text, nullable=False),  # JSON: what the importer proposed (docs/plans.md)
    Column("decisions", Text, nullable=False, server_default="{}"),  # JSON: ref -> the reviewer's decision
    Column("settings", Text, nullable=False, server_default="{}"),  # JSON: the plan's id, title, date, standing body
    Column("status", String(16), nullable=False),  # review, submitted, approved, loaded, withdrawn
    Column("version", Integer, nullable=False, server_default="1"),
    Column("imported_by", String(200), nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("submitted_by", String(200)),
    Column("submitted_at", UTCDateTime),
    Column("approved_by", String(200)),
    Column("approved_at", UTCDateTime),
    Column("loaded_at", UTCDateTime),
    Column("plan_id", String(100)),
    Index("ix_plan_imports_status", "status"),
)


system_history = Table(  # migration 0007: changes outside instances, hash-chained (store/system_log.py)
    "system_history", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("event", String(64), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
