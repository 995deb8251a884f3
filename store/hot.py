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

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

from .tables import UTCDateTime

Processor = Callable[[Any], Any] | None


def bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor:
    """The column type's own converter, except an aware datetime on SQLite: formatted in one call to the text
    SQLAlchemy's DATETIME stores ("2023-01-02 02:00:00.000000", UTC), instead of its TypeDecorator and then a
    %-format of seven fields (``tests/store/test_hot.py`` compares the two)."""
    if isinstance(type_, UTCDateTime) and dialect.name == "sqlite":
        return sqlite_utc
    return type_.dialect_impl(dialect).bind_processor(dialect)


_last: tuple[dt.datetime | None, str] = (None, "")  # an event binds the same "now" about ten times


def sqlite_utc(value: dt.datetime) -> str:
    global _last
    last = _last
    if value is last[0]:
        return last[1]
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use timezone-aware UTC")
    utc = value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)
    text = utc.replace(tzinfo=None).isoformat(" ", "microseconds")
    _last = (value, text)
    return text


class HotStatement:
    """One statement compiled for one dialect, with its parameters' and result columns' converters."""

    def __init__(self, statement: ClauseElement, dialect: Dialect,
                 result_types: Sequence[TypeEngine[Any]] = ()) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        processors = {name: bind_processor(bind.type, dialect) for name, bind in compiled.binds.items()}
        # Literal values in the statement (``.values(status="cancelled")``) are binds that carry their value.
        self.literals = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        self.positional = compiled.positiontup is not None
        # Parameters in the order the driver wants them (positional styles) or by name (pyformat).
        self.order: list[tuple[str, Processor]] = [
            (name, processors[name]) for name in (compiled.positiontup or list(compiled.binds))]
        self.result: list[Processor] = [t.dialect_impl(dialect).result_processor(dialect, None) for t in result_types]
        self._convert = [(i, p) for i, p in enumerate(self.result) if p is not None]  # only columns that need it
        self._params = _builder(self.order, self.literals, self.positional)

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


def _builder(order: Sequence[tuple[str, Processor]], literals: dict[str, Any], positional: bool
             ) -> Callable[[dict[str, Any]], Any]:
    """The function that turns a statement's values into the driver's parameters, generated once per statement
    (issue 30: the per-event path runs no loop over the parameters and no dict merge; ~13 statements an event).
    Each value is taken by name and converted by its column type's processor when it has one and is not None; a
    literal bound in the statement is converted once, here, unless the caller gives a value of that name."""
    namespace: dict[str, Any] = {}
    parts = []
    for i, (name, processor) in enumerate(order):
        namespace[f"p{i}"] = processor
        key = repr(name)
        if name in literals:
            value = literals[name]
            namespace[f"l{i}"] = value if value is None or processor is None else processor(value)
            converted = (f"(values[{key}] if {key} in values else l{i})" if processor is None else
                         f"(l{i} if {key} not in values else None if (v{i} := values[{key}]) is None else p{i}(v{i}))")
        else:
            converted = f"values[{key}]" if processor is None else \
                f"(None if (v{i} := values[{key}]) is None else p{i}(v{i}))"
        parts.append(converted if positional else f"{key}: {converted}")
    body = f"({', '.join(parts)}{',' if len(parts) == 1 else ''})" if positional else f"{{{', '.join(parts)}}}"
    exec(f"def build(values):\n    return {body}\n", namespace)  # our own names and reprs only
    return namespace["build"]  # type: ignore[no-any-return]
