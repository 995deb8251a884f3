"""Named guards: conditions a definition may put on a transition, looked up by name (never ``eval``).

A guard gets the instance's current data, the event's checked payload and the actor, and answers
with ``None`` (allowed) or a sentence saying why not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .ports import Actor


@dataclass(frozen=True)
class GuardContext:
    state: str
    data: Mapping[str, Any]
    payload: Mapping[str, Any]
    actor: Actor


Guard = Callable[[GuardContext], str | None]


def has_document(ctx: GuardContext) -> str | None:
    """The event cites the document it acts on (a written answer, a submission, a decision)."""
    if ctx.payload.get("document"):
        return None
    return "the event must cite its document (payload field 'document')"


def receipt_recorded(ctx: GuardContext) -> str | None:
    """The agency has recorded when it received what it answers (the 20-day window counts from it)."""
    if ctx.data.get("received_on"):
        return None
    return "the date of receipt has not been recorded yet"


GUARDS: Mapping[str, Guard] = {
    "has_document": has_document,
    "receipt_recorded": receipt_recorded,
}
