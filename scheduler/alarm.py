"""APScheduler as the alarm clock of ``workflow serve``: one job, the next wake-up.

APScheduler never holds a job per timer (100,000 pending timers cost one job), and the job is created
with ``misfire_grace_time=None`` (run however late: the default of 1 s would silently drop a wake-up
that a busy process reached late) and ``coalesce=True``. A periodic poll covers changes made by other
processes; ``nudge`` lets a caller that just committed an earlier deadline wake the alarm sooner.

Stopping: APScheduler 3's ``shutdown(wait=True)`` holds its job-store lock while it waits for running jobs,
and a running job that re-arms itself (``add_job``) waits for that lock: a deadlock. So ``stop`` first
waits for the pass in flight (``_pass_lock``) and forbids re-arming, and only then shuts APScheduler down.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from workflow import TimerOutcome

from .ticker import Pass, Ticker

log = logging.getLogger("workflow.scheduler")
JOB = "wake"


class Alarm:
    def __init__(self, ticker: Ticker, poll: dt.timedelta = dt.timedelta(seconds=30),
                 on_pass: Callable[[Pass], None] | None = None,
                 on_batch: Callable[[list[TimerOutcome]], None] | None = None) -> None:
        self.ticker = ticker
        self.poll = poll
        self.on_pass = on_pass
        self.on_batch = on_batch  # called after each committed batch of timers
        self._scheduler = BackgroundScheduler(timezone=dt.UTC)
        self._lock = threading.Lock()
        self._pass_lock = threading.Lock()
        self._stopping = False
        self.passes = 0
        self.last_error: str | None = None

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        self._scheduler.start()
        self._arm(self.ticker.engine.clock.now())

    def stop(self) -> None:
        """Stop after the pass in progress (if any) has finished and committed."""
        self._stopping = True
        with self._pass_lock:  # the pass in flight finishes; later ones see _stopping and do nothing
            pass
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def nudge(self, at: dt.datetime) -> None:
        """Something is due at ``at``: wake then if that is sooner than the armed wake-up."""
        if self._stopping:
            return
        job = self._scheduler.get_job(JOB)
        if job is None or job.next_run_time is None or at < job.next_run_time:
            self._arm(at)

    def _arm(self, at: dt.datetime) -> None:
        with self._lock:
            self._scheduler.add_job(self._tick, DateTrigger(run_date=at, timezone=dt.UTC), id=JOB,
                                    replace_existing=True, misfire_grace_time=None, coalesce=True,
                                    max_instances=1)

    def _tick(self) -> None:
        with self._pass_lock:
            if not self._stopping:
                self._pass()

    def _pass(self) -> None:
        try:
            self.ticker.engine.refresh_calendar()
            done = self.ticker.run_once(on_batch=self.on_batch)
            self.passes += 1
            self.last_error = None
            if self.on_pass is not None:
                self.on_pass(done)
        except Exception as err:  # a failed pass must not stop the alarm: log it, try again at the next poll
            self.last_error = f"{type(err).__name__}: {err}"
            log.exception("background pass failed")
        now = self.ticker.engine.clock.now()
        nxt = self.ticker.next_wake()
        self._arm(min(nxt, now + self.poll) if nxt is not None else now + self.poll)
