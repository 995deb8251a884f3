"""The ``workflow`` command on a real SQLite file: outputs, exit codes and refusals."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli import cli
from tests.conftest import DEFINITIONS, SHIPPED, SUPERSEDED
from workflow.clock import PROVINCE_TZ

BROKEN = Path(__file__).parents[1] / "definitions" / "broken"


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: this module is about SQLite files themselves."""
    return sqlite_url


class Workflow:
    def __init__(self, db: str) -> None:
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(cli, ["--db", self.db, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self("--json", *args, code=code))


@pytest.fixture
def wf(db_url: str) -> Workflow:
    workflow = Workflow(db_url)
    workflow("init")
    workflow("definitions", "load", *map(str, DEFINITIONS))
    return workflow


def test_init_is_idempotent_and_reports_the_schema(db_url: str) -> None:
    from alembic.script import ScriptDirectory

    from store.database import MIGRATIONS

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    workflow = Workflow(db_url)
    assert workflow.json("init")["schema_revision"] == head
    assert workflow.json("init")["schema_revision"] == head


def test_commands_on_an_uninitialised_database_say_what_to_do(tmp_path: Path) -> None:
    workflow = Workflow(f"sqlite:///{tmp_path / 'empty.db'}")
    assert "run `workflow init` first" in workflow("definitions", "list", code=5)
    assert not (tmp_path / "empty.db").exists()  # a read on a mistyped path leaves no empty database behind
    typo = Workflow(f"sqlite:///{tmp_path / 'no' / 'such' / 'folder.db'}")
    assert "run `workflow init` first" in typo("instances", "list", code=5)
    assert not (tmp_path / "no").exists()


def test_a_wrong_database_url_is_a_usage_error_without_a_traceback(tmp_path: Path) -> None:
    bare = Workflow(str(tmp_path / "workflow.db"))  # a path, not a URL
    said = bare("instances", "list", code=2)
    assert "is not a database URL" in said
    assert "Traceback" not in said
    unreachable = Workflow("postgresql+psycopg://nobody@127.0.0.1:1/none")
    said = unreachable("instances", "list", code=5)
    assert "cannot open the database" in said
    assert "Traceback" not in said


def test_validate_reports_file_line_column_and_exits_non_zero() -> None:
    workflow = Workflow("sqlite://")
    output = workflow("definitions", "validate", str(BROKEN / "31_many_problems.yaml"), code=1)
    assert f"{BROKEN / '31_many_problems.yaml'}:10:50: transitions[0].dest: unknown state 'finished'" in output
    assert output.count("31_many_problems.yaml:") == 4
    report = workflow.json("definitions", "validate", str(SHIPPED), str(SUPERSEDED), code=0)
    assert report["ok"]
    assert {(v["id"], v["version"]) for v in report["valid"]} >= {("agency_feedback", 2), ("catalogue_feedback", 4)}


def test_load_is_idempotent_and_refuses_changed_content_under_the_same_version(wf: Workflow,
                                                                              tmp_path: Path) -> None:
    assert all(not r["new"] for r in wf.json("definitions", "load", *map(str, DEFINITIONS)))
    changed = tmp_path / "agency_feedback.yaml"
    changed.write_text((SUPERSEDED / "agency_feedback.yaml").read_text(encoding="utf-8")
                       .replace("Đã góp ý", "Đã trả lời"), encoding="utf-8")
    output = wf("definitions", "load", str(changed), code=4)
    assert "'agency_feedback' version 1 is already loaded with other content" in output


def test_a_folder_with_one_bad_file_loads_nothing(db_url: str, tmp_path: Path) -> None:
    workflow = Workflow(db_url)
    workflow("init")
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "a.yaml").write_text((SUPERSEDED / "agency_feedback.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "b.yaml").write_text((BROKEN / "01_unknown_dest.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert "unknown state 'nowhere'" in workflow("definitions", "load", str(folder), code=1)
    assert workflow.json("definitions", "list") == []


def test_instance_lifecycle_through_the_cli(wf: Workflow) -> None:
    started = wf.json("instances", "start", "agency_feedback", "--key", "cat-2022/SYT", "--assignee", "SYT",
                      "--data", '{"ghi_chú": "Sở Y tế"}', "--effective-on", "14/12/2022")
    assert {k: started[k] for k in ("id", "definition", "definition_version", "state", "version", "assignee")} == {
        "id": 1, "definition": "agency_feedback", "definition_version": 1, "state": "sent", "version": 1,
        "assignee": "SYT"}
    assert started["allowed_events"] == ["record_receipt"]
    fired = wf.json("--role", "officer", "--agency", "SYT", "--actor", "nguyen.van.a@syt",
                    "instances", "fire", "1", "record_receipt", "--payload", '{"received_on": "2022-12-15"}',
                    "--expected-version", "1", "--idempotency-key", "r-1")  # the API's names
    assert (fired["state"], fired["version"], fired["replayed"]) == ("received", 2, False)
    again = wf.json("--role", "officer", "--agency", "SYT", "--actor", "nguyen.van.a@syt",
                    "instances", "fire", "1", "record_receipt", "--data", '{"received_on": "2022-12-15"}',
                    "--expect-version", "1", "--idempotency-key", "r-1")
    assert (again["version"], again["replayed"]) == (2, True)
    shown = wf.json("instances", "show", "1")  # as the admin
    assert (shown["state"], shown["allowed_events"]) == ("received", ["answer", "close_window"])
    as_officer = wf.json("--role", "officer", "--agency", "SYT", "instances", "show", "1")
    assert as_officer["allowed_events"] == ["answer"]  # closing the window is the admin's
    assert wf.json("--role", "officer", "--agency", "SNV", "instances", "show", "1")["allowed_events"] == []
    assert "you may fire: answer" in wf("--role", "officer", "--agency", "SYT", "instances", "show", "1")
    history = wf.json("audit", "history", "1")
    assert [(h["event"], h["actor_id"]) for h in history][1] == ("record_receipt", "nguyen.van.a@syt")
    assert [i["id"] for i in wf.json("instances", "list", "--agency", "SYT")] == [1]
    assert wf.json("instances", "list", "--assignee", "SNV") == []
    assert [i["id"] for i in wf.json("instances", "list", "--state", "received")] == [1]
    table = wf("instances", "list").splitlines()  # a table with headers; the deadline as people read it
    assert table[0].split() == ["Số", "Quy", "trình", "Khóa", "nghiệp", "vụ", "Cơ", "quan", "Trạng", "thái", "Hạn"]
    due = dt.datetime.fromisoformat(shown["due_at"].replace("Z", "+00:00")).astimezone(PROVINCE_TZ)
    assert table[2].split()[:5] == ["1", "agency_feedback", "cat-2022/SYT", "SYT", "received"]
    assert table[2].split()[5] in (f"{due:%d/%m/%Y}", f"{due - dt.timedelta(days=1):%d/%m/%Y}")
    assert "Không có nhiệm vụ nào" in wf("instances", "list", "--assignee", "SNV")
    refused = wf.json("instances", "list", "--state", "recieved", code=1)  # a typing mistake is not "none"
    assert refused["errors"][0]["field"] == "state"
    assert "received" in refused["errors"][0]["message"]


def test_refusals_exit_non_zero_with_the_engine_message(wf: Workflow) -> None:
    wf("instances", "start", "agency_feedback", "--key", "k", "--assignee", "SYT", "--effective-on", "2022-12-01")
    error = wf.json("instances", "fire", "1", "answer", code=1)
    assert error["error"] == "EventNotAllowed"
    assert error["allowed"] == ["record_receipt"]
    error = wf.json("--role", "officer", "--agency", "SNV", "instances", "fire", "1", "record_receipt",
                    "--data", '{"received_on": "2022-12-15"}', code=1)
    assert error["error"] == "AgencyMismatch"
    error = wf.json("instances", "fire", "1", "record_receipt", "--data", '{"received_on": "15/12/2022"}', code=1)
    assert error["errors"] == [{"field": "received_on", "message": "'15/12/2022' is not a date (YYYY-MM-DD)"}]
    assert "not valid JSON" in wf("instances", "fire", "1", "record_receipt", "--data", "{oops", code=1)
    assert "expected version 5" in wf("instances", "fire", "1", "record_receipt", "--data",
                                      '{"received_on": "2022-12-15"}', "--expect-version", "5", code=4)
    assert "no instance 42" in wf("instances", "show", "42", code=3)


def test_mistyped_names_are_answered_with_the_nearest_real_one(wf: Workflow) -> None:
    wf("agencies", "load")
    wf("instances", "start", "agency_feedback", "--key", "k", "--assignee", "SYT", "--effective-on", "2022-12-01")
    assert "did you mean 'record_receipt'?" in wf("instances", "fire", "1", "record_reciept", code=1)
    assert "no definition 'agency_fedback'; did you mean 'agency_feedback'?" in wf(
        "instances", "start", "agency_fedback", "--key", "k2", "--assignee", "SYT", code=3)
    assert "did you mean 'received'?" in wf("instances", "list", "--state", "recieved", code=1)
    assert "no agency 'SYTT'; did you mean 'SYT'?" in wf("agencies", "show", "SYTT", code=3)
    assert "unknown agency 'SYY'; known codes: SYT" in wf(
        "instances", "start", "agency_feedback", "--key", "k3", "--assignee", "SYY", "--effective-on", "2022-12-01",
        code=1)


def test_audit_verify_checkpoint_and_export(wf: Workflow, db_url: str, tmp_path: Path) -> None:
    for agency in ("SYT", "SNV"):
        wf("instances", "start", "agency_feedback", "--key", f"cat/{agency}", "--assignee", agency,
           "--effective-on", "2022-12-01")
    wf("instances", "fire", "1", "record_receipt", "--data", '{"received_on": "2022-12-15"}')
    assert wf.json("audit", "verify") == {"ok": True, "instances": 2, "rows": 3, "problems": [], "database": []}
    checkpoint = tmp_path / "cp" / "checkpoint.json"
    written = wf.json("audit", "checkpoint", "--output", str(checkpoint))
    assert written["instances"] == 2
    assert json.loads(checkpoint.read_text())["root"] == written["root"]
    assert wf.json("audit", "verify", "--checkpoint", str(checkpoint))["ok"]
    wf("instances", "fire", "2", "record_receipt", "--data", '{"received_on": "2022-12-16"}')
    fast = wf.json("audit", "verify", "--checkpoint", str(checkpoint), "--incremental")
    assert (fast["ok"], fast["rows"]) == (True, 2)  # instance 2 moved: its checkpoint row and the new one
    assert "incremental: goes with a checkpoint" in wf("audit", "verify", "--incremental", code=1)

    lines = wf("audit", "export", "--format", "jsonl").splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["@start", "record_receipt", "@start", "record_receipt"]
    csv_out = tmp_path / "history.csv"
    wf("audit", "export", "--format", "csv", "--output", str(csv_out))
    rows = csv_out.read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("instance_id,seq,event")
    assert len(rows) == 5
    before = csv_out.read_bytes()  # an existing file is not replaced unless asked
    assert "exists already; add --force" in wf("audit", "export", "--format", "jsonl", "--output", str(csv_out), code=1)
    assert "exists already; add --force" in wf("audit", "checkpoint", "--output", str(csv_out), code=1)
    assert "exists already; add --force" in wf("report", "status", "--format", "csv", "--output", str(csv_out),
                                               code=1)
    assert csv_out.read_bytes() == before
    wf("audit", "export", "--format", "jsonl", "--output", str(csv_out), "--force")
    assert csv_out.read_text(encoding="utf-8").splitlines() == lines
    assert [p.name for p in csv_out.parent.iterdir() if p.name.startswith(".history")] == []  # no temporary left
    assert "must be jsonl or csv" in wf("audit", "export", "--format", "xml", code=2)

    database = db_url.removeprefix("sqlite:///")
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("DROP TRIGGER history_no_update")
    connection.execute("UPDATE history SET reason = 'đã sửa' WHERE instance_id = 1 AND seq = 2")
    connection.close()
    report = wf.json("audit", "verify", code=1)
    assert report["ok"] is False
    assert report["problems"] == [{"instance_id": 1, "seq": 2,
                                   "message": "content does not match its hash (row altered)"}]
    assert "TAMPERED instance 1 row 2" in wf("audit", "verify", code=1)
    assert wf.json("audit", "verify", "--jobs", "2", code=1)["problems"] == report["problems"]  # two processes


def test_an_altered_checkpoint_file_is_an_error(wf: Workflow, tmp_path: Path) -> None:
    wf("instances", "start", "agency_feedback", "--key", "k", "--assignee", "SYT", "--effective-on", "2022-12-01")
    checkpoint = tmp_path / "checkpoint.json"
    wf("audit", "checkpoint", "--output", str(checkpoint))
    document = json.loads(checkpoint.read_text())
    document["heads"][0]["hash"] = "0" * 64
    checkpoint.write_text(json.dumps(document))
    assert "checkpoint file was altered" in wf("audit", "verify", "--checkpoint", str(checkpoint), code=1)


def test_signed_checkpoints_prove_who_took_them_and_that_nothing_changed(wf: Workflow, tmp_path: Path) -> None:
    wf("instances", "start", "agency_feedback", "--key", "k", "--assignee", "SYT", "--effective-on", "2022-12-01")
    private, public = tmp_path / "signing.pem", tmp_path / "auditor.pub.pem"
    wf("audit", "keygen", "--private", str(private), "--public", str(public))
    assert private.stat().st_mode & 0o077 == 0  # the private key is readable by its owner only
    checkpoint = tmp_path / "signed.json"
    wf("audit", "checkpoint", "--output", str(checkpoint), "--sign", str(private))
    assert json.loads(checkpoint.read_text())["signature"]["algorithm"] == "Ed25519"
    assert wf.json("audit", "verify", "--checkpoint", str(checkpoint), "--public-key", str(public))["ok"]
    other_private, other_public = tmp_path / "other.pem", tmp_path / "other.pub.pem"
    wf("audit", "keygen", "--private", str(other_private), "--public", str(other_public))
    assert "signed by another key" in wf("audit", "verify", "--checkpoint", str(checkpoint), "--public-key",
                                         str(other_public), code=1)
    document = json.loads(checkpoint.read_text())  # rewritten consistently (heads and root), not re-signed
    document["taken_at"] = "2030-01-01T00:00:00.000000Z"
    checkpoint.write_text(json.dumps(document))
    assert "signature does not match" in wf("audit", "verify", "--checkpoint", str(checkpoint), "--public-key",
                                            str(public), code=1)
    unsigned = tmp_path / "plain.json"
    wf("audit", "checkpoint", "--output", str(unsigned))
    assert "not signed" in wf("audit", "verify", "--checkpoint", str(unsigned), "--public-key", str(public), code=1)


def test_the_installed_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "workflow"
    env = {**os.environ, "WORKFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    for args in (["init"], ["definitions", "load", str(SHIPPED)], ["--json", "definitions", "list"]):
        done = subprocess.run([str(script), *args], env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    assert {d["id"] for d in json.loads(done.stdout)} >= {"catalogue_feedback", "catalogue_consultation"}


def test_backup_copies_a_verifiable_database_and_refuses_to_overwrite(wf: Workflow, tmp_path: Path) -> None:
    wf("instances", "start", "agency_feedback", "--key", "k", "--assignee", "SYT", "--effective-on", "2022-12-01")
    wf("instances", "fire", "1", "record_receipt", "--data", '{"received_on": "2022-12-15"}')
    target = tmp_path / "backups" / "workflow-2026-11-26.db"
    assert wf.json("backup", str(target))["bytes"] > 0
    restored = Workflow(f"sqlite:///{target}")
    assert restored.json("audit", "verify")["ok"]
    assert restored.json("instances", "show", "1")["state"] == "received"
    assert "exists already" in wf("backup", str(target), code=1)
    assert not list(target.parent.glob("*.partial"))


def test_simulate_fires_timers_in_order_through_the_cli(wf: Workflow) -> None:
    wf("instances", "start", "agency_feedback", "--key", "cat/SYT", "--assignee", "SYT", "--effective-on", "2022-12-01")
    wf("instances", "fire", "1", "record_receipt", "--data", '{"received_on": "2022-12-26"}')
    wf("schedules", "add", "annual-report", "--definition", "annual_report", "--cron", "0 8 1 10 *",
       "--assignees", "SYT,SNV", "--key-template", "annual-report/{year}/{agency}", "--from", "2023-01-01")
    summary = wf.json("simulate", "--from", "2023-01-01", "--until", "2024-12-31")
    assert summary["timers"]["timeout fired"] == 1
    assert summary["schedule_runs"] == 2  # 01/10/2023 and 01/10/2024
    assert wf.json("instances", "show", "1")["state"] == "no_response"
    keys = {i["business_key"] for i in wf.json("instances", "list", "--definition", "annual_report")}
    assert keys == {f"annual-report/{y}/{a}" for y in (2023, 2024) for a in ("SYT", "SNV")}
    report = wf.json("report", "status")  # the global --json holds for the report too
    assert {r["agency"] for r in report["rows"]} >= {"SYT", "SNV"}
    assert wf.json("escalations", "list", "--status", "open")


def test_calendar_due_explains_and_refuses_two_kinds(wf: Workflow) -> None:
    due = wf.json("calendar", "due", "--from", "2022-11-20", "--end-of-month", "2022-12")
    assert (due["last_day"], due["due_at"]) == ("2023-01-03", "2023-01-03T17:00:00Z")
    assert any("Tết Dương lịch (nghỉ bù)" in s for s in due["steps"])
    error = wf.json("calendar", "due", "--from", "2022-12-26", "--days", "20", "--working-days", "3", code=1)
    assert "give exactly one of" in error["errors"][0]["message"]


def test_legal_clock_through_the_cli(wf: Workflow) -> None:
    wf("instances", "start", "agency_feedback", "--key", "cat/SYT", "--assignee", "SYT", "--effective-on", "2022-12-01")
    wf("instances", "fire", "1", "record_receipt", "--data", '{"received_on": "2023-01-05"}')
    extended = wf.json("instances", "extend", "1", "--days", "5", "--reason", "chờ số liệu",
                       "--document", "15/BCĐ-KHCN")
    assert {t["name"] for t in extended} >= {"window_closes", "escalate"}
    wf("instances", "suspend", "1", "--reason", "tạm dừng")
    assert "already suspended" in wf("instances", "suspend", "1", "--reason", "x", code=1)
    wf("instances", "resume", "1", "--reason", "tiếp tục")
    events = [h["event"] for h in wf.json("audit", "history", "1")]
    assert events[-3:] == ["@deadline_extended", "@suspended", "@resumed"]
    assert wf.json("--role", "officer", "--agency", "SYT", "instances", "extend", "1", "--days", "5",
                   "--reason", "x", "--document", "1/SYT", code=1)["error"] == "RoleNotAllowed"
    wf("calendar", "add-day-off", "2099-01-27", "--reason", "bão")
    assert wf.json("calendar", "overrides") == [{"day": "2099-01-27", "kind": "day_off", "reason": "bão"}]
    assert wf.json("audit", "verify")["ok"]


def on_a_terminal(db: str, *args: str) -> tuple[str, str]:
    """Run ``workflow`` with its standard error on a pseudo-terminal (as a person at a console has it); what the
    terminal showed, and the standard output."""
    import pty

    primary, secondary = pty.openpty()
    env = {**os.environ, "WORKFLOW_DATABASE_URL": db, "TERM": "xterm", "COLUMNS": "120"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "workflow"), *args], env=env,
                               stdout=subprocess.PIPE, stderr=secondary, text=True)
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 0, (out, shown.decode(errors="replace"))
    return shown.decode("utf-8", errors="replace"), out


def test_long_work_shows_progress_on_a_terminal_and_nowhere_else(wf: Workflow, tmp_path: Path) -> None:
    for n in range(30):
        wf("instances", "start", "agency_feedback", "--key", f"k{n}", "--assignee", "SYT", "--effective-on",
           "2022-12-01")
    shown, out = on_a_terminal(wf.db, "audit", "verify")
    assert "Kiểm tra chuỗi băm" in shown  # the bar, on the terminal
    assert "30/30" in shown
    assert out.startswith("ok: 30 instance histories verified")  # the answer, on standard output
    shown, out = on_a_terminal(wf.db, "--json", "audit", "verify")
    assert shown == ""  # --json: nothing but the answer
    assert json.loads(out)["ok"] is True
    shown, _ = on_a_terminal(wf.db, "audit", "export", "--output", str(tmp_path / "h.jsonl"))
    assert "Xuất nhật ký" in shown
    shown, _ = on_a_terminal(wf.db, "definitions", "load", *map(str, DEFINITIONS))
    assert "Kiểm tra quy trình" in shown
    wf("definitions", "load")
    wf("agencies", "load")
    shown, out = on_a_terminal(wf.db, "plan", "load")
    assert "Nạp kế hoạch" in shown
    assert "instances started" in out
    # not a terminal (CliRunner, a pipe): no bar in the output
    assert "Kiểm tra" not in wf("audit", "verify")
