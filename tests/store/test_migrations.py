"""The migrations build exactly the schema ``store/tables.py`` describes, and upgrade old databases."""

from __future__ import annotations

import sqlite3

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine as SqlEngine

from store import migrate, open_engine
from store.database import alembic_config
from store.tables import metadata


def test_migrated_schema_matches_the_tables(sql_engine: SqlEngine) -> None:
    with sql_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    # SQLite reports server defaults loosely; every other difference is a bug in a migration.
    assert [d for d in differences if d[0] != "modify_default"] == []


def test_upgrade_from_0001_keeps_instances_and_sets_their_entry(tmp_path: str) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = open_engine(url)
    command.upgrade(alembic_config(engine), "0001")
    raw = sqlite3.connect(f"{tmp_path}/old.db", isolation_level=None)
    raw.execute("INSERT INTO definitions VALUES ('d', 1, 'h', '{}', 't', 's', '2023-01-01 00:00:00')")
    raw.execute("INSERT INTO instances (id, definition_id, definition_version, business_key, state, version, "
                "assignee, data, created_at, updated_at, head_hash) VALUES (7, 'd', 1, 'k', 'x', 4, 'SYT', '{}', "
                "'2023-01-01 00:00:00', '2023-01-01 00:00:00', 'h')")
    raw.close()
    migrate(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT entry_seq, suspended_at FROM instances WHERE id = 7").one() == (
            4, None)
    engine.dispose()
