"""Logging in under attack (issue 26, findings 2–5), on a real database and, for what the browser sees, a real
HTTP server on loopback: failures are counted before the password is checked (a parallel burst checks no more
passwords than the limit), a login being slowed answers exactly as a wrong password does and tells its owner by
e-mail, the owner's own browser is never slowed by someone else's failures, one address guessing many logins waits
(429), password checks run a bounded number at a time (503 beyond the queue), and an unknown API key is throttled
while a valid one never is; X-Forwarded-For is believed only from a proxy named in the settings."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from definitions import Role
from service.app.accounts import LoginRefused, Session
from service.context import App
from service.settings import Settings
from tests.api.conftest import prepared, served
from workflow import Actor, SimulatedClock

NOW = dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC)
ADMIN = Actor("cli:it", Role.ADMIN)
PASSWORD = "Mật khẩu đủ dài 2026"
ELSEWHERE = "203.0.113.9"  # the guesser's address
HOME = "10.20.1.5"  # the owner's


def _app(tmp_path: Path, **settings: object) -> App:
    app = prepared(Settings(database_url=f"sqlite:///{tmp_path / 'guard.db'}", sqlite_synchronous="NORMAL",
                            **settings), SimulatedClock(NOW))  # type: ignore[arg-type]
    app.uses.accounts.create(ADMIN, "pham.d", "Phạm D", "committee", email="pham.d@example.vn", password=PASSWORD)
    return app


@pytest.fixture
def app(tmp_path: Path) -> App:
    return _app(tmp_path)


def _refusal(attempt: Callable[[], Session]) -> LoginRefused:
    with pytest.raises(LoginRefused) as refused:
        attempt()
    return refused.value


def _advance(app: App, seconds: float) -> None:
    assert isinstance(app.clock, SimulatedClock)
    app.clock.advance(dt.timedelta(seconds=seconds))


def test_failures_slow_a_login_down_exponentially_and_its_owner_is_told(app: App) -> None:
    accounts, guard = app.uses.accounts, app.uses.accounts.guard
    for _ in range(5):
        assert _refusal(lambda: accounts.log_in("pham.d", "wrong password", address=ELSEWHERE)).reason == \
            "bad_credentials"
    assert guard.checks == 5
    # the right password now, too early: the same refusal as a wrong password, without a check, paced like one
    refused = _refusal(lambda: accounts.log_in("pham.d", PASSWORD, address=ELSEWHERE))
    assert (refused.reason, refused.until, guard.checks) == ("bad_credentials", None, 5)
    assert refused.pace > 0
    unknown = _refusal(lambda: accounts.log_in("nobody.here", "wrong password", address=ELSEWHERE))
    assert (unknown.reason, unknown.until) == ("bad_credentials", None)  # an unknown login: the same words
    locked = app.store.last_system_event("account_locked")
    assert locked is not None
    assert locked[1] == {"id": 1, "address": ELSEWHERE, "until": (NOW + dt.timedelta(seconds=1)).isoformat()}
    (mail,) = [m for m in app.store.list_outbox() if m.kind == "account_locked"]
    assert mail.recipient == "pham.d@example.vn"
    assert ELSEWHERE in mail.body
    assert "02/03/2026" in mail.body
    # the waits double: 1 s after the 5th failure, 2 s after the 6th, 4 s after the 7th
    _advance(app, 1)
    assert _refusal(lambda: accounts.log_in("pham.d", "wrong again", address=ELSEWHERE)).reason == "bad_credentials"
    _advance(app, 1.9)
    _refusal(lambda: accounts.log_in("pham.d", PASSWORD, address=ELSEWHERE))
    assert guard.checks == 7  # 5 + the one at 1 s + the unknown login's; not the early ones
    _advance(app, 0.1)
    assert accounts.log_in("pham.d", PASSWORD, address=ELSEWHERE).account.login == "pham.d"
    assert len([m for m in app.store.list_outbox() if m.kind == "account_locked"]) == 1  # told once


def test_a_parallel_burst_checks_no_more_passwords_than_the_limit(app: App) -> None:
    """Finding 2: 30 parallel log-ins, wrong then right, gave the right one a session although the burst had locked
    the account five times (the lock was checked before and counted after the slow password check). Now 29 wrong
    ones at once get exactly five passwords checked (each reserved its failure before its check), and the right
    password sent after the burst is refused like a wrong one, without a check."""
    accounts = app.uses.accounts
    start, outcomes = threading.Barrier(29), []
    lock = threading.Lock()

    def attempt() -> None:
        start.wait()
        try:
            accounts.log_in("pham.d", "wrong password", address=ELSEWHERE)
            outcome = "session"
        except LoginRefused as refused:
            outcome = refused.reason
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(29)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert accounts.guard.checks == 5
    assert outcomes == ["bad_credentials"] * 29  # the checked and the unchecked alike
    with app.sql_engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM system_history WHERE event = 'account_locked'").scalar() == 1
    assert _refusal(lambda: accounts.log_in("pham.d", PASSWORD, address=ELSEWHERE)).reason == "bad_credentials"
    assert accounts.guard.checks == 5


def test_the_owners_own_browser_is_never_slowed_by_someone_elses_failures(app: App) -> None:
    """Finding 4: anyone could lock any named account for 15 minutes. Now the guesser slows only the strangers."""
    accounts = app.uses.accounts
    device = accounts.log_in("pham.d", PASSWORD, address=HOME).device
    assert device is not None
    assert device.startswith("pham.d:")
    for _ in range(12):
        _refusal(lambda: accounts.log_in("pham.d", "guess", address=ELSEWHERE))
    assert _refusal(lambda: accounts.log_in("pham.d", PASSWORD, address=HOME)).reason == "bad_credentials"  # no mark
    assert accounts.log_in("pham.d", PASSWORD, address=HOME, device=device).account.login == "pham.d"
    assert accounts.log_in("pham.d", PASSWORD, address="198.51.100.7", device=device)  # travelling: still theirs
    # a mark made up, or one for another login, is no mark
    accounts.create(ADMIN, "le.c", "Lê C", "auditor", password="Một mật khẩu khác 2026")
    other = accounts.log_in("le.c", "Một mật khẩu khác 2026", address=HOME).device
    assert other is not None
    for forged in (other, "pham.d:abc:0123456789abcdef0123456789abcdef", other.replace("le.c", "pham.d", 1)):
        with pytest.raises(LoginRefused) as refused:
            accounts.log_in("pham.d", PASSWORD, address=HOME, device=forged)
        assert refused.value.reason == "bad_credentials"
    # a new password voids every mark the old one signed (and lifts the strangers' slowing, so guess again)
    accounts.reset_password(ADMIN, "pham.d", "Mật khẩu mới sau sự cố 2026")
    for _ in range(6):
        _refusal(lambda: accounts.log_in("pham.d", "guess", address=ELSEWHERE))
    assert _refusal(lambda: accounts.log_in("pham.d", "Mật khẩu mới sau sự cố 2026", address=HOME,
                                            device=device)).reason == "bad_credentials"


def test_one_address_guessing_many_logins_waits(app: App) -> None:
    """Finding 2: 150 tries from one address never got 429. Now the address's failures over every login count."""
    accounts = app.uses.accounts
    reasons = [_refusal(lambda i=i: accounts.log_in(f"user{i}", "guess", address=ELSEWHERE)).reason  # type: ignore
               for i in range(25)]
    limit = app.settings.login_address_limit
    assert reasons == ["bad_credentials"] * limit + ["throttled"] * (25 - limit)
    assert accounts.guard.checks == limit
    throttled = _refusal(lambda: accounts.log_in("pham.d", PASSWORD, address=ELSEWHERE))
    assert throttled.reason == "throttled"
    assert throttled.until == NOW + dt.timedelta(seconds=1)
    assert accounts.log_in("pham.d", PASSWORD, address=HOME)  # another address is not concerned


