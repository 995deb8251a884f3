"""A task's page: its state, deadlines and how they were counted, its history in words, its children, and the acts the
reader may take."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from definitions import Definition, NotFound, Role, WorkflowError
from definitions.labels import shown, word
from definitions.model import FieldType
from workflow.authority import who_acts
from workflow.clock import PROVINCE_TZ
from workflow.obligations import days_late, days_past
from workflow.payload import DOCUMENT_PARTS
from workflow.ports import InstanceRecord

from .. import limits
from ..http import uses
from .base import (
    User,
    _day,
    _lang,
    _not_found,
    _now,
    _render,
    _signed_in,
)
from .diagram import state_svg
from .forms import _document_title
from .i18n import system_reason, words
from .labels import _band, _event_label, _fact_label, _payload_lines, _size, _state_label, _title, _value, _who

router = APIRouter(include_in_schema=False)


def _parent_title(request: Request, parent_id: int | None) -> str | None:
    """The task a child belongs to (the consultation it answers), by its title and key."""
    if parent_id is None:
        return None
    try:
        parent = uses(request).records.instance(parent_id)
    except NotFound:
        return None
    title = _title(_definition(request, parent.definition_id, parent.definition_version), _lang(request))
    return f"{title} ({parent.business_key})"


def _verdicts(request: Request, instance_id: int) -> list[str]:
    """A finished task's duties, each with its last day and how it ended: on time, or how many days late."""
    t = words(_lang(request))
    out = []
    for o in uses(request).records.obligations(instance_id):
        last = f"{o.last_day:%d/%m/%Y}"
        if o.closed_on is None:
            continue
        late = days_late(o.last_day, o.closed_on)
        if o.status.value == "waived":
            out.append(t["verdict_waived"].format(last=last))
        elif late <= 0:
            out.append(t["verdict_on_time"].format(last=last, done=f"{o.closed_on:%d/%m/%Y}"))
        else:
            out.append(t["verdict_late"].format(last=last, done=f"{o.closed_on:%d/%m/%Y}", days=late))
    return out


def _definition(request: Request, definition_id: str, version: int | None = None) -> Definition:
    """A definition as the page's reader reads it: its labels in the page's language (definitions/labels.py)."""
    return shown(uses(request).records.definition(definition_id, version), _lang(request))


def _actions(request: Request, user: User, instance: InstanceRecord, definition: Definition) -> list[dict[str, Any]]:
    """The forms of the acts the user may take. ``definition`` as written (Vietnamese): each label is put into the
    page's language here, the heading of a document's parts from its Vietnamese label."""
    actor, lang = user.actor, _lang(request)
    records = uses(request).records
    out = []
    for event in records.allowed(instance, actor):
        transition = definition.transition_from(instance.state, event)
        if transition is None:
            continue
        decision = records.decision(transition, instance, actor)  # an administrator acts for a body with a reason
        fields = [{"name": name, "type": spec.type.value, "required": spec.required,
                   "label": word(spec.label or name, lang), "legend": word(_document_title(spec.label or name), lang),
                   "values": [(v, word(spec.value_label(v), lang)) for v in spec.values or ()],
                   "parts": [(part, needed and spec.required) for part, (needed, _) in DOCUMENT_PARTS.items()]
                   if spec.type is FieldType.DOCUMENT else []}
                  for name, spec in transition.payload.items()]
        fields.sort(key=lambda f: not f["required"])  # required first (stable: otherwise as stored)
        body = None if decision.on_behalf_of is None else _body_name(request, decision.on_behalf_of, instance, lang)
        out.append({"event": event, "label": word(transition.label, lang), "fields": fields,
                    "reason_required": transition.reason_required or decision.needs_reason,
                    "on_behalf": None if body is None else words(lang)["on_behalf"].format(body=body),
                    # an act that issues or answers with an official document may carry the signed file
                    "attach": next((name for name, spec in transition.payload.items()
                                    if spec.type is FieldType.DOCUMENT), None)})
    return out


def _body_name(request: Request, role: str, instance: InstanceRecord, lang: str) -> str:
    """A plan role on a task in words: "Cán bộ Sở Y tế", "Ban Chỉ đạo Chương trình"."""
    t = words(lang)
    if role == Role.COMMITTEE.value:
        return t["committee_body"]
    records = uses(request).records
    code = instance.assignee if role == Role.OFFICER.value else records.standing_body(instance)
    return f"{t['officer_of']} {records.agency_names().get(code or '', code or '')}"


