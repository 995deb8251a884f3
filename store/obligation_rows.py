"""Obligation rows of the unit of work (mixed into ``SqlUnitOfWork``), compiled once per dialect.

The ``obligations`` table is a cache of the obligation changes that history rows record (see
``workflow.obligations``): the status report counts it in one aggregate query; "as of" reports replay history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Dialect, bindparam, insert, select, update

from workflow.ports import ObligationRecord

from .hot import HotStatement
from .rows import obligation_from_row, obligation_values
from .tables import obligations

_WRITTEN = ("agency", "cooperating", "opened_seq", "opened_on", "started_on", "presumed", "last_day", "due_at",
            "status", "closed_on", "closed_seq")


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
                                                            **obligation_values(r)})
            else:
                self.obligation_sql.update.run(self.dbapi, {"b_id": r.id, **obligation_values(r)})
