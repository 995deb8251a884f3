"""``workflow``: the command line, one module per command group, all registered here and nowhere else.

Each group module holds its Typer and its commands; ``common`` holds what they share (the options object, output
as text or JSON, tables, dates typed in the Vietnamese way, the progress bar). Commands call the application layer
(``opts.app.uses.<family>``) and print; none imports another front end."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from definitions import Role
from workflow import Actor

from ..context import App
from ..settings import Settings
from . import (
    accounts,
    agencies,
    audit,
    calendar,
    contacts,
    database,
    definitions,
    escalations,
    files,
    instances,
    keys,
    notifications,
    plan,
    report,
    schedules,
    serve,
)
from .common import Options

cli = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Durable workflows for the Ninh Thuận S&T plan.")


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


# the commands of the database and of the running process, then the groups (in `workflow --help`'s order)
cli.command("init")(database.init)
cli.command("backup")(database.backup)
cli.add_typer(definitions.definitions_cli, name="definitions")
cli.add_typer(instances.instances_cli, name="instances")
cli.add_typer(audit.audit_cli, name="audit")
cli.add_typer(files.files_cli, name="files")
cli.add_typer(calendar.calendar_cli, name="calendar")
cli.add_typer(escalations.escalations_cli, name="escalations")
cli.add_typer(schedules.schedules_cli, name="schedules")
cli.add_typer(notifications.notifications_cli, name="notifications")
cli.add_typer(contacts.contacts_cli, name="contacts")
cli.command("serve")(serve.serve)
cli.command("simulate")(serve.simulate)
cli.add_typer(agencies.agencies_cli, name="agencies")
cli.add_typer(plan.plan_cli, name="plan")
cli.add_typer(report.report_cli, name="report")
cli.add_typer(keys.keys_cli, name="keys")
cli.add_typer(accounts.accounts_cli, name="accounts")


def main() -> None:
    cli()