def _next_actors(request: Request, instance: InstanceRecord, definition: Definition, lang: str) -> list[str]:
    """Who must act next on a task, in words, each with the acts it can take (what a viewer who cannot act
    reads instead of a bare "nothing for you")."""
    records = uses(request).records
    out = []
    for n in who_acts(definition, instance.state, instance.assignee, records.standing_body(instance)):
        acts = ", ".join(word(t.label, lang) for e in n.events
                         if (t := definition.transition_from(instance.state, e)) is not None)
        out.append(f"{_body_name(request, n.role, instance, lang)}: {acts}")
    return out


def _timer_rows(request: Request, instance: InstanceRecord, definition: Definition) -> list[dict[str, Any]]:
    records = uses(request).records
    lang = _lang(request)
    t = words(lang)
    labels = {o.name: o.label for o in definition.obligations}
    rows = []
    for timer in records.open_timers(instance.id):
        steps = records.timer_steps(timer, lang)  # how the period ran, then how an extension moved it
        name = labels.get(timer.obligation or timer.name) or labels.get(timer.name) or (
            _event_label(definition, timer.event, lang) if timer.event else timer.name)
        rows.append({"name": name, "kind": t.get(f"timer_{timer.kind.value}", timer.kind.value),
                     "offset": t["days_before"].format(n=timer.offset_days) if timer.offset_days else "",
                     "due": _day(timer.due_at), "steps": steps, "status": timer.status.value})
    return rows


def _children(request: Request, instance_id: int) -> list[dict[str, Any]]:
    records = uses(request).records
    names = records.agency_names()
    out = []
    for child in records.children(instance_id):
        definition = _definition(request, child.definition_id, child.definition_version)
        last = records.history(child.id)[-1]
        answer = ""
        if child.state in definition.final_states:
            lang = _lang(request)
            details = "; ".join(_payload_lines(definition, last.event, last.payload, lang,
                                               _definition(request, child.definition_id)))
            answer = _event_label(definition, last.event, lang) + (f" ({details})" if details else "") + (
                f" ⚠ {words(lang)['overdue_short']}" if child.data.get("@late") else "")
        out.append({"id": child.id, "assignee": child.assignee, "agency_name": names.get(child.assignee,
                                                                                          child.assignee),
                    "state": definition.state(child.state).label, "answer": answer,
                    "due": None if child.state in definition.final_states else _day(child.due_at)})
    return out


def _instance_page(request: Request, user: User, instance_id: int, status: int = 200,
                   flash: str | None = None, flash_kind: str = "",
                   kept: dict[str, Any] | None = None) -> HTMLResponse:
    """``kept``: after a refusal, the form that was sent (its event, values and reason) and each field's problem,
    so that nothing typed is lost and the problem shows beside its field."""
    records = uses(request).records
    lang = _lang(request)
    try:
        instance = records.instance(instance_id)
    except NotFound as err:
        return _not_found(request, user, err)
    written = records.definition(instance.definition_id, instance.definition_version)
    definition = shown(written, lang)
    now = _now(request)
    final = instance.state in definition.final_states
    history = []
    rows = records.history(instance.id)
    latest = _definition(request, instance.definition_id)
    names = records.agency_names()
    for h in rows:
        then = definition if h.definition_version == definition.version else _definition(
            request, h.definition_id, h.definition_version)
        who, role = _who(h.actor_id, h.actor_role, h.actor_agency, lang, names)
        history.append({"seq": h.seq, "at": _day(h.at), "who": who, "role": role, "event": h.event,
                        "event_label": _event_label(then, h.event, lang),
                        "from": _state_label(then, h.from_state) if h.from_state else None,
                        "to": _state_label(then, h.to_state), "reason": system_reason(h.reason, h.actor_id, lang),
                        "payload": _payload_lines(then, h.event, h.payload, lang, latest, names),
                        "files": [{**f, "size_text": _size(int(f.get("size", 0)))}
                                  for f in h.payload.get("@files", ()) if isinstance(f, dict)]})
    late = None if final else days_past(instance.due_at, now)
    return _render(
        request, "instance.html", status, user, i=instance, title=_title(definition, lang),
        verdicts=_verdicts(request, instance.id) if final else [],
        parent_title=_parent_title(request, instance.parent_id),
        section=definition.seed_section, assignee_name=records.agency_names().get(instance.assignee,
                                                                                    instance.assignee),
        state_label=definition.state(instance.state).label, due=None if final else _day(instance.due_at),
        late_days=late, svg=state_svg(definition, instance.state, _title(definition, lang),
                                      [(h.from_state, h.to_state) for h in rows], words(lang)["any_state"]),
        actions=_actions(request, user, instance, written),
        timers=_timer_rows(request, instance, definition),
        children=_children(request, instance.id), history=history, flash=flash, flash_kind=flash_kind,
        kept=kept or {"event": None, "values": {}, "reason": "", "fields": {}},
        max_file_mb=records.settings.max_file_mb, next_actors=_next_actors(request, instance, written, lang),
        inherited=next((f"{words(lang)['inherited_from']} {names.get(str(h.payload.get('from')), '')} "
                        f"{words(lang)['on_day']} {_value(h.effective_on or '', lang)}"
                        for h in reversed(rows) if h.event == "@reassigned"), None),
        cooperating=", ".join(names.get(str(c), str(c)) for c in instance.data.get("cooperating", ())
                              if isinstance(instance.data.get("cooperating"), list)),
        decisions=_decision_forms(request, user, instance, written, lang),
        band=None if final else _band(uses(request).reports.forecast_today(lang).get(instance.id), lang,
                                      _now(request).astimezone(PROVINCE_TZ).date()),
        clock_forms=uses(request).deadlines.may_stop(user.actor, instance.id))


