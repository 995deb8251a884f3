"""A real uvicorn on a loopback port serving the API over a real SQLite file, with a key for every role."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from definitions import Role, definition_files, load_data
from definitions.agencies import Registry
from service.asgi import create_app
from service.context import App
from service.http_protocol import BoundedHttpTools
from service.settings import Settings
from tests.conftest import DEFINITIONS, ROOT
from workflow import Actor, Clock, SimulatedClock
from workflow.agencies import Agencies

ADMIN = Actor("setup", Role.ADMIN)

#: The people of the tests: each key name is also a login name with an account of the same role and agency.
FULL_NAMES = {"admin": "Trần Quản Trị", "committee": "Lê Văn Chỉ Đạo", "officer": "Nguyễn Thị Thu",
              "other_officer": "Phạm Văn Nam", "auditor": "Võ Thị Kiểm", "van.thu.syt": "Đặng Thị Hoa",
              "van.thu.sct": "Hồ Văn Bình", "van.thu.skhcn": "Trương Thị Mai"}


def password_of(login: str) -> str:
    return f"{login}-mật-khẩu-thử"


def create_people(app: App, people: Iterator[tuple[str, str, str | None]] | tuple[tuple[str, str, str | None], ...]
                  ) -> None:
    """An account per (login, role, agency), with the password ``password_of(login)``."""
    from service.app.accounts import hash_password

    for login, role, agency in people:
        app.store.create_account(login, FULL_NAMES.get(login, login), role, agency, f"{login}@example.vn", None,
                                 hash_password(password_of(login)), app.clock.now(), "system:test")


@dataclass
class Api:
    url: str
    app: App
    keys: dict[str, str]  # admin, officer (SYT), other_officer (SNV), committee, auditor
    fastapi: object

    def client(self, who: str | None = "admin") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def serve_in_thread(fastapi_app: object) -> tuple[str, uvicorn.Server, threading.Thread]:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only for such sockets, and
    # without it every response waits ~40 ms for a delayed ACK (Nagle)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # listening before uvicorn starts: clients queue instead of racing it
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(fastapi_app, log_level="warning", access_log=False,  # type: ignore[arg-type]
                                           proxy_headers=False, http=BoundedHttpTools))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{port}", server, thread


def prepared(settings: Settings, clock: Clock | None = None) -> App:
    """A migrated database with the shipped definitions and the agency registry."""
    app = App(settings) if clock is None else App(settings, clock)
    app.init()
    for path in definition_files(DEFINITIONS):
        app.engine.load_definition_text(path.read_text(encoding="utf-8"), str(path))
    Agencies(app.engine).load(load_data(ROOT / "definitions" / "registry" / "agencies.yaml", Registry), ADMIN)
    return app


@contextmanager
def served(app: App) -> Iterator[tuple[str, object]]:
    """``app`` behind a real uvicorn on loopback: (its URL, the FastAPI app); stopped and disposed after."""
    fastapi_app = create_app(app)
    url, server, thread = serve_in_thread(fastapi_app)
    try:
        yield url, fastapi_app
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        app.sql_engine.dispose()


#: The API tests' "now": a simulated clock, so dates typed in payloads ("received_on": "2023-01-05") are today.
API_NOW = dt.datetime(2023, 1, 5, 2, tzinfo=dt.UTC)  # 09:00 in the province


@pytest.fixture
def api(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Api]:
    # NORMAL: these tests are about HTTP semantics; durability is tested with FULL in real processes. Attached
    # files in the test's folder (on PostgreSQL the default is ./files, the working folder: the checkout).
    # ``@pytest.mark.settings(name=value)`` changes a setting for one test (e.g. the failed-authentication limit).
    marker = request.node.get_closest_marker("settings")
    app = prepared(Settings(database_url=db_url, sqlite_synchronous="NORMAL", files_folder=tmp_path / "files",
                            **(marker.kwargs if marker else {})), SimulatedClock(API_NOW))
    now = app.clock.now()
    people = (("admin", "admin", None), ("officer", "officer", "SYT"), ("other_officer", "officer", "SNV"),
              ("committee", "committee", None), ("auditor", "auditor", None))
    keys = {name: app.store.create_key(name, role, agency, now)[1] for name, role, agency in people}
    create_people(app, people)
    with served(app) as (url, fastapi_app):
        yield Api(url, app, keys, fastapi_app)
