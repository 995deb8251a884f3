"""docs/embedding.md: its example runs as written, from a fresh folder, and prints what the page says; the
subscription it shows gets each committed transaction's rows, never a rolled-back one's, and a failing subscriber
does not undo a write."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from definitions import Role
from service.settings import Settings
from tests.api.conftest import API_NOW, prepared
from workflow import Actor, SimulatedClock
from workflow.errors import PayloadInvalid

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "embedding.md"


def test_the_embedding_example_runs_as_documented(tmp_path: Path) -> None:
    text = PAGE.read_text(encoding="utf-8")
    code, printed = re.findall(r"```(?:python)?\n(.*?)```", text, re.S)[:2]
    (tmp_path / "example.py").write_text(code, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == printed.strip().splitlines()
    assert (tmp_path / "var" / "embedded.db").exists()


def test_subscribers_get_committed_rows_only_and_cannot_undo_a_write(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    app = prepared(Settings(database_url=f"sqlite:///{tmp_path / 'subscribed.db'}"), SimulatedClock(API_NOW))
    admin = Actor("embedded:test", Role.ADMIN)
    got: list[tuple[int, str]] = []
    stop = app.store.subscribe(lambda rows: got.extend((r.instance_id, r.event) for r in rows))

    def broken(_rows: object) -> None:
        raise RuntimeError("a subscriber's own fault")

    app.store.subscribe(broken)
    task = app.engine.start("delivery", "sub/SYT", "SYT", admin, data={"due": {"end_of_month": "2023-03"}})
    with pytest.raises(PayloadInvalid):  # refused: nothing written, nothing published
        app.engine.fire(task.id, "deliver", Actor("x", Role.OFFICER, "SYT"), payload={})
    assert got == [(task.id, "@start")]
    assert "a history subscriber failed" in caplog.text
    assert [h.event for h in app.store.history(task.id)] == ["@start"]  # the write stood
    stop()
    app.engine.fire(task.id, "deliver", Actor("x", Role.OFFICER, "SYT"),
                    payload={"document": {"number": "1/BC-SYT", "issued_on": dt.date(2023, 1, 5).isoformat()}})
    assert got == [(task.id, "@start")]  # no longer subscribed
    app.sql_engine.dispose()

