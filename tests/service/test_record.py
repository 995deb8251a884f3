"""The Committee's view (issue 29): each agency's record and the forecast of who will be late.

On hand-made standings with known answers (medians, age bands, shares; a prompt agency, a slow one, one with too
little history), then on the whole simulated plan: the record's four categories add up to the status report's for
the same day (two computations over the same history), and the forecast is the same for the same seed and day."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from service.context import App
from service.record import (
    MIN_HISTORY,
    Obligation,
    Standing,
    agency_record,
    forecast,
    quarter_starts,
    track_record,
)
from service.report import status_report
from service.settings import Settings
from workflow.calendar import BusinessCalendar
from workflow.obligations import end_of

DAY = dt.date(2024, 6, 28)  # a Friday
CALENDAR = BusinessCalendar()


def _done(i: int, agency: str, started: dt.date, closed: dt.date, last_day: dt.date, kind: str = "delivery/x"
          ) -> Obligation:
    return Obligation(i, "x", agency, kind, started, last_day, "satisfied", closed,
                      "done_on_time" if closed <= last_day else "done_late")


def _open(i: int, agency: str, started: dt.date, last_day: dt.date, kind: str = "delivery/x") -> Obligation:
    return Obligation(i, "x", agency, kind, started, last_day, "open", None,
                      "within_deadline" if last_day >= DAY else "overdue")


def test_the_record_counts_shares_lateness_and_age_bands() -> None:
    rows = [_done(1, "SYT", dt.date(2024, 1, 2), dt.date(2024, 1, 10), dt.date(2024, 1, 31)),
            _done(2, "SYT", dt.date(2024, 1, 2), dt.date(2024, 2, 10), dt.date(2024, 1, 31)),  # 10 days late
            _open(3, "SYT", dt.date(2024, 1, 2), dt.date(2024, 6, 8)),  # 20 days overdue
            _open(4, "SYT", dt.date(2023, 1, 2), dt.date(2023, 12, 1)),  # 210 days overdue
            _open(5, "SYT", dt.date(2024, 6, 1), dt.date(2024, 7, 31)),  # within its time
            _done(6, "STC", dt.date(2024, 1, 2), dt.date(2024, 1, 5), dt.date(2024, 1, 31))]
    state = Standing(DAY, rows, last_update={3: dt.date(2024, 6, 20), 4: dt.date(2024, 1, 3)},
                     asked=Counter({3: 2, 6: 1}), granted=Counter({3: 1}))
    record = agency_record(state, {"SYT": "Sở Y tế"}, updated_days=30)
    syt, stc = record.rows  # the agency with overdue duties first
    assert (syt.agency, syt.agency_name, stc.agency) == ("SYT", "Sở Y tế", "STC")
    assert (syt.done_on_time, syt.done_late, syt.within_deadline, syt.overdue) == (1, 1, 1, 2)
    assert syt.share_on_time == 0.5
    assert (syt.days_late_median, syt.days_late_worst) == (20.0, 210)  # of 10, 20 and 210 days
    assert (syt.overdue_le_30, syt.overdue_31_90, syt.overdue_91_180, syt.overdue_over_180) == (1, 0, 0, 1)
    assert (syt.open, syt.updated) == (3, 1)  # only #3 was acted on within 30 days
    assert syt.share_updated == round(1 / 3, 4)
    assert (syt.extensions_asked, syt.extensions_granted) == (2, 1)
    assert (stc.share_on_time, stc.share_updated, stc.days_late_median) == (1.0, None, None)


def test_the_forecast_learns_each_agency_pace_and_says_when_it_cannot() -> None:
    started = dt.date(2024, 1, 2)
    rows = []
    for i in range(10):  # SYT finishes 5 working days before its last day, SCT three weeks after it
        rows.append(_done(100 + i, "SYT", started, dt.date(2024, 1, 24), dt.date(2024, 1, 31)))
        rows.append(_done(200 + i, "SCT", started, dt.date(2024, 2, 20), dt.date(2024, 1, 31)))
    rows.append(_done(300, "SNV", started, dt.date(2024, 1, 9), dt.date(2024, 3, 1), kind="other/y"))
    last_day = dt.date(2024, 7, 12)  # 10 working days after the day
    rows += [_open(1, "SYT", DAY, last_day), _open(2, "SCT", DAY, last_day), _open(3, "SNV", DAY, last_day, "rare/z"),
             _open(4, "SCT", dt.date(2024, 5, 1), dt.date(2024, 6, 3))]
    state = Standing(DAY, rows, {}, Counter(), Counter())
    result = forecast(state, CALENDAR, seed=1)
    by = {r.instance_id: r for r in result.rows}
    assert by[1].p_late == 0.0
    assert by[1].p50 is not None
    assert by[1].p50 <= last_day.isoformat()
    assert by[2].p_late == 1.0  # always late: 9 working days (Tết 2024 falls between), and #4 still unfinished
    assert by[2].basis == "SCT: trung vị trễ 9 ngày làm việc, n = 11 (cùng loại nhiệm vụ)"
    assert by[2].p50 is not None
    assert by[2].p50 > last_day.isoformat()
    assert by[4].p_late == 1.0  # already past its last day
    assert (by[3].agency, by[3].enough_history) == ("SNV", True)  # one of its own: all agencies' history instead
    assert "mọi cơ quan" in by[3].basis
    assert [r.instance_id for r in result.rows][-1] == 1  # least likely to be late last
    assert forecast(state, CALENDAR, seed=1) == result  # the same seed and day: the same figures
    thin = Standing(DAY, [*rows[:3], _open(5, "SYT", DAY, last_day)], {}, Counter(), Counter())
    never = [_open(400 + i, "SGDDT", dt.date(2023, 1, 2), dt.date(2023, 3, 1)) for i in range(10)]
    stuck = forecast(Standing(DAY, [*never, _open(6, "SGDDT", DAY, last_day)], {}, Counter(), Counter()),
                     CALENDAR).rows
    assert next(r for r in stuck if r.instance_id == 6).p_late == 1.0  # it never finishes anything: late
    alone = forecast(thin, CALENDAR).rows[0]
    assert len(rows[:3]) < MIN_HISTORY
    assert (alone.p_late, alone.p50, alone.enough_history) == (None, None, False)
    assert alone.basis.startswith("chưa đủ dữ liệu")


def _workflow(*args: str, db: Path) -> str:
    env = {**os.environ, "WORKFLOW_DATABASE_URL": f"sqlite:///{db}"}
    done = subprocess.run([str(Path(sys.executable).parent / "workflow"), *args], env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_on_the_simulated_plan_the_record_adds_up_and_the_forecast_is_reproducible(tmp_path: Path) -> None:
    db = tmp_path / "sim.db"
    _workflow("--json", "simulate", "--from", "2022-11-01", "--to", "2025-06-30", "--seed", "4", db=db)
    record = json.loads(_workflow("--json", "report", "agencies", "--as-of", "2024-12-31", db=db))
    app = App(Settings(database_url=f"sqlite:///{db}"))
    try:
        report = status_report(app.engine, app.store, end_of(dt.date(2025, 6, 30)), as_of=dt.date(2024, 12, 31))
        days = quarter_starts(dt.date(2025, 6, 30))
        assert (days[0], days[-1]) == (dt.date(2023, 4, 1), dt.date(2025, 1, 1))
        tracked = track_record(app.engine, app.store, dt.date(2025, 6, 30), days)
    finally:
        app.sql_engine.dispose()
    assert tracked["scored"] > 30  # what the overview says of how well the forecast has done
    for name in ("brier_ours", "brier_overall_rate", "brier_agency_rate"):
        assert 0.0 <= tracked[name] <= 1.0
    assert sum(b["n"] for b in tracked["calibration"]) == tracked["scored"]
    for category in ("done_on_time", "done_late", "within_deadline", "overdue"):
        assert sum(r[category] for r in record["rows"]) == report.totals[category], category
    first = _workflow("--json", "report", "forecast", "--as-of", "2024-12-31", "--seed", "9", db=db)
    assert _workflow("--json", "report", "forecast", "--as-of", "2024-12-31", "--seed", "9", db=db) == first
    rows = json.loads(first)["rows"]
    assert rows
    assert sum(r["overdue"] + r["within_deadline"] for r in record["rows"]) == len(rows)  # every open obligation
    for r in rows:
        assert r["p_late"] is None or 0.0 <= r["p_late"] <= 1.0
        assert r["p50"] is None or r["p85"] is None or r["p50"] <= r["p85"]  # None: not done by then in 15 %
        if r["last_day"] < "2024-12-31":
            assert r["p_late"] == 1.0
    text = _workflow("report", "agencies", "--as-of", "31/12/2024", db=db)
    assert text.splitlines()[0].startswith("Bảng theo dõi, đánh giá các cơ quan đến hết ngày 31/12/2024")


def test_a_progress_report_keeps_a_duty_up_to_date_and_nobody_else_can_make_one(tmp_path: Path) -> None:
    from definitions import Role
    from tests.api.conftest import API_NOW, prepared
    from workflow import Actor, RoleNotAllowed, SimulatedClock
    from workflow.errors import PayloadInvalid, Refused

    app = prepared(Settings(database_url=f"sqlite:///{tmp_path / 'progress.db'}"), SimulatedClock(API_NOW))
    admin = Actor("account:1:Quản trị", Role.ADMIN)
    syt = Actor("account:2:Lê Thị Y", Role.OFFICER, "SYT")
    started = app.engine.start("delivery", "progress/SYT", "SYT", admin, data={"due": {"end_of_month": "2023-03"}})
    task = started.id
    before = app.uses.reports.agencies().rows[0]
    assert (before.agency, before.open, before.updated) == ("SYT", 1, 0)
    with pytest.raises(RoleNotAllowed):
        app.uses.decisions.report_progress(Actor("account:3:X", Role.OFFICER, "STC"), task, text="x")
    with pytest.raises(PayloadInvalid) as refused:
        app.uses.decisions.report_progress(syt, task, text=" ", percent=101)
    assert {f for f, _ in refused.value.errors} == {"text", "percent"}  # both at once
    with pytest.raises(PayloadInvalid, match="reason"):
        app.uses.decisions.report_progress(admin, task, text="Đã xong dự thảo")  # for the agency: say why
    row = app.uses.decisions.report_progress(syt, task, text="Đã xong dự thảo, đang lấy ý kiến", percent=60)
    assert (row["event"], row["payload"]["percent"]) == ("@progress", 60)
    assert app.store.get_instance(task).state == "working"  # no state or deadline moves
    after = app.uses.reports.agencies().rows[0]
    assert (after.updated, after.share_updated) == (1, 1.0)
    assert "progress" in app.uses.decisions.allowed(syt, task)
    app.engine.fire(task, "deliver", syt, payload={"document": {"number": "9/BC-SYT", "issued_on": "2023-01-05"}})
    app.engine.fire(task, "accept", Actor("account:4:Trần B", Role.OFFICER, "SKHCN"))
    with pytest.raises(Refused, match="finished"):
        app.uses.decisions.report_progress(syt, task, text="x")
    assert app.uses.audit.verify().ok is True


def test_a_progress_report_on_a_standing_duty_keeps_its_yearly_account_up_to_date(tmp_path: Path) -> None:
    """Issue 29's "done when": on the seed plan, Sở Y tế reports progress on its standing duty II.2d (no deadline
    of its own); its yearly account for II.2d (due before 05/11) is then kept up to date in the record."""
    from definitions import Role, load_data
    from definitions.plan import Plan
    from service.plan import load_plan
    from tests.api.conftest import ADMIN, prepared
    from tests.plan.conftest import PLAN
    from workflow import Actor, SimulatedClock

    clock = SimulatedClock(dt.datetime(2022, 11, 15, 2, tzinfo=dt.UTC))
    app = prepared(Settings(database_url=f"sqlite:///{tmp_path / 'plan.db'}", sqlite_synchronous="NORMAL"), clock)
    load_plan(app.engine, app.store, load_data(PLAN, Plan), ADMIN)
    clock.set(dt.datetime(2023, 10, 2, 2, tzinfo=dt.UTC))
    app.ticker(deliver=False).run_once()  # 1 October: the yearly accounts open
    syt = Actor("account:7:Lê Thị Y", Role.OFFICER, "SYT")
    standing_duty = next(i for i in app.store.list_instances(limit=1000)
                         if i.assignee == "SYT" and i.definition_id == "ongoing_duty" and i.data["section"] == "II.2d")
    account = next(i for i in app.store.list_instances(limit=1000)
                   if i.assignee == "SYT" and i.definition_id == "periodic_report" and i.data["section"] == "II.2d")
    with app.store.transaction() as uow:
        [owed] = uow.obligations_of(account.id)
    assert owed.last_day == dt.date(2023, 11, 4)  # before 05/11
    before = next(r for r in app.uses.reports.agencies().rows if r.agency == "SYT")
    app.uses.decisions.report_progress(syt, standing_duty.id, text="Đã lồng ghép 3 nhiệm vụ KH&CN vào kế hoạch ngành")
    after = next(r for r in app.uses.reports.agencies().rows if r.agency == "SYT")
    assert after.updated > before.updated
    assert after.share_updated is not None
    assert (before.share_updated or 0) < after.share_updated


def test_the_workbook_lists_every_task_with_its_last_day_lateness_and_answering_document(tmp_path: Path) -> None:
    """Issue 27: the xlsx has a sheet of tasks beside the counts: each obligation as it stood on the day, its last
    day as a date, how it stands in words, days late, and the document the act that met it came with."""
    import io

    from openpyxl import load_workbook

    from definitions import Role
    from tests.api.conftest import API_NOW, prepared
    from workflow import Actor, SimulatedClock

    clock = SimulatedClock(API_NOW)  # 05/01/2023
    app = prepared(Settings(database_url=f"sqlite:///{tmp_path / 'book.db'}"), clock)
    admin = Actor("account:1:Quản trị", Role.ADMIN)
    late = app.engine.start("delivery", "book/SYT", "SYT", admin, data={"due": {"end_of_month": "2023-01"}}).id
    app.engine.start("delivery", "book/STC", "STC", admin, data={"due": {"end_of_month": "2023-01"}})
    clock.set(dt.datetime(2023, 2, 6, 2, tzinfo=dt.UTC))  # 06/02/2023: both past their last day, 31/01
    app.engine.fire(late, "deliver", Actor("account:2:Lê Thị Y", Role.OFFICER, "SYT"),
                    payload={"document": {"number": "9/BC-SYT", "issued_on": "2023-02-03"}})
    book = load_workbook(io.BytesIO(app.uses.reports.workbook()))
    sheet = book["Danh sách nhiệm vụ"]
    assert sheet["A1"].value == "Danh sách nhiệm vụ đến hết ngày 06/02/2023"
    header = [c.value for c in sheet[2]]
    assert header == ["Cơ quan", "Mục", "Nhiệm vụ", "Mã nhiệm vụ", "Tính từ ngày", "Hạn cuối", "Tình trạng",
                      "Ngày hoàn thành", "Số ngày quá hạn", "Văn bản thực hiện"]
    rows = {r[3]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=3, values_only=True)}
    done, open_ = rows["book/SYT"], rows["book/STC"]
    assert (done["Cơ quan"], done["Hạn cuối"].date(), done["Tình trạng"]) == (
        "Sở Y tế", dt.date(2023, 1, 31), "Hoàn thành quá hạn")
    assert (done["Ngày hoàn thành"].date(), done["Số ngày quá hạn"], done["Văn bản thực hiện"]) == (
        dt.date(2023, 2, 3), 3, "9/BC-SYT ngày 03/02/2023")  # done on its document's date, 3 days late
    assert (open_["Tình trạng"], open_["Ngày hoàn thành"], open_["Số ngày quá hạn"]) == (
        "Chưa hoàn thành, quá hạn", None, 6)
    assert sheet["F3"].number_format == "DD/MM/YYYY"
    assert book["Tình hình thực hiện"]["A2"].value == "Mã cơ quan"
    assert "Đánh giá cơ quan" in book.sheetnames
    app.sql_engine.dispose()
