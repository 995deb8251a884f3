"""The dashboard in a real browser: each role logs in, every page shows what the database holds, auditors
see no write control, an officer acts from the instance page, and every page is screenshotted at desktop
and phone width (test-artifacts/dashboard/)."""

from __future__ import annotations

import datetime as dt
import json
import re

import httpx
import pyotp
import pytest
from docx import Document
from playwright.sync_api import Browser, Locator, Page

from service.report import CATEGORIES, status_report
from service.web.i18n import WORDS
from store.accounts import Account
from tests.api.conftest import FULL_NAMES, password_of
from tests.web.conftest import ADMIN, ARTIFACTS, Site, log_in, screenshot

ROLES = ["admin", "committee", "officer", "auditor"]


def committee_id(site: Site) -> str:
    account = site.app.store.account("committee")
    assert account is not None
    return account.actor_id


def open_rows(site: Site, **filters: object) -> list[int]:
    now = site.clock.now()
    out = []
    for i in site.app.store.list_instances(limit=1000, **filters):  # type: ignore[arg-type]
        if i.due_at is not None:  # an open obligation: final states included (an agency that never answered)
            out.append((i.due_at, i.id, now))
    return [i for _, i, _ in sorted(out)]


def labelled(page: Page) -> list[str]:
    """Controls without a label (visible inputs, selects, textareas, buttons)."""
    return page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => !(e.id && document.querySelector(`label[for="${e.id}"]`)) && !e.closest('label')
                     && !e.getAttribute('aria-label'))
        .map(e => e.outerHTML)""")


def fits(page: Page) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"))


@pytest.mark.parametrize("role", ROLES)
def test_each_role_logs_in_and_sees_the_overview_the_database_holds(browser: Browser, site: Site, role: str) -> None:
    page = log_in(browser, site, role)
    assert page.get_by_text(f"Đăng nhập với {FULL_NAMES[role]}").is_visible()  # the person, by full name
    report = status_report(site.app.engine, site.app.store, site.clock.now())
    for category in CATEGORIES:
        card = page.locator(f'#totals [data-category="{category}"] b')
        assert card.inner_text() == str(report.totals[category]), category
    assert report.totals["overdue"] >= 1
    shown = [int(x) for x in page.locator("#overdue-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.instance)")]
    assert shown == open_rows(site, overdue_at=site.clock.now())
    assert site.children["SNV"] in shown
    upcoming = [int(x) for x in page.locator("#upcoming-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.instance)")]
    assert site.children["SCT"] in upcoming
    escalated = {e.instance_id for e in site.app.store.list_escalations("open")}
    assert escalated
    on_page = {int(x) for x in page.locator("#escalations-table tbody tr td:first-child a").evaluate_all(
        "links => links.map(a => a.textContent.slice(1))")}
    late_days = page.locator(f'#overdue-table tr[data-instance="{site.children["SNV"]}"] td.overdue').inner_text()
    assert late_days == "1"  # due 09/01 24:00, seen on 10/01: the first day late
    assert on_page == escalated
    assert labelled(page) == []
    screenshot(page, f"overview-{role}")
    page.context.close()


def refused_again(page: Page, form: Locator) -> Locator:
    """Send an action form that is to be refused: the answer is 422, and the form comes back (as rendered anew)."""
    event = form.get_attribute("data-event")
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        form.locator("button[type=submit]").click()
    assert response.value.status == 422
    return page.locator(f'form[data-event="{event}"]')


def test_the_overview_as_of_a_past_date_is_rebuilt_from_history(browser: Browser, site: Site) -> None:
    import datetime as dt

    page = log_in(browser, site, "committee")
    assert page.locator("#as_of").get_attribute("placeholder") == "dd/mm/yyyy"  # whatever the browser's language
    page.fill("#as_of", "20/12/2022")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_url("**as_of=20%2F12%2F2022**")
    assert page.locator("#as_of").input_value() == "20/12/2022"
    report = status_report(site.app.engine, site.app.store, site.clock.now(), dt.date(2022, 12, 20))
    for category in CATEGORIES:
        assert page.locator(f'#totals [data-category="{category}"] b').inner_text() == str(report.totals[category])
    assert report.totals["overdue"] == 0  # on 20/12/2022 nobody was late yet
    assert page.get_by_text("Số liệu đến 20/12/2022").is_visible()
    assert page.locator("#lists-now").inner_text() == "Các danh sách dưới đây là tình hình hiện tại, ngày 10/01/2023."
    screenshot(page, "overview-as-of")
    with page.expect_download() as downloading:  # the report to sign, as of the same day
        page.get_by_role("link", name="Báo cáo để ký (.docx)").click()
    download = downloading.value
    assert download.suggested_filename == "bao-cao-2022-12-20.docx"
    document = Document(download.path())
    assert "Tình hình thực hiện Kế hoạch khoa học và công nghệ đến hết ngày 20/12/2022" in [
        p.text for p in document.paragraphs]
    assert page.request.get(f"{site.url}/report.pdf").status == 404
    page.context.close()


def _try_login(browser: Browser, site: Site, login: str, password: str, code: str | None = None) -> tuple[Page, int]:
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    page.goto(site.url + "/login")
    page.get_by_label("Tên đăng nhập").fill(login)
    page.get_by_label("Mật khẩu").fill(password)
    if code is not None:
        page.get_by_label("Mã xác thực 6 số").fill(code)
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as response:
        page.get_by_role("button", name="Đăng nhập", exact=True).click()
    return page, response.value.status


def test_session_cookie_is_httponly_and_strict_and_a_wrong_password_is_refused(browser: Browser, site: Site) -> None:
    page = log_in(browser, site, "admin")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "wf_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert password_of("admin") not in json.dumps(page.context.cookies())
    assert "Trần Quản Trị" in page.locator("header").inner_text()  # the person, by name
    page.context.close()
    page, status = _try_login(browser, site, "admin", "not-the-password")
    assert status == 401
    assert page.get_by_role("alert").inner_text() == WORDS["login_bad_credentials"][0]
    assert page.get_by_label("Tên đăng nhập").input_value() == "admin"  # kept; the password is not
    screenshot(page, "login-refused")
    page.context.close()
    page, status = _try_login(browser, site, "nobody", "not-the-password")  # unknown: the same words
    assert status == 401
    assert page.get_by_role("alert").inner_text() == WORDS["login_bad_credentials"][0]
    page.context.close()


def test_repeated_failures_slow_the_login_and_look_like_a_wrong_password(browser: Browser, site: Site) -> None:
    limit = site.app.settings.login_failure_limit
    statuses = []
    for _ in range(limit):
        page, status = _try_login(browser, site, "committee", "wrong password")
        statuses.append(status)
        page.context.close()
    assert statuses == [401] * limit
    page, status = _try_login(browser, site, "committee", password_of("committee"))  # right, but too early
    assert status == 401
    assert page.get_by_role("alert").inner_text() == WORDS["login_bad_credentials"][0]
    screenshot(page, "login-slowed")
    page.context.close()
    locked = site.app.store.last_system_event("account_locked")
    assert locked is not None
    assert locked[1]["address"] == "127.0.0.1"
    site.clock.advance(dt.timedelta(seconds=1))
    page = log_in(browser, site, "committee")  # the wait has passed
    page.context.close()


def test_a_second_factor_is_asked_for_and_a_code_is_used_once(browser: Browser, site: Site) -> None:
    made = site.app.uses.accounts.second_factor(ADMIN, "auditor")
    assert not isinstance(made, Account)
    page, status = _try_login(browser, site, "auditor", password_of("auditor"))
    assert status == 401
    assert page.get_by_role("alert").inner_text() == WORDS["login_totp_needed"][0]
    screenshot(page, "login-second-factor")
    page.context.close()
    code = pyotp.TOTP(made.secret).at(site.clock.now())
    page, status = _try_login(browser, site, "auditor", password_of("auditor"), code)
    assert status == 303
    page.wait_for_url(site.url + "/audit")
    page.context.close()
    page, status = _try_login(browser, site, "auditor", password_of("auditor"), code)  # the same code again
    assert status == 401
    assert page.get_by_role("alert").inner_text() == WORDS["login_bad_totp"][0]
    page.context.close()


def test_disabling_an_account_ends_its_session_at_once(browser: Browser, site: Site) -> None:
    page = log_in(browser, site, "committee")
    site.app.uses.accounts.disable(ADMIN, "committee")
    page.goto(site.url + "/audit")
    assert "/login" in page.url
    page.context.close()
    page, status = _try_login(browser, site, "committee", password_of("committee"))
    assert status == 401
    assert page.get_by_role("alert").inner_text() == WORDS["login_disabled"][0]
    page.context.close()


def test_an_api_key_opens_no_page(site: Site) -> None:
    """Keys are for machines: a page answers a bearer key with the log-in form, never with content."""
    r = httpx.get(site.url + "/audit", headers={"Authorization": f"Bearer {site.keys['admin']}"},
                  follow_redirects=False, timeout=30)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


def test_instance_page_draws_the_diagram_history_timers_and_children(browser: Browser, site: Site) -> None:
    page = log_in(browser, site, "admin")
    page.goto(f"{site.url}/instances/{site.parent}")
    parent = site.app.store.get_instance(site.parent)
    current = page.locator("svg.diagram g.state.current")
    assert current.get_attribute("id") == f"s_{parent.state}"
    assert current.get_attribute("aria-current") == "true"
    definition = site.app.engine.definition(parent.definition_id, parent.definition_version)
    drawn = page.locator("svg.diagram").text_content() or ""
    for state in definition.states:  # every label whole (wrapped, never cut), no ids
        assert " ".join(state.label.split()) in " ".join(drawn.split()), state.label
        assert "…" not in drawn
    withdraws = [t for t in definition.transitions if "*" in t.source]
    if withdraws:  # a transition from every unfinished state is drawn once, from one box
        assert page.locator("svg.diagram g.any").count() == 1
    assert page.locator("svg.diagram g.taken").count() >= 1  # the path taken, drawn heavier
    definition = site.app.engine.definition(parent.definition_id, parent.definition_version)
    assert page.locator("svg.diagram g.state").count() == len(definition.states)
    history = site.app.store.history(site.parent)
    seqs = [int(s) for s in page.locator("#history-table tbody tr").evaluate_all("r => r.map(x => x.dataset.seq)")]
    assert seqs == [h.seq for h in history]
    children = site.app.store.list_instances(parent_id=site.parent, limit=100)
    assert page.locator("#children-table tbody tr").count() == len(children) == 20
    syt = page.locator(f'#children-table tr[data-instance="{site.children["SYT"]}"]').inner_text()
    assert "Ý kiến: Nhất trí, có đề nghị sửa đổi, bổ sung" in syt  # the choice in words, not its id
    assert "agree_with_changes" not in syt
    assert "Ứng dụng AI" in syt
    assert syt.startswith("Sở Y tế")
    assert "(SYT)" not in syt  # the agency by its name only (issue 27)
    screenshot(page, "instance-consultation")

    page.goto(f"{site.url}/instances/{site.children['SCT']}")
    parent = page.locator("#parent-link")  # the consultation this answer belongs to, by its name (issue 27)
    assert parent.get_attribute("href") == f"/instances/{site.parent}"
    assert parent.inner_text().startswith("Xây dựng, lấy ý kiến")
    pending = [t for t in site.app.store.list_timers(site.children["SCT"]) if t.status.value == "pending"]
    assert page.locator("#timers-table tbody tr").count() == len(pending) > 0
    explanation = page.locator("#timers-table").inner_text()
    assert "Tết" in explanation or "Nguyên đán" in explanation  # SCT's 20 days end in Tết 2023: the calendar says so
    screenshot(page, "instance-feedback-timers")
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits(page)
    screenshot(page, "instance-feedback-phone")
    page.context.close()


def test_auditors_see_no_write_control_and_cannot_post(browser: Browser, site: Site) -> None:
    page = log_in(browser, site, "auditor")
    for path in ("/", f"/instances/{site.parent}", f"/instances/{site.children['STC']}", "/agencies/STC", "/audit"):
        page.goto(site.url + path)
        forms = page.locator("form[method=post]").evaluate_all("f => f.map(x => x.getAttribute('action'))")
        assert forms == ["/logout"], path
    assert page.locator("#no-actions").count() == 0  # /audit last; check the instance page's message:
    page.goto(f"{site.url}/instances/{site.children['STC']}")
    assert page.locator("#no-actions").is_visible()
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    version = site.app.store.get_instance(site.children["STC"]).version
    response = page.request.post(f"{site.url}/instances/{site.children['STC']}/fire",
                                 form={"csrf": csrf or "", "event": "answer", "p.document.number": "1/X",
                                       "p.document.issued_on": "01/01/2023", "p.position": "agree"}, max_redirects=0)
    assert response.status == 403
    assert site.app.store.get_instance(site.children["STC"]).version == version
    screenshot(page, "instance-auditor")
    page.context.close()


def test_an_officer_answers_from_the_instance_page_and_the_history_shows_it(browser: Browser, site: Site) -> None:
    child = site.children["STC"]
    before = site.app.store.get_instance(child)
    assert before.state == "received"
    page = log_in(browser, site, "officer")
    page.goto(f"{site.url}/instances/{child}")
    actions = page.locator("form.action").evaluate_all("f => f.map(x => x.dataset.event)")
    assert "answer" in actions
    form = page.locator('form[data-event="answer"]')
    document = form.locator('fieldset.document[data-field="document"]')
    assert document.locator("legend").inner_text() == "Văn bản *"  # the document, then its parts
    document.get_by_label("Số, ký hiệu").fill("77/STC-QLNS")
    document.get_by_label("Ngày ban hành").fill("05/01/2023")
    document.get_by_label("Trích yếu nội dung").fill("V/v góp ý dự thảo danh mục nhiệm vụ KH&CN năm 2023")
    document.get_by_label("Người ký").fill("Phó Giám đốc Trần Thị B")
    form.get_by_label("Ý kiến").select_option("agree")
    screenshot(page, "instance-officer-form")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/instances/\d+\?done=answer.*"))
    assert page.get_by_role("status").is_visible()
    after = site.app.store.get_instance(child)
    assert after.state == "answered"
    last = site.app.store.history(child)[-1]
    assert (last.event, last.actor_role, last.actor_agency, last.payload["document"]) == (
        "answer", "officer", "STC", {"number": "77/STC-QLNS", "issued_on": "2023-01-05",
                                     "summary": "V/v góp ý dự thảo danh mục nhiệm vụ KH&CN năm 2023",
                                     "signer": "Phó Giám đốc Trần Thị B"})
    row = page.locator(f'#history-table tr[data-seq="{last.seq}"]')
    assert row.get_attribute("data-event") == "answer"
    text = row.inner_text()
    assert "Gửi văn bản trả lời" in text  # the transition's label, not its id
    assert "Đã nhận dự thảo → Đã trả lời bằng văn bản" in text  # the states' labels
    assert ("Số văn bản: 77/STC-QLNS ngày 05/01/2023 — V/v góp ý dự thảo danh mục nhiệm vụ KH&CN năm 2023 "
            "(người ký: Phó Giám đốc Trần Thị B)") in text  # each field by its label, a document by its parts
    assert "answer" not in text
    assert "Cán bộ, Sở Tài chính" in text  # the agency by its name (issue 27)
    first = page.locator('#history-table tr[data-seq="1"]').inner_text()
    assert "Cơ quan thực hiện: Sở Tài chính" in first  # an agency by its name, not its code
    screenshot(page, "instance-officer-answered")
    page.context.close()


def test_an_officer_gets_no_action_on_another_agencys_task(browser: Browser, site: Site) -> None:
    page = log_in(browser, site, "other_officer")  # SNV
    page.goto(f"{site.url}/instances/{site.children['STC']}")
    assert page.locator("form.action").count() == 0
    page.context.close()


def test_a_form_without_the_session_csrf_token_changes_nothing(browser: Browser, site: Site) -> None:
    page = log_in(browser, site, "admin")
    child = site.children["STC"]
    version = site.app.store.get_instance(child).version
    response = page.request.post(f"{site.url}/instances/{child}/fire",
                                 form={"csrf": "forged", "event": "answer", "p.document.number": "1/X",
                                       "p.document.issued_on": "01/01/2023", "p.position": "agree"},
                                 max_redirects=0)
    assert response.status == 403
    assert site.app.store.get_instance(child).version == version
    # and with no session at all: sent to log in, nothing written
    anonymous = httpx.post(f"{site.url}/instances/{child}/fire", data={"event": "answer"}, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    assert site.app.store.get_instance(child).version == version
    page.context.close()


def test_a_refusal_keeps_what_was_typed_and_says_what_is_wrong_beside_the_field(browser: Browser,
                                                                                site: Site) -> None:
    child = site.children["STC"]
    page = log_in(browser, site, "officer", then=f"/instances/{child}")  # Finance answers for itself
    form = page.locator('form[data-event="answer"]')
    labels = form.locator("legend, label").evaluate_all("l => l.map(x => x.textContent.trim())")
    assert labels[:7] == ["Gửi văn bản trả lời", "Văn bản *", "Số, ký hiệu *", "Ngày ban hành *",
                          "Trích yếu nội dung", "Người ký (chức vụ, họ và tên)", "Văn bản đính kèm (bản đã ký)"]
    assert labels[7] == "Ý kiến *"  # required fields first, a document with its parts and its signed copy
    document = form.locator("fieldset.document")
    document.get_by_label("Số, ký hiệu").fill("không hợp lệ")  # not a document reference
    document.get_by_label("Ngày ban hành").fill("20/01/2023")  # a day after today: refused once the number is right
    assert form.get_by_label("Ý kiến").locator("option").all_inner_texts()[-3:] == [
        "Nhất trí", "Nhất trí, có đề nghị sửa đổi, bổ sung", "Không nhất trí"]  # choices in words
    form.get_by_label("Ý kiến").select_option("agree_with_changes")
    form.get_by_label("Thống nhất, thứ tự đặt hàng các nhiệm vụ").fill("1. Chuyển đổi số; 2. Năng lượng tái tạo")
    form = refused_again(page, form)
    assert page.locator(".flash").inner_text() == (
        "Không thực hiện được: Thông tin nhập chưa đúng; xem các ô được đánh dấu bên dưới.")
    problem = form.locator('.problem[data-field="document.number"]')
    assert problem.inner_text() == "“không hợp lệ” không đúng dạng số/ký hiệu văn bản (ví dụ 472/QĐ-UBND)."
    number = form.locator("fieldset.document").get_by_label("Số, ký hiệu")
    assert number.get_attribute("aria-invalid") == "true"
    assert number.input_value() == "không hợp lệ"  # nothing typed is lost
    assert form.locator("fieldset.document").get_by_label("Ngày ban hành").input_value() == "20/01/2023"
    assert form.get_by_label("Ý kiến").input_value() == "agree_with_changes"
    assert form.get_by_label("Thống nhất, thứ tự đặt hàng các nhiệm vụ").input_value() == (
        "1. Chuyển đổi số; 2. Năng lượng tái tạo")
    assert "document" not in page.locator("main").inner_text()  # no field id, no English
    screenshot(page, "instance-refused-kept")
    # the number mended, the document's date is checked: it cannot be later than today (10/01/2023 here)
    form.locator("fieldset.document").get_by_label("Số, ký hiệu").fill("79/STC-QLNS")
    form = refused_again(page, form)
    assert form.locator('.problem[data-field="document.issued_on"]').inner_text() == (
        "Ngày 20/01/2023 sau ngày hôm nay (10/01/2023): việc này chưa thể xảy ra.")
    assert site.app.store.get_instance(child).state == "received"
    page.context.close()


def test_agency_page_lists_its_tasks_and_names(browser: Browser, site: Site) -> None:
    page = log_in(browser, site, "committee")
    page.goto(f"{site.url}/agencies/SNV")
    tasks = site.app.store.list_instances(assignee="SNV", limit=1000)
    shown = [int(x) for x in page.locator("#tasks-table tbody tr").evaluate_all("r => r.map(x => x.dataset.instance)")]
    assert shown == [t.id for t in tasks]
    assert page.locator(f'#tasks-table tr[data-instance="{site.children["SNV"]}"] td.overdue').count() == 1
    assert "Sở Nội vụ" in page.locator("#names-table").inner_text()
    facts = page.locator("main dl").inner_text()
    assert "Sở, ban, ngành" in facts  # the registry's kind and status in words, not "department", "active"
    assert "Đang hoạt động" in facts
    screenshot(page, "agency-SNV")
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits(page)
    screenshot(page, "agency-SNV-phone")
    page.context.close()


def test_audit_page_verifies_and_offers_checkpoint_and_export(browser: Browser, site: Site) -> None:
    page = log_in(browser, site, "auditor")
    page.goto(f"{site.url}/audit")
    assert page.locator("#verified-count").count() == 0  # verification runs only when asked
    page.locator("#run-verification").click()
    page.wait_for_url(f"{site.url}/audit?run=1")
    instances = len(site.app.store.chain_heads())
    assert page.locator("#verified-count").inner_text() == str(instances)
    assert page.locator(".flash.ok").is_visible()
    with page.expect_download() as download:
        page.locator("#checkpoint-link").click()
    checkpoint = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert len(checkpoint["heads"]) == instances
    with page.expect_download() as download:
        page.locator("#export-jsonl").click()
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert len(lines) == sum(len(site.app.store.history(i)) for i in site.app.store.chain_heads())
    screenshot(page, "audit")
    page.context.close()


def test_english_switch_and_phone_width(browser: Browser, site: Site) -> None:
    page = log_in(browser, site, "admin", width=390)
    assert fits(page)
    screenshot(page, "overview-phone")
    page.get_by_role("link", name="EN").click()
    page.wait_for_url(site.url + "/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert page.locator('#totals [data-category="overdue"]').inner_text().startswith("Not done, overdue")
    screenshot(page, "overview-english-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{site.url}/instances/{site.children['STC']}")
    facts = page.locator("main dl").first.inner_text()
    assert "Draft received" in facts  # the definition's labels from definitions/locale/en.po
    form = page.locator('form[data-event="answer"]')
    assert form.locator("legend").first.inner_text() == "Send the written answer"
    assert form.locator("fieldset.document legend").inner_text() == "Document *"
    assert form.get_by_label("Position").locator("option").all_inner_texts()[-3:] == [
        "Agree", "Agree, with proposed changes and additions", "Disagree"]
    escalated = page.locator('#history-table tr[data-event="@escalated"]').inner_text()
    assert "Overdue: reported to the Steering Committee" in escalated  # the engine's own reason, in English
    assert "Quá hạn" not in escalated
    screenshot(page, "instance-english")
    page.context.close()


def test_every_word_has_both_languages() -> None:
    assert all(len(pair) == 2 and all(pair) for pair in WORDS.values())


def test_an_officer_lands_on_the_agencys_open_tasks_nearest_deadline_first(browser: Browser, site: Site) -> None:
    page = log_in(browser, site, "other_officer", then=None)  # SNV
    assert page.url == f"{site.url}/inbox"
    rows = page.locator("#tasks-table tbody tr")
    open_tasks = [i for i in site.app.store.list_instances(assignee="SNV", limit=100)
                  if i.state not in site.app.engine.definition(i.definition_id, i.definition_version).final_states]
    assert rows.count() == len(open_tasks) > 0
    shown = [int(x) for x in rows.evaluate_all("r => r.map(x => x.dataset.instance)")]
    expected = sorted(open_tasks, key=lambda i: (i.due_at is None, i.due_at or site.clock.now(), i.id))
    assert shown == [i.id for i in expected]
    late = page.locator(f'#tasks-table tr[data-instance="{site.children["SNV"]}"]')
    assert late.get_attribute("class") == "late"
    assert "quá hạn 1" in late.inner_text()
    assert page.locator("#open-escalations").count() == 0  # officers do not acknowledge
    screenshot(page, "inbox-officer")
    page.context.close()


def test_the_committee_acknowledges_escalations_in_a_batch_after_a_confirmation(browser: Browser,
                                                                              site: Site) -> None:
    before = site.app.store.list_escalations("open")
    assert len(before) >= 2
    page = log_in(browser, site, "committee", then=None)
    assert page.url == f"{site.url}/inbox"
    assert page.locator("#escalations-table tbody tr").count() == len(before)
    chosen = before[:2]
    for e in chosen:
        page.locator(f"#e-{e.id}").check()
    page.get_by_label("Ghi chú khi xác nhận").fill("Đã đôn đốc qua điện thoại")
    page.get_by_role("button", name="Xác nhận đã xem các báo cáo đã chọn").click()
    assert page.locator("#confirm-question").inner_text() == "Xác nhận Ban Chỉ đạo đã xem 2 báo cáo quá hạn sau?"
    assert page.locator("main li").count() == 2
    screenshot(page, "inbox-committee-confirm")
    assert len(site.app.store.list_escalations("open")) == len(before)  # nothing done before the confirmation
    page.get_by_role("button", name="Đồng ý").click()
    page.wait_for_url(re.compile(r".*/inbox\?acknowledged=2"))
    assert page.get_by_role("status").inner_text() == "Đã xác nhận 2 báo cáo quá hạn."
    assert len(site.app.store.list_escalations("open")) == len(before) - 2
    last = site.app.store.history(chosen[0].instance_id)[-1]
    assert (last.event, last.actor_id, last.actor_role) == ("@escalation_acknowledged", committee_id(site), "committee")
    assert page.locator("#escalations-table tbody tr").count() == len(before) - 2
    screenshot(page, "inbox-committee")
    rest = len(before) - 2  # "choose all" (issue 27: no way to choose all of 93): every open one, after a confirmation
    page.get_by_role("button", name=f"Chọn tất cả ({rest}) và xác nhận đã xem").click()
    assert page.locator("#confirm-question").inner_text() == f"Xác nhận Ban Chỉ đạo đã xem {rest} báo cáo quá hạn sau?"
    assert page.locator("main li").count() == rest
    page.get_by_role("button", name="Đồng ý").click()
    page.wait_for_url(re.compile(rf".*/inbox\?acknowledged={rest}"))
    assert site.app.store.list_escalations("open") == []
    page.context.close()


def test_the_committee_extends_suspends_and_resumes_a_deadline_from_the_task_page(browser: Browser,
                                                                                 site: Site) -> None:
    child = site.children["SCT"]
    before = site.app.store.get_instance(child)
    page = log_in(browser, site, "committee", then=f"/instances/{child}")
    form = page.locator("#extend-form")
    form.get_by_label("Gia hạn đến ngày").fill("15/02/2023")
    form.get_by_label("Số, ký hiệu").fill("15/BCĐ-KHCN")
    form.get_by_label("Lý do").fill("Sở Công Thương đề nghị gia hạn")
    form.get_by_role("button", name="Gia hạn").click()
    page.wait_for_url(re.compile(r".*done=@deadline_extended.*"))
    assert page.get_by_role("status").inner_text() == "Đã ghi nhận. Gia hạn"
    after = site.app.store.get_instance(child)
    assert after.due_at is not None
    assert before.due_at is not None
    assert after.due_at > before.due_at
    assert "15/02/2023 24:00" in page.locator("#facts").inner_text()
    assert "Gia hạn" in page.locator("#history-table").inner_text()
    suspend = page.locator("#suspend-form")
    suspend.get_by_label("Lý do").fill("Chờ ý kiến của Bộ")
    suspend.get_by_role("button", name="Tạm dừng tính thời hạn").click()
    page.wait_for_url(re.compile(r".*done=@suspended.*"))
    assert site.app.store.get_instance(child).suspended_at is not None
    resume = page.locator("#resume-form")
    resume.get_by_label("Lý do").fill("Đã có ý kiến của Bộ")
    resume.get_by_role("button", name="Tiếp tục tính thời hạn").click()
    page.wait_for_url(re.compile(r".*done=@resumed.*"))
    assert site.app.store.get_instance(child).suspended_at is None
    # a refusal is said in words beside the field, what was typed kept; and an officer is refused outright
    page.locator("#extend-form").get_by_label("Số, ký hiệu").fill("16/BCĐ-KHCN")
    page.locator("#extend-form").get_by_label("Lý do").fill("Thiếu thời hạn mới")
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.locator("#extend-form").get_by_role("button", name="Gia hạn").click()
    assert response.value.status == 422
    assert page.locator(".flash").inner_text() == (
        "Không thực hiện được: Thông tin nhập chưa đúng; xem các ô được đánh dấu bên dưới.")
    assert page.locator("#extend-to_date-problem").inner_text() == (
        "Hãy nhập đúng một trong ba: ngày mới, số ngày hoặc số ngày làm việc.")
    assert page.locator("#extend-form").get_by_label("Lý do").input_value() == "Thiếu thời hạn mới"
    history = page.locator("#history-table").inner_text()
    assert "Hạn mới: 15/02/2023" in history
    assert "offset_days" not in history  # the timers' arithmetic is not for people
    screenshot(page, "instance-committee-deadline")
    page.context.close()
    officer = log_in(browser, site, "officer", then=f"/instances/{site.children['STC']}")
    assert officer.locator("#extend-form").count() == 0
    csrf = officer.locator('input[name="csrf"]').first.get_attribute("value")
    refused = officer.request.post(f"{site.url}/instances/{site.children['STC']}/deadline/extend",
                                   form={"csrf": csrf or "", "reason": "x", "document.number": "1/X", "days": "5"},
                                   max_redirects=0)
    assert refused.status == 403
    officer.context.close()


def test_the_overview_draws_its_charts_beside_their_tables(browser: Browser, site: Site) -> None:
    page = log_in(browser, site, "committee", then="/")
    chart = page.locator("svg#chart-agencies")
    assert chart.get_attribute("role") == "img"
    assert chart.locator("title").first.text_content() == WORDS["chart_agencies"][0]
    agencies = page.locator("#by-agency + .scroll tbody tr").count()
    assert chart.locator("text[text-anchor=end]").count() == agencies  # one bar per row of the table
    first = chart.locator("text[text-anchor=end]").first.text_content()
    report = status_report(site.app.engine, site.app.store, site.clock.now())
    overdue: dict[str, int] = {}
    for row in report.rows:
        overdue[row.agency] = overdue.get(row.agency, 0) + row.overdue
    most = max(overdue.values())
    assert most >= 1
    names = site.app.store.agency_names()
    assert first in {names[a] for a, n in overdue.items() if n == most}  # the most overdue agency on top
    waiting = sum(int(x) for x in page.locator("#ages-table tbody td.n").all_inner_texts())
    assert waiting == len(site.app.store.list_escalations("open"))
    screenshot(page, "overview-charts")
    page.context.close()


def test_the_committee_sees_each_agency_record_and_the_forecast_bands(browser: Browser, site: Site) -> None:
    """Issue 29: the record (the same figures as `report agencies`), sortable by a column; the forecast's bands
    counted over every open obligation, the likeliest to be late listed, each with its basis in words."""
    page = log_in(browser, site, "committee", then="/")
    record = site.app.uses.reports.agencies()
    rows = page.locator("#record-table tbody tr")
    assert rows.count() == len(record.rows)
    assert [r.get_attribute("data-agency") for r in rows.all()] == [r.agency for r in record.rows]  # worst first
    page.locator("#record-table thead a", has_text=WORDS["share_updated"][0]).click()
    page.wait_for_url(re.compile(r".*sort=share_updated.*"))
    shares = [c for c in page.locator("#record-table tbody tr td:nth-child(13)").all_inner_texts() if c != "—"]
    assert shares == sorted(shares, key=lambda s: int(s.rstrip("%")))  # least kept up to date first
    counted = sum(int(x.rsplit(":", 1)[1]) for x in page.locator("#band-counts .band").all_inner_texts())
    today = site.app.uses.reports.today().isoformat()
    by_task = site.app.uses.reports.forecast_today()  # each task by its likeliest-late obligation
    assert counted == sum(1 for r in by_task.values() if r.last_day >= today)  # those still in time, once each
    assert page.locator("#forecast-track").inner_text().startswith("Độ tin cậy đến nay:")  # how well it has done
    for band in page.locator("#forecast-table .band").all_inner_texts():  # still in time: how likely late
        assert band.startswith("Khả năng trễ hạn ")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#record-table").screenshot(path=str(ARTIFACTS / "overview-record.png"))
    page.locator("#forecast-table").screenshot(path=str(ARTIFACTS / "overview-forecast.png"))
    page.context.close()


def test_tasks_are_found_by_filters_and_words_and_a_wrong_date_is_said_beside_its_field(browser: Browser,
                                                                                      site: Site) -> None:
    from sqlalchemy import text

    page = log_in(browser, site, "committee", then="/")
    page.select_option("#f-agency", "SNV")
    page.select_option("#f-category", "overdue")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url("**/tasks?**")
    shown = [int(x) for x in page.locator("#tasks-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.instance)")]
    with site.app.sql_engine.connect() as c:
        expected = [i for (i,) in c.execute(text(
            "SELECT instance_id FROM obligations WHERE agency = 'SNV' AND status = 'open' AND due_at <= :now "
            "ORDER BY due_at, id"), {"now": site.clock.now().astimezone(dt.UTC).replace(tzinfo=None)})]
    assert shown == expected
    assert expected
    assert page.locator("#f-agency").input_value() == "SNV"  # the filters stay as chosen
    assert page.get_by_role("status").inner_text().startswith(f"Tìm thấy {len(expected)} nhiệm vụ")
    screenshot(page, "tasks-filtered")

    key = site.app.store.get_instance(site.children["SYT"]).business_key
    page.goto(f"{site.url}/tasks?q={key}")
    shown = [int(x) for x in page.locator("#tasks-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.instance)")]
    assert shown == [site.children["SYT"]]

    with page.expect_response(lambda r: "/tasks?" in r.url) as response:
        page.goto(f"{site.url}/tasks?from=31/02/2023")
    assert response.value.status == 422
    assert page.locator("#f-from-problem").inner_text() == WORDS["bad_day"][0]
    assert page.locator("#f-from").input_value() == "31/02/2023"  # kept as typed
    page.context.close()


SIGNED_PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
              b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def test_an_officer_attaches_the_signed_document_which_downloads_and_is_verified(browser: Browser,
                                                                                site: Site) -> None:
    import hashlib

    child = site.children["STC"]
    page = log_in(browser, site, "officer")
    page.goto(f"{site.url}/instances/{child}")
    form = page.locator('form[data-event="answer"]')
    form.get_by_label("Số, ký hiệu").fill("78/STC-QLNS")
    form.get_by_label("Ngày ban hành").fill("09/01/2023")
    form.get_by_label("Ý kiến").select_option("agree")
    # a program renamed .pdf: refused by its content, beside the field, and nothing recorded
    form.get_by_label("Văn bản đính kèm (bản đã ký)").set_input_files(
        {"name": "cong-van.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00 not a pdf"})
    form = refused_again(page, form)
    assert form.locator('.problem[data-field="file"]').inner_text() == (
        "Không phải tệp PDF, DOCX hoặc XLSX (kiểm tra theo nội dung tệp, không theo tên tệp).")
    assert site.app.store.get_instance(child).state == "received"

    form.get_by_label("Ý kiến").select_option("agree")
    form.get_by_label("Văn bản đính kèm (bản đã ký)").set_input_files(
        {"name": "Công văn 78-STC.pdf", "mimeType": "application/pdf", "buffer": SIGNED_PDF})
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/instances/\d+\?done=answer.*"))
    last = site.app.store.history(child)[-1]
    digest = hashlib.sha256(SIGNED_PDF).hexdigest()
    assert last.payload["@files"] == [{"sha256": digest, "name": "Công văn 78-STC.pdf", "size": len(SIGNED_PDF),
                                       "type": "pdf"}]  # in the hashed history row
    link = page.locator(f'#history-table tr[data-seq="{last.seq}"] a[download]')
    assert link.inner_text() == "Công văn 78-STC.pdf"
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "Công văn 78-STC.pdf"
    assert download.value.path().read_bytes() == SIGNED_PDF
    # the name is the one recorded with the act, never one a link supplies (a PDF is never served as .html)
    named = page.request.get(f"{site.url}/files/{digest}?name=evil.html").headers["content-disposition"]
    assert "evil" not in named
    assert named.endswith(".pdf")
    screenshot(page, "instance-attached")
    page.context.close()

    audit = site.app.uses.audit
    assert audit.verify().ok
    stored = site.app.uses.attachments.files.path(digest)
    stored.write_bytes(SIGNED_PDF.replace(b"/Count 0", b"/Count 1"))  # the file edited on the disk
    assert audit.verify().database == [f"instance {child} row {last.seq}: attached file {digest[:12]}… was altered"]
    stored.unlink()
    assert audit.verify().database == [f"instance {child} row {last.seq}: attached file {digest[:12]}… is missing"]


def test_a_machines_act_is_shown_with_the_person_who_owns_its_key() -> None:
    from service.web.labels import _who

    assert _who("key:tich-hop|account:3:Nguyễn Văn A", "officer", "STC", "vi") == (
        "Hệ thống tích hợp «tich-hop» (khóa API của Nguyễn Văn A)", "Cán bộ, STC")
    assert _who("key:cu", "admin", None, "en") == ("Integration “cu” (API key)", "Administrator")
    # an agency by its name when the page has the names; the command line in words, never "root" alone (issue 27)
    assert _who("account:4:Lê Thị C", "officer", "STC", "vi", {"STC": "Sở Tài chính"}) == (
        "Lê Thị C", "Cán bộ, Sở Tài chính")
    assert _who("cli:root", "admin", None, "vi") == (
        "Quản trị viên trên máy chủ (dòng lệnh, người dùng “root”)", "Quản trị viên")


@pytest.mark.parametrize(("written", "english"), [
    ("Quá hạn, báo cáo Ban Chỉ đạo", "Overdue: reported to the Steering Committee"),
    ("Hết thời hạn: 24 giờ 00 ngày 09/01/2023", "Deadline passed: 24:00 on 09/01/2023"),
    ("Hết thời hạn: 17 giờ 00 ngày 09/01/2023", "Deadline passed: 17:00 on 09/01/2023"),
    ("Mọi cơ quan đã trả lời", "Every agency has answered"),
    ("Đã hủy lấy ý kiến", "Consultation cancelled"),
    ("Hết thời hạn lấy ý kiến, cơ quan chưa trả lời", "Consultation period over; the agency has not answered"),
])
def test_the_engines_own_reasons_read_in_english_on_english_pages(written: str, english: str) -> None:
    from pathlib import Path

    from service.web.i18n import system_reason

    engine_text = "".join((Path(__file__).resolve().parents[2] / "workflow" / name).read_text(encoding="utf-8")
                          for name in ("engine.py", "deadlines.py", "fanout.py"))
    assert written.split(":")[0].split(" 24 giờ")[0] in engine_text  # still what the engine writes
    assert system_reason(written, "system:timer", "en") == english
    assert system_reason(written, "system:timer", "vi") == written
    assert system_reason(written, "account:7:Nguyễn Văn A", "en") == written  # a person's words stay theirs
