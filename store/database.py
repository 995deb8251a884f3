"""Opening a database: SQLAlchemy engines with the SQLite settings durability needs, and migrations.

SQLite: WAL journal, foreign keys on, a busy timeout, ``synchronous`` FULL by default, and every
write transaction opened with ``BEGIN IMMEDIATE`` so that a second writer waits for the lock (up to
the busy timeout) instead of failing when it upgrades a read lock: that upgrade is where "database
is locked" errors come from. pysqlite's own transaction handling is switched off for this (the
SQLAlchemy-documented recipe).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from definitions.vietnamese import fold

Synchronous = Literal["FULL", "NORMAL", "OFF", "EXTRA"]
MIGRATIONS = Path(__file__).parent / "migrations"


def _fold(text: Any) -> Any:
    return fold(text) if isinstance(text, str) else text


def open_engine(url: str, *, synchronous: Synchronous = "FULL", busy_timeout_ms: int = 30_000,
                pool_size: int = 10, create: bool = True) -> Engine:
    """An engine for ``url``; for SQLite the pragmas are set (and, with ``create``, the parent folder made)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    if create and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                           connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        dbapi_connection.create_function("wf_fold", 1, _fold, deterministic=True)  # store/folding.py
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        # Straight to the driver: the documented exec_driver_sql("BEGIN") costs ~25 µs more per event.
        connection.connection.driver_connection.execute(f"BEGIN {mode}")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    command.upgrade(alembic_config(engine), "head")


def schema_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
        return MigrationContext.configure(connection).get_current_revision()