def test_password_checks_run_a_bounded_number_at_a_time(tmp_path: Path) -> None:
    """Finding 3: 80 parallel log-ins took 2.4 GB. Now at most ``password_check_workers`` Argon2 checks (64 MiB
    each) run at once, ``password_check_queue`` may wait, and the rest are refused at once, counted as nothing."""
    app = _app(tmp_path, password_check_workers=2, password_check_queue=3)
    accounts, outcomes = app.uses.accounts, []
    start, lock = threading.Barrier(40), threading.Lock()

    def attempt(i: int) -> None:
        start.wait()
        try:
            accounts.log_in(f"stranger{i}", "guess", address=f"198.51.100.{i}")
        except LoginRefused as refused:
            with lock:
                outcomes.append(refused.reason)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert accounts.guard.peak <= 2
    assert len(outcomes) == 40
    assert set(outcomes) <= {"bad_credentials", "busy"}
    assert accounts.guard.checks == outcomes.count("bad_credentials")
    # a refused-busy attempt was not counted as a failure of its address
    assert sum(accounts.guard._counts[("address", f"198.51.100.{i}")].failures for i in range(40)) == \
        accounts.guard.checks


def test_beyond_the_checks_running_and_waiting_a_log_in_is_refused_busy(tmp_path: Path) -> None:
    app = _app(tmp_path, password_check_workers=1, password_check_queue=0)
    guard, running, release = app.uses.accounts.guard, threading.Event(), threading.Event()

    def held() -> bool:
        running.set()
        release.wait()
        return False

    holder = threading.Thread(target=guard.verify, args=(held,))
    holder.start()
    running.wait()  # the only slot is taken
    refused = _refusal(lambda: app.uses.accounts.log_in("pham.d", PASSWORD, address=HOME))
    assert refused.reason == "busy"
    release.set()
    holder.join()
    assert app.uses.accounts.log_in("pham.d", PASSWORD, address=HOME).account.login == "pham.d"


