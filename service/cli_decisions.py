"""``workflow instances`` commands of decisions that change recorded facts: asking for and deciding an extension,
deciding a receipt claimed too late, correcting a recorded fact. Who may do which is the engine's rule; act as a
body with ``--role officer --agency CODE`` (or ``--role committee``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .cli_common import Options, date_arg, emit, run
from .views import HistoryView

DocumentNumber = Annotated[str | None, typer.Option("--document", help="Số/ký hiệu, e.g. 15/BCĐ-KHCN")]
DocumentDate = Annotated[str | None, typer.Option("--document-date",
                                                  help="Its date of issue (YYYY-MM-DD or dd/mm/yyyy): the decision "
                                                       "takes effect on it unless --effective-on says otherwise")]
EffectiveOn = Annotated[str | None, typer.Option("--effective-on", help="The day it took effect")]


def register(instances_cli: typer.Typer) -> None:
    instances_cli.command("ask-extension")(ask_extension)
    instances_cli.command("decide-extension")(decide_extension)
    instances_cli.command("decide-claim")(decide_claim)
    instances_cli.command("correct")(correct)
    instances_cli.command("progress")(progress)
    instances_cli.command("explain")(explain)


def document_of(number: str | None, issued: str | None) -> Any:
    """A document as typed: its number alone, or with its date of issue (the parts a decision is dated by)."""
    if number is None:
        return None
    return number if issued is None else {"number": number, "issued_on": date_arg(issued, "--document-date")
                                          .isoformat()}


def _row(opts: Options, row: HistoryView) -> None:
    emit(opts, row, f"Đã ghi dòng {row['seq']} của nhiệm vụ {row['instance_id']}: {row['event']} "
                    f"(có hiệu lực ngày {row['effective_on']})")


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


def decide_claim(ctx: typer.Context, instance_id: int,
                 accept: Annotated[bool, typer.Option("--accept/--reject", help="Accept or reject the claim")],
                 reason: Annotated[str, typer.Option()], document: DocumentNumber = None,
                 document_date: DocumentDate = None) -> None:
    """The standing body decides a receipt the agency stated after its presumed deadline."""
    def act(opts: Options) -> None:
        _row(opts, opts.uses.decisions.decide_claim(opts.actor, instance_id, accept=accept, reason=reason,
                                                    document=document_of(document, document_date)))
    run(ctx, act)


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
