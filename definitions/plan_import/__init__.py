"""Import a plan from its Word document: every duty proposed with its lead, co-operating bodies, deadline rule,
recurrence, workflow definition and source paragraph, for a person to review (docs/plans.md).

``import_document(source, registry)`` returns the shape ``workflow plan import --json`` prints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from definitions.agencies import Registry as RegistryFile
from definitions.agencies import Reorganisation

from .bodies import Known, Registry
from .document import DocumentUnreadable, read
from .duties import metadata, prose_duties, table_duties, tree

__all__ = ["DocumentUnreadable", "Known", "Registry", "import_document", "registry_from_files"]


def registry_from_files(registry: RegistryFile, reorganisations: tuple[Reorganisation, ...] = ()) -> Registry:
    """The importer's registry: every body of a registry file with its names, short names and later names."""
    names: dict[str, list[str]] = {a.code: [a.name, a.short_name] for a in registry.agencies}
    kinds = {a.code: a.kind.value for a in registry.agencies}
    for reorganisation in reorganisations:
        for change in reorganisation.changes:
            for value in (getattr(change, "name", None), getattr(change, "short_name", None)):
                if value and change.code in names:
                    names[change.code].append(value)
    return Registry([Known(code, kinds[code], tuple(n)) for code, n in names.items()], province=registry.province)


def import_document(source: str | Path | bytes,
                    registry: Registry | Callable[[dt.date | None], Registry]) -> dict[str, Any]:
    """The proposed plan of a .docx: ``{"document": {...}, "duties": [...]}`` (docs/plans.md has every field).
    ``registry`` may be a function of the document's date: groups expand to the bodies that existed then."""
    blocks = read(source)
    meta = metadata(blocks)
    if not isinstance(registry, Registry):
        registry = registry(dt.date.fromisoformat(meta["issued_on"]) if meta["issued_on"] else None)
    root, tables = tree(blocks)
    duties = prose_duties(root, registry, meta["year"]) + table_duties(tables, registry, meta["year"])
    document = {"number": meta["number"], "issued_on": meta["issued_on"], "title": meta["title"]}
    if meta["flags"]:
        document["flags"] = meta["flags"]
    return {"document": document, "duties": duties}
