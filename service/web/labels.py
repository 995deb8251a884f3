"""What a page shows, in words: labels of states, acts and facts, values as a person reads them, the forecast's bands.
Pure: no request, no records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from definitions import Definition, Role
from definitions.labels import word
from definitions.model import FieldType
from workflow.clock import PROVINCE_TZ

from ..views import local_time
from .i18n import words


def _title(definition: Definition, lang: str) -> str:
    return definition.title.en if lang == "en" and definition.title.en else definition.title.vi


def _clock_time(at: dt.datetime | None) -> str:
    """HH:MM dd/mm/yyyy in province time (a lock's end)."""
    return "" if at is None else at.astimezone(PROVINCE_TZ).strftime("%H:%M %d/%m/%Y")


def _band(row: Any, lang: str, day: dt.date) -> dict[str, str] | None:
    """A forecast row (``service.record``) as a coloured band: red at 70 % or more likely late, amber at 30 %, green
    below, grey without enough history; its words for people."""
    if row is None:
        return None
    t = words(lang)
    if row.p_late is None:
        return {"kind": "grey", "words": t["forecast_unknown"], "basis": row.basis, "past": ""}
    kind = "red" if row.p_late >= 0.7 else "amber" if row.p_late >= 0.3 else "green"
    done = "" if row.p50 is None else t["forecast_done_by"].format(
        p50=_value(row.p50, lang), p85=_value(row.p85, lang) if row.p85 else t["forecast_not_sure"])
    past = row.last_day < day.isoformat()  # already late on the day the page speaks of
    said = t["forecast_past"] if past else t["forecast_p"].format(p=round(row.p_late * 100))
    basis = row.basis
    for prefix in ("đã quá hạn; ", "already past its last day; "):  # the band says it already
        basis = basis.removeprefix(prefix)
    return {"kind": kind, "words": said + done, "basis": basis, "past": "1" if past else ""}


def _decimal(value: float | None, lang: str) -> str:
    return "—" if value is None else f"{value:.3f}".replace(".", "," if lang == "vi" else ".")


# the engine's own references and workings (the timers' arithmetic, the request as sent), not for people
HIDDEN_KEYS = {"escalation_id", "cause", "timer_id", "fence", "request", "steps", "timers", "moves", "request_seq",
               "claim_seq", "obligation"}


def _value(value: Any, lang: str) -> str:
    """A payload value as people read it: dates dd/mm/yyyy, instants in province time, yes/no in words."""
    t = words(lang)
    if isinstance(value, bool):
        return t["yes"] if value else t["no"]
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return f"{dt.date.fromisoformat(value):%d/%m/%Y}"
            if "T" in value and len(value) >= 19:
                return local_time(value)
        except ValueError:
            pass
        return value
    if isinstance(value, list):
        return ", ".join(_value(v, lang) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{t.get('field_' + str(k), k)}: {_value(v, lang)}" for k, v in value.items())
    return str(value)


def _event_label(definition: Definition, event: str, lang: str) -> str:
    if event.startswith("@"):
        return words(lang).get(f"event_{event}", event)
    transition = next((x for x in definition.transitions if x.event == event), None)
    return transition.label if transition is not None else event


def _state_label(definition: Definition, state: str | None) -> str:
    if state is None:
        return "∅"
    try:
        return definition.state(state).label
    except (KeyError, ValueError, LookupError):
        return state


def _note_lines(payload: Mapping[str, Any], lang: str, names: Mapping[str, str]) -> list[str]:
    """What the engine noted in a row besides the payload, in words: an administrator's act for a body, the register
    entry it made, the escalations it closed."""
    t = words(lang)
    out = []
    behalf = payload.get("@on_behalf_of")
    if isinstance(behalf, Mapping):  # an administrator's act for a body
        role = str(behalf.get("role"))
        body = t["committee_body"] if role == Role.COMMITTEE.value else \
            f"{t['officer_of']} {names.get(str(behalf.get('agency')), str(behalf.get('agency')))}"
        out.append(f"{t['field_on_behalf']}: {body}")
    entry = payload.get("@register")
    if isinstance(entry, Mapping) and entry.get("direction") in ("in", "out"):  # the register it entered
        direction = str(entry["direction"])
        out.append(f"{t['register_' + direction]}: {t['register_number_' + direction].lower()} "
                   f"{entry.get('number')}/{entry.get('year')}"
                   + (f" ({t['register_eoffice']})" if entry.get("source") == "eoffice" else ""))
    closed = payload.get("@escalations_closed")
    if isinstance(closed, list) and closed:
        out.append(f"{t['field_escalations_closed']}: {', '.join(str(c) for c in closed)}")
    return out


def _payload_lines(definition: Definition, event: str, payload: Mapping[str, Any], lang: str,
                   latest: Definition | None = None, names: Mapping[str, str] | None = None) -> list[str]:
    """Each field as "its label: its value" (the transition's labels; the engine's own fields by name); a choice
    by its label, from the instance's version or else the definition's latest (older versions had none)."""
    t = words(lang)
    transition = next((x for x in definition.transitions if x.event == event), None)
    specs = transition.payload if transition is not None else {}
    newer = next((x for x in latest.transitions if x.event == event), None) if latest is not None else None
    out = _note_lines(payload, lang, names or {})
    for key, value in payload.items():
        if key in HIDDEN_KEYS or str(key).startswith("@"):
            continue
        if event == "@deadline_extended" and (key == "due_at" or (key == "late" and not value)):
            continue  # the new last day says it; "late" only when it was
        if key == "field" and event == "@corrected":  # the fact corrected, in words
            out.append(f"{t['field_field']}: {_fact_label(definition, str(value), lang)}")
            continue
        spec = specs.get(key)
        label = (spec.label if spec is not None and spec.label else None) or t.get(f"field_{key}", key)
        if spec is not None and spec.values and isinstance(value, str):
            named = spec if spec.value_labels or newer is None else newer.payload.get(key, spec)
            out.append(f"{label}: {named.value_label(value)}")
            continue
        if spec is not None and spec.type is FieldType.DECIMAL and isinstance(value, str):
            out.append(f"{label}: {shown_decimal(value, lang)}")
            continue
        if isinstance(value, Mapping) and (spec is None or spec.type is FieldType.DOCUMENT) and "number" in value:
            out.append(f"{label}: {document_words(value, lang)}")
            continue
        if isinstance(value, list) and key == "missed_stay":  # obligations by their labels
            labels = {o.name: word(o.label, lang) for o in definition.obligations}
            out.append(f"{t['field_missed_stay']}: {'; '.join(labels.get(str(v), str(v)) for v in value)}")
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value) and key in ("from", "to"):
            out.append(f"{label}: {', '.join((names or {}).get(v, v) for v in value) or '—'}")  # agencies by name
            continue
        agency = key in ("assignee", "agency") or (spec is not None and spec.type is FieldType.AGENCY)
        if names and agency and isinstance(value, str):
            out.append(f"{label}: {names.get(value, value)}")  # an agency by its registry name, not its code
            continue
        out.append(f"{label}: {_value(value, lang)}")
    return out


def _fact_label(definition: Definition, field: str, lang: str) -> str:
    """A correctable fact in words: "Ngày nhận", "Văn bản — ngày ban hành"."""
    t = words(lang)
    if field == "effective_on":
        return t["field_effective_on"]
    name, _, part = field.partition(".")
    label = next((word(spec.label or name, lang) for tr in definition.transitions
                  for n, spec in tr.payload.items() if n == name), t.get(f"field_{name}", name))
    return f"{label} — {t.get('doc_' + part, part).lower()}" if part else label


def document_words(document: Mapping[str, Any], lang: str) -> str:
    """A document's particulars as one reads them: "12/BC-SKHCN ngày 02/11/2026 — Báo cáo kết quả … (người ký:
    Giám đốc Nguyễn Văn A)"."""
    t = words(lang)
    text = str(document.get("number", ""))
    if document.get("issued_on"):
        text += f" {t['doc_dated']} {_value(str(document['issued_on']), lang)}"
    if document.get("summary"):
        text += f" — {document['summary']}"
    if document.get("signer"):
        text += f" ({t['doc_signed_by']}: {document['signer']})"
    return text


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def _who(actor_id: str, role: str, agency: str | None, lang: str,
         names: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The person or key that acted, and its role in words (the engine itself: "Hệ thống (tự động)"; an agency by
    its name when ``names`` has it)."""
    t = words(lang)
    role_text = t.get(f"role_{role}", role) + (f", {(names or {}).get(agency, agency)}" if agency else "")
    if actor_id.startswith("system:"):
        return t["role_system"], ""
    if actor_id.startswith("account:"):  # account:<id>:<the name it had then>
        return actor_id.split(":", 2)[-1], role_text
    if actor_id.startswith("key:"):  # a machine's key, by the name its administrator gave it, and its owner
        name, _, owner = actor_id[4:].partition("|account:")
        if owner:
            return t["by_key_of"].format(name=name, owner=owner.split(":", 1)[-1]), role_text
        return t["by_key"].format(name=name), role_text
    if actor_id.startswith("cli:"):  # the command line on the server, by the system user who ran it
        return t["by_cli"].format(user=actor_id.split(":", 1)[1]), role_text
    return actor_id, role_text


def shown_decimal(value: str, lang: str) -> str:
    """A stored decimal ("1250.5") as the reader writes it ("1.250,5" in Vietnamese)."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    whole, _, fraction = f"{abs(number):f}".partition(".")
    mark, group = (",", ".") if lang == "vi" else (".", ",")
    grouped = f"{int(whole):,}".replace(",", group)
    return ("-" if number < 0 else "") + grouped + (mark + fraction if fraction else "")
