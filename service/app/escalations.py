"""Escalations to the Steering Committee: who is late, and the committee's acknowledgement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from typing_extensions import TypedDict

from definitions import WorkflowError
from workflow import Actor
from workflow.deadlines import ACK_ROLES

from ..views import EscalationView, escalation_view
from .ports import Services


class Acknowledged(TypedDict):
    escalation_id: int
    instance_id: int
    status: Literal["acknowledged"]


class Escalations:
    def __init__(self, app: Services) -> None:
        self.app = app

    @staticmethod
    def may_acknowledge(actor: Actor) -> bool:
        """Whether ``actor`` acknowledges escalations for the Steering Committee (``workflow.deadlines``)."""
        return actor.role in ACK_ROLES

    def find(self, status: Literal["open", "acknowledged"] | None = None) -> list[EscalationView]:
        return [escalation_view(e) for e in self.app.store.list_escalations(status)]

    def acknowledge(self, actor: Actor, escalation_id: int, note: str | None = None) -> Acknowledged:
        instance_id = self.app.deadlines.acknowledge(escalation_id, actor, note)
        return {"escalation_id": escalation_id, "instance_id": instance_id, "status": "acknowledged"}

    def acknowledge_many(self, actor: Actor, escalation_ids: Sequence[int], note: str | None = None
                         ) -> list[Acknowledged]:
        """Acknowledge several at once (the committee's inbox); each is its own transaction and its own history
        row, so one refused (acknowledged meanwhile) leaves the others done. Refusals are raised after."""
        done, refused = [], None
        for escalation_id in dict.fromkeys(escalation_ids):
            try:
                done.append(self.acknowledge(actor, escalation_id, note))
            except WorkflowError as err:
                refused = refused or err
        if refused is not None and not done:
            raise refused
        return done
