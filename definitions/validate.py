"""Static checks of a definition as a whole, and the path from a YAML file to a checked ``Definition``.

``load_text`` parses strictly (``_yaml``), validates the structure (pydantic), then checks the graph:
unknown states, events, roles and guards; zero or several initial states; unreachable states;
non-final states with no way out; final states with outgoing transitions; one event twice from one
state; timers that fire an event their state does not allow. Every problem of a file is reported at
once, each as ``file:line:column: field: message``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from pathlib import Path as FsPath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ._yaml import Document, Path, parse
from .errors import DefinitionInvalid, Problem
from .model import (
    ANCHOR_PATTERN,
    DEFINITION_ID_PATTERN,
    IDENTIFIER_PATTERN,
    LABEL_PATTERN,
    START_EVENT,
    Definition,
    FieldType,
    ObligationStart,
    Role,
    StateKind,
    TimerKind,
    Transition,
)

#: Roles a definition may grant. Auditors read and never write; ``system`` is the timers' actor.
GRANTABLE_ROLES = frozenset({*(r.value for r in Role if r is not Role.AUDITOR), "standing_body"})  # a plan role

_FRIENDLY = {
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
}


_PATTERNS = {
    IDENTIFIER_PATTERN: "use lower-case ASCII letters, digits and _, starting with a letter (at most 64)",
    DEFINITION_ID_PATTERN: "use lower-case ASCII letters, digits, _, . and -, starting with a letter",
    ANCHOR_PATTERN: "an anchor is entry, payload.<field> or data.<field>",
    LABEL_PATTERN: "one line of printable text, without control characters",
}


def _pydantic_problems(doc: Document, err: ValidationError) -> list[Problem]:
    items = err.errors(include_url=False)
    locs = [tuple(item["loc"]) for item in items]
    problems = []
    for item, loc in zip(items, locs, strict=True):
        kind = item["type"]
        # A list whose items failed is also reported as too short: only the items' errors say why.
        if kind == "too_short" and any(len(o) > len(loc) and o[: len(loc)] == loc for o in locs):
            continue
        message = _FRIENDLY.get(kind) or str(item["msg"]).removeprefix("Value error, ")
        if kind == "string_pattern_mismatch":
            rule = _PATTERNS.get(str((item.get("ctx") or {}).get("pattern")), message)
            what = "text" if rule == _PATTERNS[LABEL_PATTERN] else "name"
            message = f"{item['input']!r} is not a valid {what}: {rule}"
        elif kind not in _FRIENDLY and "input" in item and not isinstance(item["input"], dict | list):
            message = f"{message} (got {item['input']!r})"
        problems.append(doc.problem(loc, message))
    return problems


def check(definition: Definition, known_guards: Iterable[str] | None = None) -> list[tuple[Path, str]]:
    """Every whole-graph problem of a structurally valid definition, as (path, message)."""
    problems: list[tuple[Path, str]] = []
    state_ids: dict[str, int] = {}
    for i, state in enumerate(definition.states):
        if state.id in state_ids:
            problems.append((("states", i, "id"), f"state {state.id!r} is defined twice"))
        state_ids.setdefault(state.id, i)

    initials = [i for i, s in enumerate(definition.states) if s.kind is StateKind.INITIAL]
    if not initials:
        problems.append((("states",), "no initial state: mark exactly one state with kind: initial"))
    for i in initials[1:]:
        first = definition.states[initials[0]].id
        problems.append(((("states", i, "kind")), f"a second initial state (the first is {first!r})"))

    finals = definition.final_states
    guards = None if known_guards is None else frozenset(known_guards)
    edges: dict[str, set[str]] = {s: set() for s in state_ids}
    seen_event_source: dict[tuple[str, str], int] = {}
    for ti, transition in enumerate(definition.transitions):
        at = ("transitions", ti)
        problems.extend(_check_transition(definition, ti, state_ids, finals, guards))
        if transition.dest in state_ids:
            for source in definition.sources(transition):
                if source not in state_ids:
                    continue
                edges[source].add(transition.dest)
                key = (transition.event, source)
                if key in seen_event_source:
                    problems.append(
                        (
                            (*at, "event"),
                            f"event {transition.event!r} leaves state {source!r} twice "
                            f"(also transitions[{seen_event_source[key]}])",
                        )
                    )
                seen_event_source.setdefault(key, ti)

    if len(initials) == 1:
        problems.extend(_check_graph(definition, state_ids, edges, initials[0]))
    problems.extend(_check_timers(definition, state_ids))
    problems.extend(_check_fan_out(definition))
    problems.extend(_check_obligations(definition))
    return problems


def _check_obligations(definition: Definition) -> list[tuple[Path, str]]:
    """Obligations name real events; a start's date is a date field of its event; the system fires timeouts."""
    out: list[tuple[Path, str]] = []
    events = {t.event: t for t in definition.transitions}
    known = ", ".join(sorted(events))
    names: set[str] = set()
    for oi, obligation in enumerate(definition.obligations):
        at: Path = ("obligations", oi)
        if obligation.name in names:
            out.append(((*at, "name"), f"obligation {obligation.name!r} is defined twice"))
        names.add(obligation.name)
        for si, start in enumerate(obligation.starts):
            out.extend(_check_start(start, events, known, (*at, "starts", si)))
        for ei, event in enumerate(obligation.satisfied_by):
            if event not in events:
                out.append(((*at, "satisfied_by", ei), f"unknown event {event!r} (events: {known})"))
        if obligation.timeout_event is not None:
            transition = events.get(obligation.timeout_event)
            if transition is None:
                out.append(((*at, "timeout_event"), f"unknown event {obligation.timeout_event!r} (events: {known})"))
            elif Role.SYSTEM not in transition.roles:
                out.append(((*at, "timeout_event"), f"the timeout fires {obligation.timeout_event!r} as role "
                                                    "'system', which that transition's roles do not include"))
    return out


