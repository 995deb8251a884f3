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

import pytest
from playwright.sync_api import Browser, Page

from service.context import App
from service.settings import Settings
from service.web.i18n import WORDS
from tests.api.conftest import FULL_NAMES, create_people, prepared, served
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
    create_people(app, (("committee", "committee", None), ("officer", "officer", "STC")))
    with served(app) as (url, _):
        assert process.stdin is not None
        assert process.stdout is not None
        people = {  # what the provider vouches for, by the name typed at its log-in page
            "le.van.chi.dao": {"email": "committee@example.vn", "email_verified": True, "name": "Lê Văn Chỉ Đạo"},
            "unverified": {"email": "officer@example.vn", "email_verified": False},
            "stranger": {"email": "stranger@example.vn", "email_verified": True},
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
    page.wait_for_url(sso.issuer + "/**")
    page.locator("input[name=login]").fill(who)
    page.locator("input[name=password]").fill("anything: the provider's development pages take any")
    page.locator("button[type=submit]").click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent page
    return page


def test_a_person_signs_on_through_the_provider_and_is_bound_to_their_account(browser: Browser, sso: Sso) -> None:
    page = _sign_on(browser, sso, "le.van.chi.dao")
    page.wait_for_url(sso.url + "/inbox")  # the committee's landing page, after the page that moves on
    assert page.get_by_text(f"Đăng nhập với {FULL_NAMES['committee']}").is_visible()
    screenshot(page, "sso-landed")
    account = sso.app.store.account("committee")
    assert account is not None
    assert account.oidc_subject == "le.van.chi.dao"  # bound by the verified e-mail, for next time
    login = sso.app.store.last_system_event("account_login")
    assert login is not None
    assert login[1] == {"id": account.id, "how": "sso"}
    page.context.close()
    sso.app.uses.accounts.disable(ADMIN, "committee")  # disabled: the provider's word no longer opens a session
    page = _sign_on(browser, sso, "le.van.chi.dao")
    page.wait_for_url(sso.url + "/login/sso/callback**")
    assert page.get_by_role("alert").inner_text() == WORDS["login_disabled"][0]
    page.context.close()


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
