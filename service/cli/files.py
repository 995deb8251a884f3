"""``workflow files``: the attached files beside the database."""

from __future__ import annotations

import typer

from .common import (
    Options,
    emit,
    run,
)

files_cli = typer.Typer(no_args_is_help=True, help="The attached files (signed documents) beside the database.")


@files_cli.command("clean")
def files_clean(ctx: typer.Context) -> None:
    """Remove the files uploaded more than WORKFLOW_UNATTACHED_FILE_DAYS ago that no act attached (serve does it
    once a day by itself)."""
    def act(opts: Options) -> None:
        done = opts.uses.attachments.clean(opts.actor)
        emit(opts, {"removed": done}, "\n".join(done) or "nothing to remove")
    run(ctx, act)
