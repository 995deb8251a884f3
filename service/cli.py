"""The ``workflow`` command: set up the database, load definitions, drive instances, audit history.

Every command takes the global ``--db URL`` (or ``WORKFLOW_DATABASE_URL``) and ``--json``. Errors
are printed with the engine's message and exit with status 1 (``--json`` prints them as
``{"error": ..., "message": ...}``); usage errors exit with 2.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from definitions import DefinitionInvalid, Role, definition_files, load_file
from definitions.shipped_files import WORKFLOWS, shipped
from workflow import GUARDS, Actor
from workflow.errors import PayloadInvalid
from workflow.migration import migrate

from . import signing
from .app.definitions import summary
from .cli_accounts import accounts_cli
from .cli_common import (
    FORCE_HELP,
    Bar,
    Options,
    check_output,
    date_arg,
    emit,
    emit_table,
    json_arg,
    local_time,
    opts_of,
    run,
    written,
)
from .cli_deadlines import register as register_deadlines
from .cli_decisions import register as register_decisions
from .cli_keys import keys_cli
from .cli_plan import register as register_plan
from .cli_service import register as register_service
from .context import App
from .settings import Settings

cli = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Durable workflows for the Ninh Thuận S&T plan.")
definitions_cli = typer.Typer(no_args_is_help=True, help="Check, load and show workflow definitions.")
instances_cli = typer.Typer(no_args_is_help=True, help="Start instances and fire events.")
audit_cli = typer.Typer(no_args_is_help=True, help="Read and verify the tamper-evident history.")
cli.add_typer(definitions_cli, name="definitions")
cli.add_typer(instances_cli, name="instances")
cli.add_typer(audit_cli, name="audit")

@cli.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", envvar="WORKFLOW_DATABASE_URL",
                                           help="Database URL (default sqlite:///var/workflow.db)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    actor: Annotated[str | None, typer.Option(help="Who is acting, for the history (default cli:<user>)")] = None,
    role: Annotated[Role, typer.Option(help="The acting role")] = Role.ADMIN,
    agency: Annotated[str | None, typer.Option(help="The acting officer's agency code")] = None,
) -> None:
    settings = Settings() if db is None else Settings(database_url=db)
    actor_id = actor or f"cli:{getpass.getuser()}"
    ctx.obj = Options(App(settings), as_json, Actor(actor_id, role, agency), db_given=db is not None)


# -- init ----------------------------------------------------------------------------------------


@cli.command()
def init(ctx: typer.Context) -> None:
    """Create the database (or upgrade its schema to this version)."""
    def act(opts: Options) -> None:
        revision = opts.app.init()
        url = opts.app.settings.database_url
        emit(opts, {"database": url, "schema_revision": revision}, f"database {url} at schema {revision}")
    run(ctx, act)


@cli.command()
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


# -- definitions ---------------------------------------------------------------------------------


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


# -- instances -----------------------------------------------------------------------------------


def _instance_text(data: Mapping[str, Any]) -> str:
    return (f"instance {data['id']}: {data['definition']} v{data['definition_version']} "
            f"key {data['business_key']} assignee {data['assignee']}\n"
            f"  state {data['state']} (version {data['version']}); you may fire: "
            f"{', '.join(data['allowed_events']) or 'none'}"
            + "".join(f"\n  next: {n['role']}{' ' + n['agency'] if n['agency'] else ''}: {', '.join(n['events'])}"
                      for n in data.get("next_actors", ()))
            + "".join(f"\n  nghĩa vụ {o['label']} ({o['name']}): {o['agency']}, từ {_vn_day(o['started_on'])}"
                      f"{' (giả định)' if o['presumed'] else ''}, hạn {_vn_day(o['last_day'])}: "
                      f"{CATEGORY_WORDS.get(o['category'] or '', 'không còn phải thực hiện')}"
                      + (f" {o['days_late']} ngày" if o["days_late"] else "")
                      for o in data.get("obligations", ())))


CATEGORY_WORDS = {"done_on_time": "hoàn thành đúng hạn", "done_late": "hoàn thành quá hạn",
                  "within_deadline": "đang trong hạn", "overdue": "quá hạn"}


def _vn_day(iso: str) -> str:
    return f"{dt.date.fromisoformat(iso):%d/%m/%Y}"


EFFECTIVE_HELP = ("The day it took effect (YYYY-MM-DD or dd/mm/yyyy; default: the date of issue of the document it "
                  "carries, else its date field such as received_on, else today). Not in the future, not before the "
                  "task's previous event")


@instances_cli.command("start")
def instances_start(
    ctx: typer.Context, definition_id: str,
    key: Annotated[str, typer.Option(help="Business key, unique per definition")],
    assignee: Annotated[str, typer.Option(help="Agency code of the assignee")],
    data: Annotated[str | None, typer.Option(help="Instance data as a JSON object")] = None,
    version: Annotated[int | None, typer.Option(help="Definition version (default: latest)")] = None,
    effective_on: Annotated[str | None, typer.Option(help=EFFECTIVE_HELP)] = None,
) -> None:
    """Start an instance of a definition."""
    def act(opts: Options) -> None:
        done = opts.uses.instances.start(
            opts.actor, definition_id, key, assignee, data=json_arg(data, "data"), version=version,
            effective_on=date_arg(effective_on, "effective_on") if effective_on else None)
        emit(opts, done.view, _instance_text(done.view))
    run(ctx, act)


@instances_cli.command("fire")
def instances_fire(
    ctx: typer.Context, instance_id: int, event: str,
    payload: Annotated[str | None, typer.Option("--payload", "--data", help="Payload as a JSON object")] = None,
    reason: Annotated[str | None, typer.Option()] = None,
    expected_version: Annotated[int | None, typer.Option(
        "--expected-version", "--expect-version", help="Refuse unless the instance is at this version")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Repeat-safe key")] = None,
    effective_on: Annotated[str | None, typer.Option(help=EFFECTIVE_HELP)] = None,
    file: Annotated[list[Path] | None, typer.Option("--file", help="Attach a signed document (PDF, DOCX, XLSX; "
                                                                   "repeatable)")] = None,
) -> None:
    """Fire an event at an instance as the acting role."""
    def act(opts: Options) -> None:
        attachments = opts.uses.attachments
        attached = []
        for path in file or ():
            try:
                data = path.read_bytes()
            except OSError as err:
                raise PayloadInvalid([("file", f"{path}: {err.strerror or err}")]) from None
            attached.append(attachments.accept(path.name, data))
        done = opts.uses.instances.fire(
            opts.actor, instance_id, event, payload=json_arg(payload, "payload"), reason=reason,
            expected_version=expected_version, idempotency_key=idempotency_key,
            effective_on=date_arg(effective_on, "effective_on") if effective_on else None, attachments=attached)
        body = {**done.view, "seq": done.seq, "replayed": done.replayed}
        prefix = "(repeat of an earlier request) " if done.replayed else ""
        emit(opts, body, prefix + _instance_text(body))
    run(ctx, act)


@instances_cli.command("migrate")
def instances_migrate(
    ctx: typer.Context, definition_id: str,
    to_version: Annotated[int, typer.Option(help="The definition version to move to (loaded already)")],
    reason: Annotated[str, typer.Option(help="Why (kept in each instance's history)")],
    map_: Annotated[list[str] | None, typer.Option("--map", help="OLD=NEW for each state whose id changed")] = None,
) -> None:
    """Move every instance of an older version to a new version: states mapped, obligations recomputed from each
    instance's history, one history row each. Refused, with nothing written, if a state has no mapping."""
    def act(opts: Options) -> None:
        pairs = [m.split("=", 1) for m in map_ or []]
        if any(len(p) != 2 or not p[0] or not p[1] for p in pairs):
            raise PayloadInvalid([("--map", "give OLD=NEW, e.g. --map received=waiting")])
        moved = migrate(opts.app.engine, definition_id, to_version, dict(pairs), opts.actor, reason)
        emit(opts, {"definition": definition_id, "to_version": to_version, "migrated": moved},
             f"{len(moved)} instances of {definition_id} moved to version {to_version}")
    run(ctx, act)


