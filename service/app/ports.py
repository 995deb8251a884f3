"""What the application layer needs from the composition root (``service.context.App`` provides it): settings, the
clock, the store, the engine and its legal clock, the attached files. A ``Protocol``, so the families depend on
this small interface and not on the root that builds them (no import cycle between them)."""

from __future__ import annotations

from typing import Protocol

from store import SqlStore
from store.files import FileStore
from workflow import Clock, Deadlines, Engine

from ..settings import Settings


class Services(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def store(self) -> SqlStore: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def deadlines(self) -> Deadlines: ...

    @property
    def files(self) -> FileStore: ...
