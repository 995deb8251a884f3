"""Signed audit checkpoints written by serve's pass on a schedule, their root mailed to the auditors
(service/checkpoints.py); on the simulated clock, then once through a real ``workflow serve`` and SMTP server."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from service import signing
from service.checkpoints import Checkpoints
from service.context import App
from service.settings import Settings
from service.verification import verify_database
from tests.conftest import ADMIN
from tests.servers import ServeLog, smtp_sink
from workflow import SimulatedClock, read_checkpoint
from workflow.audit import checkpoint_time
from workflow.notify import Contact

START = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)
DUTY = (Path(__file__).parents[2] / "definitions" / "superseded" / "agency_feedback.yaml").read_text(encoding="utf-8")


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "signing.pem", tmp_path / "signing.pub.pem"
    signing.new_key_pair(private, public)
    return private, public


def app_with(tmp_path: Path, key: Path | None, clock: SimulatedClock) -> App:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}", checkpoint_folder=tmp_path / "checkpoints",
                        checkpoint_key=key, checkpoint_hours=24)
    app = App(settings, clock=clock)
    app.init()
    app.engine.load_definition_text(DUTY, "agency_feedback.yaml")
    app.store.set_contact(Contact("KIEMTOAN", "Kiểm toán nội bộ", "kiemtoan@example.vn", None), clock.now())
    return app


def test_a_signed_checkpoint_each_period_with_its_root_queued_for_the_auditors(
        tmp_path: Path, keys: tuple[Path, Path]) -> None:
    clock = SimulatedClock(START)
    app = app_with(tmp_path, keys[0], clock)
    first = app.engine.start("agency_feedback", "cp/1", "SYT", ADMIN)
    ticker = app.ticker(deliver=False)
    done = ticker.run_once()
    [line] = done.other
    [file] = sorted((tmp_path / "checkpoints").glob("checkpoint-*.json"))
    assert file.name == "checkpoint-20260302T013000Z.json"
    assert f"{file.name}: 1 chains" in line
    assert "signed" in line
    document = json.loads(file.read_text(encoding="utf-8"))
    signing.check(document, keys[1])  # raises unless signed by the auditors' public key
    assert read_checkpoint(document) == app.store.chain_heads()
    [mail] = [m for m in app.store.list_outbox() if m.kind == "checkpoint"]
    assert (mail.recipient, mail.instance_id) == ("kiemtoan@example.vn", None)
    assert document["root"] in mail.body
    assert mail.subject.startswith("[Điểm kiểm tra nhật ký] 08:30 ngày 02/03/2026")
    assert "Kính gửi: Người kiểm tra nhật ký, truy vết." in mail.body
    assert not re.search(r"\b(the|checkpoint taken|signed by|Keep this)\b", mail.body)  # no English under it
    assert app.store.integrity_problems() == []  # the system history holds the checkpoint event, chained

    assert ticker.run_once().other == []  # not due again until a day later
    assert ticker.next_wake() == START + dt.timedelta(hours=24)

    clock.advance(dt.timedelta(hours=24))
    app.engine.fire(first.id, "record_receipt", ADMIN, payload={"received_on": "2026-03-03"})
    assert len(ticker.run_once().other) == 1
    newest = sorted((tmp_path / "checkpoints").glob("checkpoint-*.json"))[-1]
    document = json.loads(newest.read_text(encoding="utf-8"))
    heads = read_checkpoint(document)
    assert heads[first.id][0] == 2
    result = verify_database(app.store, app.settings.database_url, heads, 1, checkpoint_time(document),
                             incremental=True)
    assert result.ok
    assert result.rows == 0  # nothing moved since the checkpoint


def test_two_nodes_one_checkpoint_per_period(tmp_path: Path) -> None:
    clock = SimulatedClock(START)
    app = app_with(tmp_path, None, clock)
    other = Checkpoints(app.store, clock, tmp_path / "node2", dt.timedelta(hours=24), None, "KIEMTOAN")
    assert app.ticker(deliver=False).run_once().other  # the first node takes this period's checkpoint ...
    assert other.write() is None  # ... the second finds it and removes its own file
    assert list((tmp_path / "node2").glob("checkpoint-*.json")) == []
    assert len([m for m in app.store.list_outbox() if m.kind == "checkpoint"]) == 1


def test_unsigned_without_a_key_and_a_missing_key_file_is_refused(tmp_path: Path) -> None:
    from definitions import WorkflowError

    clock = SimulatedClock(START)
    app = app_with(tmp_path, None, clock)
    [line] = app.ticker(deliver=False).run_once().other
    assert "UNSIGNED" in line
    [mail] = [m for m in app.store.list_outbox() if m.kind == "checkpoint"]
    assert "CHƯA KÝ" in mail.body
    settings = app.settings.model_copy(update={"checkpoint_key": tmp_path / "missing.pem"})
    with pytest.raises(WorkflowError, match=r"WORKFLOW_CHECKPOINT_KEY: .*missing\.pem is not a file"):
        Checkpoints.from_settings(app.store, clock, settings)


def test_serve_writes_the_checkpoint_and_mails_its_root(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    app = app_with(tmp_path, keys[0], SimulatedClock(dt.datetime.now(dt.UTC)))
    app.sql_engine.dispose()
    with smtp_sink() as smtp:
        smtp.expect = 1
        env = {**os.environ, "WORKFLOW_DATABASE_URL": app.settings.database_url, "WORKFLOW_POLL_S": "3600",
               "WORKFLOW_SMTP_HOST": "127.0.0.1", "WORKFLOW_SMTP_PORT": str(smtp.port),
               "WORKFLOW_CHECKPOINT_FOLDER": str(tmp_path / "checkpoints"), "WORKFLOW_CHECKPOINT_KEY": str(keys[0])}
        process = subprocess.Popen([str(Path(sys.executable).parent / "workflow"), "serve", "--port", "0"],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert process.stderr is not None
        log = ServeLog(process.stderr)
        try:
            log.wait("ready")
            assert smtp.all_received.wait(timeout=120), log.tail()
        finally:
            process.terminate()
            process.wait(timeout=120)
            log.wait_closed()
    [file] = list((tmp_path / "checkpoints").glob("checkpoint-*.json"))
    document = json.loads(file.read_text(encoding="utf-8"))
    [mail] = smtp.messages
    assert mail["To"] == "kiemtoan@example.vn"
    assert document["root"] in mail.get_body().get_content()  # type: ignore[union-attr]
    assert any(r["event"] == "work" and r["message"].startswith(f"checkpoint {file.name}") for r in log.records), \
        log.tail()
