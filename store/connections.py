"""What every query mixin of ``SqlStore`` needs from it (the engine, a read connection, a write transaction, the
system history's statements), declared once; ``SqlStore`` provides them. The system history's prepared statements
live here too, so the modules that append to it and this one never import each other."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Connection, Dialect, Engine, Text, bindparam, insert, select

from .hot import HotStatement
from .tables import system_history


class SystemStatements:
    def __init__(self, dialect: Dialect) -> None:
        self.last = HotStatement(select(system_history.c.seq, system_history.c.hash)
                                 .order_by(system_history.c.seq.desc()).limit(1), dialect)
        self.insert = HotStatement(insert(system_history).values(
            {c.name: bindparam(c.name) for c in system_history.c}), dialect)
        self.last_of_event = HotStatement(
            select(system_history.c.at, system_history.c.payload).where(system_history.c.event == bindparam("b_event"))
            .order_by(system_history.c.seq.desc()).limit(1), dialect, [system_history.c.at.type, Text()])


class Connections:
    engine: Engine
    _system_sql: SystemStatements

    def _read(self) -> AbstractContextManager[Connection]:
        """A connection for reads (one snapshot while it is open)."""
        raise NotImplementedError

    def _begin(self) -> AbstractContextManager[Connection]:
        """A write transaction, committed when the block ends."""
        raise NotImplementedError
