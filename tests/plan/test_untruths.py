"""The smaller untruths a new user found, each run again: lateness stays with the agency that missed a deadline
when another takes over its work; "đến hết tháng 11" ends on a working day; no report of a day that has not come;
co-operating bodies and names follow the registry; the report's letterhead is the province's on its date; numbers
are written the Vietnamese way; the plan holds every duty the seed assigns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from definitions import Deadline, load_data
from definitions.agencies import Certainty, Change, ChangeKind, Reorganisation
from service.app.reports import Reports
from service.report import status_report, vn_number
from store import SqlStore
from tests.conftest import ADMIN
from tests.plan.conftest import REORG
from tests.plan.test_authority import at, officer
from tests.plan.test_truth import fresh_app
from workflow import Engine, PayloadInvalid, SimulatedClock
from workflow.agencies import Agencies


def by_agency(engine: Engine, store: SqlStore, clock: SimulatedClock) -> dict[str, tuple[int, int]]:
    """agency → (overdue, within deadline) now."""
    out: dict[str, tuple[int, int]] = {}
    for row in status_report(engine, store, clock.now()).rows:
        overdue, within = out.get(row.agency, (0, 0))
        out[row.agency] = (overdue + row.overdue, within + row.within_deadline)
    return out


def test_a_missed_deadline_stays_with_the_agency_that_missed_it_when_its_work_is_taken_over(
        registered: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    clock.set(at("2022-12-01"))
    missed = registered.start("implementation_plan", "kh/STTTT", "STTTT", ADMIN,
                              data={"due": {"end_of_month": "2022-12"}})
    running = registered.start("implementation_plan", "kh2/STTTT", "STTTT", ADMIN,
                               data={"due": {"end_of_month": "2025-12"}})
    clock.set(at("2025-03-02"))
    Agencies(registered).apply(Change(op=ChangeKind.MERGE, code="STTTT", into="SKHCN", effective=dt.date(2025, 3, 1),
                                      certainty=Certainty.FACT, note="hợp nhất"), ADMIN, "45/2025/NĐ-CP")
    assert {store.get_instance(i.id).assignee for i in (missed, running)} == {"SKHCN"}  # the open work moves
    assert by_agency(registered, store, clock) == {"STTTT": (1, 0), "SKHCN": (0, 1)}  # the lateness does not
    assert store.history(missed.id)[-1].payload["missed_stay"] == ["issue"]
    registered.fire(missed.id, "issue", officer("SKHCN"), payload={"document": "3/KH-SKHCN"})
    report = status_report(registered, store, clock.now())
    assert [(r.agency, r.done_late) for r in report.rows if r.done_late] == [("STTTT", 1)]


def test_until_the_end_of_november_ends_on_a_working_day(registered: Engine, store: SqlStore,
                                                         clock: SimulatedClock) -> None:
    due = registered.calendar.due(Deadline(yearly_end_of_month=11), dt.date(2025, 11, 6))
    assert due.last_day == dt.date(2025, 12, 1)  # 30/11/2025 is a Sunday (art. 148)
    clock.set(at("2025-11-06"))
    report = registered.start("consolidated_report", "consolidated-report/2025/SKHCN", "SKHCN", ADMIN)
    clock.set(at("2025-12-01"))
    registered.fire(report.id, "submit", officer("SKHCN"), payload={"document": "300/BC-SKHCN"})
    assert status_report(registered, store, clock.now()).totals["done_on_time"] == 1


def test_no_report_of_a_day_that_has_not_come(tmp_path: Path) -> None:
    clock = SimulatedClock(at("2026-12-02"))
    app = fresh_app(tmp_path, clock)
    try:
        with pytest.raises(PayloadInvalid) as refused:
            Reports(app).status(dt.date(2027, 6, 30))
        assert [f for f, _ in refused.value.errors] == ["as_of"]
        assert "30/06/2027 is after today (02/12/2026" in refused.value.errors[0][1]
        assert Reports(app).status(dt.date(2026, 12, 2)).rows  # today is known
    finally:
        app.sql_engine.dispose()


def test_the_registry_decides_co_operators_names_and_the_letterhead(tmp_path: Path) -> None:
    clock = SimulatedClock(at("2024-12-01"))
    app = fresh_app(tmp_path, clock)
    try:
        issuing = Reports(app).issuing()
        assert (issuing.parent, issuing.place) == ("ỦY BAN NHÂN DÂN TỈNH NINH THUẬN", "Ninh Thuận")
        instances = {i.business_key: i for i in app.store.list_instances(limit=1000)}
        oda, cooperation = instances["2022/II.2b/oda-fdi-nhan-luc/SKHDT"], instances[
            "2022/II.2a/huy-dong-nguon-luc/SKHCN"]
        clock.set(at("2025-07-02"))
        for change in sorted(load_data(REORG, Reorganisation).changes, key=lambda c: c.effective):
            Agencies(app.engine).apply(change, ADMIN)
        # Planning and Investment merged into Finance: Finance leads II.2b and is not its own co-operator; II.2a
        # co-operates with Finance, not with a body that is gone
        assert app.store.get_instance(oda.id).assignee == "STC"
        assert app.store.get_instance(oda.id).data["cooperating"] == ["SNV", "SKHCN"]
        assert app.store.get_instance(cooperation.id).data["cooperating"] == ["STC", "CTHUE"]
        assert app.store.history(cooperation.id)[-1].event == "@cooperating_changed"
        with app.store.transaction() as uow:
            assert {o.cooperating for o in uow.obligations_of(oda.id)} <= {("SNV", "SKHCN")}
        # every body carried into Khánh Hòa is named so from the decree's date, and as it was before it
        after, before = app.store.agency_names_on(dt.date(2025, 7, 1)), app.store.agency_names_on(
            dt.date(2025, 6, 30))
        for code in ("SYT", "STC", "SNV", "SGDDT", "SCT", "SVHTTDL", "SKHCN", "SNNPTNT"):
            assert after[code].endswith("tỉnh Khánh Hòa"), (code, after[code])
            assert not before[code].endswith("Khánh Hòa"), (code, before[code])
        issuing = Reports(app).issuing()
        assert (issuing.parent, issuing.place, issuing.issuer) == (
            "ỦY BAN NHÂN DÂN TỈNH KHÁNH HÒA", "Khánh Hòa", "SỞ KHOA HỌC VÀ CÔNG NGHỆ")
    finally:
        app.sql_engine.dispose()


def test_numbers_are_written_the_vietnamese_way() -> None:
    assert vn_number(Decimal("0.4583"), 3) == "0,458"
    assert vn_number(Decimal("1250.5"), 1) == "1.250,5"


def test_the_plan_holds_every_duty_the_seed_assigns(tmp_path: Path) -> None:
    clock = SimulatedClock(at("2023-10-02"))
    app = fresh_app(tmp_path, clock)
    try:
        app.ticker().run_once(deliver=False)
        keys = {i.business_key for i in app.store.list_instances(limit=2000)}
        # the radio and television station and the ODA board, consulted on the catalogue, also plan and report
        for code in ("DPTTH", "BODA"):
            assert f"2022/II.4b/ke-hoach-thuc-hien/{code}" in keys
            assert f"annual-report/2023/{code}" in keys
        assert "budget-appraisal/2023/STC" in keys  # II.2c: Finance appraises the programmes' estimates
        assert {k for k in keys if k.startswith("budget-allocation/2023/")} >= {
            "budget-allocation/2023/SYT", "budget-allocation/2023/NINHSON"}  # II.2d: each allocates yearly
    finally:
        app.sql_engine.dispose()
