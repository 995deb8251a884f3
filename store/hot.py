"""Statements compiled once per dialect and run on a DBAPI connection: the per-event hot path.

Measured here: SQLAlchemy's ``Connection.execute`` of a pre-built statement costs ~20 µs against ~3 µs for
the driver's cursor, ``engine.begin()`` ~22 µs against ~8 µs for a pooled raw connection, and one event
runs five statements in one transaction; that overhead was larger than the engine's own work (README,
performance). So each hot statement is compiled once per dialect by SQLAlchemy, its parameters are
converted with the column types' own ``bind_processor`` (result columns with ``result_processor``), and
it runs on the DBAPI connection of the unit of work. The dialect's compiler picks the paramstyle, so
SQLite and PostgreSQL share this code; everything off the hot path uses plain Core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any] | None


class HotStatement:
    """One statement compiled for one dialect, with its parameters' and result columns' converters."""

    def __init__(self, statement: ClauseElement, dialect: Dialect,
                 result_types: Sequence[TypeEngine[Any]] = ()) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                      for name, bind in compiled.binds.items()}
        # Literal values in the statement (``.values(status="cancelled")``) are binds that carry their value.
        self.literals = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        self.positional = compiled.positiontup is not None
        # Parameters in the order the driver wants them (positional styles) or by name (pyformat).
        self.order: list[tuple[str, Processor]] = [
            (name, processors[name]) for name in (compiled.positiontup or list(compiled.binds))]
        self.result: list[Processor] = [t.dialect_impl(dialect).result_processor(dialect, None) for t in result_types]
        self._convert = [(i, p) for i, p in enumerate(self.result) if p is not None]  # only columns that need it

    def _params(self, values: dict[str, Any]) -> Any:
        if self.literals:
            values = {**self.literals, **values}
        if self.positional:  # SQLite's qmark: a tuple, built in one pass (this runs ~6 times per event)
            return tuple(v if (v := values[name]) is None or p is None else p(v) for name, p in self.order)
        return {name: v if (v := values[name]) is None or p is None else p(v) for name, p in self.order}

    def _row(self, row: Sequence[Any]) -> tuple[Any, ...]:
        if not self._convert:
            return tuple(row)
        if len(row) != len(self.result):
            raise ValueError(f"expected {len(self.result)} columns, the driver returned {len(row)}")
        values = list(row)
        for i, p in self._convert:
            if values[i] is not None:
                values[i] = p(values[i])
        return tuple(values)

    def first(self, connection: Any, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """Execute on a DBAPI connection; the first row, converted, or None."""
        cursor = connection.cursor()
        try:
            cursor.execute(self.sql, self._params(values))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else self._row(row)

    def all(self, connection: Any, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Execute on a DBAPI connection; every row, converted."""
        cursor = connection.cursor()
        try:
            cursor.execute(self.sql, self._params(values))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return [self._row(row) for row in rows]

    def iterate(self, connection: Any, values: dict[str, Any], size: int = 2000) -> Iterator[tuple[Any, ...]]:
        """Execute on a DBAPI connection; every row, converted, fetched ``size`` at a time."""
        cursor = connection.cursor()
        try:
            cursor.execute(self.sql, self._params(values))
            while rows := cursor.fetchmany(size):
                for row in rows:
                    yield self._row(row)
        finally:
            cursor.close()

    def many(self, connection: Any, values: Sequence[dict[str, Any]]) -> None:
        """Execute once per set of values on a DBAPI connection (the driver's ``executemany``)."""
        cursor = connection.cursor()
        try:
            cursor.executemany(self.sql, [self._params(v) for v in values])
        finally:
            cursor.close()

    def run(self, connection: Any, values: dict[str, Any]) -> int:
        """Execute on a DBAPI connection; the number of rows affected."""
        cursor = connection.cursor()
        try:
            cursor.execute(self.sql, self._params(values))
            return int(cursor.rowcount)
        finally:
            cursor.close()
