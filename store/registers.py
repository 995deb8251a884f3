"""The agencies' registers of documents in and out (sổ văn bản đến / đi): the unit of work's rows (an entry
written in the transaction of the act it belongs to, numbered there) and the store's reads (an agency's register
for a year). Numbers run per agency, direction and year; the unique constraint makes two writers that took the
same number lose cleanly (the second is a conflict, nothing written)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Dialect, Engine, and_, bindparam, func, insert, select

from workflow.ports import RegisterEntry

from .hot import HotStatement
from .tables import registers

_COLUMNS = [c for c in registers.c]


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def entry_from_row(r: Sequence[Any]) -> RegisterEntry:
    m = dict(zip([c.name for c in _COLUMNS], r, strict=True))
    return RegisterEntry(
        id=m["id"], agency=m["agency"], direction=m["direction"], number=m["number"],
        registered_on=dt.date.fromisoformat(m["registered_on"]), counterpart=m["counterpart"],
        reference=m["reference"], issued_on=dt.date.fromisoformat(m["issued_on"]) if m["issued_on"] else None,
        summary=m["summary"], signer=m["signer"], instance_id=m["instance_id"], seq=m["seq"], source=m["source"],
        external_id=m["external_id"], fingerprint=m["fingerprint"], actor_id=m["actor_id"],
        created_at=m["created_at"])


class RegisterStatements:
    def __init__(self, dialect: Dialect) -> None:
        types = [c.type for c in _COLUMNS]
        self.insert = HotStatement(insert(registers).values(
            {c.name: bindparam(c.name) for c in _COLUMNS if c.name != "id"}).returning(registers.c.id), dialect)
        self.last_number = HotStatement(select(func.max(registers.c.number)).where(and_(
            registers.c.agency == bindparam("b_agency"), registers.c.direction == bindparam("b_direction"),
            registers.c.year == bindparam("b_year"))), dialect)
        self.by_external = HotStatement(select(*_COLUMNS).where(and_(
            registers.c.source == bindparam("b_source"), registers.c.external_id == bindparam("b_external"))),
            dialect, types)


class RegisterRows:
    """Unit-of-work methods (mixed into ``SqlUnitOfWork``)."""

    dbapi: Any
    register_sql: RegisterStatements

    def register_document(self, entry: RegisterEntry) -> RegisterEntry:
        number = entry.number
        if number == 0:
            last = self.register_sql.last_number.first(self.dbapi, {
                "b_agency": entry.agency, "b_direction": entry.direction, "b_year": entry.year})
            number = int(last[0] or 0) + 1 if last is not None else 1
        values = {"agency": entry.agency, "direction": entry.direction, "year": entry.year, "number": number,
                  "registered_on": entry.registered_on.isoformat(), "counterpart": entry.counterpart,
                  "reference": entry.reference, "issued_on": _day(entry.issued_on), "summary": entry.summary,
                  "signer": entry.signer, "instance_id": entry.instance_id, "seq": entry.seq, "source": entry.source,
                  "external_id": entry.external_id, "fingerprint": entry.fingerprint, "actor_id": entry.actor_id,
                  "created_at": entry.created_at}
        row = self.register_sql.insert.first(self.dbapi, values)
        assert row is not None
        return RegisterEntry(**{**entry.__dict__, "number": number, "id": int(row[0])})

    def find_register_entry(self, source: str, external_id: str) -> RegisterEntry | None:
        row = self.register_sql.by_external.first(self.dbapi, {"b_source": source, "b_external": external_id})
        return None if row is None else entry_from_row(row)


class RegisterQueries:
    """Store methods (mixed into ``SqlStore``)."""

    engine: Engine

    def register_entries(self, agency: str | None = None, direction: str | None = None, year: int | None = None,
                         limit: int = 500) -> list[RegisterEntry]:
        """An agency's register (or every agency's), newest year and number first."""
        query = select(*_COLUMNS)
        if agency is not None:
            query = query.where(registers.c.agency == agency)
        if direction is not None:
            query = query.where(registers.c.direction == direction)
        if year is not None:
            query = query.where(registers.c.year == year)
        query = query.order_by(registers.c.year.desc(), registers.c.direction, registers.c.number.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [entry_from_row(tuple(r)) for r in connection.execute(query)]
