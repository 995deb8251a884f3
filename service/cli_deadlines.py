"""``workflow`` commands of the legal clock: calendar, extensions, escalations, schedules, notifications."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from workflow import OverrideKind
from workflow.calendar import end_of_day
from workflow.errors import PayloadInvalid

from .cli_common import Column, Options, date_arg, emit, emit_table, instant, json_arg, local_time, run
from .cli_decisions import document_of
from .views import TimerView

calendar_cli = typer.Typer(no_args_is_help=True, help="When periods end; days off and working days.")
escalations_cli = typer.Typer(no_args_is_help=True, help="Escalations to the Steering Committee.")
schedules_cli = typer.Typer(no_args_is_help=True, help="Recurring obligations.")
notifications_cli = typer.Typer(no_args_is_help=True, help="The notification outbox.")
contacts_cli = typer.Typer(no_args_is_help=True, help="How to reach agencies and the Steering Committee (BCD).")


def register(cli: typer.Typer, instances_cli: typer.Typer) -> None:
    cli.add_typer(calendar_cli, name="calendar")
    cli.add_typer(escalations_cli, name="escalations")
    cli.add_typer(schedules_cli, name="schedules")
    cli.add_typer(notifications_cli, name="notifications")
    cli.add_typer(contacts_cli, name="contacts")
    instances_cli.command("extend")(instances_extend)
    instances_cli.command("suspend")(instances_suspend)
    instances_cli.command("resume")(instances_resume)
    instances_cli.command("timers")(instances_timers)


# -- calendar ------------------------------------------------------------------------------------


@calendar_cli.command("due")
def calendar_due(
    ctx: typer.Context,
    start: Annotated[str, typer.Option("--from", help="The event's date (YYYY-MM-DD), province time")],
    days: Annotated[int | None, typer.Option(help="Calendar days (Civil Code)")] = None,
    working_days: Annotated[int | None, typer.Option()] = None,
    hours: Annotated[int | None, typer.Option()] = None,
    end_of_month: Annotated[str | None, typer.Option(help="YYYY-MM")] = None,
    end_of_year: Annotated[int | None, typer.Option()] = None,
    before: Annotated[str | None, typer.Option(help="Before this date (never moves)")] = None,
    on: Annotated[str | None, typer.Option(help="On this date (never moves)")] = None,
    yearly: Annotated[str | None, typer.Option(help="Before MM-DD every year")] = None,
) -> None:
    """When a period ends, with every step explained (holiday names in Vietnamese)."""
    def act(opts: Options) -> None:
        anchor = date_arg(start, "--from")
        spec: dict[str, Any] = {"days": days, "working_days": working_days, "hours": hours,
                                "end_of_month": end_of_month, "end_of_year": end_of_year,
                                "before_date": before and date_arg(before, "--before"),
                                "on_date": on and date_arg(on, "--on"), "yearly": yearly}
        due = opts.uses.deadlines.due(anchor, spec, "--from")
        text = "\n".join([f"last day: {due.last_day:%d/%m/%Y} ({due.last_day.isoformat()})",
                          f"due at:   {instant(due.due_at)} (24:00 province time of the last day)"
                          if hours is None else f"due at:   {instant(due.due_at)}",
                          "steps:", *(f"  - {s}" for s in due.steps)])
        emit(opts, due.as_dict(), text)
    run(ctx, act)


def _override(ctx: typer.Context, day: str, reason: str, kind: OverrideKind) -> None:
    def act(opts: Options) -> None:
        added = opts.uses.deadlines.add_override(opts.actor, date_arg(day, "DATE"), kind, reason)
        moved = sum(len(v) for v in added["instances"].values())
        emit(opts, added, f"{kind.value} {added['day']} recorded; {moved} timers of {len(added['instances'])} "
                          "instances moved")
    run(ctx, act)


@calendar_cli.command("add-day-off")
def calendar_add_day_off(ctx: typer.Context, day: Annotated[str, typer.Argument(metavar="DATE")],
                         reason: Annotated[str, typer.Option(help="Who announced it, e.g. the decision")]) -> None:
    """A day off announced late (storm, government decision): pending deadlines move, each in history."""
    _override(ctx, day, reason, OverrideKind.DAY_OFF)


@calendar_cli.command("add-working-day")
def calendar_add_working_day(ctx: typer.Context, day: Annotated[str, typer.Argument(metavar="DATE")],
                             reason: Annotated[str, typer.Option()]) -> None:
    """A weekend day turned into a working day."""
    _override(ctx, day, reason, OverrideKind.WORKING_DAY)


@calendar_cli.command("overrides")
def calendar_overrides(ctx: typer.Context) -> None:
    """Operator overrides of the calendar."""
    def act(opts: Options) -> None:
        rows = opts.uses.deadlines.overrides()
        emit_table(opts, rows, [("Ngày", lambda r: f"{dt.date.fromisoformat(r['day']):%d/%m/%Y}"),
                                ("Loại", lambda r: OVERRIDE_KINDS.get(r["kind"], r["kind"])),
                                ("Lý do", lambda r: r["reason"])], "Không có điều chỉnh lịch (no overrides)")
    run(ctx, act)


# -- instances: the legal clock ------------------------------------------------------------------


TIMER_COLUMNS: list[Column] = [("Số", lambda t: t["id"]), ("Tên", lambda t: t["name"]), ("Loại", lambda t: t["kind"]),
                               ("Trạng thái", lambda t: t["status"]), ("Đến hạn", lambda t: local_time(t["due_at"])),
                               ("Kết quả", lambda t: t["outcome"])]
OVERRIDE_KINDS = {"day_off": "ngày nghỉ", "working_day": "ngày làm việc"}


def _timers(opts: Options, timers: Sequence[TimerView]) -> None:
    emit_table(opts, timers, TIMER_COLUMNS, "Không có hẹn giờ (no timers)")


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


def instances_suspend(ctx: typer.Context, instance_id: int, reason: Annotated[str, typer.Option()],
                      document: Annotated[str | None, typer.Option()] = None) -> None:
    """Stop the instance's legal clock (the remaining time is kept)."""
    def act(opts: Options) -> None:
        body = opts.uses.deadlines.suspend(opts.actor, instance_id, reason=reason, document=document)
        _timers(opts, body)
    run(ctx, act)


