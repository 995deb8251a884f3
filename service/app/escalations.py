"""Escalations to the Steering Committee: who is late, and the committee's acknowledgement."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict

from workflow import Actor

from ..context import App
from ..views import EscalationView, escalation_view


class Acknowledged(TypedDict):
    escalation_id: int
    instance_id: int
    status: Literal["acknowledged"]


class Escalations:
    def __init__(self, app: App) -> None:
        self.app = app

    def find(self, status: Literal["open", "acknowledged"] | None = None) -> list[EscalationView]:
        return [escalation_view(e) for e in self.app.store.list_escalations(status)]

    def acknowledge(self, actor: Actor, escalation_id: int, note: str | None = None) -> Acknowledged:
        instance_id = self.app.deadlines.acknowledge(escalation_id, actor, note)
        return {"escalation_id": escalation_id, "instance_id": instance_id, "status": "acknowledged"}