def _check_start(start: ObligationStart, events: dict[str, Transition], known: str,
                 where: Path) -> list[tuple[Path, str]]:
    if start.event == START_EVENT:
        if start.date is not None:
            return [((*where, "date"), "@start has no payload: its date is the start's effective date")]
        return []
    transition = events.get(start.event)
    if transition is None:
        return [((*where, "event"), f"unknown event {start.event!r} (events: {known})")]
    field = transition.payload.get(start.date) if start.date is not None else None
    if start.date is not None and (field is None or field.type is not FieldType.DATE):
        return [((*where, "date"), f"{start.date!r} is not a date field of event {start.event!r}")]
    return []


def _check_fan_out(definition: Definition) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    for si, state in enumerate(definition.states):
        if state.fan_out is None:
            continue
        at: Path = ("states", si, "fan_out")
        if state.kind is not StateKind.NORMAL:
            out.append((at, f"only a normal state can fan out, not the {state.kind.value} state {state.id!r}"))
        join = definition.transition_from(state.id, state.fan_out.join_event)
        if join is None:
            out.append(((*at, "join_event"), f"{state.fan_out.join_event!r} is not an event of state {state.id!r}"))
        elif Role.SYSTEM not in join.roles:
            out.append(((*at, "join_event"), "the engine fires the join event: give its transition the role 'system'"))
        if "{agency}" not in state.fan_out.key or "{entry}" not in state.fan_out.key:
            out.append(((*at, "key"), "the child key must contain {agency} and {entry} (unique per child and round)"))
    return out


