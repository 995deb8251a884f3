"""What every query mixin of ``SqlStore`` needs from it (the engine, a read connection, a write transaction, the
system history's statements), declared once; ``SqlStore`` provides them."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

if TYPE_CHECKING:
    from .system_log import SystemStatements


class Connections:
    engine: Engine
    _system_sql: SystemStatements

    def _read(self) -> AbstractContextManager[Connection]:
        """A connection for reads (one snapshot while it is open)."""
        raise NotImplementedError

    def _begin(self) -> AbstractContextManager[Connection]:
        """A write transaction, committed when the block ends."""
        raise NotImplementedError
