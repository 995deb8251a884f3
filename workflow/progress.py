"""Progress reports (issue 29): the owing agency says how an open duty is going (a short text, optionally the
document it sent and a percentage where the duty has a measurable target), without changing the duty's state or
any deadline. Each is one hashed ``@progress`` history row; the Committee's record counts a task reported on
within its window as *kept up to date* (``service.record``), and the task's page shows the latest.

Who: an officer of the owing agency; an administrator only on its behalf, with a reason (``workflow.authority``).
Refused on a finished task; every problem with the input is reported at once; a refusal writes nothing.
"""

from __future__ import annotations

from typing import Any

from definitions import Role

from .audit import nfc
from .authority import ON_BEHALF, decide, held_roles
from .engine import Engine
from .errors import PayloadInvalid, Refused, RoleNotAllowed
from .payload import check_document, has_control
from .ports import Actor, HistoryRecord, InstanceRecord

PROGRESS = "@progress"
ROLES = (Role.OFFICER.value,)
MAX_TEXT = 4000


def may_report(engine: Engine, instance: InstanceRecord, actor: Actor) -> bool:
    """Whether ``actor`` may report progress on ``instance`` now (what a page offers; ``report_progress`` checks
    again)."""
    definition = engine.definition(instance.definition_id, instance.definition_version)
    return instance.state not in definition.final_states and decide(
        ROLES, held_roles(actor.role, actor.agency, instance.assignee, engine.standing_body_of(instance)),
        actor.role).allowed


def report_progress(engine: Engine, instance_id: int, actor: Actor, *, text: str, percent: int | None = None,
                    document: Any = None, reason: str | None = None) -> HistoryRecord:
    """Record one progress report on an open task (see the module docstring); the history row written."""
    where: dict[str, Any] = {"instance_id": instance_id, "event": PROGRESS}
    errors: list[tuple[str, str]] = []
    text = nfc(text or "").strip()
    if not text:
        errors.append(("text", "required: what has been done, what remains"))
    elif len(text) > MAX_TEXT or has_control(text):
        errors.append(("text", f"at most {MAX_TEXT} characters, no control characters"))
    if percent is not None and (isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100):
        errors.append(("percent", "a whole number from 0 to 100"))
    clean_document = None
    if document not in (None, "", {}):
        clean_document, problems = check_document(document)
        errors += problems
    with engine.store.transaction() as uow:
        instance = engine.load(uow, instance_id)
        where["state"] = instance.state
        decision = decide(ROLES, held_roles(actor.role, actor.agency, instance.assignee,
                                            engine.standing_body_of(instance)), actor.role)
        if not decision.allowed:
            raise RoleNotAllowed(actor.role.value, list(ROLES), **where)
        if decision.needs_reason and not (reason and reason.strip()):
            errors.insert(0, ("reason", "required: an administrator reports for the owing agency only with a reason"))
        definition = engine.definition(instance.definition_id, instance.definition_version)
        if instance.state in definition.final_states:
            raise Refused("the task is finished: there is no progress left to report", **where)
        if errors:
            raise PayloadInvalid(errors, **where)
        payload: dict[str, Any] = {"text": text}
        if percent is not None:
            payload["percent"] = percent
        if clean_document is not None:
            payload["document"] = clean_document
        if decision.on_behalf_of:
            payload[ON_BEHALF] = {"role": decision.on_behalf_of, "agency": instance.assignee}
        updated = engine.append(uow, instance, PROGRESS, actor, payload, reason,
                                data={**instance.data, "@progress": {**payload, "seq": instance.version + 1}})
        row = uow.history_row(instance_id, updated.version)
        assert row is not None
        return row
