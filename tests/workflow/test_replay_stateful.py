"""Hypothesis drives random events, actors and payloads at one instance; whatever happens, the stored
state equals the replay of its history, the version equals the history's length, and the chain verifies."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from definitions import Role, definition_files
from store import SqlStore, migrate, open_engine
from tests.conftest import DEFINITIONS, START
from workflow import Actor, Engine, SimulatedClock, verify
from workflow.calendar import local_date
from workflow.errors import Refused

DEFINITION = "catalogue_draft"
EVENTS = ["send_for_consultation", "consolidate", "submit", "approve", "return_for_revision", "withdraw",
          "no_such_event"]
ACTORS = [Actor("admin", Role.ADMIN), Actor("bcd", Role.COMMITTEE), Actor("syt", Role.OFFICER, "SYT"),
          Actor("skhcn", Role.OFFICER, "SKHCN"), Actor("audit", Role.AUDITOR), Actor("timer", Role.SYSTEM)]
PAYLOADS: list[dict[str, Any]] = [
    {}, {"document": "1/SKHCN", "task_count": 8}, {"document": "2/TTr-SKHCN"},
    {"document": "3/QĐ-UBND", "approved_on": "2023-02-01"}, {"document": "bad ref"}, {"task_count": -1},
]
GOOD_PAYLOAD: dict[str, dict[str, Any]] = {
    "send_for_consultation": PAYLOADS[1], "consolidate": {}, "submit": PAYLOADS[2], "approve": PAYLOADS[3],
    "return_for_revision": {}, "withdraw": {},
}


class InstanceReplay(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp()
        self.sql = open_engine(f"sqlite:///{self.folder}/replay.db", synchronous="OFF")
        migrate(self.sql)
        self.clock = SimulatedClock(START)
        self.store = SqlStore(self.sql, self.clock)
        self.engine = Engine(self.store, self.clock)
        for path in definition_files(DEFINITIONS):
            self.engine.load_definition_text(path.read_text(encoding="utf-8"), str(path))
        self.id = self.engine.start(DEFINITION, "catalogue/2022", "SKHCN", ACTORS[0], version=1).id
        self.accepted = 1

    @rule(event=st.sampled_from(EVENTS), actor=st.sampled_from(ACTORS), payload=st.sampled_from(PAYLOADS),
          reason=st.sampled_from([None, "", "Lý do: chưa đủ hồ sơ"]), minutes=st.integers(0, 60 * 24 * 40))
    def fire(self, event: str, actor: Actor, payload: dict[str, Any], reason: str | None, minutes: int) -> None:
        self.clock.advance(dt.timedelta(minutes=minutes))
        try:
            self.engine.fire(self.id, event, actor, payload=payload, reason=reason)
        except Refused:
            return
        self.accepted += 1

    @rule(data=st.data())
    def fire_an_allowed_event(self, data: st.DataObject) -> None:
        instance = self.store.get_instance(self.id)
        allowed = self.engine.allowed_events(instance, ACTORS[0])
        if not allowed:
            return
        event = data.draw(st.sampled_from(allowed))
        payload = GOOD_PAYLOAD[event]
        if "approved_on" in payload:  # a date field is a fact: not in the future, not before the previous event
            payload = {**payload, "approved_on": local_date(self.clock.now()).isoformat()}
        self.engine.fire(self.id, event, ACTORS[0], payload=payload, reason="theo chỉ đạo")
        self.accepted += 1

    @invariant()
    def state_is_the_replay_of_history(self) -> None:
        instance = self.store.get_instance(self.id)
        rows = self.store.history(self.id)
        state = None
        for row in rows:
            assert row.from_state == state
            state = row.to_state
        assert instance.state == state
        assert instance.version == len(rows) == self.accepted
        assert list(verify(self.store.iter_history(), self.store.chain_heads())) == []

    def teardown(self) -> None:
        self.sql.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


InstanceReplay.TestCase.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TestInstanceReplay = InstanceReplay.TestCase
