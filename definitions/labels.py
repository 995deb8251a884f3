"""The definitions' words in English. Definitions are written in Vietnamese: their states, events, fields, choices
and obligations carry Vietnamese labels, and those labels are part of each definition's content hash. Their English
is kept beside them in a gettext catalogue, ``definitions/locale/en.po`` (msgid: the Vietnamese label as the
definition writes it; msgstr: its English), read with Babel. So a translator edits English without touching a
definition, no stored definition changes its hash, and every version of a definition that shares a label shares
its English. A label without English is shown in Vietnamese (``tests/definitions`` requires English for every label
of every shipped and superseded definition)."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import Any

from babel.messages.pofile import read_po

from .model import Definition

CATALOGUE = files("definitions") / "locale" / "en.po"


@lru_cache(maxsize=1)
def catalogue() -> dict[str, str]:
    """Vietnamese label → English (untranslated and fuzzy entries left out)."""
    with CATALOGUE.open("rb") as handle:
        read = read_po(handle, locale="en")
    return {str(m.id): str(m.string) for m in read if m.id and m.string and not m.fuzzy}


def word(label: str, lang: str) -> str:
    """A definition's label in the reader's language (English when the catalogue has it)."""
    return catalogue().get(label, label) if lang == "en" else label


def labels_of(definition: Definition) -> list[str]:
    """Every label a definition carries, in the order written (what the catalogue must translate)."""
    out = [s.label for s in definition.states] + [o.label for o in definition.obligations]
    for transition in definition.transitions:
        out.append(transition.label)
        for spec in transition.payload.values():
            out += [spec.label] if spec.label else []
            out += list((spec.value_labels or {}).values())
    return out


_ENGLISH: dict[int, tuple[Definition, Definition]] = {}  # id of the definition object → (it, its English copy)


def shown(definition: Definition, lang: str) -> Definition:
    """The definition as the reader reads it: itself in Vietnamese; in English, a copy with every label translated
    (for display only: never stored, never hashed). Built once per definition object (the engine keeps one per
    version; the object is held with its copy, so its id is not reused while cached)."""
    if lang != "en":
        return definition
    key = id(definition)
    if key not in _ENGLISH:
        if len(_ENGLISH) >= 1024:
            _ENGLISH.clear()
        data = definition.model_dump()

        def each(items: Any) -> None:
            for item in items:
                item["label"] = word(item["label"], "en")

        each(data["states"])
        each(data["obligations"])
        each(data["transitions"])
        for transition in data["transitions"]:
            for spec in transition["payload"].values():
                if spec.get("label"):
                    spec["label"] = word(spec["label"], "en")
                if spec.get("value_labels"):
                    spec["value_labels"] = {k: word(v, "en") for k, v in spec["value_labels"].items()}
        _ENGLISH[key] = (definition, Definition.model_validate(data))
    return _ENGLISH[key][1]
