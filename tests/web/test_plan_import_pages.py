"""Importing a plan in Chromium, as two people: the administrator uploads the seed plan's Word document, reads each
proposed duty beside its source paragraph (deadline and lead highlighted), rejects one, corrects one's deadline by
typing the phrase again, accepts the rest and submits; the same person finds no approve button; an officer of the
standing body approves, and the plan's tasks exist, naming the document."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.plan_import.make_docx import FIXTURE

from .conftest import Site, log_in, screenshot


def test_import_review_and_approve_by_two_people(browser: Browser, site: Site) -> None:
    before = len(site.app.store.list_instances(definition_id="founding", limit=100))
    page = log_in(browser, site, "admin", then="/plans/import")
    expect(page.get_by_role("heading", name="Nhập kế hoạch", exact=True)).to_be_visible()
    page.get_by_label("Văn bản kế hoạch (.docx)").set_input_files(str(FIXTURE))
    page.get_by_role("button", name="Tải lên và đề xuất").click()
    page.wait_for_url("**/plans/import/*?done=proposed")
    expect(page.get_by_text("Đã đọc văn bản và đề xuất các nhiệm vụ dưới đây.")).to_be_visible()
    report = page.locator('section[data-ref="III.1"]')
    expect(report.locator("mark.deadline")).to_have_text("trước ngày 05/11")
    expect(report).to_contain_text("hằng năm, trước ngày 05/11")
    expect(report).to_contain_text("\"Trước ngày X\": hạn là hết ngày liền trước X hay hết ngày X, cần chọn")
    screenshot(page, "plan-import-review")

    page.get_by_label("Ngày ban hành (dd/mm/yyyy)").fill("01/11/2022")
    page.get_by_role("button", name="Lưu thông tin kế hoạch").click()
    expect(page.get_by_text("Đã lưu thông tin kế hoạch.")).to_be_visible()

    fifth = page.locator('section[data-ref="II.2.a-5"]')
    fifth.get_by_label("Từ chối (không phải nhiệm vụ)").check()
    fifth.get_by_role("button", name="Lưu quyết định").click()
    expect(page.get_by_text("Đã lưu quyết định.")).to_be_visible()
    expect(page.locator('section[data-ref="II.2.a-5"] h3')).to_contain_text("Đã từ chối")

    first = page.locator('section[data-ref="II.2.a-1"]')
    first.get_by_label("Thời hạn (ghi như văn bản, ví dụ: trong tháng 12/2022)").fill("sắp tới")
    first.get_by_role("button", name="Lưu quyết định").click()
    expect(page.get_by_text("không phải cách ghi thời hạn đọc được")).to_be_visible()  # said, nothing saved
    first = page.locator('section[data-ref="II.2.a-1"]')
    first.get_by_label("Thời hạn (ghi như văn bản, ví dụ: trong tháng 12/2022)").fill("thường xuyên")
    first.get_by_role("button", name="Lưu quyết định").click()
    expect(page.locator('section[data-ref="II.2.a-1"]')).to_contain_text("thường xuyên")

    page.get_by_role("button", name="Chấp nhận tất cả nhiệm vụ chưa rà soát").click()
    expect(page.get_by_text("Đã chấp nhận các nhiệm vụ chưa rà soát.")).to_be_visible()
    page.get_by_role("button", name="Gửi phê duyệt").click()
    expect(page.locator("#import-status")).to_have_text("Chờ phê duyệt")
    expect(page.get_by_role("button", name="Phê duyệt và khởi tạo kế hoạch")).to_have_count(0)
    expect(page.locator("#own-review")).to_be_visible()
    review_url = page.url.split("?")[0]

    second = log_in(browser, site, "van.thu.skhcn", then=review_url.removeprefix(site.url))
    expect(second.get_by_role("link", name="Nhập kế hoạch")).to_be_visible()
    second.get_by_role("button", name="Phê duyệt và khởi tạo kế hoạch").click()
    expect(second.get_by_text("Đã phê duyệt: kế hoạch đã được khởi tạo.")).to_be_visible()
    expect(second.locator("#import-status")).to_have_text("Đã phê duyệt và khởi tạo")
    screenshot(second, "plan-import-approved")

    founding = site.app.store.list_instances(definition_id="founding", limit=100)
    assert len(founding) == before + 2
    assert all(f.data["source_document"]["name"] == "ke-hoach-seed.docx" for f in founding[-2:])
    rejected = [i for i in site.app.store.list_instances(limit=1000) if i.data.get("section") == "II.2.a-5"]
    assert rejected == []


def test_an_officer_of_another_agency_may_not_import(browser: Browser, site: Site) -> None:
    page = log_in(browser, site, "officer", then="/plans/import")
    expect(page.get_by_role("heading", name="Không có quyền")).to_be_visible()
    expect(page.get_by_role("link", name="Nhập kế hoạch")).to_have_count(0)
