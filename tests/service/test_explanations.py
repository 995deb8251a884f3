"""Explanation requests (issue 29) on a real SQLite file: the Committee asks Sở Y tế to explain an overdue duty; the
explanation is a task of its own with a period of 5 working days, counted in the agency's record as owed until
Sở Y tế answers; nobody else may ask, nothing that is not overdue can be asked about, and one request at a time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from definitions import Role
from service.context import App
from service.settings import Settings
from tests.api.conftest import API_NOW, prepared
from workflow import Actor, RoleNotAllowed, SimulatedClock
from workflow.errors import Refused
from workflow.ports import ObligationStatus

ADMIN = Actor("account:1:Quản trị", Role.ADMIN)
COMMITTEE = Actor("account:2:Ban Chỉ đạo", Role.COMMITTEE)
SYT = Actor("account:3:Lê Thị Y", Role.OFFICER, "SYT")
STC = Actor("account:4:Phạm Văn T", Role.OFFICER, "STC")


@pytest.fixture
def app(tmp_path: Path) -> App:
    return prepared(Settings(database_url=f"sqlite:///{tmp_path / 'explain.db'}"), SimulatedClock(API_NOW))


def test_the_committee_demands_an_explanation_and_the_agency_answers(app: App) -> None:
    task = app.engine.start("delivery", "explain/SYT", "SYT", ADMIN, data={"due": {"end_of_month": "2023-01"}}).id
    decisions = app.uses.decisions
    with pytest.raises(Refused, match="nothing on this task is overdue"):
        decisions.request_explanation(COMMITTEE, task, reason="Vì sao chậm?")
    assert "explain" not in decisions.allowed(COMMITTEE, task)
    app.clock.set(dt.datetime(2023, 2, 10, 2, tzinfo=dt.UTC))  # type: ignore[attr-defined]  # a Friday, overdue
    assert "explain" in decisions.allowed(COMMITTEE, task)
    with pytest.raises(RoleNotAllowed):
        decisions.request_explanation(STC, task, reason="x")
    with pytest.raises(RoleNotAllowed):
        decisions.request_explanation(SYT, task, reason="x")  # nobody asks itself
    row = decisions.request_explanation(COMMITTEE, task, reason="Đề nghị giải trình lý do chậm gửi kết quả")
    assert row["event"] == "@explanation_requested"
    [explanation] = decisions.explanations(task)
    assert (explanation.assignee, explanation.state, explanation.data["explains"]) == ("SYT", "requested", task)
    with app.store.transaction() as uow:
        [owed] = uow.obligations_of(explanation.id)
    assert owed.last_day == dt.date(2023, 2, 17)  # 5 working days after Friday 10/02/2023
    with pytest.raises(Refused, match="not answered yet"):
        decisions.request_explanation(COMMITTEE, task, reason="Nhắc lại")
    record = {r.agency: r for r in app.uses.reports.agencies().rows}
    assert record["SYT"].explanations_owed == 1
    assert record["SYT"].overdue == 1  # the duty itself; the explanation is counted apart
    app.engine.fire(explanation.id, "explain", SYT, payload={"text": "Chờ ý kiến các bệnh viện; xong trước 28/02"})
    assert app.uses.reports.agencies().rows[0].explanations_owed == 0
    with app.store.transaction() as uow:
        assert uow.obligations_of(explanation.id)[0].status is ObligationStatus.SATISFIED
    assert app.uses.audit.verify().ok is True
