"""A write checks its API key inside its own transaction (issue 30): a key revoked or expired writes nothing
through either kind of write transaction (the engine's units of work, the store's SQLAlchemy ones), whatever this
process has cached; without a key (the CLI, the timer pass, the pages) nothing is checked."""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from definitions import Role
from service.settings import Settings
from store.keys import WRITING_KEY, KeyRevoked
from tests.api.conftest import API_NOW, prepared
from workflow import Actor, SimulatedClock
from workflow.notify import Contact


def test_a_revoked_or_expired_key_writes_nothing_in_either_kind_of_transaction(tmp_path: Path) -> None:
    clock = SimulatedClock(API_NOW)
    app = prepared(Settings(database_url=f"sqlite:///{tmp_path / 'keys.db'}"), clock)
    admin = Actor("key:bench", Role.ADMIN)
    day = dt.timedelta(days=1)

    def start(business_key: str) -> None:  # a unit of work
        app.engine.start("delivery", business_key, "SYT", admin, data={"due": {"end_of_month": "2023-03"}})

    def contact(name: str) -> None:  # a SQLAlchemy transaction of the store
        app.store.set_contact(Contact("SYT", name, None, None), clock.now())

    def as_key(key_id: int, action: Callable[[str], None], value: str) -> None:
        context = contextvars.copy_context()
        context.run(WRITING_KEY.set, key_id)
        context.run(action, value)

    key, _ = app.store.create_key("bench", "admin", None, clock.now(), expires_at=clock.now() + day)
    as_key(key.id, start, "live/1")  # live: written
    as_key(key.id, contact, "Văn thư Sở Y tế")
    app.store.revoke_key(key.id, clock.now())
    with pytest.raises(KeyRevoked):
        as_key(key.id, start, "revoked/1")
    with pytest.raises(KeyRevoked):
        as_key(key.id, contact, "planted")
    start("no-key/1")  # no key in this context: not checked
    later, _ = app.store.create_key("later", "admin", None, clock.now(), expires_at=clock.now() + day)
    clock.set(clock.now() + 2 * day)  # expired
    with pytest.raises(KeyRevoked):
        as_key(later.id, start, "expired/1")
    assert [i.business_key for i in app.store.list_instances()] == ["live/1", "no-key/1"]
    assert [c.name for c in app.store.list_contacts()] == ["Văn thư Sở Y tế"]
    app.sql_engine.dispose()