@instances_cli.command("show")
def instances_show(ctx: typer.Context, instance_id: int) -> None:
    """One instance: state, version, assignee, deadline, the events the acting role (--role, --agency) may fire."""
    def act(opts: Options) -> None:
        body = opts.uses.instances.show(instance_id, opts.actor)
        emit(opts, body, _instance_text(body))
    run(ctx, act)


@instances_cli.command("list")
def instances_list(
    ctx: typer.Context,
    definition: Annotated[str | None, typer.Option()] = None,
    state: Annotated[str | None, typer.Option()] = None,
    agency: Annotated[str | None, typer.Option("--agency", "--assignee", help="The assigned agency's code")] = None,
    cursor: Annotated[int, typer.Option("--cursor", "--after", help="Show instances with a larger id (paging)")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """Instances, oldest first, with filters."""
    def act(opts: Options) -> None:
        body = opts.uses.instances.find(definition=definition, state=state, agency=agency, cursor=cursor,
                                        limit=limit, actor=opts.actor).items
        emit_table(opts, body, [
            ("Số", lambda r: r["id"]), ("Quy trình", lambda r: r["definition"]),
            ("Khóa nghiệp vụ", lambda r: r["business_key"]), ("Cơ quan", lambda r: r["assignee"]),
            ("Trạng thái", lambda r: r["state"]), ("Hạn", lambda r: local_time(r["due_at"]))],
            "Không có nhiệm vụ nào (no instances)")
    run(ctx, act)


# -- audit ---------------------------------------------------------------------------------------


@audit_cli.command("history")
def audit_history(ctx: typer.Context, instance_id: int) -> None:
    """One instance's history: who did what, when, from which state to which, and why."""
    def act(opts: Options) -> None:
        rows = opts.uses.instances.history(instance_id)
        lines = [f"{r['seq']:>3} {r['at']} {r['event']:<20} {r['from'] or '-'} -> {r['to']}  by {r['actor_id']}"
                 f" ({r['actor_role']}{'/' + r['actor_agency'] if r['actor_agency'] else ''})"
                 + (f"  reason: {r['reason']}" if r["reason"] else "")
                 + (f"  payload: {json.dumps(r['payload'], ensure_ascii=False)}" if r["payload"] else "")
                 for r in rows]
        emit(opts, rows, "\n".join(lines))
    run(ctx, act)


@audit_cli.command("verify")
def audit_verify(ctx: typer.Context,
                 checkpoint: Annotated[Path | None, typer.Option(help="A checkpoint file taken earlier")] = None,
                 public_key: Annotated[Path | None, typer.Option(help="The auditor's Ed25519 public key (PEM): the "
                                                                      "checkpoint must be signed by it")] = None,
                 jobs: Annotated[int | None, typer.Option(
                     min=1, help="Processes (default: one per CPU from 50,000 instances, else 1)")] = None,
                 incremental: Annotated[bool, typer.Option(
                     help="With --checkpoint: re-hash only the rows written since it (and the rows it saw last); "
                          "a full verification still re-hashes everything")] = False,
                 ) -> None:
    """Recompute every hash chain; report the first bad row of each instance. Exit 1 if any."""
    def act(opts: Options) -> None:
        audit = opts.uses.audit
        with Bar(opts, "Kiểm tra chuỗi băm (verifying)", None if incremental else audit.rows()) as bar:
            result = audit.verify_from(checkpoint, public_key, jobs, incremental, bar.advance)
        text = (f"ok: {result.instances} instance histories verified" if result.ok
                else "\n".join([*(f"TAMPERED {p}" for p in result.problems),
                                *(f"TAMPERED database: {d}" for d in result.database)]))
        emit(opts, result.as_dict(), text)
        if not result.ok:
            raise typer.Exit(1)
    run(ctx, act)


@audit_cli.command("checkpoint")
def audit_checkpoint(ctx: typer.Context,
                     output: Annotated[Path | None, typer.Option(help="File to write (default stdout)")] = None,
                     sign: Annotated[Path | None, typer.Option(help="Sign it with this Ed25519 private key (PEM)")]
                     = None, force: Annotated[bool, typer.Option(help=FORCE_HELP)] = False) -> None:
    """Write every chain head and a Merkle root over them, with the time (signed with --sign). Keep it, and the
    public key, off this machine."""
    def act(opts: Options) -> None:
        check_output(output, force)
        document = opts.uses.audit.checkpoint(sign)
        text = json.dumps(document, indent=1)
        if output is None:
            typer.echo(text)
            return
        with written(output, force) as handle:
            handle.write(text + "\n")
        emit(opts, {"file": str(output), "root": document["root"], "instances": len(document["heads"])},
              f"checkpoint of {len(document['heads'])} chains, root {document['root']}, written to {output}")
    run(ctx, act)


@audit_cli.command("keygen")
def audit_keygen(ctx: typer.Context, private: Annotated[Path, typer.Option(help="Where the private key goes")],
                 public: Annotated[Path, typer.Option(help="Where the public key goes (give it to the auditors)")]
                 ) -> None:
    """A new Ed25519 key pair for signing checkpoints (the private file is readable by its owner only)."""
    def act(opts: Options) -> None:
        for path in (private, public):
            if path.exists():
                raise PayloadInvalid([(str(path), "exists already; choose a new file name")])
        signing.new_key_pair(private, public)
        emit(opts, {"private": str(private), "public": str(public)}, f"private key {private}, public key {public}")
    run(ctx, act)


@audit_cli.command("export")
def audit_export(ctx: typer.Context,
                 fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
                 output: Annotated[Path | None, typer.Option(help="File to write (default stdout)")] = None,
                 force: Annotated[bool, typer.Option(help=FORCE_HELP)] = False) -> None:
    """Stream the whole history as JSON lines or CSV (UTF-8)."""
    if fmt not in ("jsonl", "csv"):
        raise typer.BadParameter("must be jsonl or csv", param_hint="--format")

    def act(opts: Options) -> None:
        check_output(output, force)
        audit = opts.uses.audit
        lines = audit.export("jsonl" if fmt == "jsonl" else "csv")
        if output is None:
            for text in lines:
                sys.stdout.write(text)
            return
        with written(output, force) as handle, Bar(opts, "Xuất nhật ký (exporting)", audit.rows()) as bar:
            if fmt == "csv":
                handle.write(next(lines))  # the header
            for text in lines:
                handle.write(text)
                bar.advance()
        emit(opts, {"file": str(output), "format": fmt}, f"written to {output}")
    run(ctx, act)


files_cli = typer.Typer(no_args_is_help=True, help="The attached files (signed documents) beside the database.")


@files_cli.command("clean")
def files_clean(ctx: typer.Context) -> None:
    """Remove the files uploaded more than WORKFLOW_UNATTACHED_FILE_DAYS ago that no act attached (serve does it
    once a day by itself)."""
    def act(opts: Options) -> None:
        done = opts.uses.attachments.clean(opts.actor)
        emit(opts, {"removed": done}, "\n".join(done) or "nothing to remove")
    run(ctx, act)


cli.add_typer(files_cli, name="files")
register_deadlines(cli, instances_cli)
register_decisions(instances_cli)
register_service(cli)
register_plan(cli)
cli.add_typer(keys_cli, name="keys")
cli.add_typer(accounts_cli, name="accounts")


def main() -> None:
    cli()
