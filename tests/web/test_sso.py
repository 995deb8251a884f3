"""Single sign-on against a real OpenID Connect provider (panva's oidc-provider on Node.js, tests/oidc), started
on loopback for each test, driven end to end by Chromium: our log-in page, the provider's own log-in and consent
pages, the code exchanged and the ID token checked, the session, the history."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyotp
import pytest
from playwright.sync_api import Browser, Page

from service.context import App
from service.settings import Settings
from service.web.i18n import WORDS
from store.accounts import Account
from tests.api.conftest import FULL_NAMES, create_people, password_of, prepared, served
from tests.conftest import ROOT
from tests.web.conftest import ADMIN, at, screenshot
from workflow import SimulatedClock

PROVIDER = ROOT / "tests" / "oidc"
CLIENT_ID, CLIENT_SECRET = "ke-hoach-khcn", "a client secret for tests only"


@dataclass
class Sso:
    url: str
    app: App
    issuer: str


def _line(stream: IO[str]) -> dict[str, object]:
    line = stream.readline()  # the provider writes each event as one line: wait for it (or for its end)
    if not line:
        raise AssertionError("the OpenID Connect provider stopped before it said it was ready")
    found: dict[str, object] = json.loads(line)
    return found


@pytest.fixture
def provider() -> Iterator[tuple[subprocess.Popen[str], str]]:
    node = shutil.which("node")
    if node is None or not (PROVIDER / "node_modules" / "oidc-provider").is_dir():
        message = "the OpenID Connect provider is not installed (./run tests: nodejs, npm, npm ci in tests/oidc)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    process = subprocess.Popen([node, str(PROVIDER / "provider.mjs")], cwd=PROVIDER, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        listening = _line(process.stdout)
        yield process, str(listening["issuer"])
    finally:
        if process.stdin is not None:
            process.stdin.close()  # the provider stops when its standard input ends
        process.wait(timeout=60)
        process.stdout.close()


@pytest.fixture
def sso(provider: tuple[subprocess.Popen[str], str], tmp_path: Path) -> Iterator[Sso]:
    process, issuer = provider
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'sso.db'}", sqlite_synchronous="NORMAL",
                        oidc_issuer=issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET)
    app = prepared(settings, SimulatedClock(at("2023-01-10")))
    create_people(app, (("committee", "committee", None), ("officer", "officer", "STC"), ("admin", "admin", None)))
    with served(app) as (url, _):
        assert process.stdin is not None
        assert process.stdout is not None
        people = {  # what the provider vouches for, by the name typed at its log-in page
            "le.van.chi.dao": {"email": "committee@example.vn", "email_verified": True, "name": "Lê Văn Chỉ Đạo"},
            "unverified": {"email": "officer@example.vn", "email_verified": False},
            "stranger": {"email": "stranger@example.vn", "email_verified": True},
            "mallory": {"email": "ADMIN@example.vn", "email_verified": True},  # the administrator's address
            "tran.quan.tri": {"email": "admin@example.vn", "email_verified": True},
            "nguyen.thi.thu": {"email": "officer@example.vn", "email_verified": True},
        }
        process.stdin.write(json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                        "redirect_uri": f"{url}/login/sso/callback", "people": people}) + "\n")
        process.stdin.flush()
        assert _line(process.stdout)["event"] == "ready"
        yield Sso(url, app, issuer)


def _sign_on(browser: Browser, sso: Sso, who: str) -> Page:
    """Our log-in page → the provider's log-in and consent pages → back here."""
    page = browser.new_context(locale="vi-VN").new_page()
    page.goto(sso.url + "/login")
    page.get_by_role("link", name=WORDS["login_sso"][0]).click()
    _at_the_provider(page, sso, who)
    return page


def _at_the_provider(page: Page, sso: Sso, who: str) -> None:
    """The provider's own log-in and consent pages, as ``who``."""
    page.wait_for_url(sso.issuer + "/**")
    page.locator("input[name=login]").fill(who)
    page.locator("input[name=password]").fill("anything: the provider's development pages take any")
    page.locator("button[type=submit]").click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent page


def test_a_person_linked_by_an_administrator_signs_on_through_the_provider(browser: Browser, sso: Sso) -> None:
    sso.app.uses.accounts.link_identity(ADMIN, "committee", "le.van.chi.dao")
    page = _sign_on(browser, sso, "le.van.chi.dao")
    page.wait_for_url(sso.url + "/inbox")  # the committee's landing page, after the page that moves on
    assert page.get_by_text(f"Đăng nhập với {FULL_NAMES['committee']}").is_visible()
    screenshot(page, "sso-landed")
    account = sso.app.store.account("committee")
    assert account is not None
    login = sso.app.store.last_system_event("account_login")
    assert login is not None
    assert login[1] == {"id": account.id, "how": "sso"}
    page.context.close()
    sso.app.uses.accounts.disable(ADMIN, "committee")  # disabled: the provider's word no longer opens a session
    page = _sign_on(browser, sso, "le.van.chi.dao")
    page.wait_for_url(sso.url + "/login/sso/callback**")
    assert page.get_by_role("alert").inner_text() == WORDS["login_disabled"][0]
    page.context.close()


def test_a_verified_email_alone_opens_no_account(browser: Browser, sso: Sso) -> None:
    """Finding 6: the provider's user ``mallory`` with the administrator's address (another case) verified got a
    session as the administrator, and was bound to it for good. An address links nothing now."""
    for who in ("mallory", "tran.quan.tri"):
        page = _sign_on(browser, sso, who)
        page.wait_for_url(sso.url + "/login/sso/callback**")
        assert page.get_by_role("alert").inner_text() == WORDS["login_no_account"][0]
        assert not [c for c in page.context.cookies() if c["name"] == "wf_session"]
        page.context.close()
    assert all(a.oidc_subject is None for a in sso.app.store.list_accounts())