def _decision_forms(request: Request, user: User, instance: InstanceRecord, definition: Definition,
                    lang: str) -> dict[str, Any]:
    """The decisions the user may take on the task (``workflow.facts`` says which), and what they are about: the
    request for more time waiting, the receipt claimed, the rows and facts a correction may name."""
    allowed = uses(request).decisions.allowed(user.actor, instance.id)
    waiting = instance.data.get("@extension_request")
    claim = instance.data.get("@receipt_claim")
    facts = [("effective_on", words(lang)["field_effective_on"])]
    for transition in definition.transitions:
        for name, spec in transition.payload.items():
            if spec.type is FieldType.DATE and all(f != name for f, _ in facts):
                facts.append((name, word(spec.label or name, lang)))
            elif spec.type is FieldType.DOCUMENT and all(not f.startswith(name + ".") for f, _ in facts):
                facts += [(f"{name}.{part}", _fact_label(definition, f"{name}.{part}", lang))
                          for part in DOCUMENT_PARTS]
    rows = [(h.seq, f"{h.seq}. {word(_event_label(definition, h.event, lang), lang)} "
                    f"({_value(h.effective_on or '', lang)})")
            for h in uses(request).records.history(instance.id) if h.event == "@start" or not h.event.startswith("@")
            ] if "correct" in allowed else []
    progress = instance.data.get("@progress")
    explanations = []
    for e in uses(request).decisions.explanations(instance.id):
        shown = _definition(request, e.definition_id, e.definition_version)
        answer = next((h.payload.get("text") for h in reversed(uses(request).records.history(e.id))
                       if h.event == "explain"), None)
        explanations.append({"id": e.id, "state": word(_state_label(shown, e.state), lang),
                             "reason": str(e.data.get("reason", "")), "answer": answer,
                             "asked": _value(e.effective_on.isoformat() if e.effective_on else "", lang)})
    return {"allowed": allowed, "rows": rows, "facts": facts, "explanations": explanations,
            "explain_days": uses(request).records.settings.explanation_working_days,
            "progress": {"text": str(progress.get("text", "")), "percent": progress.get("percent"),
                         "seq": progress.get("seq")} if isinstance(progress, dict) else None,
            "waiting": {"day": _value(str(waiting.get("proposed")), lang), "seq": waiting.get("seq"),
                        "proposed": _value(str(waiting.get("proposed")), lang)} if isinstance(waiting, dict) else None,
            "claim": {"day": _value(str(claim.get("started_on")), lang)} if isinstance(claim, dict) else None}


@router.get("/instances/{instance_id}")
def instance_page(request: Request, instance_id: int, done: str | None = None) -> HTMLResponse:
    user = _signed_in(request)
    if not 0 < instance_id < 2**62:
        return _not_found(request, user, NotFound("instance", instance_id))
    flash = None
    if done:  # the event just fired, said by its label
        lang = _lang(request)
        try:
            instance = uses(request).records.instance(instance_id)
            label = _event_label(_definition(request, instance.definition_id, instance.definition_version),
                                 done[:limits.IDENTIFIER], lang)
        except WorkflowError:
            label = ""
        flash = f"{words(lang)['done']} {label}".strip()
    return _instance_page(request, user, instance_id, flash=flash, flash_kind="ok")
