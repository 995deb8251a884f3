"""What a page may offer is asked of the application layer, which reads the engine's own rules (issue 27)."""

from __future__ import annotations

from pathlib import Path

from definitions import Role
from service.settings import Settings
from tests.api.conftest import API_NOW, prepared
from workflow import Actor, SimulatedClock


def test_who_may_change_a_clock_acknowledge_or_manage_accounts_is_the_engines_rule(tmp_path: Path) -> None:
    """Issue 27: the pages ask the application layer (which reads ``workflow.deadlines``' roles) instead of
    writing the roles again."""
    app = prepared(Settings(database_url=f"sqlite:///{tmp_path / 'may.db'}"), SimulatedClock(API_NOW))
    admin, committee = Actor("a", Role.ADMIN), Actor("c", Role.COMMITTEE)
    officer, auditor = Actor("o", Role.OFFICER, "SYT"), Actor("x", Role.AUDITOR)
    task = app.engine.start("delivery", "may/SYT", "SYT", admin, data={"due": {"end_of_month": "2023-03"}}).id
    clock = app.uses.deadlines
    assert [clock.may_stop(a, task) for a in (admin, committee, officer, auditor)] == ["suspend", "suspend", None,
                                                                                       None]
    clock.suspend(committee, task, reason="chờ ý kiến Bộ")
    assert clock.may_stop(committee, task) == "resume"
    assert [app.uses.escalations.may_acknowledge(a) for a in (admin, committee, officer, auditor)] == [
        True, True, False, False]
    assert [app.uses.accounts.may_manage(a) for a in (admin, committee, officer, auditor)] == [
        True, False, False, False]
    app.sql_engine.dispose()