def _register_problems(transition: Transition, at: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    """An act that enters a register needs what the entry is made of: a receipt its day, a sent one its document."""
    kinds = {spec.type for spec in transition.payload.values()}
    if transition.register_as == "in" and FieldType.DATE not in kinds:
        return [((*at, "register_as"), "an act that registers an incoming document needs a date field (the day of "
                                       "receipt)")]
    if transition.register_as == "out" and FieldType.DOCUMENT not in kinds:
        return [((*at, "register_as"), "an act that registers an outgoing document needs a document field")]
    return []


def _check_transition(
    definition: Definition,
    ti: int,
    state_ids: dict[str, int],
    finals: frozenset[str],
    guards: frozenset[str] | None,
) -> list[tuple[Path, str]]:
    transition = definition.transitions[ti]
    at: Path = ("transitions", ti)
    out: list[tuple[Path, str]] = []
    known = ", ".join(state_ids)
    if transition.source != ("*",):
        for si, source in enumerate(transition.source):
            if source == "*":
                out.append(((*at, "source", si), "'*' must stand alone as the source"))
            elif source not in state_ids:
                out.append(((*at, "source", si), f"unknown state {source!r} (states: {known})"))
            elif source in finals:
                out.append(((*at, "source", si), f"final state {source!r} cannot have outgoing transitions"))
    if transition.dest not in state_ids:
        out.append(((*at, "dest"), f"unknown state {transition.dest!r} (states: {known})"))
    for ri, role in enumerate(transition.roles):
        if role == Role.AUDITOR:
            out.append(((*at, "roles", ri), "auditors read and never write; they cannot fire events"))
        elif role not in GRANTABLE_ROLES:
            allowed = ", ".join(sorted(GRANTABLE_ROLES))
            out.append(((*at, "roles", ri), f"unknown role {role!r} (roles: {allowed})"))
    out.extend(_register_problems(transition, at))
    if transition.guard is not None and guards is not None and transition.guard not in guards:
        names = ", ".join(sorted(guards)) or "none registered"
        out.append(((*at, "guard"), f"unknown guard {transition.guard!r} (guards: {names})"))
    return out


def _check_graph(
    definition: Definition, state_ids: dict[str, int], edges: dict[str, set[str]], initial: int
) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    start = definition.states[initial].id
    reached = {start}
    queue = deque([start])
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in reached:
                reached.add(nxt)
                queue.append(nxt)
    for state_id, si in state_ids.items():
        state = definition.states[si]
        if state_id not in reached:
            out.append((("states", si, "id"), f"state {state_id!r} cannot be reached from {start!r}"))
        if state.kind is not StateKind.FINAL and not edges[state_id]:
            out.append(
                (("states", si, "id"), f"state {state_id!r} is not final but has no way out")
            )
    return out


def _check_timers(definition: Definition, state_ids: dict[str, int]) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    all_events = {t.event for t in definition.transitions}
    for si, state in enumerate(definition.states):
        names: set[str] = set()
        for mi, timer in enumerate(state.timers):
            at: Path = ("states", si, "timers", mi)
            if timer.name in names:
                out.append(((*at, "name"), f"timer {timer.name!r} is defined twice in state {state.id!r}"))
            names.add(timer.name)
            if state.kind is StateKind.FINAL:
                out.append((at, f"final state {state.id!r} cannot arm timers"))
            out.extend(_check_anchor(definition, state.id, state.kind, timer.deadline.anchor, at))
            if timer.event is None:
                continue
            if timer.event not in all_events:
                out.append(((*at, "event"), f"unknown event {timer.event!r}"))
            elif timer.event not in definition.events_from(state.id):
                allowed = ", ".join(definition.events_from(state.id)) or "none"
                out.append(
                    (
                        (*at, "event"),
                        f"timer fires {timer.event!r}, which state {state.id!r} does not allow "
                        f"(allowed: {allowed})",
                    )
                )
            else:
                transition = definition.transition_from(state.id, timer.event)
                if transition is not None and Role.SYSTEM not in transition.roles:
                    kind = "timeout" if timer.kind is TimerKind.TIMEOUT else "escalation"
                    out.append(
                        (
                            (*at, "event"),
                            f"the {kind} fires {timer.event!r} as role 'system', which that "
                            "transition's roles do not include",
                        )
                    )
    return out


def _check_anchor(definition: Definition, state: str, kind: StateKind, anchor: str,
                  at: Path) -> list[tuple[Path, str]]:
    """A ``payload.<field>`` anchor must be a field of every transition that enters the state."""
    if not anchor.startswith("payload."):
        return []
    name = anchor.removeprefix("payload.")
    where: Path = (*at, "deadline", "anchor")
    if kind is StateKind.INITIAL:
        return [(where, f"{anchor}: the initial state is entered by start, which has no payload; use data.{name}")]
    missing = [t.event for t in definition.transitions if t.dest == state and name not in t.payload]
    if missing:
        return [(where, f"{anchor}: transitions entering {state!r} do not all have a payload field {name!r} "
                        f"(missing in: {', '.join(missing)})")]
    return []


def load_text(text: str, file: str, known_guards: Iterable[str] | None = None) -> Definition:
    """Parse, validate and check one definition; raise ``DefinitionInvalid`` listing every problem."""
    doc = parse(text, file)
    if not isinstance(doc.data, dict):
        raise DefinitionInvalid(file, [doc.problem((), "a definition must be a mapping of keys")])
    try:
        definition = Definition.model_validate(doc.data)
    except ValidationError as err:
        raise DefinitionInvalid(file, _pydantic_problems(doc, err)) from None
    problems = [doc.problem(path, message) for path, message in check(definition, known_guards)]
    if problems:
        problems.sort(key=lambda p: (p.line, p.column))
        raise DefinitionInvalid(file, problems)
    return definition


def load_file(path: str | FsPath, known_guards: Iterable[str] | None = None) -> Definition:
    """Read a definition file (UTF-8) and load it with ``load_text``."""
    fs_path = FsPath(path)
    try:
        raw = fs_path.read_bytes()
    except OSError as err:
        raise DefinitionInvalid(str(path), [Problem(str(path), 1, 1, "", f"cannot read: {err.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        problem = Problem(str(path), 1, 1, "", f"not UTF-8 (byte {err.start}): {err.reason}")
        raise DefinitionInvalid(str(path), [problem]) from None
    return load_text(text, str(path), known_guards)


def definition_files(paths: Iterable[str | FsPath]) -> list[FsPath]:
    """Expand folders to the ``*.yaml``/``*.yml`` files in them, sorted; files are kept as given."""
    out: list[FsPath] = []
    for path in map(FsPath, paths):
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            out.append(path)
    return out


M = TypeVar("M", bound=BaseModel)


def load_data(path: str | FsPath, model: type[M]) -> M:
    """Read a registry, reorganisation or plan file into ``model`` with the same strict YAML and located errors
    as definitions."""
    fs_path = FsPath(path)
    try:
        text = fs_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DefinitionInvalid(str(path), [Problem(str(path), 1, 1, "", f"cannot read: {err}")]) from None
    doc = parse(text, str(path))
    if not isinstance(doc.data, dict):
        raise DefinitionInvalid(str(path), [doc.problem((), "the file must be a mapping of keys")])
    try:
        return model.model_validate(doc.data)
    except ValidationError as err:
        raise DefinitionInvalid(str(path), _pydantic_problems(doc, err)) from None


def from_canonical_json(data: Any) -> Definition:
    """Rebuild a stored definition from its canonical form (already checked when it was loaded)."""
    return Definition.model_validate(data)
