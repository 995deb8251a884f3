"""Checking an event's payload against its transition's field schema, every bad field at once.

Accepted values are normalised to JSON-safe canonical forms: text in NFC, decimals and dates as
strings, so a payload hashes the same wherever it is read back.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from definitions import FieldType, PayloadField

AGENCY_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{0,31}$")
# "472/QĐ-UBND", "15/2022/NQ-HĐND": a number, an optional year, then the issuing symbol.
DOCUMENT_REF = re.compile(r"^\d{1,6}(/\d{4})?/[^\s/]+(/[^\s/]+)?$")
DEFAULT_STRING_MAX = 500
DEFAULT_TEXT_MAX = 100_000


CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # text never holds these (NUL, BEL, ESC, ...)


def has_control(text: str) -> bool:
    """Whether text holds a control character other than a line break or a tab: refused where text enters, so no
    terminal, spreadsheet or document that shows it later is fooled or fails."""
    return CONTROL.search(text) is not None


def _text(value: Any, spec: PayloadField, multiline: bool) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return None, f"must be text, not {type(value).__name__}"
    value = unicodedata.normalize("NFC", value)
    limit = spec.max_length or (DEFAULT_TEXT_MAX if multiline else DEFAULT_STRING_MAX)
    if len(value) > limit:
        return None, f"longer than {limit} characters"
    if not multiline and ("\n" in value or "\r" in value):
        return None, "must be one line"
    if has_control(value):
        return None, "must not contain control characters"
    if not value.strip() and spec.required:
        return None, "must not be blank"
    return value, None


def _number(value: Any, spec: PayloadField) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return None, "must be a number, not a boolean"
    if spec.type is FieldType.INTEGER:
        if not isinstance(value, int):
            return None, f"must be a whole number, not {value!r}"
        number = Decimal(value)
        out: Any = value
    else:
        if isinstance(value, float) or not isinstance(value, int | str):
            return None, "must be a decimal written as a string (e.g. \"12.5\") or an integer"
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None, f"{value!r} is not a decimal number"
        if not number.is_finite():
            return None, "must be finite"
        out = str(number)
    if spec.minimum is not None and number < spec.minimum:
        return None, f"must be at least {spec.minimum}"
    if spec.maximum is not None and number > spec.maximum:
        return None, f"must be at most {spec.maximum}"
    return out, None


def _one(value: Any, spec: PayloadField) -> tuple[Any, str | None]:
    kind = spec.type
    if kind in (FieldType.STRING, FieldType.TEXT):
        return _text(value, spec, kind is FieldType.TEXT)
    if kind in (FieldType.INTEGER, FieldType.DECIMAL):
        return _number(value, spec)
    if kind is FieldType.BOOLEAN:
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind is FieldType.DATE:
        if not isinstance(value, str):
            return None, "must be a date written YYYY-MM-DD"
        try:
            return dt.date.fromisoformat(value).isoformat(), None
        except ValueError:
            return None, f"{value!r} is not a date (YYYY-MM-DD)"
    if kind is FieldType.ENUM:
        values = spec.values or ()
        return (value, None) if value in values else (None, f"must be one of {', '.join(values)}")
    if kind is FieldType.AGENCY:
        ok = isinstance(value, str) and AGENCY_CODE.match(value)
        return (value, None) if ok else (None, f"{value!r} is not an agency code (e.g. SKHCN)")
    return _reference(value)  # a document as its bare reference (check_payload reads its parts)


def _reference(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value.strip())
        if DOCUMENT_REF.match(value) and len(value) <= 100:
            return value, None
    return None, f"{value!r} is not a document reference (number/symbol, e.g. 472/QĐ-UBND)"


# The parts of an official document as Nghị định 30/2020/NĐ-CP names them: số, ký hiệu; ngày ban hành; trích yếu;
# người ký. Part → (required, longest).
DOCUMENT_PARTS: dict[str, tuple[bool, int]] = {"number": (True, 100), "issued_on": (True, 10),
                                               "summary": (False, 1000), "signer": (False, 200)}


def _document(value: Any) -> tuple[Any, str | None] | list[tuple[str, str]]:
    """A document field: the document's particulars as an object ({"number": "472/QĐ-UBND", "issued_on":
    "2022-12-15", "summary": "…", "signer": "…"}, number and date required), or, from clients written before the
    parts existed, the bare reference string. Problems of the parts are named by part ("document.issued_on")."""
    if not isinstance(value, Mapping):
        return _reference(value)
    problems: list[tuple[str, str]] = []
    clean: dict[str, Any] = {}
    for part in value:
        if part not in DOCUMENT_PARTS:
            problems.append((str(part), f"unknown part of a document (parts: {', '.join(DOCUMENT_PARTS)})"))
    for part, (required, longest) in DOCUMENT_PARTS.items():
        given = value.get(part)
        if given is None or (isinstance(given, str) and not given.strip()):
            if required:
                problems.append((part, "required"))
            continue
        if part == "number":
            out, problem = _reference(given)
        elif part == "issued_on":
            out, problem = _one(given, PayloadField(type=FieldType.DATE))
        else:
            out, problem = _text(given.strip() if isinstance(given, str) else given,
                                 PayloadField(type=FieldType.STRING, max_length=longest), multiline=False)
        if problem is not None:
            problems.append((part, problem))
        else:
            clean[part] = out
    return problems if problems else (clean, None)


def check_document(value: Any, field: str = "document") -> tuple[Any, list[tuple[str, str]]]:
    """A decision's document outside a definition's payload (an extension, a correction): its parts or its bare
    reference, checked as a document field is; problems named ``document`` or ``document.<part>``."""
    checked = _document(value)
    if isinstance(checked, list):
        return None, [(f"{field}.{part}", problem) for part, problem in checked]
    clean, problem = checked
    return clean, ([] if problem is None else [(field, problem)])


MAX_DEPTH = 32  # nesting of JSON objects and lists in instance data (the YAML reader allows the same)


def json_problems(value: Any, path: str, depth: int = 0) -> list[tuple[str, str]]:
    """(path, problem) for what JSON data may not hold: numbers that are not finite (NaN, Infinity: JSON has no
    such numbers, and a stored NaN breaks every later query that reads the row as JSON), and nesting deeper than
    ``MAX_DEPTH``."""
    if depth > MAX_DEPTH:
        return [(path, f"nested deeper than {MAX_DEPTH} levels")]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return [(path, "must be a finite number (JSON has no NaN or Infinity)")]
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in json_problems(v, f"{path}.{k}", depth + 1)]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in json_problems(v, f"{path}[{i}]", depth + 1)]
    return []


def check_payload(payload: Mapping[str, Any], schema: Mapping[str, PayloadField]) -> tuple[
        dict[str, Any], list[tuple[str, str]]]:
    """The normalised payload and the list of (field, message) problems (empty when valid)."""
    errors: list[tuple[str, str]] = []
    clean: dict[str, Any] = {}
    for name in payload:
        if name not in schema:
            known = ", ".join(schema) or "none"
            errors.append((name, f"unknown field (fields: {known})"))
    for name, spec in schema.items():
        value = payload.get(name)
        if value is None:
            if spec.required:
                errors.append((name, "required"))
            continue
        checked = _document(value) if spec.type is FieldType.DOCUMENT else _one(value, spec)
        if isinstance(checked, list):  # a document's parts, each named
            errors.extend((f"{name}.{part}", problem) for part, problem in checked)
            continue
        out, problem = checked
        if problem is not None:
            errors.append((name, problem))
        else:
            clean[name] = out
    return clean, errors
