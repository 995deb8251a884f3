"""The notification outbox and the contacts it is addressed from: the unit of work's rows (``OutboxRows``,
written in the transaction that decides a mail is owed) and the dispatcher's queries (``OutboxQueries``, mixed into
``SqlStore``).

The outbox is claimed with a lease (``claimed_by``, ``lease_until``): a dispatcher that dies mid-delivery
leaves rows that another pass takes over when the lease ends, and the message id stays the same so
the receiver can recognise a repeat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Dialect, and_, bindparam, func, insert, or_, select, update

from workflow.notify import Contact, OutboxMessage, OutboxStatus

from .connections import Connections
from .hot import HotStatement
from .rows import outbox_from_row
from .system_log import append_system
from .tables import contacts, outbox


class OutboxStatements:
    """The outbox's unit-of-work statements, compiled once for a dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.outbox_exists = HotStatement(select(outbox.c.id).where(outbox.c.message_id == bindparam("b_mid")),
                                          dialect)
        self.insert_outbox = HotStatement(insert(outbox).values(
            {c.name: bindparam(c.name) for c in outbox.c if c.name != "id"}), dialect)
        self.contact = HotStatement(select(contacts.c.agency, contacts.c.name, contacts.c.email,
                                           contacts.c.webhook_url).where(contacts.c.agency == bindparam("b_agency")),
                                    dialect)


class OutboxRows:
    """Unit-of-work methods of the outbox (mixed into ``SqlUnitOfWork``)."""

    dbapi: Any
    outbox_sql: OutboxStatements

    def insert_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        for m in messages:
            if self.outbox_sql.outbox_exists.first(self.dbapi, {"b_mid": m.message_id}) is not None:
                continue
            self.outbox_sql.insert_outbox.run(self.dbapi, {
                "created_at": m.created_at, "instance_id": m.instance_id, "kind": m.kind,
                "channel": m.channel.value, "recipient": m.recipient, "subject": m.subject, "body": m.body,
                "status": m.status.value, "attempts": m.attempts, "next_attempt_at": m.next_attempt_at,
                "last_error": m.last_error, "sent_at": m.sent_at, "message_id": m.message_id,
                "claimed_by": None, "lease_until": None})

    def contact(self, agency: str) -> Contact | None:
        row = self.outbox_sql.contact.first(self.dbapi, {"b_agency": agency})
        return None if row is None else Contact(*row)


class OutboxQueries(Connections):
    """The dispatcher's and the operators' reads and writes of the outbox and the contacts."""


    # -- outbox ----------------------------------------------------------------------------------

    def claim_outbox(self, now: dt.datetime, limit: int, claimer: str, lease: dt.timedelta) -> list[OutboxMessage]:
        """Pending messages due for an attempt and not leased by a live dispatcher, leased to ``claimer``."""
        free = or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now)
        with self._begin() as c:
            ids = [i for (i,) in c.execute(
                select(outbox.c.id).where(and_(outbox.c.status == OutboxStatus.PENDING.value,
                                               outbox.c.next_attempt_at <= now, free))
                .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit).with_for_update(skip_locked=True))]
            if not ids:
                return []
            c.execute(update(outbox).where(outbox.c.id.in_(ids)).values(claimed_by=claimer, lease_until=now + lease))
            return [outbox_from_row(tuple(r)) for r in c.execute(select(outbox).where(outbox.c.id.in_(ids))
                                                                 .order_by(outbox.c.id))]

    def outbox_delivered(self, message_id: int, now: dt.datetime) -> None:
        with self._begin() as c:
            c.execute(update(outbox).where(outbox.c.id == message_id).values(
                status=OutboxStatus.SENT.value, sent_at=now, attempts=outbox.c.attempts + 1, last_error=None,
                claimed_by=None, lease_until=None))

    def outbox_failed(self, message_id: int, error: str, retry_at: dt.datetime | None) -> None:
        """One failed attempt; ``retry_at`` None means give up (dead letter)."""
        status = OutboxStatus.PENDING if retry_at is not None else OutboxStatus.DEAD
        values: dict[str, Any] = {"status": status.value, "attempts": outbox.c.attempts + 1,
                                  "last_error": error[:2000], "claimed_by": None, "lease_until": None}
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        with self._begin() as c:
            c.execute(update(outbox).where(outbox.c.id == message_id).values(**values))

    def next_outbox_attempt(self) -> dt.datetime | None:
        query = select(func.min(outbox.c.next_attempt_at)).where(outbox.c.status == OutboxStatus.PENDING.value)
        with self._read() as c:
            value = c.execute(query).scalar()
        return None if value is None else value.replace(tzinfo=dt.UTC)

    def count_outbox(self) -> dict[str, int]:
        """Notifications by status."""
        with self._read() as c:
            return dict(c.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).tuples().all())

    def list_outbox(self, status: str | None = None, limit: int = 1000) -> list[OutboxMessage]:
        query = select(outbox).order_by(outbox.c.id).limit(limit)
        if status is not None:
            query = query.where(outbox.c.status == status)
        with self._read() as c:
            return [outbox_from_row(tuple(r)) for r in c.execute(query)]

    def retry_outbox(self, ids: Sequence[int] | None, now: dt.datetime) -> int:
        """Queue dead (or given) messages again with a fresh attempt count; how many."""
        where = outbox.c.status == OutboxStatus.DEAD.value
        if ids:
            where = and_(outbox.c.id.in_(list(ids)), outbox.c.status.in_([OutboxStatus.DEAD.value,
                                                                          OutboxStatus.PENDING.value]))
        with self._begin() as c:
            return c.execute(update(outbox).where(where).values(
                status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now, claimed_by=None,
                lease_until=None)).rowcount

    # -- contacts --------------------------------------------------------------------------------

    def set_contact(self, contact: Contact, now: dt.datetime, actor_id: str = "system") -> None:
        with self._begin() as c:
            c.execute(contacts.delete().where(contacts.c.agency == contact.agency))
            c.execute(insert(contacts).values(agency=contact.agency, name=contact.name, email=contact.email,
                                              webhook_url=contact.webhook_url, updated_at=now))
            append_system(c.connection.driver_connection, self._system_sql, "contact_set", actor_id, now, {
                "agency": contact.agency, "name": contact.name, "email": contact.email,
                "webhook_url": contact.webhook_url})

    def list_contacts(self) -> list[Contact]:
        with self._read() as c:
            return [Contact(*r) for r in c.execute(select(contacts.c.agency, contacts.c.name, contacts.c.email,
                                                          contacts.c.webhook_url).order_by(contacts.c.agency))]
