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


def test_upgrade_from_0006_puts_the_registry_and_schedules_in_the_system_history(tmp_path: str) -> None:
    """Rows from before the system history get their events (0007, 0008), so verify finds nothing in an honest
    upgraded database and still finds a row planted or removed after the upgrade."""
    from store import SqlStore

    url = f"sqlite:///{tmp_path}/old.db"
    engine = open_engine(url)
    command.upgrade(alembic_config(engine), "0006")
    raw = sqlite3.connect(f"{tmp_path}/old.db", isolation_level=None)
    for code in ("SYT", "SNV"):
        raw.execute("INSERT INTO agencies VALUES (?, 'department', 'active', NULL, '2023-01-01 00:00:00')", (code,))
        raw.execute("INSERT INTO agency_names (code, name, short_name, valid_from) VALUES (?, ?, ?, '2020-01-01')",
                    (code, f"Sở {code}", code))
    raw.execute("INSERT INTO agency_changes (op, code, target, name, effective, document, certainty, note, moved, "
                "actor_id, applied_at) VALUES ('rename', 'SNV', NULL, 'Sở Nội vụ mới', '2024-01-01', '1/QĐ', "
                "'fact', NULL, 0, 'admin', '2024-01-01 00:00:00')")
    raw.execute("INSERT INTO schedules (name, definition_id, cron, assignees, key_template, data, next_run_at, "
                "created_at) VALUES ('yearly', 'annual_report', '0 8 1 10 *', '[\"SYT\"]', 'r/{year}/{agency}', '{}', "
                "'2024-10-01 01:00:00', '2023-01-01 00:00:00')")
    raw.close()
    migrate(engine)
    store = SqlStore(engine)
    assert store.integrity_problems() == []
    raw = sqlite3.connect(f"{tmp_path}/old.db", isolation_level=None)
    raw.execute("INSERT INTO agencies VALUES ('XXX', 'department', 'active', NULL, '2025-01-01 00:00:00')")
    raw.execute("UPDATE schedules SET assignees = '[\"SNV\"]'")
    raw.execute("DELETE FROM agency_changes")
    raw.close()
    found = store.integrity_problems()
    assert "agency XXX is not in the system history (planted)" in found
    assert "schedule 1 is not as the system history says" in found
    assert any(p.startswith("the registry's applied changes are not as the system history says: 0 not in it, "
                            "1 missing") for p in found), found
    engine.dispose()
