"""Online, consistent backups of a SQLite database with SQLite's own backup API (safe while serving)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine

from definitions import WorkflowError


class BackupFailed(WorkflowError):
    pass


def backup_sqlite(engine: Engine, target: Path) -> int:
    """Copy the live database to ``target`` (which must not exist); returns its size in bytes.

    The copy is written to ``target`` + ``.partial`` and renamed when complete, so a crash never leaves
    something that looks like a finished backup."""
    if engine.dialect.name != "sqlite":
        raise BackupFailed("workflow backup copies SQLite files; back up PostgreSQL with pg_dump")
    source = engine.url.database
    if not source or source == ":memory:":
        raise BackupFailed("an in-memory database cannot be backed up")
    if target.exists():
        raise BackupFailed(f"{target} exists already; choose a new file name")
    partial = target.with_name(target.name + ".partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(partial) as dst:
            src.backup(dst, pages=1024)
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupFailed(f"the copy failed its integrity check: {check}")
        partial.rename(target)
    except sqlite3.Error as err:
        raise BackupFailed(f"backup to {target} failed: {err}") from err
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size
