"""Instances: start, fire, and what anyone may read of one (itself, its history, its timers, its children)."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from definitions.labels import word
from workflow import Actor, FireResult, InstanceRecord
from workflow.errors import PayloadInvalid

from ..views import (
    HistoryView,
    InstanceDetail,
    InstanceView,
    TimerView,
    history_view,
    instance_view,
    obligation_view,
    timer_view,
)
from .ports import Services


class Outcome(NamedTuple):
    """What a start or an event did, as every front end needs it: the view, and what HTTP puts in its headers
    (the version for the ETag, whether an idempotency key replayed an earlier request) or wakes the
    scheduler for (the new deadline)."""

    view: InstanceView
    version: int
    seq: int
    due_at: dt.datetime | None
    definition_id: str
    replayed: bool


class Page(NamedTuple):
    items: list[InstanceView]
    next_cursor: int | None


class Instances:
    def __init__(self, app: Services) -> None:
        self.app = app

    def _outcome(self, result: FireResult, actor: Actor) -> Outcome:
        i = result.instance
        return Outcome(instance_view(self.app.engine, i, actor), i.version, result.record.seq, i.due_at,
                       i.definition_id, result.replayed)

    def start(self, actor: Actor, definition: str, business_key: str, assignee: str, *,
              data: Mapping[str, Any] | None = None, version: int | None = None,
              effective_on: dt.date | None = None, idempotency_key: str | None = None,
              request_id: str | None = None) -> Outcome:
        """A new instance in its definition's initial state (one write transaction, the idempotency key in it)."""
        return self._outcome(self.app.engine.start_request(
            definition, business_key, assignee, actor, data=data, version=version, request_id=request_id,
            effective_on=effective_on, idempotency_key=idempotency_key), actor)

    def fire(self, actor: Actor, instance_id: int, event: str, *, payload: Mapping[str, Any] | None = None,
             reason: str | None = None, expected_version: int | None = None, effective_on: dt.date | None = None,
             idempotency_key: str | None = None, request_id: str | None = None,
             attachments: Sequence[Mapping[str, Any]] = ()) -> Outcome:
        """An event as ``actor``: the engine checks the role, the agency, the guards and the payload.
        ``attachments``: files already accepted by ``Attachments.accept`` (recorded in the history row)."""
        return self._outcome(self.app.engine.fire(
            instance_id, event, actor, payload=payload, reason=reason, expected_version=expected_version,
            idempotency_key=idempotency_key, request_id=request_id, effective_on=effective_on,
            attachments=attachments), actor)

    def record(self, instance_id: int) -> InstanceRecord:
        return self.app.store.get_instance(instance_id)

    def show(self, instance_id: int, actor: Actor | None = None) -> InstanceDetail:
        """``allowed_events``: what ``actor`` may fire; ``obligations``: its legal duties, judged now."""
        record = self.record(instance_id)
        definition = self.app.engine.definition(record.definition_id, record.definition_version)
        labels = {o.name: word(o.label, "vi") for o in definition.obligations}
        now = self.app.clock.now()
        return {**instance_view(self.app.engine, record, actor),
                "obligations": [obligation_view(o, labels.get(o.name, o.name), now)
                                for o in self.app.store.instance_obligations(instance_id)]}

    def find(self, *, definition: str | None = None, state: str | None = None, agency: str | None = None,
             overdue: bool = False, due_before: dt.datetime | None = None, key_prefix: str | None = None,
             cursor: int = 0, limit: int = 100, actor: Actor | None = None) -> Page:
        """Oldest first, ``limit`` at a time; ``next_cursor`` continues (None: the last page). A state no stored
        definition has (of ``definition``, if given) is refused: "no instances" would hide the typing mistake."""
        store = self.app.store
        if state is not None:
            stored = [s.definition for s in store.list_definitions() if definition in (None, s.definition.id)]
            known = sorted({st.id for d in stored for st in d.states})
            if stored and state not in known:
                close = difflib.get_close_matches(state, known, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise PayloadInvalid([("state", f"no state {state!r} in {definition or 'any definition'}; "
                                                f"{hint}known: {', '.join(known)}")])
        rows = store.list_instances(definition_id=definition, state=state, assignee=agency, after_id=cursor,
                                    limit=limit, overdue_at=self.app.clock.now() if overdue else None,
                                    due_before=due_before, key_prefix=key_prefix)
        return Page([instance_view(self.app.engine, i, actor) for i in rows],
                    rows[-1].id if len(rows) == limit else None)

    def history(self, instance_id: int) -> list[HistoryView]:
        self.record(instance_id)  # 404 for an instance that does not exist, not an empty list
        return [history_view(r) for r in self.app.store.history(instance_id)]

    def timers(self, instance_id: int) -> list[TimerView]:
        self.record(instance_id)
        return [timer_view(t) for t in self.app.store.list_timers(instance_id)]

    def children(self, instance_id: int, actor: Actor | None = None) -> list[InstanceView]:
        self.record(instance_id)
        return [instance_view(self.app.engine, c, actor)
                for c in self.app.store.list_instances(parent_id=instance_id, limit=10_000)]
