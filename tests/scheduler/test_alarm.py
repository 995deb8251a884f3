"""The alarm holds one APScheduler job however many timers are pending, and stops cleanly while busy."""

from __future__ import annotations

import datetime as dt

from scheduler.alarm import Alarm
from scheduler.ticker import Ticker
from store import SqlStore
from tests.conftest import ADMIN
from workflow import Engine, SystemClock
from workflow.clock import PROVINCE_TZ


def test_one_job_for_many_pending_timers_and_a_clean_stop(store: SqlStore, engine: Engine) -> None:
    real = Engine(store, SystemClock())  # APScheduler keeps real time; so must this engine
    today = dt.datetime.now(PROVINCE_TZ).date()  # the day in the province, as the engine dates a receipt
    for n in range(300):
        instance = real.start("agency_feedback", f"k{n}", "SYT", ADMIN)
        real.fire(instance.id, "record_receipt", ADMIN, payload={"received_on": today.isoformat()})
    assert len(store.list_timers(status="pending")) >= 600
    passes: list[int] = []
    alarm = Alarm(Ticker(real, store, deliver=False), poll=dt.timedelta(hours=1),
                  on_pass=lambda done: passes.append(len(done.timers)))
    alarm.start()
    try:
        assert alarm.running
        assert [job.id for job in alarm._scheduler.get_jobs()] == ["wake"]
        alarm.nudge(dt.datetime.now(dt.UTC))  # wake now: a pass runs while we stop
    finally:
        alarm.stop()
    assert not alarm.running
    assert alarm.last_error is None
