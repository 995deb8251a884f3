"""Decisions that change recorded facts (``workflow.facts``): the owing agency asks for more time and the body
that assigned the duty decides; the standing body decides a receipt claimed too late; the standing body or an
administrator corrects a recorded fact. Who may do which is decided below, in ``workflow``; each answers with the
history row it wrote."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workflow import Actor
from workflow.explanations import explanations_of, may_request, request_explanation, unanswered
from workflow.facts import Facts
from workflow.ports import InstanceRecord, ObligationStatus
from workflow.progress import may_report, report_progress

from ..views import HistoryView, history_view
from .ports import Services


class Decisions:
    def __init__(self, app: Services) -> None:
        self.app = app
        self.facts = Facts(app.engine)

    def allowed(self, actor: Actor, instance_id: int) -> frozenset[str]:
        """What ``actor`` may decide on the task now: ``ask``, ``decide``, ``extend``, ``claim``, ``correct``, and
        ``progress`` (report how it is going), ``explain`` (ask for an explanation of an overdue duty)."""
        instance = self.app.store.get_instance(instance_id)
        allowed = self.facts.allowed(instance, actor)
        if may_report(self.app.engine, instance, actor):
            allowed |= {"progress"}
        if may_request(self.app.engine, instance, actor) and self._overdue(instance.id) and \
                unanswered(self.app.engine, instance.id) is None:  # one request at a time
            allowed |= {"explain"}
        return allowed

    def _overdue(self, instance_id: int) -> bool:
        now = self.app.clock.now()
        with self.app.store.transaction() as uow:
            return any(o.status is ObligationStatus.OPEN and o.due_at <= now for o in uow.obligations_of(instance_id))

    def request_extension(self, actor: Actor, instance_id: int, *, reason: str, to_date: dt.date | None,
                          document: Any = None, effective_on: dt.date | None = None,
                          obligation: str | None = None) -> HistoryView:
        """The owing agency asks for a later last day (``to_date``), with its reasons and its document."""
        return history_view(self.facts.request_extension(instance_id, actor, reason=reason, to_date=to_date,
                                                         document=document, effective_on=effective_on,
                                                         obligation=obligation))

    def report_progress(self, actor: Actor, instance_id: int, *, text: str, percent: int | None = None,
                        document: Any = None, reason: str | None = None) -> HistoryView:
        """The owing agency says how the duty is going (``workflow.progress``): no state or deadline changes."""
        return history_view(report_progress(self.app.engine, instance_id, actor, text=text, percent=percent,
                                            document=document, reason=reason))

    def request_explanation(self, actor: Actor, instance_id: int, *, reason: str,
                            working_days: int | None = None) -> HistoryView:
        """The Committee or the standing body asks the owing agency to explain an overdue duty
        (``workflow.explanations``): the row on the task; the explanation is a task of its own."""
        row, _ = request_explanation(self.app.engine, instance_id, actor, reason=reason,
                                     working_days=working_days or self.app.settings.explanation_working_days)
        return history_view(row)

    def explanations(self, instance_id: int) -> list[InstanceRecord]:
        """The explanations asked for a task, oldest first."""
        return explanations_of(self.app.engine, instance_id)

    def decide_extension(self, actor: Actor, instance_id: int, *, grant: bool, reason: str, document: Any,
                         to_date: dt.date | None = None, effective_on: dt.date | None = None) -> HistoryView:
        """The deciding body grants the waiting request (to the day asked, or to ``to_date``) or refuses it."""
        return history_view(self.facts.decide_extension(instance_id, actor, grant=grant, reason=reason,
                                                        document=document, to_date=to_date,
                                                        effective_on=effective_on))

    def decide_claim(self, actor: Actor, instance_id: int, *, accept: bool, reason: str,
                     document: Any = None) -> HistoryView:
        """The standing body (or the Committee) accepts or rejects a receipt the agency stated too late."""
        return history_view(self.facts.decide_claim(instance_id, actor, accept=accept, reason=reason,
                                                    document=document))

    def correct(self, actor: Actor, instance_id: int, *, seq: int, field: str, value: str, reason: str,
                document: Any = None) -> HistoryView:
        """Put right one recorded fact of history row ``seq`` (a new row; the original stays)."""
        return history_view(self.facts.correct(instance_id, actor, seq=seq, field=field, value=value, reason=reason,
                                               document=document))
