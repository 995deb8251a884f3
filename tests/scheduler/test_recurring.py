"""Recurring obligations: next runs from APScheduler's CronTrigger in province time, catch-up after downtime,
and each year's instances created once even with two nodes running the schedule at the same moment."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from definitions import WorkflowError
from scheduler.recurring import Recurrence, next_run
from store import SqlStore
from workflow import Deadlines, Engine, SimulatedClock
from workflow.calendar import PROVINCE_TZ, end_of_day

AGENCIES = ["SYT", "SNV", "SCT"]
YEARLY = "0 8 1 10 *"  # 08:00 on 1 October, province time: a month before the 05/11 deadline


def local(y: int, m: int, d: int, h: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=PROVINCE_TZ)


def keys(store: SqlStore) -> list[str]:
    return sorted(i.business_key for i in store.list_instances(definition_id="annual_report", limit=1000))


def test_next_run_is_computed_in_province_time() -> None:
    assert next_run(YEARLY, local(2022, 11, 1)) == local(2023, 10, 1, 8).astimezone(dt.UTC)
    assert next_run(YEARLY, local(2023, 10, 1, 8)) == local(2024, 10, 1, 8).astimezone(dt.UTC)


def test_each_year_is_created_once_and_missed_years_are_caught_up(engine: Engine, store: SqlStore,
                                                                  clock: SimulatedClock) -> None:
    clock.set(local(2022, 11, 1))
    recurrence = Recurrence(engine, store)
    recurrence.add("annual-report", "annual_report", YEARLY, AGENCIES, "annual-report/{year}/{agency}")
    assert recurrence.run_due() == []
    clock.set(local(2025, 1, 15))  # the service was down for two occurrences
    runs = recurrence.run_due()
    assert [r.occurrence for r in runs] == [local(2023, 10, 1, 8), local(2024, 10, 1, 8)]
    assert keys(store) == sorted(f"annual-report/{y}/{a}" for y in (2023, 2024) for a in AGENCIES)
    assert recurrence.run_due() == []
    assert store.list_schedules()[0].next_run_at == local(2025, 10, 1, 8)
    # each year's report is due in its own year, whenever it was started: both are overdue, neither moved
    due = {i.business_key.split("/")[1]: i.due_at for i in store.list_instances(definition_id="annual_report")}
    assert due == {"2023": end_of_day(dt.date(2023, 11, 4)), "2024": end_of_day(dt.date(2024, 11, 4))}
    assert {i.effective_on for i in store.list_instances(definition_id="annual_report")} == {
        dt.date(2023, 10, 1), dt.date(2024, 10, 1)}


def test_instances_of_a_run_carry_the_yearly_deadline(engine: Engine, store: SqlStore,
                                                      clock: SimulatedClock) -> None:
    clock.set(local(2023, 9, 30))
    Recurrence(engine, store).add("annual-report", "annual_report", YEARLY, ["SYT"], "annual-report/{year}/{agency}")
    clock.set(local(2023, 10, 1, 8))
    Recurrence(engine, store).run_due()
    [instance] = store.list_instances(definition_id="annual_report")
    due = {t.kind.value: t.due_at for t in store.list_timers(instance.id)}
    assert due["escalation"] == end_of_day(dt.date(2023, 11, 4))  # "trước ngày 05/11": a Saturday, never moves
    clock.set(local(2023, 11, 5, 1))
    fired = Deadlines(engine).fire_due()
    assert [(o.kind, o.status) for o in fired] == [("reminder", "fired"), ("reminder", "fired"),
                                                   ("escalation", "fired")]


def test_two_nodes_at_the_same_moment_create_each_instance_once(engine: Engine, store: SqlStore,
                                                                clock: SimulatedClock) -> None:
    clock.set(local(2022, 11, 1))
    Recurrence(engine, store).add("annual-report", "annual_report", YEARLY, AGENCIES, "annual-report/{year}/{agency}")
    clock.set(local(2026, 1, 1))
    nodes = [Recurrence(Engine(store, clock), store) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def node(recurrence: Recurrence) -> None:
        barrier.wait()
        try:
            recurrence.run_due()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=node, args=(n,)) for n in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert keys(store) == sorted(f"annual-report/{y}/{a}" for y in (2023, 2024, 2025) for a in AGENCIES)


@pytest.mark.parametrize(("cron", "template", "assignees", "message"), [
    ("every day", "r/{year}/{agency}", ["SYT"], "five fields"),
    (YEARLY, "r/{year}", ["SYT"], "must contain {agency}"),
    (YEARLY, "r/{year}/{agency}/{week}", ["SYT"], "unknown field"),
    (YEARLY, "r/{year}/{agency}", ["not a code"], "agency codes"),
])
def test_bad_schedules_are_refused(engine: Engine, store: SqlStore, cron: str, template: str,
                                   assignees: list[str], message: str) -> None:
    with pytest.raises(WorkflowError, match=message):
        Recurrence(engine, store).add("bad", "annual_report", cron, assignees, template)
    assert store.list_schedules() == []
