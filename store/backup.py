"""Online, consistent backups of a SQLite database with SQLite's own backup API (safe while serving)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine

from definitions import WorkflowError

from .files import FileStore


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



def backup_files(named: Iterable[str], source: FileStore, target: FileStore) -> tuple[int, int]:
    """Copy the attached files ``named`` (SHA-256s a history names) from ``source`` to ``target``, each checked
    against its name as it is read and stored the way every file is (``FileStore.put``: synced, renamed into
    place); returns (files, bytes). Files are written before the row that names them commits, so every named file
    exists unless the folder was damaged: then the files that could be copied are, and ``BackupFailed`` names the
    others."""
    copied, size, problems = 0, 0, []
    for digest in sorted(set(named)):
        try:
            data = source.path(digest).read_bytes()
        except ValueError:
            problems.append(f"{digest[:12]}… is not a SHA-256")
            continue
        except FileNotFoundError:
            problems.append(f"{digest[:12]}… is missing from {source.folder}")
            continue
        if hashlib.sha256(data).hexdigest() != digest:
            problems.append(f"{digest[:12]}… in {source.folder} was altered (its content has another hash)")
            continue
        target.put(data)
        copied, size = copied + 1, size + len(data)
    if problems:
        raise BackupFailed(f"the database was copied and {copied} attached files to {target.folder}, but "
                           f"{len(problems)} files its history names could not be: " + "; ".join(problems)
                           + " (audit verify lists the tasks they belong to)")
    return copied, size
