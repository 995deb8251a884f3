"""``workflow instances``: start tasks and fire events; their legal clock (extend, suspend, resume, timers) and the
decisions of the body with authority (extensions, claims, corrections, progress, explanations)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from workflow.errors import PayloadInvalid
from workflow.migration import migrate

from ..views import HistoryView, TimerView
from .common import (
    Column,
    Options,
    date_arg,
    emit,
    emit_table,
    json_arg,
    local_time,
    run,
)

instances_cli = typer.Typer(no_args_is_help=True, help="Start instances and fire events.")


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


TIMER_COLUMNS: list[Column] = [("Số", lambda t: t["id"]), ("Tên", lambda t: t["name"]), ("Loại", lambda t: t["kind"]),
                               ("Trạng thái", lambda t: t["status"]), ("Đến hạn", lambda t: local_time(t["due_at"])),
                               ("Kết quả", lambda t: t["outcome"])]


def _timers(opts: Options, timers: Sequence[TimerView]) -> None:
    emit_table(opts, timers, TIMER_COLUMNS, "Không có hẹn giờ (no timers)")


@instances_cli.command("extend")
def instances_extend(
    ctx: typer.Context, instance_id: int,
    reason: Annotated[str, typer.Option()], document: Annotated[str, typer.Option(help="e.g. 15/BCĐ-KHCN")],
    to_date: Annotated[str | None, typer.Option("--to-date", "--to",
                                                help="New last day (YYYY-MM-DD or dd/mm/yyyy)")] = None,
    days: Annotated[int | None, typer.Option(help="More calendar days after the current last day")] = None,
    working_days: Annotated[int | None, typer.Option()] = None,
    document_date: Annotated[str | None, typer.Option("--document-date", help="The decision's date of issue")] = None,
    effective_on: Annotated[str | None, typer.Option("--effective-on", help="The day the decision took effect "
                                                     "(default: its date of issue, else today)")] = None,
    obligation: Annotated[str | None, typer.Option(help="Only this obligation (default: every open one)")] = None,
) -> None:
    """Extend a task's deadlines on the deciding body's own decision (its open obligations, else the state's)."""
    def act(opts: Options) -> None:
        body = opts.uses.deadlines.extend(
            opts.actor, instance_id, reason=reason, document=document_of(document, document_date),
            to_date=date_arg(to_date, "--to-date") if to_date else None, days=days, working_days=working_days,
            effective_on=date_arg(effective_on, "--effective-on") if effective_on else None, obligation=obligation)
        _timers(opts, body)
    run(ctx, act)


@instances_cli.command("suspend")
def instances_suspend(ctx: typer.Context, instance_id: int, reason: Annotated[str, typer.Option()],
                      document: Annotated[str | None, typer.Option()] = None) -> None:
    """Stop the instance's legal clock (the remaining time is kept)."""
    def act(opts: Options) -> None:
        body = opts.uses.deadlines.suspend(opts.actor, instance_id, reason=reason, document=document)
        _timers(opts, body)
    run(ctx, act)


@instances_cli.command("resume")
def instances_resume(ctx: typer.Context, instance_id: int, reason: Annotated[str, typer.Option()],
                     document: Annotated[str | None, typer.Option()] = None) -> None:
    """Restart the clock with the time that remained."""
    def act(opts: Options) -> None:
        body = opts.uses.deadlines.resume(opts.actor, instance_id, reason=reason, document=document)
        _timers(opts, body)
    run(ctx, act)


@instances_cli.command("timers")
def instances_timers(ctx: typer.Context, instance_id: int) -> None:
    """An instance's timers: pending, fired, cancelled, with due times (UTC)."""
    def act(opts: Options) -> None:
        body = opts.uses.instances.timers(instance_id)
        _timers(opts, body)
    run(ctx, act)


DocumentNumber = Annotated[str | None, typer.Option("--document", help="Số/ký hiệu, e.g. 15/BCĐ-KHCN")]


DocumentDate = Annotated[str | None, typer.Option("--document-date",
                                                  help="Its date of issue (YYYY-MM-DD or dd/mm/yyyy): the decision "
                                                       "takes effect on it unless --effective-on says otherwise")]


EffectiveOn = Annotated[str | None, typer.Option("--effective-on", help="The day it took effect")]


def document_of(number: str | None, issued: str | None) -> Any:
    """A document as typed: its number alone, or with its date of issue (the parts a decision is dated by)."""
    if number is None:
        return None
    return number if issued is None else {"number": number, "issued_on": date_arg(issued, "--document-date")
                                          .isoformat()}


def _row(opts: Options, row: HistoryView) -> None:
    emit(opts, row, f"Đã ghi dòng {row['seq']} của nhiệm vụ {row['instance_id']}: {row['event']} "
                    f"(có hiệu lực ngày {row['effective_on']})")


@instances_cli.command("ask-extension")
def ask_extension(ctx: typer.Context, instance_id: int, reason: Annotated[str, typer.Option()],
                  to_date: Annotated[str, typer.Option("--to", help="The last day asked for")],
                  document: DocumentNumber = None, document_date: DocumentDate = None,
                  effective_on: EffectiveOn = None) -> None:
    """The owing agency asks for more time (as its officer: --role officer --agency CODE)."""
    def act(opts: Options) -> None:
        _row(opts, opts.uses.decisions.request_extension(
            opts.actor, instance_id, reason=reason, to_date=date_arg(to_date, "--to"),
            document=document_of(document, document_date),
            effective_on=date_arg(effective_on, "--effective-on") if effective_on else None))
    run(ctx, act)


@instances_cli.command("progress")
def progress(ctx: typer.Context, instance_id: int,
             text: Annotated[str, typer.Option(help="What has been done, what remains")],
             percent: Annotated[int | None, typer.Option(min=0, max=100, help="Share of a measurable target done")
                                ] = None,
             document: DocumentNumber = None, document_date: DocumentDate = None,
             reason: Annotated[str | None, typer.Option(help="An administrator reporting for the agency: why")] = None,
             ) -> None:
    """The owing agency reports progress on an open duty (as its officer: --role officer --agency CODE)."""
    def act(opts: Options) -> None:
        _row(opts, opts.uses.decisions.report_progress(opts.actor, instance_id, text=text, percent=percent,
                                                       document=document_of(document, document_date), reason=reason))
    run(ctx, act)


@instances_cli.command("explain")
def explain(ctx: typer.Context, instance_id: int,
            reason: Annotated[str, typer.Option(help="What must be explained")],
            working_days: Annotated[int | None, typer.Option(min=1, max=60, help="The period to answer (default: "
                                                             "WORKFLOW_EXPLANATION_WORKING_DAYS, 5)")] = None,
            ) -> None:
    """Ask the owing agency to explain an overdue duty (--role committee, or an officer of the standing body): an
    explanation task of its own, with its period, escalated like any other."""
    def act(opts: Options) -> None:
        _row(opts, opts.uses.decisions.request_explanation(opts.actor, instance_id, reason=reason,
                                                           working_days=working_days))
    run(ctx, act)


@instances_cli.command("decide-extension")
def decide_extension(ctx: typer.Context, instance_id: int,
                     grant: Annotated[bool, typer.Option("--grant/--refuse", help="Grant or refuse the request")],
                     reason: Annotated[str, typer.Option()], document: DocumentNumber = None,
                     document_date: DocumentDate = None,
                     to_date: Annotated[str | None, typer.Option("--to", help="Grant to this day instead")] = None,
                     effective_on: EffectiveOn = None) -> None:
    """The body that assigned the duty decides the waiting request (--role committee, or the standing body)."""
    def act(opts: Options) -> None:
        _row(opts, opts.uses.decisions.decide_extension(
            opts.actor, instance_id, grant=grant, reason=reason, document=document_of(document, document_date),
            to_date=date_arg(to_date, "--to") if to_date else None,
            effective_on=date_arg(effective_on, "--effective-on") if effective_on else None))
    run(ctx, act)


@instances_cli.command("decide-claim")
def decide_claim(ctx: typer.Context, instance_id: int,
                 accept: Annotated[bool, typer.Option("--accept/--reject", help="Accept or reject the claim")],
                 reason: Annotated[str, typer.Option()], document: DocumentNumber = None,
                 document_date: DocumentDate = None) -> None:
    """The standing body decides a receipt the agency stated after its presumed deadline."""
    def act(opts: Options) -> None:
        _row(opts, opts.uses.decisions.decide_claim(opts.actor, instance_id, accept=accept, reason=reason,
                                                    document=document_of(document, document_date)))
    run(ctx, act)


@instances_cli.command("correct")
def correct(ctx: typer.Context, instance_id: int,
            row: Annotated[int, typer.Option("--row", help="The history row whose fact is wrong")],
            field: Annotated[str, typer.Option(help="effective_on, a date of the act (received_on) or "
                                                    "document.<part> (number, issued_on, summary, signer)")],
            value: Annotated[str, typer.Option(help="What it should say (dates YYYY-MM-DD or dd/mm/yyyy)")],
            reason: Annotated[str, typer.Option()], document: DocumentNumber = None,
            document_date: DocumentDate = None) -> None:
    """Correct a recorded fact (standing body or administrator): a new history row; the original stays."""
    def act(opts: Options) -> None:
        typed = date_arg(value, "--value").isoformat() if "/" in value and value.count("/") == 2 else value
        _row(opts, opts.uses.decisions.correct(opts.actor, instance_id, seq=row, field=field, value=typed,
                                               reason=reason, document=document_of(document, document_date)))
    run(ctx, act)
