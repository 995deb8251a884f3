"""``workflow definitions``: check, load and show workflow definitions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from definitions import DefinitionInvalid, definition_files, load_file
from definitions.shipped_files import WORKFLOWS, shipped
from workflow import GUARDS

from ..app.definitions import summary
from .common import (
    Bar,
    Options,
    emit,
    emit_table,
    opts_of,
    run,
)

definitions_cli = typer.Typer(no_args_is_help=True, help="Check, load and show workflow definitions.")


@definitions_cli.command("validate")
def definitions_validate(ctx: typer.Context, paths: Annotated[list[Path], typer.Argument()]) -> None:
    """Check definition files (folders: every *.yaml in them) without touching the database."""
    opts = opts_of(ctx)
    problems: list[str] = []
    valid: list[dict[str, Any]] = []
    for path in definition_files(paths):
        try:
            valid.append({"file": str(path), **summary(load_file(path, GUARDS))})
        except DefinitionInvalid as err:
            problems.extend(str(p) for p in err.problems)
    text = "\n".join([*(f"ok {v['file']}: {v['id']} v{v['version']}" for v in valid), *problems])
    if opts.json:
        emit(opts, {"ok": not problems, "valid": valid, "problems": problems}, "")
    else:
        typer.echo(text, err=bool(problems))
    if problems:
        raise typer.Exit(1)


@definitions_cli.command("load")
def definitions_load(ctx: typer.Context, paths: Annotated[list[Path] | None, typer.Argument(
        help="Files or folders (default: the workflows shipped with this version)")] = None) -> None:
    """Check and store definitions. Loading the same content twice is a no-op; the same id and
    version with other content is refused."""
    paths = paths or [shipped(*WORKFLOWS)]

    def act(opts: Options) -> None:
        files = definition_files(paths)
        checked = []
        with Bar(opts, "Kiểm tra quy trình (checking)", len(files)) as bar:
            for path in files:
                checked.append((str(path), load_file(path, GUARDS)))
                bar.advance()
        results = opts.uses.definitions.load(opts.actor, checked)
        lines = [f"{'loaded' if r['new'] else 'unchanged'} {r['id']} v{r['version']} ({r['file']})"
                 for r in results]
        emit(opts, results, "\n".join(lines))
    run(ctx, act)


@definitions_cli.command("list")
def definitions_list(ctx: typer.Context) -> None:
    """Stored definitions with the number of instances in each state."""
    def act(opts: Options) -> None:
        emit_table(opts, opts.uses.definitions.summaries(), [
            ("Mã", lambda r: r["id"]), ("Phiên bản", lambda r: r["version"]), ("Mục", lambda r: r["seed_section"]),
            ("Tên", lambda r: r["title"]["vi"]),
            ("Nhiệm vụ theo trạng thái", lambda r: ", ".join(f"{s}: {n}" for s, n in r["instances"].items()))],
            "Chưa nạp quy trình nào (no definitions loaded)")
    run(ctx, act)


@definitions_cli.command("show")
def definitions_show(ctx: typer.Context, definition_id: str,
                     version: Annotated[int | None, typer.Option()] = None) -> None:
    """One definition in full (the latest version unless --version)."""
    def act(opts: Options) -> None:
        stored = opts.uses.definitions.stored(definition_id, version)
        d = stored.definition
        lines = [f"{d.id} v{d.version} ({d.seed_section}) {d.title.vi} / {d.title.en}", "states:"]
        lines += [f"  {s.id:<20} {s.kind.value:<8} {s.label}" for s in d.states]
        lines.append("transitions:")
        lines += [f"  {t.event:<24} {','.join(t.source)} -> {t.dest}  roles: {','.join(t.roles)}"
                  for t in d.transitions]
        emit(opts, {**d.model_dump(mode="json"), "content_hash": stored.content_hash}, "\n".join(lines))
    run(ctx, act)
