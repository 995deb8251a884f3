"""Every duty's definition driven through its main path; the plan loaded (twice) with its deadlines as written."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from definitions import Role, definition_files, load_data
from definitions.plan import Plan, rebase
from service.plan import load_plan
from service.simulation import STEPS, actor_for
from store import SqlStore
from tests.conftest import ADMIN, DEFINITIONS
from tests.plan.conftest import PLAN
from workflow import Actor, Engine, SimulatedClock
from workflow.calendar import PROVINCE_TZ, end_of_day

DUTIES = sorted(d for d, steps in STEPS.items() if steps and d != "catalogue_consultation")
RUNS_ON = {"awareness_programme": "running"}  # a programme runs until DOST closes it (with a reason)


@pytest.mark.parametrize("definition_id", DUTIES)
def test_each_duty_runs_its_main_path_to_a_final_state(registered: Engine, store: SqlStore,
                                                       clock: SimulatedClock, definition_id: str) -> None:
    engine = registered
    engine.standing_body = "SKHCN"
    clock.set(dt.datetime(2023, 1, 2, 9, tzinfo=PROVINCE_TZ))
    definition = engine.definition(definition_id)
    instance = engine.start(definition_id, f"test/{definition_id}/SKHCN", "SKHCN", ADMIN,
                            data={"due": {"end_of_month": "2023-03"}, "period": {"working_days": 5}, "body": "BCD"})
    rng = random.Random(1)
    for _ in range(10):
        if instance.state in definition.final_states or instance.state == RUNS_ON.get(definition_id):
            break
        event, payload = STEPS[definition_id][instance.state]
        transition = definition.transition_from(instance.state, event)
        assert transition is not None
        actor = actor_for(engine, transition.roles, instance)  # the body the definition names, never the admin
        assert actor.role is not Role.ADMIN, (definition_id, event)
        clock.advance(dt.timedelta(days=3))
        instance = engine.fire(instance.id, event, actor, payload=payload(rng, clock.now(), instance)).instance
    if definition_id in RUNS_ON:
        assert instance.state == RUNS_ON[definition_id]
        instance = engine.fire(instance.id, "close", Actor("officer@skhcn", Role.OFFICER, "SKHCN"),
                               reason="kết thúc chương trình").instance
    assert instance.state in definition.final_states
    assert instance.data["@late"] is False


def test_every_shipped_definition_names_its_seed_section() -> None:
    from definitions import load_file
    from workflow import GUARDS

    sections = {load_file(p, GUARDS).seed_section for p in definition_files(DEFINITIONS)}
    for needed in ("II.1a", "II.2", "II.2c", "II.2đ", "II.3", "II.4a", "II.4b", "III.1", "III.2", "III.3"):
        assert any(needed in s for s in sections), needed


def test_the_plan_loads_once_with_its_deadlines_as_written(registered: Engine, store: SqlStore,
                                                            clock: SimulatedClock) -> None:
    clock.set(dt.datetime(2022, 11, 1, 9, tzinfo=PROVINCE_TZ))
    plan = load_data(PLAN, Plan)
    first = load_plan(registered, store, plan, ADMIN)
    assert len(first.created) >= 40
    assert first.existing == []
    assert set(first.schedules_added) == {"bao-cao-hang-nam", "ty-le-chi-khcn", "tong-hop-hang-nam",
                                          "phan-bo-kinh-phi-hang-nam", "tham-dinh-du-toan-hang-nam",
                                          # the standing duties' yearly accounts (issue 29)
                                          *(f"bao-cao-thuong-xuyen-{s}" for s in ("ii2a", "ii2b", "ii2d", "ii3"))}
    again = load_plan(registered, store, plan, ADMIN)
    assert again.created == []
    assert sorted(again.existing) == sorted(first.created)
    assert again.schedules_added == []
    by_key = {i.business_key: i for i in store.list_instances(limit=1000)}
    catalogue = by_key["2022/II.4a/danh-muc-nhiem-vu/SKHCN"]
    assert catalogue.due_at == end_of_day(dt.date(2023, 1, 3))  # "trong tháng 12/2022": rolls to 03/01/2023
    assert catalogue.data["deadline_as_written"].startswith("dự thảo hoàn thành trong tháng 12/2022")
    restructuring = by_key["2022/II.2đ/kien-toan-to-chuc/TCKHCN"]
    assert restructuring.due_at == end_of_day(dt.date(2023, 5, 31))  # "trước tháng 6/2023": never moves
    assert by_key["2022/II.3/nghi-quyet-hdnd/SKHCN"].due_at == end_of_day(dt.date(2024, 1, 2))  # "trong năm 2023"


def test_rebasing_starts_a_new_cycle(registered: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    clock.set(dt.datetime(2026, 11, 1, 9, tzinfo=PROVINCE_TZ))
    plan = load_data(PLAN, Plan)
    moved = rebase(plan, dt.date(2026, 11, 1))
    task = next(t for t in moved.tasks if t.definition == "restructuring")
    assert task.due is not None
    assert task.due.before_date == dt.date(2027, 6, 1)
    loaded = load_plan(registered, store, plan, ADMIN, rebase_to=dt.date(2026, 11, 1))
    assert loaded.cycle == 2026
    assert all(k.startswith("2026/") for k in loaded.created)


def test_plan_assignees_must_be_registered(engine: Engine, store: SqlStore) -> None:
    from definitions import NotFound

    with pytest.raises(NotFound, match="load the registry first"):
        load_plan(engine, store, load_data(PLAN, Plan), ADMIN)
    assert store.list_instances() == []


def test_the_definitions_load(engine: Engine) -> None:
    for path in definition_files(DEFINITIONS):
        assert engine.definition(path.stem).id == path.stem
