"""Shared fixtures: a real SQLite file per test, the shipped definitions loaded, a simulated clock."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine as SqlEngine

from definitions import Role, definition_files
from store import SqlStore, migrate, open_engine
from tests.pg import PgServer, binaries
from workflow import Actor, Engine, SimulatedClock

ROOT = Path(__file__).parents[1]
SHIPPED = ROOT / "definitions" / "shipped"
SUPERSEDED = ROOT / "definitions" / "superseded"
#: What the tests load: the shipped definitions and, as small generic workflows, the version 1 of the two
#: superseded ones (their retired version 2 is for deployments with running instances).
DEFINITIONS = [SHIPPED, SUPERSEDED / "agency_feedback.yaml", SUPERSEDED / "catalogue_draft.yaml"]
START = dt.datetime(2022, 12, 15, 2, 0, tzinfo=dt.UTC)  # 09:00 in the province

ADMIN = Actor("admin@skhcn", Role.ADMIN)
OFFICER_SYT = Actor("officer@syt", Role.OFFICER, "SYT")
OFFICER_SNV = Actor("officer@snv", Role.OFFICER, "SNV")
COMMITTEE = Actor("head@bcd", Role.COMMITTEE)
AUDITOR = Actor("auditor@thanhtra", Role.AUDITOR)
SYSTEM = Actor("system:timer", Role.SYSTEM)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    if not (binaries() or os.environ.get("WORKFLOW_TEST_PG_URL")):
        message = "no PostgreSQL: install initdb/pg_ctl or set WORKFLOW_TEST_PG_URL"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI must run the PostgreSQL tests)")
        pytest.skip(message)
    server = PgServer.start()
    yield server
    server.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'workflow.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """The same tests on both databases the engine supports."""
    if request.param == "sqlite":
        return sqlite_url
    server: PgServer = request.getfixturevalue("pg_server")
    return server.new_database()


@pytest.fixture
def sql_engine(db_url: str) -> Iterator[SqlEngine]:
    engine = open_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def store(sql_engine: SqlEngine, clock: SimulatedClock) -> SqlStore:
    return SqlStore(sql_engine, clock)


@pytest.fixture
def engine(store: SqlStore, clock: SimulatedClock) -> Engine:
    engine = Engine(store, clock)
    for path in definition_files(DEFINITIONS):
        engine.load_definition_text(path.read_text(encoding="utf-8"), str(path))
    return engine


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the screenshots and other artefacts the tests saved, so CI's log shows where they are."""
    folder = ROOT / "test-artifacts"
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
    if files:
        terminalreporter.section("test artifacts")
        for path in files:
            terminalreporter.write_line(f"{path.relative_to(ROOT)}  ({path.stat().st_size:,} bytes)")


@pytest.fixture(scope="session", autouse=True)
def _nothing_written_into_the_checkout() -> Iterator[None]:
    """Tests write under their temporary folders only: attached files (``files``), the first administrator's files
    (PostgreSQL's defaults are the working folder) or a database (``var``) appearing in the checkout during the run
    is a test that forgot its settings or its working folder."""
    watched = [ROOT / name for name in ("files", "var", "first-admin-account", "first-admin-key")]
    before = {path: path.exists() for path in watched}
    yield
    leaked = [str(path) for path in watched if path.exists() and not before[path]]
    assert not leaked, f"the tests wrote into the checkout: {leaked}"
