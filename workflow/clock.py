"""Time as a dependency: the engine asks a ``Clock`` and never reads the system time itself."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol

UTC = dt.UTC
PROVINCE_TZ = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")  # UTC+7 all year, no DST


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)  # SystemClock: the one real read of time


class SimulatedClock:
    """A clock that moves only when told to: tests and ``simulate`` run months in seconds."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, instant: dt.datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("SimulatedClock.set needs a timezone-aware instant")
        with self._lock:
            self._now = instant.astimezone(UTC)

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        with self._lock:
            self._now += delta
            return self._now