def test_an_administrator_signing_on_needs_a_second_factor(browser: Browser, sso: Sso) -> None:
    """The provider here asserts no second factor (no ``amr``): an administrator without ours is refused; with
    ours, the code is asked for on our page after the provider's, and a code is used once."""
    accounts = sso.app.uses.accounts
    accounts.link_identity(ADMIN, "admin", "tran.quan.tri")
    page = _sign_on(browser, sso, "tran.quan.tri")
    page.wait_for_url(sso.url + "/login/sso/callback**")
    assert page.get_by_role("alert").inner_text() == WORDS["login_second_factor_required"][0]
    assert not [c for c in page.context.cookies() if c["name"] == "wf_session"]
    page.context.close()
    made = accounts.second_factor(ADMIN, "admin")
    assert not isinstance(made, Account)
    page = _sign_on(browser, sso, "tran.quan.tri")
    page.wait_for_url(sso.url + "/login/sso/callback**")
    assert page.get_by_role("heading", name=WORDS["sso_code_heading"][0]).is_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "wf_session"]  # nothing opens yet
    screenshot(page, "sso-second-factor")
    code = pyotp.TOTP(made.secret).at(sso.app.clock.now())
    page.get_by_label("Mã xác thực 6 số").fill(code)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(sso.url + "/")  # the administrator's landing page
    assert page.get_by_text(f"Đăng nhập với {FULL_NAMES['admin']}").is_visible()
    page.context.close()
    page = _sign_on(browser, sso, "tran.quan.tri")  # the same code again: refused, start again
    page.wait_for_url(sso.url + "/login/sso/callback**")
    page.get_by_label("Mã xác thực 6 số").fill(code)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    assert page.get_by_role("alert").inner_text() == WORDS["login_sso_bad_totp"][0]
    assert not [c for c in page.context.cookies() if c["name"] == "wf_session"]
    page.context.close()


def test_a_person_links_their_own_identity_after_typing_their_password_again(browser: Browser, sso: Sso) -> None:
    page = browser.new_context(locale="vi-VN").new_page()
    page.goto(sso.url + "/login")
    page.get_by_label("Tên đăng nhập").fill("officer")
    page.get_by_label("Mật khẩu").fill(password_of("officer"))
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(sso.url + "/inbox")
    page.get_by_role("link", name=FULL_NAMES["officer"]).click()
    page.wait_for_url(sso.url + "/account")
    assert page.get_by_text(WORDS["sso_not_linked"][0], exact=True).is_visible()
    page.get_by_label("Mật khẩu").fill("not the password")
    page.get_by_role("button", name=WORDS["link_sso_button"][0]).click()
    assert page.get_by_role("alert").inner_text() == WORDS["login_bad_credentials"][0]
    page.get_by_label("Mật khẩu").fill(password_of("officer"))
    page.get_by_role("button", name=WORDS["link_sso_button"][0]).click()
    _at_the_provider(page, sso, "nguyen.thi.thu")
    page.wait_for_url(sso.url + "/account?done=linked")
    assert page.get_by_role("status").inner_text() == WORDS["account_sso_linked"][0]
    screenshot(page, "sso-linked")
    account = sso.app.store.account("officer")
    assert account is not None
    assert account.oidc_subject == "nguyen.thi.thu"
    page.context.close()
    page = _sign_on(browser, sso, "nguyen.thi.thu")  # from now on, single sign-on opens the account
    page.wait_for_url(sso.url + "/inbox")
    page.context.close()


def test_a_link_needs_the_step_made_on_this_site(browser: Browser, sso: Sso) -> None:
    """A forged link cookie (say, an attacker's browser claiming another account) links nothing."""
    context = browser.new_context(locale="vi-VN")
    context.add_cookies([{"name": "wf_sso_link", "value": "forged", "url": sso.url + "/login/sso"}])
    page = context.new_page()
    page.goto(sso.url + "/login")
    page.get_by_role("link", name=WORDS["login_sso"][0]).click()
    _at_the_provider(page, sso, "mallory")
    page.wait_for_url(sso.url + "/login/sso/callback**")
    assert page.get_by_role("alert").inner_text() == WORDS["login_sso_expired"][0]
    assert all(a.oidc_subject is None for a in sso.app.store.list_accounts())
    context.close()


@pytest.mark.parametrize("who", ["stranger", "unverified"])
def test_an_identity_bound_to_no_account_gets_no_session(browser: Browser, sso: Sso, who: str) -> None:
    """A verified address nobody here has, or an address the provider has not verified: refused, nothing bound."""
    page = _sign_on(browser, sso, who)
    page.wait_for_url(sso.url + "/login/sso/callback**")
    assert page.get_by_role("alert").inner_text() == WORDS["login_no_account"][0]
    assert not [c for c in page.context.cookies() if c["name"] == "wf_session"]
    assert all(a.oidc_subject is None for a in sso.app.store.list_accounts())
    screenshot(page, f"sso-refused-{who}")
    page.context.close()


def test_a_callback_without_this_browsers_state_is_refused(browser: Browser, sso: Sso) -> None:
    page = browser.new_context(locale="vi-VN").new_page()
    page.goto(sso.url + "/login/sso/callback?code=forged&state=forged")
    assert page.get_by_role("alert").inner_text() == WORDS["login_sso_failed"][0]
    assert not [c for c in page.context.cookies() if c["name"] == "wf_session"]
    page.context.close()
