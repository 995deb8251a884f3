"""Every error class of the tree is drawn in its one picture and has its own row in the one table (HTTP status,
CLI exit code), so no error falls through to a generic answer."""

from __future__ import annotations

import definitions.errors
import service.cli  # noqa: F401  (imports every module that defines an error class)
from definitions import WorkflowError
from service.errors import EXIT_CONFLICT, EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_UNAVAILABLE, TABLE, answer


def every_subclass(cls: type[WorkflowError]) -> set[type[WorkflowError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= every_subclass(sub)
    return found


def test_every_error_is_drawn_and_mapped() -> None:
    classes = every_subclass(WorkflowError)
    assert len(classes) >= 18
    drawn = definitions.errors.__doc__ or ""
    assert [c.__name__ for c in sorted(classes, key=lambda c: c.__name__) if f"── {c.__name__} " not in drawn] == []
    rows = [cls for cls, _ in TABLE]
    assert sorted(c.__name__ for c in classes - set(rows)) == []
    # subclasses come before their parents, or they would never be reached
    for i, cls in enumerate(rows):
        assert not any(issubclass(cls, parent) for parent in rows[:i]), cls


def test_scripts_can_tell_refused_from_not_found_from_conflict_from_unavailable() -> None:
    from definitions import NotFound, StoreUnavailable
    from workflow.errors import PayloadInvalid, VersionConflict

    assert answer(PayloadInvalid([("x", "y")])).exit == EXIT_REFUSED
    assert answer(NotFound("instance", 1)).exit == EXIT_NOT_FOUND
    assert answer(VersionConflict(1, 2, 3)).exit == EXIT_CONFLICT
    assert (answer(StoreUnavailable("disk full")).status, answer(StoreUnavailable("x")).exit) == (503, EXIT_UNAVAILABLE)
