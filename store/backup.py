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


def backup_files(copy: Path, source_folder: Path, target_folder: Path) -> tuple[int, int]:
    """Copy every attached file that the database copy ``copy`` names (history rows' ``@files``) from the files
    folder ``source_folder`` to ``target_folder`` (laid out the same: ``<first two hex digits>/<SHA-256>``), each
    re-hashed as it is copied; returns (files, bytes). Files are written before the row that names them commits, so
    every file the copy names exists unless the folder was damaged: then the files that could be copied are, and
    ``BackupFailed`` names the others. Each file is written to a ``.partial`` name, synced and renamed."""
    import hashlib
    import json
    import os
    import re

    with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as db:
        rows = db.execute("""SELECT payload FROM history WHERE payload LIKE '%"@files"%'""").fetchall()
    named = sorted({str(f.get("sha256", "")) for (payload,) in rows for f in json.loads(payload).get("@files", ())
                    if isinstance(f, dict)})
    copied, size, problems = 0, 0, []
    for digest in named:
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            problems.append(f"{digest[:12]}… is not a SHA-256")
            continue
        origin = source_folder / digest[:2] / digest
        target = target_folder / digest[:2] / digest
        if target.is_file():
            copied, size = copied + 1, size + target.stat().st_size
            continue
        if not origin.is_file():
            problems.append(f"{digest[:12]}… is missing from {source_folder}")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(digest + ".partial")
        hashed = hashlib.sha256()
        try:
            with origin.open("rb") as src, partial.open("wb") as dst:
                for block in iter(lambda: src.read(1 << 20), b""):
                    hashed.update(block)
                    dst.write(block)
                dst.flush()
                os.fsync(dst.fileno())
            if hashed.hexdigest() != digest:
                problems.append(f"{digest[:12]}… in {source_folder} was altered (its content has another hash)")
                continue
            partial.rename(target)
        finally:
            partial.unlink(missing_ok=True)
        copied, size = copied + 1, size + target.stat().st_size
    if problems:
        raise BackupFailed(f"the database was copied to {copy} and {copied} attached files to {target_folder}, but "
                           f"{len(problems)} files its history names could not be: " + "; ".join(problems)
                           + " (audit verify lists the tasks they belong to)")
    return copied, size
