"""The Committee's demand for an explanation, from the pages (issue 29): on the plan as `./run start` loads it, one of
Sở Y tế's duties is overdue; the Committee asks for an explanation from the task's page; Sở Y tế finds the
explanation task, answers it, and the overdue task's page shows the request and the answer. Screenshots land in
test-artifacts/dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from definitions import load_data
from definitions.plan import Plan
from service.plan import load_plan
from service.settings import Settings
from tests.api.conftest import create_people, prepared, served
from tests.plan.conftest import PLAN
from tests.web.conftest import ADMIN, Site, at, log_in, screenshot
from workflow import SimulatedClock
from workflow.ports import ObligationStatus


@pytest.fixture
def planned(tmp_path: Path) -> Iterator[Site]:
    clock = SimulatedClock(at("2022-12-05"))
    app = prepared(Settings(database_url=f"sqlite:///{tmp_path / 'plan.db'}", sqlite_synchronous="NORMAL"), clock)
    load_plan(app.engine, app.store, load_data(PLAN, Plan), ADMIN)
    create_people(app, (("committee", "committee", None), ("van.thu.syt", "officer", "SYT")))
    with served(app) as (url, _):
        yield Site(url, app, clock, {}, 0, {})


def test_the_committee_demands_an_explanation_and_the_agency_answers(browser: Browser, planned: Site) -> None:
    site, store = planned, planned.app.store
    site.clock.set(at("2023-02-01"))
    now = site.clock.now()
    with store.transaction() as uow:
        late = next(i for i in store.list_instances(limit=500) if i.assignee == "SYT" and any(
            o.status is ObligationStatus.OPEN and o.due_at <= now for o in uow.obligations_of(i.id)))
    committee = log_in(browser, site, "committee", then=f"/instances/{late.id}")
    form = committee.locator("#explain-form")
    form.get_by_label("Nội dung yêu cầu giải trình").fill("Đề nghị Sở Y tế giải trình lý do chậm thực hiện")
    screenshot(committee, "explanation-1-committee-asks")
    form.get_by_role("button", name="Yêu cầu giải trình việc chậm thực hiện").click()
    committee.wait_for_url(re.compile(r".*done=@explanation_requested.*"))
    assert "Đề nghị Sở Y tế giải trình lý do chậm thực hiện" in committee.locator("#explanations").inner_text()
    assert committee.locator("#explain-form").count() == 0  # one request at a time
    committee.context.close()

    syt = log_in(browser, site, "van.thu.syt", then=None)
    [explanation] = site.app.uses.decisions.explanations(late.id)
    assert f'/instances/{explanation.id}' in syt.content()  # in its inbox, owed like any duty
    syt.goto(f"{site.url}/instances/{explanation.id}")
    answer = syt.locator('form[data-event="explain"]')
    answer.locator("#f-explain-text").fill("Đang chờ ý kiến của các bệnh viện; hoàn thành trước 28/02/2023")
    answer.locator("button[type=submit]").click()
    syt.wait_for_url(re.compile(r".*done=explain.*"))
    syt.goto(f"{site.url}/instances/{late.id}")
    shown = syt.locator("#explanations").inner_text()
    assert "Giải trình: Đang chờ ý kiến của các bệnh viện; hoàn thành trước 28/02/2023" in shown
    assert "Đã giải trình" in shown
    screenshot(syt, "explanation-2-answer-shown")
    syt.context.close()
