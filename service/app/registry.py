"""The registry: agencies and their names over time, restructurings (rename, merge, retire), how to reach each
agency, recurring obligations, and the notification outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal, NotRequired

from pydantic import ValidationError
from typing_extensions import TypedDict

from definitions import Role
from definitions.agencies import Certainty, Change, ChangeKind, Reorganisation
from definitions.agencies import Registry as RegistryFile
from scheduler.recurring import Recurrence
from workflow import Actor
from workflow.agencies import Agencies, ChangeResult
from workflow.errors import PayloadInvalid
from workflow.notify import Contact, is_address

from ..views import AgencyView, NotificationView, ScheduleView, agency_view, notification_view, schedule_view
from .access import require
from .ports import Services

OutboxStatus = Literal["pending", "sent", "dead", "no_contact"]


class NameOn(TypedDict):
    date: str
    name: str


class AgencyDetail(AgencyView):
    open_instances: list[int]
    name_on: NotRequired[NameOn]


class ChangeView(TypedDict):
    op: str
    code: str
    effective: str
    certainty: str
    applied: bool
    scheduled: bool
    moved: list[int]
    awaiting_successor: list[int]


class ChangeDone(ChangeView):
    agency: AgencyDetail  # the agency after the change


class Requeued(TypedDict):
    requeued: int  # dead notifications queued again


class ContactView(TypedDict):
    agency: str
    name: str | None
    email: str | None
    webhook_url: str | None


def change_view(result: ChangeResult) -> ChangeView:
    c = result.change
    return {"op": c.op.value, "code": c.code, "effective": c.effective.isoformat(), "certainty": c.certainty.value,
            "applied": result.applied, "scheduled": result.scheduled, "moved": list(result.moved),
            "awaiting_successor": list(result.awaiting_successor)}


class Registry:
    def __init__(self, app: Services) -> None:
        self.app = app

    @property
    def _agencies(self) -> Agencies:
        return Agencies(self.app.engine)

    # -- agencies --------------------------------------------------------------------------------

    def agencies(self) -> list[AgencyView]:
        """Every registered agency, active or not, with its latest name and successor."""
        return [agency_view(self._agencies.get(code)) for code in sorted(self.app.store.agency_names())]

    def agency(self, code: str, on: dt.date | None = None) -> AgencyDetail:
        """One agency, its names over time (and the one in force ``on`` a day), and its open tasks."""
        engine = self.app.engine
        found = self._agencies.get(code)
        instances = self.app.store.list_instances(assignee=found.code, limit=10_000)
        detail: AgencyDetail = {**agency_view(found), "open_instances": [  # type: ignore[typeddict-item]
            i.id for i in instances if i.state not in engine.definition(i.definition_id,
                                                                        i.definition_version).final_states]}
        if on is not None:
            detail["name_on"] = {"date": on.isoformat(), "name": self._agencies.name_on(found.code, on)}
        return detail

    def load(self, actor: Actor, registry: RegistryFile) -> tuple[list[str], list[str]]:
        """Register the agencies of a registry file and their contacts; (added, already known)."""
        added, same = self._agencies.load(registry, actor)
        for entry in registry.agencies:
            if entry.email or entry.webhook_url:
                self.app.store.set_contact(Contact(entry.code, entry.short_name, entry.email, entry.webhook_url),
                                           self.app.clock.now(), actor.id)
        return added, same

    def change(self, actor: Actor, op: ChangeKind, code: str, effective: dt.date, document: str,
               **fields: Any) -> ChangeView:
        """Rename (``name``, ``short_name``), merge (``into``) or retire (``successor``) an agency from a date;
        its open tasks move, each with a history row. Dated in the future: stored and applied on its date."""
        try:
            change = Change(op=op, code=code, effective=effective, certainty=Certainty.FACT, note="by operator",
                            **fields)
        except ValidationError as err:
            raise PayloadInvalid.from_pydantic(err.errors(include_url=False), op.value) from None
        return change_view(self._agencies.apply(change, actor, document))

    def reorganise(self, actor: Actor, reorganisation: Reorganisation, document: str | None = None,
                   until: dt.date | None = None, facts_only: bool = False) -> list[ChangeView]:
        """A reorganisation file's changes in effective-date order (up to ``until``); ``facts_only`` skips the
        assumed ones."""
        return [change_view(self._agencies.apply(c, actor, document, facts_only=facts_only))
                for c in sorted(reorganisation.changes, key=lambda c: c.effective)
                if until is None or c.effective <= until]

    # -- contacts --------------------------------------------------------------------------------

    def contacts(self) -> list[ContactView]:
        return [{"agency": c.agency, "name": c.name, "email": c.email, "webhook_url": c.webhook_url}
                for c in self.app.store.list_contacts()]

    def set_contact(self, actor: Actor, agency: str, name: str | None, email: str | None,
                    webhook: str | None) -> ContactView:
        require(actor, Role.ADMIN, what="setting contacts")
        if email is not None and not is_address(email):
            raise PayloadInvalid([("email", f"{email[:100]!r} is not one e-mail address")])
        if webhook is not None and not webhook.startswith(("http://", "https://")):
            raise PayloadInvalid([("webhook", f"{webhook!r} is not an http(s) URL")])
        self.app.store.set_contact(Contact(agency, name, email, webhook), self.app.clock.now(), actor.id)
        return {"agency": agency, "name": name, "email": email, "webhook_url": webhook}

    # -- schedules -------------------------------------------------------------------------------

    def schedules(self) -> list[ScheduleView]:
        return [schedule_view(s) for s in self.app.store.list_schedules()]

    def add_schedule(self, actor: Actor, name: str, definition: str, cron: str, assignees: Sequence[str],
                     key_template: str, data: dict[str, Any] | None = None,
                     start: dt.datetime | None = None) -> ScheduleView:
        require(actor, Role.ADMIN, what="adding schedules")
        schedule_id = Recurrence(self.app.engine, self.app.store).add(name, definition, cron, assignees,
                                                                      key_template, data, start)
        return schedule_view(self.app.store.schedule(schedule_id))

    # -- the outbox ------------------------------------------------------------------------------

    def notifications(self, actor: Actor, status: OutboxStatus | None = None) -> list[NotificationView]:
        """Addresses and delivery errors say where the network is: admins only see them."""
        admin = actor.role is Role.ADMIN
        return [notification_view(m, admin) for m in self.app.store.list_outbox(status)]

    def retry(self, actor: Actor, ids: Sequence[int] | None = None) -> int:
        """Queue dead messages again (all, or those given); how many."""
        require(actor, Role.ADMIN, what="retrying notifications")
        return self.app.store.retry_outbox(ids, self.app.clock.now())
