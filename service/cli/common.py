"""Plumbing shared by the ``workflow`` sub-command modules: options, error output, JSON arguments."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from definitions import WorkflowError
from workflow import Actor
from workflow.clock import PROVINCE_TZ
from workflow.errors import PayloadInvalid

from ..app import UseCases
from ..context import App
from ..errors import answer, context
from ..views import instant, local_time, typed_date

__all__ = ["FORCE_HELP", "Bar", "Column", "Options", "check_output", "date_arg", "emit", "emit_table", "fail",
           "instant", "json_arg", "local_time", "opts_of", "run", "visible", "written"]

FORCE_HELP = "Replace the --output file if it exists"

T = TypeVar("T")


@dataclass
class Options:
    app: App
    json: bool
    actor: Actor
    db_given: bool = False  # --db or WORKFLOW_DATABASE_URL was given (simulate then uses that database)

    @property
    def uses(self) -> UseCases:
        """The application layer: every command calls it, as the API and the pages do."""
        return self.app.uses


def opts_of(ctx: typer.Context) -> Options:
    return ctx.ensure_object(Options)


def fail(opts: Options, err: WorkflowError) -> NoReturn:
    """An error's message (``--json``: its class, message and context) and its exit code (``service.errors``)."""
    if opts.json:
        typer.echo(json.dumps({"error": type(err).__name__, "message": str(err), **context(err)}, ensure_ascii=False))
    else:
        typer.echo(f"error: {err}", err=True)
    raise typer.Exit(answer(err).exit)


def run(ctx: typer.Context, action: Callable[[Options], T]) -> T:
    """Run a command body; a ``WorkflowError`` becomes its message and the exit code of its kind."""
    opts = opts_of(ctx)
    try:
        return action(opts)
    except WorkflowError as err:
        fail(opts, err)


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # never written raw to a terminal: \x1b[... moves it


def visible(text: str) -> str:
    """Text for a terminal: control characters (an escape sequence, a bell, a carriage return stored in an old row)
    shown as ``\\xNN``, line breaks and tabs kept."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def emit(opts: Options, data: Any, text: str) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str) if opts.json else visible(text))


Column = tuple[str, Callable[[Any], Any]]  # a header (Vietnamese), and how a row shows in it


def emit_table(opts: Options, rows: Sequence[Any], columns: Sequence[Column], empty: str) -> None:
    """Rows as JSON (``--json``), or as a table with headers and aligned columns (``rich``); ``empty`` when
    there are none. Not on a terminal the table is not cut to 80 columns (a pipe or a file gets it whole)."""
    if opts.json:
        emit(opts, list(rows), "")
        return
    if not rows:
        typer.echo(empty)
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header, _ in columns:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*("" if (value := show(row)) is None else visible(str(value)) for _, show in columns))
    console = Console(width=None if sys.stdout.isatty() else 240, soft_wrap=False, highlight=False)
    console.print(table)


def json_arg(value: str | None, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as err:
        raise PayloadInvalid([(name, f"not valid JSON: {err.msg} at column {err.colno}")]) from None
    if not isinstance(parsed, dict):
        raise PayloadInvalid([(name, "must be a JSON object")])
    return parsed


class Bar:
    """A progress bar on standard error for long work (``with Bar(opts, "Xuất nhật ký", total) as bar:
    bar.advance(n)``). Shown only on a terminal and never with ``--json``: a pipe, a log file or a script sees
    nothing of it. Cleared when the work ends, so the command's own answer is what stays on the screen."""

    def __init__(self, opts: Options, what: str, total: int | None = None) -> None:
        self.live = not opts.json and sys.stderr.isatty()
        self._progress: Any = None
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), TimeRemainingColumn(),
                                      console=Console(stderr=True), transient=True)
            self._task = self._progress.add_task(what, total=total)

    def __enter__(self) -> Bar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def describe(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=text)


def check_output(path: Path | None, force: bool) -> None:
    """``--output`` names a file to create: one that exists is refused unless ``--force`` (checked before any work)."""
    if path is None:
        return
    if path.is_dir():
        raise PayloadInvalid([("--output", f"{path} is a folder; give a file name")])
    if path.exists() and not force:
        raise PayloadInvalid([("--output", f"{path} exists already; add --force to replace it")])


@contextmanager
def written(path: Path, force: bool, binary: bool = False) -> Iterator[IO[Any]]:
    """The ``--output`` file, written to a temporary file beside it and renamed into place when complete: an
    interrupted run leaves the old file (or none), never half of one."""
    check_output(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with (os.fdopen(descriptor, "wb") if binary
              else os.fdopen(descriptor, "w", encoding="utf-8", newline="")) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def date_arg(value: str, name: str) -> dt.date:
    """A date typed as YYYY-MM-DD or as people write it here, dd/mm/yyyy."""
    day = typed_date(value)
    if day is None:
        raise PayloadInvalid([(name, f"{value!r} is not a date (YYYY-MM-DD or dd/mm/yyyy)")])
    return day


def instant_arg(value: str, name: str) -> dt.datetime:
    """An instant (ISO 8601; without a zone it is province time)."""
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        raise PayloadInvalid([(name, f"{value!r} is not a date and time (YYYY-MM-DDTHH:MM)")]) from None
    return instant if instant.tzinfo else instant.replace(tzinfo=PROVINCE_TZ)
