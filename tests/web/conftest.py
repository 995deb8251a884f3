"""A real uvicorn serving the dashboard over a real SQLite file with a consultation in progress, and Debian's
Chromium driven by Playwright. Time is a simulated clock set inside the scenario."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from definitions import Role
from service.context import App
from service.settings import Settings
from tests.api.conftest import create_people, password_of, prepared, served
from tests.conftest import ROOT
from workflow import Actor, Deadlines, SimulatedClock
from workflow.clock import PROVINCE_TZ

ADMIN = Actor("setup", Role.ADMIN)
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CONSULTED = ["SKHDT", "STC", "SNV", "SGDDT", "SNNPTNT", "SCT", "SVHTTDL", "SYT", "STNMT", "STTTT", "DPTTH", "BODA",
             "LHH", "PRTC", "BACAI", "NINHHAI", "NINHPHUOC", "NINHSON", "THUANBAC", "THUANNAM"]
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",  # root needs --no-sandbox
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def account_actor(app: App, login: str) -> Actor:
    from service.app.accounts import actor_of

    account = app.store.account(login)
    assert account is not None
    return actor_of(account)


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), PROVINCE_TZ)


@dataclass
class Site:
    url: str
    app: App
    clock: SimulatedClock
    keys: dict[str, str]  # admin, committee, officer (STC), other_officer (SNV), auditor; each also an account
    parent: int  # the consultation
    children: dict[str, int]  # agency → its feedback instance


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    clock = SimulatedClock(at("2022-11-20"))
    app = prepared(Settings(database_url=f"sqlite:///{tmp_path / 'dashboard.db'}", sqlite_synchronous="NORMAL"), clock)
    engine = app.engine
    people = (("admin", "admin", None), ("committee", "committee", None), ("officer", "officer", "STC"),
              ("other_officer", "officer", "SNV"), ("auditor", "auditor", None), ("van.thu.syt", "officer", "SYT"),
              ("van.thu.sct", "officer", "SCT"), ("van.thu.skhcn", "officer", "SKHCN"))
    create_people(app, people)  # everyone who acts below is a person with an account, as in the history of a real site
    admin, clerk = account_actor(app, "admin"), {code: account_actor(app, login) for code, login in (
        ("SYT", "van.thu.syt"), ("SNV", "other_officer"), ("SCT", "van.thu.sct"), ("STC", "officer"))}
    parent = engine.start("catalogue_consultation", "2022/danh-muc", "SKHCN", admin,
                          data={"consulted": CONSULTED, "due": {"end_of_month": "2022-12"}})
    clock.set(at("2022-12-15"))
    engine.fire(parent.id, "send_for_consultation", account_actor(app, "van.thu.skhcn"),
                payload={"document": "1234/SKHCN-QLKH", "task_count": 64})  # the standing body's own act
    children = {c.assignee: c.id for c in app.store.list_instances(parent_id=parent.id, limit=100)}
    for code, day in (("SYT", "2022-12-16"), ("SNV", "2022-12-19"), ("SCT", "2023-01-05"), ("STC", "2022-12-20")):
        clock.set(at(day))
        engine.fire(children[code], "record_receipt", clerk[code], payload={"received_on": day})
    clock.set(at("2023-01-04"))
    engine.fire(children["SYT"], "answer", clerk["SYT"],
                payload={"document": "45/SYT-KHTC", "position": "agree_with_changes",
                         "additions": "Ứng dụng AI trong khám chữa bệnh"})
    clock.set(at("2023-01-10"))
    Deadlines(engine).fire_due()  # SNV's window (to 09/01) has passed: escalated, still open
    now = clock.now()
    keys = {name: app.store.create_key(name, role, agency, now)[1] for name, role, agency in people}
    with served(app) as (url, _):
        yield Site(url, app, clock, keys, parent.id, children)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        message = "Debian's chromium is not installed (./run tests installs it: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


LANDING = {"officer": "/inbox", "other_officer": "/inbox", "committee": "/inbox", "auditor": "/audit", "admin": "/",
           "van.thu.skhcn": "/inbox", "van.thu.syt": "/inbox", "van.thu.sct": "/inbox"}


def log_in(browser: Browser, site: Site, who: str, width: int = 1280, then: str | None = "/") -> Page:
    """Log in as ``who``, wait for the page that role lands on, then go to ``then`` (None: stay there)."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.goto(site.url + "/")
    assert page.url.startswith(site.url + "/login")
    page.get_by_label("Tên đăng nhập").fill(who)
    page.get_by_label("Mật khẩu").fill(password_of(who))
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(site.url + LANDING[who])
    if then is not None and then != LANDING[who]:
        page.goto(site.url + then)
    return page


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