# -- over HTTP ------------------------------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, App]]:
    app = _app(tmp_path, trusted_proxies="127.0.0.1", auth_failure_limit=5)
    with served(app) as (url, _):
        yield url, app


def _post_login(url: str, login: str, password: str, forwarded: str | None = None,
                cookies: dict[str, str] | None = None) -> httpx.Response:
    with httpx.Client(base_url=url, cookies=cookies) as http:
        form = http.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        return http.post("/login", data={"login": login, "password": password, "csrf": token.group(1),
                                         "next": "/"}, headers=headers)


def _alert(answer: httpx.Response) -> str:
    found = re.search(r'role="alert"[^>]*>\s*([^<]+?)\s*<', answer.text)
    assert found is not None, answer.text[:400]
    return found.group(1)


def test_a_slowed_login_an_unknown_login_and_a_wrong_password_look_the_same(site: tuple[str, App]) -> None:
    url, app = site
    wrong = _post_login(url, "pham.d", "wrong password", ELSEWHERE)
    for _ in range(5):
        _post_login(url, "pham.d", "wrong password", ELSEWHERE)
    slowed = _post_login(url, "pham.d", PASSWORD, ELSEWHERE)
    unknown = _post_login(url, "nobody.here", "wrong password", ELSEWHERE)
    assert wrong.status_code == slowed.status_code == unknown.status_code == 401
    assert _alert(wrong) == _alert(slowed) == _alert(unknown) == "Tên đăng nhập hoặc mật khẩu không đúng."
    # the owner's browser logs in, gets its mark, and is let in while the strangers are slowed
    home = _post_login(url, "pham.d", PASSWORD, HOME)
    assert home.status_code == 401  # a browser with no mark yet: slowed like any stranger
    _advance(app, 600)
    home = _post_login(url, "pham.d", PASSWORD, HOME)
    assert home.status_code == 303
    mark = home.cookies.get("wf_device")
    assert mark is not None
    for _ in range(8):
        _post_login(url, "pham.d", "guess", ELSEWHERE)
    assert _post_login(url, "pham.d", PASSWORD, HOME, cookies={"wf_device": mark}).status_code == 303


def test_an_address_guessing_many_logins_gets_429_and_forwarded_for_is_believed_only_from_our_proxy(
        site: tuple[str, App]) -> None:
    url, app = site
    for i in range(app.settings.login_address_limit):
        assert _post_login(url, f"user{i}", "guess", ELSEWHERE).status_code == 401
    refused = _post_login(url, "pham.d", PASSWORD, ELSEWHERE)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    assert _alert(refused).startswith("Máy này đã đăng nhập sai quá nhiều lần")
    # the proxy (loopback here) forwards another client: that one is not concerned
    assert _post_login(url, "pham.d", PASSWORD, "10.20.1.6").status_code == 303
    # a client's own X-Forwarded-For before our proxy's is not believed: the proxy appends what it saw
    assert _post_login(url, "pham.d", PASSWORD, f"10.20.1.7, {ELSEWHERE}").status_code == 429


def test_api_keys_a_valid_one_is_never_refused_and_unknown_ones_are_throttled(site: tuple[str, App]) -> None:
    """Finding 5: after 60 wrong keys the admin's valid key got 429, and X-Forwarded-For from loopback was trusted
    by uvicorn. Now only failures are refused; the forwarded address counts only behind a named proxy."""
    url, app = site
    key = app.uses.keys.create(ADMIN, "tích hợp", None, None, account="pham.d").token
    with httpx.Client(base_url=url) as http:
        statuses = [http.get("/api/v1/agencies", headers={"Authorization": f"Bearer wf_x{i}",
                                                          "X-Forwarded-For": ELSEWHERE}).status_code
                    for i in range(8)]
        assert statuses == [401] * 5 + [429] * 3  # auth_failure_limit=5: failures beyond five are refused 429
        valid = http.get("/api/v1/agencies", headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": ELSEWHERE})
        assert valid.status_code == 200
        other = http.get("/api/v1/agencies", headers={"Authorization": "Bearer wf_y", "X-Forwarded-For": "10.9.0.1"})
        assert other.status_code == 401  # another client behind the proxy


def test_without_a_trusted_proxy_forwarded_for_is_ignored(tmp_path: Path) -> None:
    app = _app(tmp_path, auth_failure_limit=3)
    with served(app) as (url, _), httpx.Client(base_url=url) as http:
        statuses = [http.get("/api/v1/agencies", headers={"Authorization": "Bearer wf_x",
                                                          "X-Forwarded-For": f"10.9.0.{i}"}).status_code
                    for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]  # every forged address is the one loopback client
