"""A revised plan imported over the plan already running (issue 28: "importing a revised document shows what
changed against the loaded plan and migrates running tasks only with that approval"), on a real SQLite file.

The plan (83/KH-UBND, 10/3/2023) runs four duties; an installation started them on ``delivery`` version 1, which
had no withdrawal. The revised plan (120/KH-UBND, 1/6/2023) moves row 1's deadline, drops row 2, keeps row 3 as it
was and row 4 (already done), and adds row 5. Before approval the review says exactly that, and nothing has moved;
the approval by a second person withdraws row 2's task (moved to the current version of its workflow first, its
obligation waived, not late), restates row 1's last day (a report as of a day before the revision keeps the old
one), starts row 5 on the revision's date, and leaves rows 3 and 4 alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from definitions import Role, definition_files, load_data
from definitions.agencies import Registry
from service.context import App
from service.settings import Settings
from tests.api.conftest import ADMIN as REGISTRY_ADMIN
from tests.conftest import DEFINITIONS, ROOT
from workflow import Actor, SimulatedClock
from workflow.agencies import Agencies
from workflow.errors import PayloadInvalid
from workflow.obligations import replay
from workflow.ports import InstanceRecord, ObligationRecord, ObligationStatus

from .make_docx import table_plan

REVIEWER = Actor("account:2:Nguyễn Văn A", Role.OFFICER, "SKHCN")
APPROVER = Actor("account:3:Trần Thị B", Role.OFFICER, "SKHCN")
SKHDT = Actor("account:5:Phạm Văn D", Role.OFFICER, "SKHDT")
PLAN = "ke-hoach-khcn-2023"

ORIGINAL = [("1", "Xây dựng cơ sở dữ liệu khoa học và công nghệ", "Sở Khoa học và Công nghệ", "", "Tháng 12/2023"),
            ("2", "Rà soát quy định hỗ trợ doanh nghiệp", "Sở Công Thương", "", "Quý III/2023"),
            ("3", "Đào tạo nhân lực y tế", "Sở Y tế", "", "Tháng 10/2023"),
            ("4", "Báo cáo tình hình đầu tư", "Sở Kế hoạch và Đầu tư", "", "Tháng 5/2023"),
            ("6", "Báo cáo kết quả ứng dụng khoa học trong y tế", "Sở Y tế", "", "Định kỳ 6 tháng"),
            ("7", "Báo cáo tình hình đổi mới công nghệ", "Sở Công Thương", "", "Trước ngày 15/12 hằng năm")]
REVISED = [("1", "Xây dựng cơ sở dữ liệu khoa học và công nghệ", "Sở Khoa học và Công nghệ", "", "Quý I/2024"),
           ORIGINAL[2], ORIGINAL[3],
           ("5", "Xây dựng quy chế quản lý nhiệm vụ", "Sở Tài chính", "", "Tháng 11/2023"),
           ("6", "Báo cáo kết quả ứng dụng khoa học trong y tế", "Sở Y tế", "", "Hằng quý")]


def _delivery_v1() -> str:
    """``delivery`` as the last release shipped it: no withdrawal."""
    text = (ROOT / "definitions" / "shipped" / "delivery.yaml").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if "withdraw" not in ln or ln.startswith("version:")]
    return "\n".join("version: 1" if ln.startswith("version:") else ln for ln in lines)


@pytest.fixture
def app(tmp_path: Path) -> App:
    app = App(Settings(database_url=f"sqlite:///{tmp_path / 'revise.db'}", sqlite_synchronous="NORMAL"),
              SimulatedClock(dt.datetime(2023, 3, 20, 2, tzinfo=dt.UTC)))
    app.init()
    for path in definition_files(DEFINITIONS):
        if path.name != "delivery.yaml":
            app.engine.load_definition_text(path.read_text(encoding="utf-8"), str(path))
    app.engine.load_definition_text(_delivery_v1(), "delivery.v1.yaml")
    Agencies(app.engine).load(load_data(ROOT / "definitions" / "registry" / "agencies.yaml", Registry),
                              REGISTRY_ADMIN)
    return app


def _import(app: App, path: Path, issued: dt.date) -> int:
    imports = app.uses.plan_imports
    import_id = imports.propose(REVIEWER, path.name, path.read_bytes())
    view = imports.review(REVIEWER, import_id)
    imports.configure(REVIEWER, import_id, view["version"], PLAN, "Kế hoạch KHCN năm 2023", "83/KH-UBND", issued,
                      "SKHCN")
    imports.decide_all(REVIEWER, import_id, view["version"] + 1, "accepted")
    imports.submit(REVIEWER, import_id, view["version"] + 2)
    return import_id


def _tasks(app: App) -> dict[str, InstanceRecord]:
    """The plan's tasks by their row's text."""
    return {str(i.data["duty"]): i for i in app.store.list_instances(limit=100) if i.data.get("plan") == PLAN}


def _row(tasks: dict[str, InstanceRecord], words: str) -> InstanceRecord:
    return next(i for duty, i in tasks.items() if words in duty)


def test_a_revised_plan_shows_its_changes_then_migrates_the_running_tasks_on_approval(app: App, tmp_path: Path
                                                                                       ) -> None:
    imports = app.uses.plan_imports
    first = _import(app, table_plan(tmp_path / "83.docx", "83/KH-UBND", "ngày 10 tháng 3 năm 2023", ORIGINAL),
                    dt.date(2023, 3, 10))
    loaded = imports.approve(APPROVER, first, imports.review(APPROVER, first)["version"])
    assert len(loaded.created) == 4
    assert len(loaded.schedules_added) == 2  # rows 6 and 7 recur
    before = _tasks(app)
    assert {i.definition_version for i in before.values()} == {1}  # started on the release without withdrawal
    investment = _row(before, "đầu tư")
    app.engine.fire(investment.id, "deliver", SKHDT, payload={"document": {"number": "45/BC-SKHDT",
                                                                          "issued_on": "2023-03-18"}})
    app.engine.fire(investment.id, "accept", APPROVER)
    database = _row(before, "cơ sở dữ liệu")
    old_last_day = _open_obligation(app, database.id).last_day
    assert old_last_day == dt.date(2024, 1, 2)  # 31/12/2023 a Sunday, 1/1 a holiday: art. 148

    # the delivery workflow gains its withdrawal (this release); then the revised plan is read and reviewed
    shipped = ROOT / "definitions" / "shipped" / "delivery.yaml"
    app.engine.load_definition_text(shipped.read_text(encoding="utf-8"), str(shipped))
    app.clock.set(dt.datetime(2023, 6, 5, 2, tzinfo=dt.UTC))  # type: ignore[attr-defined]
    second = _import(app, table_plan(tmp_path / "120.docx", "120/KH-UBND", "ngày 01 tháng 6 năm 2023", REVISED),
                     dt.date(2023, 6, 1))
    view = imports.review(APPROVER, second)
    changes = "\n".join(view["changes"])
    assert "STC: khởi tạo nhiệm vụ mới" in changes
    assert "SCT: hủy nhiệm vụ đang thực hiện (chuyển sang phiên bản 2 của quy trình rồi hủy)" in changes
    assert "SKHCN: thời hạn «Tháng 12/2023» → «Quý I/2024»" in changes
    assert not any("SYT" in c or "SKHDT" in c for c in view["changes"])  # unchanged, and done: not mentioned
    assert "nhiệm vụ định kỳ thay đổi từ kỳ tới" in changes  # row 6: every quarter now
    assert "thôi mở nhiệm vụ định kỳ" in changes  # row 7 dropped
    versions = {i.id: i.version for i in _tasks(app).values()}
    assert versions == {i.id: app.store.get_instance(i.id).version for i in before.values()}  # review: nothing moved

    result = imports.approve(APPROVER, second, view["version"])
    after = _tasks(app)
    assert [k for k in result.created] == [_row(after, "quy chế").business_key]  # only row 5 is new
    assert _row(after, "quy chế").effective_on == dt.date(2023, 6, 1)  # started on the revision's date
    withdrawn = app.store.get_instance(_row(before, "doanh nghiệp").id)
    assert (withdrawn.state, withdrawn.definition_version) == ("withdrawn", 2)
    events = [r.event for r in app.store.history(withdrawn.id)]
    assert events[-2:] == ["@migrated", "withdraw"]
    assert all(o.status is ObligationStatus.WAIVED for o in _obligations(app, withdrawn.id))
    assert "120/KH-UBND" in (app.store.history(withdrawn.id)[-1].reason or "")
    assert _open_obligation(app, database.id).last_day == dt.date(2024, 4, 1)  # 31/3/2024 a Sunday
    revised_row = app.store.history(database.id)[-1]
    assert (revised_row.event, revised_row.effective_on) == ("@plan_revised", "2023-06-01")
    assert revised_row.actor_id == APPROVER.id
    for unchanged in ("nhân lực y tế", "đầu tư"):
        assert app.store.get_instance(_row(before, unchanged).id).version == versions[_row(before, unchanged).id]
    assert app.store.get_instance(investment.id).state == "accepted"  # what was done stays done
    loaded_event = app.store.last_system_event("plan_import_loaded")
    assert loaded_event is not None
    assert loaded_event[1]["withdrawn"] == [withdrawn.id]
    running = {s.data["section"]: s for s in app.store.list_schedules()}
    assert len(running) == 1  # row 7's schedule ended: it starts nothing more
    assert next(iter(running.values())).data["deadline_as_written"] == "Hằng quý"  # row 6's next periods
    assert len(app.store.list_schedules(ended=True)) == 2  # its row stays (its occurrences refer to it)
    assert app.uses.audit.verify().ok is True  # schedules changed and ended agree with the system history
    # the revised deadline holds from the revision's date: as of a day before it, the old last day
    for day, last_day, dropped in ((dt.date(2023, 5, 31), dt.date(2024, 1, 2), "open"),
                                   (dt.date(2023, 6, 1), dt.date(2024, 4, 1), "waived")):
        stood, _ = replay([*app.store.history(database.id), *app.store.history(withdrawn.id)], day)
        assert stood[(database.id, "deliver")].last_day == last_day
        assert stood[(withdrawn.id, "deliver")].status == dropped


def _obligations(app: App, instance_id: int) -> list[ObligationRecord]:
    with app.store.transaction() as uow:
        return uow.obligations_of(instance_id)


def _open_obligation(app: App, instance_id: int) -> ObligationRecord:
    return next(o for o in _obligations(app, instance_id) if o.status is ObligationStatus.OPEN)


def test_a_task_whose_workflow_cannot_be_withdrawn_stops_the_approval_and_nothing_moves(app: App, tmp_path: Path
                                                                                        ) -> None:
    imports = app.uses.plan_imports
    first = _import(app, table_plan(tmp_path / "83.docx", "83/KH-UBND", "ngày 10 tháng 3 năm 2023", ORIGINAL),
                    dt.date(2023, 3, 10))
    imports.approve(APPROVER, first, imports.review(APPROVER, first)["version"])
    before = {i.id: i.version for i in _tasks(app).values()}
    app.clock.set(dt.datetime(2023, 6, 5, 2, tzinfo=dt.UTC))  # type: ignore[attr-defined]
    # delivery v2 (with its withdrawal) never loaded: row 2's task cannot be withdrawn
    path = table_plan(tmp_path / "120.docx", "120/KH-UBND", "ngày 01 tháng 6 năm 2023", REVISED)
    import_id = imports.propose(REVIEWER, path.name, path.read_bytes())
    view = imports.review(REVIEWER, import_id)
    imports.configure(REVIEWER, import_id, view["version"], PLAN, "Kế hoạch KHCN năm 2023", "83/KH-UBND",
                      dt.date(2023, 6, 1), "SKHCN")
    imports.decide_all(REVIEWER, import_id, view["version"] + 1, "accepted")
    view = imports.review(REVIEWER, import_id)
    assert any("không hủy được" in why and "SCT" in why for _, why in view["problems"])
    with pytest.raises(PayloadInvalid, match="không hủy được"):
        imports.submit(REVIEWER, import_id, view["version"])
    assert {i.id: i.version for i in _tasks(app).values()} == before
