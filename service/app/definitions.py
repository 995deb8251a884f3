"""Definitions: load (checked in full before anything is stored), list with their instances' states, show,
and the state diagram as Mermaid text."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from pydantic import Field
from typing_extensions import TypedDict

from definitions import Definition, Role, load_text
from workflow import Actor
from workflow.ports import StoredDefinition

from ..views import mermaid
from .access import require
from .ports import Services


class Title(TypedDict):
    vi: str
    en: str


class DefinitionSummary(TypedDict):
    id: str
    version: int
    title: Title
    seed_section: str | None
    states: int
    transitions: int
    content_hash: str
    instances: dict[str, int]  # state → how many instances are in it


class Loaded(TypedDict):
    file: str
    id: str
    version: int
    new: bool  # False: the same content was stored already
    content_hash: str


def summary(d: Definition, content_hash: str | None = None, instances: dict[str, int] | None = None
            ) -> DefinitionSummary:
    return {"id": d.id, "version": d.version, "title": {"vi": d.title.vi, "en": d.title.en},
            "seed_section": d.seed_section, "states": len(d.states), "transitions": len(d.transitions),
            "content_hash": content_hash or d.content_hash, "instances": instances or {}}


with warnings.catch_warnings():  # the field takes the place of Definition.content_hash(): the same value, stored
    warnings.filterwarnings("ignore", "Field name \"content_hash\"", UserWarning)

    class DefinitionShown(Definition):
        """A stored definition version in full, with the hash of its canonical content."""

        content_hash: str = Field(description="SHA-256 of the canonical content")


class Definitions:
    def __init__(self, app: Services) -> None:
        self.app = app

    def summaries(self) -> list[DefinitionSummary]:
        """Every stored version, with the number of its instances in each state."""
        counts = self.app.store.count_instances()
        return [summary(s.definition, s.content_hash,
                        {state: n for (i, v, state), n in counts.items()
                         if (i, v) == (s.definition.id, s.definition.version)})
                for s in self.app.store.list_definitions()]

    def load(self, actor: Actor, files: Sequence[tuple[str, str | Definition]]) -> list[Loaded]:
        """Store definitions: each file's text (or, from the CLI, its already checked definition) is checked
        before any is stored. The same content twice is a no-op; the same id and version with other content is
        refused. Admins only: the role is checked before the files are read."""
        require(actor, Role.ADMIN, what="loading definitions")
        checked = [(name, d if isinstance(d, Definition) else load_text(d, name, known_guards=self.app.engine.guards))
                   for name, d in files]
        return [{"file": name, "id": d.id, "version": d.version, "new": self.app.store.save_definition(d),
                 "content_hash": d.content_hash} for name, d in checked]

    def stored(self, definition_id: str, version: int | None = None) -> StoredDefinition:
        return self.app.store.get_definition(definition_id, version)

    def shown(self, definition_id: str, version: int | None = None) -> DefinitionShown:
        stored = self.stored(definition_id, version)
        return DefinitionShown.model_construct(**dict(stored.definition), content_hash=stored.content_hash)

    def diagram(self, definition_id: str, version: int | None = None) -> str:
        return mermaid(self.stored(definition_id, version).definition)
