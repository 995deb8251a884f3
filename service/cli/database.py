"""``workflow init`` and ``workflow backup``: the database itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import (
    Options,
    emit,
    run,
)


def init(ctx: typer.Context) -> None:
    """Create the database (or upgrade its schema to this version)."""
    def act(opts: Options) -> None:
        revision = opts.app.init()
        url = opts.app.settings.database_url
        emit(opts, {"database": url, "schema_revision": revision}, f"database {url} at schema {revision}")
    run(ctx, act)


def backup(ctx: typer.Context, path: Annotated[Path, typer.Argument(help="The new backup file")]) -> None:
    """Copy the SQLite database to PATH online and consistently (the service may keep running), and the attached
    files its history names to PATH.files (where a database at PATH looks for them by default)."""
    from store.backup import backup_files, backup_sqlite
    from store.files import FileStore

    def act(opts: Options) -> None:
        size = backup_sqlite(opts.app.sql_engine, path)
        folder = path.with_name(path.name + ".files")
        # the files the live history names after the copy: every row of the copy, and perhaps a few newer ones
        files, file_bytes = backup_files((sha for _, _, sha in opts.app.store.named_files()), opts.app.files,
                                         FileStore(folder))
        emit(opts, {"file": str(path), "bytes": size, "files_folder": str(folder), "files": files,
                    "files_bytes": file_bytes},
             f"backup written to {path} ({size:,} bytes)"
             + (f" and {files} attached files to {folder} ({file_bytes:,} bytes)" if files else ""))
    run(ctx, act)