def instances_resume(ctx: typer.Context, instance_id: int, reason: Annotated[str, typer.Option()],
                     document: Annotated[str | None, typer.Option()] = None) -> None:
    """Restart the clock with the time that remained."""
    def act(opts: Options) -> None:
        body = opts.uses.deadlines.resume(opts.actor, instance_id, reason=reason, document=document)
        _timers(opts, body)
    run(ctx, act)


def instances_timers(ctx: typer.Context, instance_id: int) -> None:
    """An instance's timers: pending, fired, cancelled, with due times (UTC)."""
    def act(opts: Options) -> None:
        body = opts.uses.instances.timers(instance_id)
        _timers(opts, body)
    run(ctx, act)


# -- escalations ---------------------------------------------------------------------------------


@escalations_cli.command("list")
def escalations_list(ctx: typer.Context,
                     status: Annotated[str | None, typer.Option(help="open or acknowledged")] = None) -> None:
    """Escalations, oldest first."""
    def act(opts: Options) -> None:
        if status not in (None, "open", "acknowledged"):
            raise PayloadInvalid([("--status", "open or acknowledged")])
        rows = opts.uses.escalations.find("open" if status == "open" else "acknowledged" if status else None)
        emit_table(opts, rows, [("Số", lambda r: r["id"]), ("Nhiệm vụ", lambda r: r["instance_id"]),
                                ("Trạng thái", lambda r: r["status"]), ("Hạn", lambda r: local_time(r["due_at"])),
                                ("Báo cáo lúc", lambda r: local_time(r["created_at"]))],
                   "Không có báo cáo Ban Chỉ đạo (no escalations)")
    run(ctx, act)


@escalations_cli.command("ack")
def escalations_ack(ctx: typer.Context, escalation_id: int,
                    note: Annotated[str | None, typer.Option()] = None) -> None:
    """Acknowledge an escalation (Steering Committee or admin)."""
    def act(opts: Options) -> None:
        done = opts.uses.escalations.acknowledge(opts.actor, escalation_id, note)
        emit(opts, done, f"escalation {escalation_id} acknowledged (instance {done['instance_id']})")
    run(ctx, act)


# -- schedules -----------------------------------------------------------------------------------


