"""A strict YAML reader for definitions that remembers where every value came from.

PyYAML's safe loader is kept for the grammar; on top of it this module refuses what has bitten
workflow authors before: duplicate keys (silently last-wins in PyYAML), YAML 1.1 booleans written as
words (`on`, `off`, `yes`, `no`, `y`, `n` become True/False and would turn a state named `no` into a
boolean), anchors and aliases (the billion-laughs expansion), nesting deeper than a definition needs,
and files larger than any definition. Each value's position is kept in a map keyed by its path, so
later checks can point at `file:line:column`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from .errors import Problem

MAX_BYTES = 1 << 20
MAX_DEPTH = 32
_TRUE_FALSE = {"true", "false", "True", "False", "TRUE", "FALSE"}

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


class _Refusal(Exception):
    def __init__(self, mark: yaml.Mark | None, path: Path, message: str) -> None:
        self.mark = mark
        self.path = path
        self.message = message


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases and deep nesting while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refusal(event.start_mark, (), "anchors and aliases (&name, *name) are not allowed")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refusal(event.start_mark, (), f"nesting deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def dotted(path: Path) -> str:
    """Render a path like ``transitions[2].dest``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: plain Python data plus where each path starts in the file."""

    file: str
    data: Any
    positions: dict[Path, Position]

    def locate(self, path: Path) -> Position:
        """The position of the longest prefix of ``path`` that exists in the file."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found is not None:
                return found
        return Position(1, 1)

    def problem(self, path: Path, message: str) -> Problem:
        pos = self.locate(path)
        return Problem(self.file, pos.line, pos.column, dotted(path), message)


def _position(mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.positions: dict[Path, Position] = {}

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.positions.setdefault(path, _position(node.start_mark))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: Path) -> Any:
        value = self.loader.construct_object(node, deep=True)
        if (
            isinstance(value, bool)
            and isinstance(node, yaml.ScalarNode)
            and node.style is None
            and node.value not in _TRUE_FALSE
        ):
            raise _Refusal(
                node.start_mark,
                path,
                f"{node.value!r} is read by YAML as the boolean {value}; quote it ('{node.value}') "
                "if you mean the word, or write true/false",
            )
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node, path)
            if not isinstance(key, str):
                raise _Refusal(key_node.start_mark, path, f"keys must be text, not {key!r}")
            if key in seen:
                first = seen[key]
                raise _Refusal(
                    key_node.start_mark,
                    (*path, key),
                    f"duplicate key {key!r} (first at line {first.line})",
                )
            seen[key] = _position(key_node.start_mark)
            self.positions[(*path, key)] = seen[key]
            out[key] = self.build(value_node, (*path, key))
        return out


def parse(text: str, file: str) -> Document:
    """Parse one YAML document strictly; raise ``DefinitionInvalid`` with a located problem."""
    from .errors import DefinitionInvalid

    if len(text.encode("utf-8")) > MAX_BYTES:
        raise DefinitionInvalid(file, [Problem(file, 1, 1, "", f"file larger than {MAX_BYTES} bytes")])
    try:
        loader = _Loader(text)  # the reader checks every character here
        try:
            node = loader.get_single_node()
            if node is None:
                raise _Refusal(None, (), "the file is empty")
            builder = _Builder(loader)
            data = builder.build(node, ())
        finally:
            loader.dispose()
    except _Refusal as refusal:
        pos = _position(refusal.mark)
        raise DefinitionInvalid(
            file, [Problem(file, pos.line, pos.column, dotted(refusal.path), refusal.message)]
        ) from None
    except yaml.MarkedYAMLError as err:
        pos = _position(err.problem_mark)
        message = f"YAML syntax: {err.problem}" + (f" ({err.context})" if err.context else "")
        raise DefinitionInvalid(file, [Problem(file, pos.line, pos.column, "", message)]) from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow (control characters, ...)
        before = text[: err.position]
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        message = f"character U+{err.character:04X} is not allowed in YAML" if isinstance(err.character, int) \
            else f"YAML cannot read the file: {err.reason}"
        raise DefinitionInvalid(file, [Problem(file, line, column, "", message)]) from None
    except yaml.YAMLError as err:
        raise DefinitionInvalid(file, [Problem(file, 1, 1, "", f"YAML cannot read the file: {err}")]) from None
    return Document(file, data, builder.positions)
