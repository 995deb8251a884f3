"""The plan's acts done from the pages by the bodies that owe them, nobody using the administrator's account: on a
database set up as `./run start` sets it up (definitions, registry, the plan), a Sở KH&CN officer sends the draft
catalogue; a Sở Y tế officer registers its receipt, asks for more time and answers; the Steering Committee grants
the extension; Sở Y tế reports its progress on the way. Screenshots of each step land in test-artifacts/dashboard."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page

from definitions import load_data
from definitions.plan import Plan
from service.plan import load_plan
from service.report import status_report
from service.settings import Settings
from service.verification import verify_all
from tests.api.conftest import create_people, prepared, served
from tests.plan.conftest import PLAN
from tests.web.conftest import ADMIN, ARTIFACTS, Site, at, log_in, screenshot
from workflow import SimulatedClock


@pytest.fixture
def planned(tmp_path: Path) -> Iterator[Site]:
    clock = SimulatedClock(at("2022-12-05"))
    app = prepared(Settings(database_url=f"sqlite:///{tmp_path / 'plan.db'}", sqlite_synchronous="NORMAL"), clock)
    load_plan(app.engine, app.store, load_data(PLAN, Plan), ADMIN)  # as `./run start` does
    create_people(app, (("admin", "admin", None), ("committee", "committee", None),
                        ("van.thu.skhcn", "officer", "SKHCN"), ("van.thu.syt", "officer", "SYT")))
    [catalogue] = app.store.list_instances(definition_id="catalogue_consultation")
    with served(app) as (url, _):
        yield Site(url, app, clock, {}, catalogue.id, {})


def fill_document(form: Locator, event: str, number: str, day: str) -> None:
    form.locator(f"#f-{event}-document-number").fill(number)
    form.locator(f"#f-{event}-document-issued_on").fill(day)


def act(page: Page, event: str) -> None:
    form = page.locator(f'form[data-event="{event}"]')
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf".*done={event}.*"))


def test_each_body_does_its_own_acts_from_the_pages(browser: Browser, planned: Site) -> None:
    site, store = planned, planned.app.store
    # Sở KH&CN, the owing body of the catalogue, sends the draft; an officer of another agency sees who must act
    syt = log_in(browser, site, "van.thu.syt", then=f"/instances/{site.parent}")
    assert syt.locator("form.action").count() == 0
    who = syt.locator("#next-actors").inner_text()
    assert "Cán bộ Sở Khoa học và Công nghệ: Gửi dự thảo danh mục lấy ý kiến" in who
    syt.context.close()
    skhcn = log_in(browser, site, "van.thu.skhcn", then=f"/instances/{site.parent}")
    form = skhcn.locator('form[data-event="send_for_consultation"]')
    fill_document(form, "send_for_consultation", "2233/SKHCN-QLKH", "05/12/2022")
    form.locator("#f-send_for_consultation-task_count").fill("64")
    screenshot(skhcn, "authority-1-skhcn-sends")
    act(skhcn, "send_for_consultation")
    skhcn.context.close()
    child = next(c.id for c in store.list_instances(parent_id=site.parent, limit=100) if c.assignee == "SYT")

    # Sở Y tế registers the draft's receipt (the register's date), then asks for more time
    site.clock.set(at("2022-12-20"))
    syt = log_in(browser, site, "van.thu.syt", then=f"/instances/{child}")
    syt.locator("#f-record_receipt-received_on").fill("06/12/2022")
    act(syt, "record_receipt")
    progress = syt.locator("#progress-form")  # how it is going, in its own words (issue 29)
    progress.get_by_label("Đã làm được gì, còn gì phải làm").fill("Đã gửi dự thảo cho các bệnh viện góp ý")
    progress.get_by_label("Tỷ lệ hoàn thành (%)", exact=False).fill("40")
    progress.get_by_role("button", name="Báo cáo tiến độ").click()
    syt.wait_for_url(re.compile(r".*done=@progress.*"))
    assert "Đã gửi dự thảo cho các bệnh viện góp ý (40%)" in syt.locator("#progress-latest").inner_text()
    ask = syt.locator("#ask-form")
    ask.get_by_label("Đề nghị gia hạn đến ngày").fill("10/01/2023")
    ask.get_by_label("Số, ký hiệu").fill("88/SYT-KHTC")
    ask.get_by_label("Ngày ban hành văn bản").fill("20/12/2022")
    ask.get_by_label("Lý do").fill("Cần thêm thời gian lấy ý kiến các bệnh viện tuyến tỉnh")
    screenshot(syt, "authority-2-syt-asks")
    ask.get_by_role("button", name="Đề nghị gia hạn").click()
    syt.wait_for_url(re.compile(r".*done=@extension_requested.*"))
    assert "đang chờ quyết định" in syt.locator("#request-waiting").inner_text()
    assert syt.locator("#decide-form").count() == 0  # the agency never decides its own deadline
    syt.goto(f"{site.url}/inbox")  # its inbox says who the task waits on
    waiting = syt.locator(f'#tasks-table tr[data-instance="{child}"]').inner_text()
    assert "Quyết định về đề nghị gia hạn: Cán bộ Sở Khoa học và Công nghệ, Ban Chỉ đạo Chương trình" in waiting
    syt.context.close()

    # the Steering Committee finds the request in its inbox and grants it, with its document
    site.clock.set(at("2022-12-22"))
    committee = log_in(browser, site, "committee", then=None)
    assert "Sở Y tế" in committee.locator(f'#decisions-table tr[data-instance="{child}"]').inner_text()
    committee.goto(f"{site.url}/instances/{child}")
    decide = committee.locator("#decide-form")
    decide.get_by_label("Số, ký hiệu").fill("15/BCĐ-KHCN")
    decide.get_by_label("Ngày ban hành văn bản").fill("22/12/2022")
    decide.get_by_label("Lý do").fill("Đồng ý gia hạn theo đề nghị của Sở Y tế")
    screenshot(committee, "authority-3-committee-decides")
    decide.get_by_role("button", name="Quyết định về đề nghị gia hạn").click()
    committee.wait_for_url(re.compile(r".*done=@deadline_extended.*"))
    history = committee.locator("#history-table").inner_text()
    assert "Hạn cũ: 26/12/2022" in history
    assert "Hạn mới: 10/01/2023" in history
    committee.context.close()

    # Sở Y tế answers on 08/01/2023, within the extended time
    site.clock.set(at("2023-01-08"))
    syt = log_in(browser, site, "van.thu.syt", then=f"/instances/{child}")
    answer = syt.locator('form[data-event="answer"]')
    fill_document(answer, "answer", "5/SYT-KHTC", "08/01/2023")
    answer.locator("#f-answer-position").select_option("agree")
    act(syt, "answer")
    screenshot(syt, "authority-4-syt-answers")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    syt.locator("#history-table").screenshot(path=str(ARTIFACTS / "authority-5-history.png"))
    syt.context.close()

    rows = store.history(child) + store.history(site.parent)
    assert all(r.actor_role != "admin" for r in rows if r.seq > 1)  # nobody used the administrator's account
    assert [r.event for r in store.history(child)][1:] == [
        "record_receipt", "@progress", "@extension_requested", "@deadline_extended", "answer"]
    report = status_report(site.app.engine, store, site.clock.now())
    answered = [r for r in report.rows if r.agency == "SYT" and r.section == "II.4b"]
    assert (sum(r.done_on_time for r in answered), sum(r.done_late for r in answered)) == (1, 0)
    assert verify_all(store).ok
    assert dt.date.fromisoformat(store.history(child)[-1].effective_on or "") == dt.date(2023, 1, 8)
