"""Administrators manage people's accounts from a page (Chromium): create (refusals beside the fields, what was
typed kept but never a password), the new person logs in, disable ends their session at once, enable, set a new
password, the second factor's key shown once. Auditors read the list; officers may not open it."""

from __future__ import annotations

import re

import segno
from playwright.sync_api import Browser, Page

from tests.web.conftest import Site, log_in, screenshot

NEW_PASSWORD = "Mật-khẩu-ban-đầu-2023"


def _log_in_as(browser: Browser, site: Site, login: str, password: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
    page.goto(site.url + "/login")
    page.get_by_label("Tên đăng nhập").fill(login)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    return page


def test_an_administrator_manages_accounts_from_the_page(browser: Browser, site: Site) -> None:
    admin = log_in(browser, site, "admin")
    admin.get_by_role("link", name="Tài khoản").click()
    admin.wait_for_url(site.url + "/accounts")
    rows = admin.locator("#accounts-table tbody tr")
    assert rows.count() == len(site.app.store.list_accounts())
    officer_row = admin.locator('#accounts-table tr[data-login="officer"]').inner_text()
    assert "Cán bộ" in officer_row  # the role in words
    assert "Sở Tài chính" in officer_row  # the agency by its name
    assert "Đang hoạt động" in officer_row

    form = admin.locator("#create-account")
    form.get_by_label("Tên đăng nhập").fill("Nguyen Van B")  # capitals and a space
    form.get_by_label("Họ và tên").fill("Nguyễn Văn B")
    form.get_by_label("Chức vụ").fill("Chuyên viên")
    form.get_by_label("Vai trò").select_option("officer")  # no agency chosen
    form.get_by_label("Thư điện tử").fill("nvb@stc")
    form.get_by_label("Mật khẩu ban đầu").fill(NEW_PASSWORD)
    form.get_by_label("Nhập lại mật khẩu").fill(NEW_PASSWORD + "!")  # and they differ: said with the rest at once
    admin.evaluate("document.querySelector('#a-email').type = 'text'")  # let the server judge the address
    with admin.expect_response(lambda r: r.request.method == "POST") as response:
        form.get_by_role("button", name="Tạo tài khoản").click()
    assert response.value.status == 422
    form = admin.locator("#create-account")
    assert form.locator('.problem[data-field="login"]').inner_text().startswith("Từ 2 đến 64 ký tự")
    assert form.locator('.problem[data-field="agency"]').inner_text() == (
        "Tài khoản cán bộ phải thuộc một cơ quan; hãy chọn cơ quan.")
    assert form.locator('.problem[data-field="email"]').inner_text() == "Không phải địa chỉ thư điện tử."
    assert form.locator('.problem[data-field="password2"]').inner_text() == "Hai lần nhập mật khẩu không giống nhau."
    assert form.get_by_label("Họ và tên").input_value() == "Nguyễn Văn B"  # kept
    assert form.get_by_label("Mật khẩu ban đầu").input_value() == ""  # a password is never sent back
    screenshot(admin, "accounts-refused")
    assert site.app.store.account("nguyen.van.b") is None

    form.get_by_label("Tên đăng nhập").fill("nguyen.van.b")
    form.get_by_label("Cơ quan").select_option(label="Sở Tài chính")
    form.get_by_label("Thư điện tử").fill("nvb@stc.ninhthuan.gov.vn")
    form.get_by_label("Mật khẩu ban đầu").fill(NEW_PASSWORD)
    form.get_by_label("Nhập lại mật khẩu").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Tạo tài khoản").click()
    admin.wait_for_url(re.compile(r".*/accounts\?done=created.*"))
    assert admin.get_by_role("status").inner_text() == "Đã tạo tài khoản nguyen.van.b."
    made = site.app.store.account("nguyen.van.b")
    assert made is not None
    assert (made.name, made.position, made.role, made.agency) == ("Nguyễn Văn B", "Chuyên viên", "officer", "STC")
    screenshot(admin, "accounts")

    person = _log_in_as(browser, site, "nguyen.van.b", NEW_PASSWORD)
    person.wait_for_url(site.url + "/inbox")  # an officer lands on their agency's work
    assert "Nguyễn Văn B" in person.locator("header").inner_text()

    row = admin.locator('#accounts-table tr[data-login="nguyen.van.b"]')
    row.get_by_role("button", name="Vô hiệu hóa").click()
    admin.wait_for_url(re.compile(r".*/accounts\?done=disabled.*"))
    assert "Đã vô hiệu hóa từ" in admin.locator('#accounts-table tr[data-login="nguyen.van.b"]').inner_text()
    person.goto(site.url + "/inbox")
    assert person.url.startswith(site.url + "/login")  # their session ended at once

    row = admin.locator('#accounts-table tr[data-login="nguyen.van.b"]')
    row.get_by_role("button", name="Kích hoạt lại").click()
    admin.wait_for_url(re.compile(r".*/accounts\?done=enabled.*"))
    row = admin.locator('#accounts-table tr[data-login="nguyen.van.b"]')
    row.locator("summary").click()
    row.get_by_label("Mật khẩu mới").fill("Mật-khẩu-mới-2023")
    row.get_by_label("Nhập lại mật khẩu").fill("Mật-khẩu-khác-2023")
    with admin.expect_response(lambda r: r.request.method == "POST") as response:
        row.get_by_role("button", name="Đặt lại mật khẩu").click()
    assert response.value.status == 422
    row = admin.locator('#accounts-table tr[data-login="nguyen.van.b"]')
    assert row.locator('.problem[data-field="password2"]').inner_text() == "Hai lần nhập mật khẩu không giống nhau."
    row.get_by_label("Mật khẩu mới").fill("Mật-khẩu-mới-2023")
    row.get_by_label("Nhập lại mật khẩu").fill("Mật-khẩu-mới-2023")
    row.get_by_role("button", name="Đặt lại mật khẩu").click()
    admin.wait_for_url(re.compile(r".*/accounts\?done=password.*"))
    _log_in_as(browser, site, "nguyen.van.b", "Mật-khẩu-mới-2023").wait_for_url(site.url + "/inbox")

    row = admin.locator('#accounts-table tr[data-login="nguyen.van.b"]')
    row.get_by_role("button", name="Bật xác thực hai bước").click()
    secret = admin.locator("#second-factor-secret code").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)  # base32, shown on this answer only
    uri = admin.locator("#second-factor-secret .steps").inner_text()
    assert uri.startswith("otpauth://totp/")
    assert f"secret={secret}" in uri
    drawn = re.search(r' d="([^"]+)"', segno.make(uri, error="m").svg_inline())
    assert drawn is not None
    assert admin.locator("#second-factor-secret .qr svg path").get_attribute("d") == drawn.group(1)  # that address
    assert "mật khẩu + mã xác thực" in admin.locator('#accounts-table tr[data-login="nguyen.van.b"]').inner_text()
    screenshot(admin, "accounts-second-factor")
    admin.goto(site.url + "/accounts")
    assert admin.locator("#second-factor-secret").count() == 0
    own = admin.locator('#accounts-table tr[data-login="admin"]')
    assert own.get_by_role("button", name="Vô hiệu hóa").count() == 0  # not offered on one's own account
    for page in (admin, person):
        page.context.close()


def test_auditors_read_the_accounts_and_officers_may_not_open_them(browser: Browser, site: Site) -> None:
    auditor = log_in(browser, site, "auditor", then="/accounts")
    assert auditor.locator("#accounts-table tbody tr").count() == len(site.app.store.list_accounts())
    assert auditor.locator("form[method=post]").evaluate_all("f => f.map(x => x.getAttribute('action'))") == [
        "/logout"]
    csrf = auditor.locator('input[name="csrf"]').first.get_attribute("value")
    response = auditor.request.post(f"{site.url}/accounts/officer/disable", form={"csrf": csrf or ""},
                                    max_redirects=0)
    assert response.status == 403
    assert site.app.store.account("officer").disabled_at is None  # type: ignore[union-attr]
    auditor.context.close()
    officer = log_in(browser, site, "officer", then=None)
    assert officer.get_by_role("link", name="Tài khoản").count() == 0
    officer.goto(site.url + "/accounts")
    assert officer.locator("#accounts-table").count() == 0
    assert "Chỉ quản trị viên quản lý tài khoản." in officer.locator("main").inner_text()
    officer.context.close()
