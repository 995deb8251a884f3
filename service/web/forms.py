"""Typed form parsing for the pages: an act's payload from its fields, dates and counts, decimals typed the Vietnamese
way, the files attached."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from definitions import Definition
from definitions.model import FieldType
from workflow.errors import PayloadInvalid
from workflow.payload import DOCUMENT_PARTS

from .. import limits
from ..app.attachments import Attached
from ..http import uses
from ..views import typed_date


def _document_title(label: str) -> str:
    """The heading of a document's parts: the definitions name a document field by its number ("Số báo cáo",
    written when the field was the number alone); over its parts (số, ngày, trích yếu, người ký) it is the document:
    "Báo cáo"."""
    rest = label[3:] if label.startswith("Số ") and len(label) > 3 else label
    return rest[:1].upper() + rest[1:]


def _typed_day(value: str) -> str:
    """A day typed as dd/mm/yyyy (or YYYY-MM-DD) as the engine takes it; else as typed, for the engine to name."""
    typed = typed_date(value)
    return typed.isoformat() if typed is not None else value


def _payload(form: FormData, definition: Definition, state: str, event: str, lang: str = "vi") -> dict[str, Any]:
    transition = definition.transition_from(state, event)
    if transition is None:
        return {}
    payload: dict[str, Any] = {}
    for name, spec in transition.payload.items():
        if spec.type is FieldType.BOOLEAN:
            payload[name] = form.get(f"p.{name}") is not None
            continue
        if spec.type is FieldType.DOCUMENT:  # its parts, each an input (p.document.number, …); none typed: absent
            parts = {part: str(form.get(f"p.{name}.{part}") or "").strip() for part in DOCUMENT_PARTS}
            if any(parts.values()):
                if parts["issued_on"]:
                    parts["issued_on"] = _typed_day(parts["issued_on"])
                payload[name] = {part: value for part, value in parts.items() if value}
            continue
        value = str(form.get(f"p.{name}") or "").strip()
        if not value:
            continue  # absent: the engine says so if it is required
        if spec.type is FieldType.DATE:
            payload[name] = _typed_day(value)
            continue
        if spec.type is FieldType.INTEGER:
            try:
                payload[name] = int(value.replace(".", "") if lang == "vi" else value.replace(",", ""))
                continue
            except ValueError:
                pass  # passed on as text: the engine names the field and what is wrong
        if spec.type is FieldType.DECIMAL:
            payload[name] = typed_decimal(value, lang)
            continue
        payload[name] = value
    return payload


def typed_decimal(text: str, lang: str) -> str:
    """A number as people type it, as the engine reads it: on Vietnamese pages the comma is the decimal mark and
    the dot groups thousands ("1.250,5" → "1250.5"); on English ones the other way round. What is not a number is
    passed on as typed, and the engine says so."""
    mark, group = (",", ".") if lang == "vi" else (".", ",")
    text = text.replace(" ", "").replace("\u00a0", "")
    if text.count(mark) > 1:
        return text
    whole, _, fraction = text.partition(mark)
    if group in whole and not all(len(part) == 3 for part in whole.split(group)[1:]):
        return text  # "12.5" on a Vietnamese page is not a grouping: left for the engine to refuse in words
    return whole.replace(group, "") + ("." + fraction if fraction else "")


def _attached(request: Request, form: FormData, uploader: str | None = None) -> list[Attached]:
    """The file sent with an action form, checked and stored (none: an empty list). Read at most one byte past the
    limit, so that a file too large is refused without holding more of it."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return []
    attachments = uses(request).attachments
    data = upload.file.read(attachments.limit + 1)
    return [attachments.accept(upload.filename, data, uploader=uploader)]


def _date_field(value: str, name: str) -> dt.date | None:
    if not value.strip():
        return None
    day = typed_date(value)
    if day is None:
        raise PayloadInvalid([(name, f"{value.strip()!r} is not a date (YYYY-MM-DD)")])
    return day


def _count_field(value: str, name: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 5:
        raise PayloadInvalid([(name, f"must be a whole number, not {value!r}")])
    return int(value)


def _decision_document(form: FormData) -> Any:
    """The deciding document as typed: its number, with its date of issue when given (the decision's date)."""
    number = str(form.get("document.number") or "").strip()[:limits.DOCUMENT]
    issued = str(form.get("document.issued_on") or "").strip()[:limits.DAY]
    if not number and not issued:
        return None
    return {"number": number, "issued_on": _typed_day(issued)} if issued else number
