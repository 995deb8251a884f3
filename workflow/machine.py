"""The one module that imports ``transitions``: one compiled machine per definition version.

A ``Machine`` is built once per definition version and drives a single reusable cursor model: to
apply an event the cursor is set to the instance's stored state, the event is triggered, and the
resulting state read back (~15 µs). Instances are never held in memory. Guards are ``transitions``
conditions that look up the guard registry; ``MachineError`` becomes our ``EventNotAllowed``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from transitions import EventData, Machine, MachineError

from definitions import Definition

from .guards import Guard, GuardContext


class _Cursor:
    state: str


class GuardRefusal(Exception):
    def __init__(self, guard: str, explanation: str) -> None:
        self.guard = guard
        self.explanation = explanation


class CompiledMachine:
    """A definition's state graph as a ``transitions.Machine``; thread-safe."""

    def __init__(self, definition: Definition, guards: Mapping[str, Guard]) -> None:
        self.definition = definition
        self._lock = threading.Lock()
        self._cursor = _Cursor()
        self._machine = Machine(
            model=self._cursor,
            states=[s.id for s in definition.states],
            initial=definition.initial_state.id,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )
        for t in definition.transitions:
            conditions = [self._condition(t.guard, guards[t.guard])] if t.guard else []
            self._machine.add_transition(t.event, list(definition.sources(t)), t.dest, conditions=conditions)

    @staticmethod
    def _condition(name: str, guard: Guard) -> Any:
        def condition(event: EventData) -> bool:
            explanation = guard(event.kwargs["context"])
            if explanation is not None:
                raise GuardRefusal(name, explanation)
            return True

        return condition

    def next_state(self, state: str, event: str, context: GuardContext) -> str | None:
        """The state ``event`` leads to from ``state``; None if the event is not possible there.
        Raises ``GuardRefusal`` if the transition's guard says no."""
        handler = self._machine.events.get(event)
        if handler is None:
            return None
        with self._lock:
            self._machine.set_state(state, self._cursor)
            try:
                handler.trigger(self._cursor, context=context)
            except MachineError:
                return None
            return self._cursor.state


class MachineCache:
    """Compiled machines by (definition id, version); built on first use, kept for the process."""

    def __init__(self, guards: Mapping[str, Guard]) -> None:
        self._guards = guards
        self._machines: dict[tuple[str, int], CompiledMachine] = {}
        self._lock = threading.Lock()

    def get(self, definition: Definition) -> CompiledMachine:
        key = (definition.id, definition.version)
        machine = self._machines.get(key)
        if machine is None:
            with self._lock:
                machine = self._machines.get(key)
                if machine is None:
                    machine = self._machines[key] = CompiledMachine(definition, self._guards)
        return machine
