"""Obligation rows of the unit of work (mixed into ``SqlUnitOfWork``), compiled once per dialect.

The ``obligations`` table is a cache of the obligation changes that history rows record (see
``workflow.obligations``): the status report counts it in one aggregate query; "as of" reports replay history.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Dialect, bindparam, insert, select, update

from workflow.ports import ObligationRecord, ObligationStatus

from .hot import HotStatement
from .tables import obligations

OBLIGATION_COLUMNS = [c.name for c in obligations.c]
_WRITTEN = ("agency", "cooperating", "opened_seq", "opened_on", "started_on", "presumed", "last_day", "due_at",
            "status", "closed_on", "closed_seq")


def obligation_from_row(row: Sequence[Any]) -> ObligationRecord:
    m = dict(zip(OBLIGATION_COLUMNS, row, strict=True))
    return ObligationRecord(
        id=m["id"], instance_id=m["instance_id"], name=m["name"], agency=m["agency"],
        cooperating=tuple(json.loads(m["cooperating"])), opened_seq=m["opened_seq"],
        opened_on=dt.date.fromisoformat(m["opened_on"]), started_on=dt.date.fromisoformat(m["started_on"]),
        presumed=bool(m["presumed"]), last_day=dt.date.fromisoformat(m["last_day"]), due_at=m["due_at"],
        status=ObligationStatus(m["status"]),
        closed_on=dt.date.fromisoformat(m["closed_on"]) if m["closed_on"] else None, closed_seq=m["closed_seq"])


def _values(r: ObligationRecord) -> dict[str, Any]:
    return {"agency": r.agency, "cooperating": json.dumps(list(r.cooperating)), "opened_seq": r.opened_seq,
            "opened_on": r.opened_on.isoformat(), "started_on": r.started_on.isoformat(), "presumed": int(r.presumed),
            "last_day": r.last_day.isoformat(), "due_at": r.due_at, "status": r.status.value,
            "closed_on": r.closed_on.isoformat() if r.closed_on else None, "closed_seq": r.closed_seq}


class ObligationStatements:
    def __init__(self, dialect: Dialect) -> None:
        self.of_instance = HotStatement(select(obligations).where(obligations.c.instance_id == bindparam("b_instance"))
                                        .order_by(obligations.c.id), dialect, [c.type for c in obligations.c])
        self.insert = HotStatement(insert(obligations).values(
            {c.name: bindparam(c.name) for c in obligations.c if c.name != "id"}), dialect)
        self.update = HotStatement(update(obligations).where(obligations.c.id == bindparam("b_id")).values(
            {c: bindparam(c) for c in _WRITTEN}), dialect)


class ObligationRows:
    dbapi: Any
    obligation_sql: ObligationStatements

    def obligations_of(self, instance_id: int) -> list[ObligationRecord]:
        return [obligation_from_row(r) for r in self.obligation_sql.of_instance.all(self.dbapi,
                                                                                    {"b_instance": instance_id})]

    def save_obligations(self, records: Sequence[ObligationRecord]) -> None:
        for r in records:
            if r.id == 0:
                self.obligation_sql.insert.run(self.dbapi, {"instance_id": r.instance_id, "name": r.name,
                                                            **_values(r)})
            else:
                self.obligation_sql.update.run(self.dbapi, {"b_id": r.id, **_values(r)})
