"""The application layer: one typed object per family of use cases, each method doing the authorisation, the
engine or store call and returning typed views (``service/views.py``). The CLI, the HTTP API and the pages are
adapters over it that parse input and render output; none of them imports another.

    instances    start, fire, show, list, history, timers, children
    deadlines    the legal clock: extend, suspend, resume, the calendar and its overrides
    decisions    facts changed by a body with authority: extension requests and decisions, receipt claims,
                 corrections
    escalations  the Steering Committee's list and acknowledgement
    registry     agencies and their restructurings, contacts, schedules, the outbox
    definitions  load, list, show, diagram
    reports      the status report, now or as of a past day
    audit        verify, checkpoint, export
    keys         API keys for machines
    accounts     people's accounts and logging in
    attachments  the signed documents an act comes with (PDF, DOCX, XLSX), stored by their SHA-256
    registers    the agencies' registers of documents in and out; the e-office's signed receipts
    plan_imports a plan's Word document read, reviewed, approved by a second person and loaded
    records      records as they are, for the pages that render them (tasks, history, timers, names)

Reads are open to every role (the plan is public inside the administration); each write names who may do it,
here or in the engine's own rules (roles per transition, officers only for their agency)."""

from __future__ import annotations

from functools import cached_property

from .accounts import Accounts
from .attachments import Attachments
from .audit import Audit
from .deadlines import LegalClock
from .decisions import Decisions
from .definitions import Definitions
from .escalations import Escalations
from .instances import Instances, Outcome, Page
from .keys import Keys
from .plan_imports import PlanImports
from .ports import Services
from .records import Records
from .registers import Registers
from .registry import Registry
from .reports import Reports

__all__ = ["Accounts", "Attachments", "Audit", "Decisions", "Definitions", "Escalations", "Instances", "Keys",
           "LegalClock", "Outcome", "Page", "Records", "Registers", "Registry", "Reports", "UseCases"]


class UseCases:
    """Every family over one ``Services`` (settings, store, engine, clock), built on first use."""

    def __init__(self, app: Services) -> None:
        self.app = app

    @cached_property
    def instances(self) -> Instances:
        return Instances(self.app)

    @cached_property
    def deadlines(self) -> LegalClock:
        return LegalClock(self.app)

    @cached_property
    def decisions(self) -> Decisions:
        return Decisions(self.app)

    @cached_property
    def escalations(self) -> Escalations:
        return Escalations(self.app)

    @cached_property
    def registry(self) -> Registry:
        return Registry(self.app)

    @cached_property
    def definitions(self) -> Definitions:
        return Definitions(self.app)

    @cached_property
    def reports(self) -> Reports:
        return Reports(self.app)

    @cached_property
    def audit(self) -> Audit:
        return Audit(self.app)

    @cached_property
    def keys(self) -> Keys:
        return Keys(self.app.store, self.app.clock, self.app.settings.key_lifetime_days)

    @cached_property
    def registers(self) -> Registers:
        return Registers(self.app)

    @cached_property
    def attachments(self) -> Attachments:
        return Attachments(self.app)

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(self.app)

    @cached_property
    def plan_imports(self) -> PlanImports:
        return PlanImports(self.app)

    @cached_property
    def records(self) -> Records:
        return Records(self.app)