@schedules_cli.command("list")
def schedules_list(ctx: typer.Context) -> None:
    """Recurring obligations and their next run."""
    def act(opts: Options) -> None:
        rows = opts.uses.registry.schedules()
        emit_table(opts, rows, [("Tên", lambda r: r["name"]), ("Quy trình", lambda r: r["definition"]),
                                ("Lịch (cron)", lambda r: r["cron"]),
                                ("Lần tới", lambda r: local_time(r["next_run_at"])),
                                ("Số cơ quan", lambda r: len(r["assignees"]))], "Không có lịch định kỳ (no schedules)")
    run(ctx, act)


@schedules_cli.command("add")
def schedules_add(
    ctx: typer.Context, name: str,
    definition: Annotated[str, typer.Option()],
    cron: Annotated[str, typer.Option(help="Five fields in province time, e.g. '0 8 1 10 *'")],
    assignees: Annotated[str, typer.Option(help="Comma-separated agency codes")],
    key_template: Annotated[str, typer.Option(help="e.g. annual-report/{year}/{agency}")],
    data: Annotated[str | None, typer.Option()] = None,
    start: Annotated[str | None, typer.Option("--from", help="First run after this date (default: now)")] = None,
) -> None:
    """Add a recurring obligation; occurrences between --from and now are caught up by the next pass."""
    def act(opts: Options) -> None:
        codes = [a.strip() for a in assignees.split(",") if a.strip()]
        begin = end_of_day(date_arg(start, "--from")) - dt.timedelta(days=1) if start else None
        added = opts.uses.registry.add_schedule(opts.actor, name, definition, cron, codes, key_template,
                                                json_arg(data, "--data"), begin)
        emit(opts, added, f"schedule {name} added; first run {added['next_run_at']}")
    run(ctx, act)


# -- notifications and contacts ------------------------------------------------------------------


@notifications_cli.command("list")
def notifications_list(ctx: typer.Context, status: Annotated[str | None, typer.Option(
        help="pending, sent, dead or no_contact")] = None) -> None:
    """The outbox: what was (or could not be) delivered, and why."""
    def act(opts: Options) -> None:
        if status not in (None, "pending", "sent", "dead", "no_contact"):
            raise PayloadInvalid([("--status", "pending, sent, dead or no_contact")])
        rows = opts.uses.registry.notifications(opts.actor, status)  # type: ignore[arg-type]
        emit_table(opts, rows, [("Số", lambda r: r["id"]), ("Trạng thái", lambda r: r["status"]),
                                ("Kênh", lambda r: r["channel"]), ("Người nhận", lambda r: r["recipient"]),
                                ("Tiêu đề", lambda r: r["subject"]), ("Lỗi", lambda r: r["last_error"])],
                   "Không có thông báo (no notifications)")
    run(ctx, act)


@notifications_cli.command("retry")
def notifications_retry(ctx: typer.Context, ids: Annotated[list[int] | None, typer.Argument()] = None) -> None:
    """Queue dead notifications again (all of them, or the ids given)."""
    def act(opts: Options) -> None:
        count = opts.uses.registry.retry(opts.actor, ids)
        emit(opts, {"requeued": count}, f"{count} notifications queued again")
    run(ctx, act)


@contacts_cli.command("set")
def contacts_set(ctx: typer.Context, agency: str, name: Annotated[str | None, typer.Option()] = None,
                 email: Annotated[str | None, typer.Option()] = None,
                 webhook: Annotated[str | None, typer.Option()] = None) -> None:
    """Set how to reach an agency (BCD: the Steering Committee)."""
    def act(opts: Options) -> None:
        emit(opts, opts.uses.registry.set_contact(opts.actor, agency, name, email, webhook),
             f"contact of {agency} set")
    run(ctx, act)


@contacts_cli.command("list")
def contacts_list(ctx: typer.Context) -> None:
    def act(opts: Options) -> None:
        rows = opts.uses.registry.contacts()
        emit_table(opts, rows, [("Cơ quan", lambda r: r["agency"]), ("Tên", lambda r: r["name"]),
                                ("Thư điện tử", lambda r: r["email"]), ("Webhook", lambda r: r["webhook_url"])],
                   "Chưa có địa chỉ liên hệ (no contacts)")
    run(ctx, act)

