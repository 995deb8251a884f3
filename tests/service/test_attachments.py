"""Attached documents through the CLI on a real SQLite file: checked by content (a DOCX made by python-docx is one,
a text file named .pdf is not), stored once by SHA-256 beside the database, named in the hashed history row, and
re-hashed by audit verify."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import docx
import pytest
from typer.testing import CliRunner

from service.app.attachments import kind_of
from service.cli import cli
from service.context import App
from service.settings import Settings
from tests.api.conftest import prepared
from tests.service.test_accounts import NOW
from workflow import SimulatedClock
from workflow.clock import PROVINCE_TZ


@pytest.fixture
def app(tmp_path: Path) -> App:
    return prepared(Settings(database_url=f"sqlite:///{tmp_path / 'files.db'}", sqlite_synchronous="NORMAL"),
                    SimulatedClock(NOW))


STC = ("--role", "officer", "--agency", "STC")  # the answers are the Department of Finance's own acts


def _cli(app: App, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--db", app.settings.database_url, *args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Sở Tài chính trả lời Công văn số 1234/SKHCN-QLKH.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_documents_are_checked_by_content_stored_once_named_in_history_and_verified(app: App, tmp_path: Path) -> None:
    made = json.loads(_cli(app, "--json", "instances", "start", "catalogue_feedback", "--key", "gop-y/STC",
                           "--assignee", "STC"))
    today = dt.datetime.now(PROVINCE_TZ).date().isoformat()  # the CLI acts on the real clock, in the province
    _cli(app, *STC, "instances", "fire", str(made["id"]), "record_receipt", "--payload",
         f'{{"received_on": "{today}"}}')
    fake = tmp_path / "cong-van.pdf"
    fake.write_text("not a pdf at all", encoding="utf-8")
    out = _cli(app, *STC, "instances", "fire", str(made["id"]), "answer", "--payload",
               '{"document": "80/STC-QLNS", "position": "agree"}', "--file", str(fake), code=1)
    assert "file: not a PDF, DOCX or XLSX file" in out
    assert app.store.get_instance(made["id"]).state == "received"  # nothing done

    signed = tmp_path / "Công văn 80-STC.docx"
    signed.write_bytes(_docx())
    assert kind_of(signed.read_bytes()) == "docx"
    _cli(app, *STC, "instances", "fire", str(made["id"]), "answer", "--payload",
         '{"document": "80/STC-QLNS", "position": "agree"}', "--file", str(signed))
    digest = hashlib.sha256(signed.read_bytes()).hexdigest()
    last = app.store.history(made["id"])[-1]
    assert last.payload["@files"] == [{"sha256": digest, "name": "Công văn 80-STC.docx",
                                       "size": signed.stat().st_size, "type": "docx"}]
    stored = tmp_path / "files.db.files" / digest[:2] / digest
    assert stored.read_bytes() == signed.read_bytes()  # content-addressed, beside the database
    assert json.loads(_cli(app, "--json", "audit", "verify"))["ok"] is True
    stored.write_bytes(b"PK\x03\x04 replaced")
    verdict = json.loads(_cli(app, "--json", "audit", "verify", code=1))
    assert verdict["database"] == [f"instance {made['id']} row {last.seq}: attached file {digest[:12]}… was altered"]


def test_backup_copies_the_files_the_database_names_so_the_copy_verifies_alone(app: App, tmp_path: Path) -> None:
    made = json.loads(_cli(app, "--json", "instances", "start", "catalogue_feedback", "--key", "gop-y/STC",
                           "--assignee", "STC"))
    today = dt.datetime.now(PROVINCE_TZ).date().isoformat()
    _cli(app, *STC, "instances", "fire", str(made["id"]), "record_receipt", "--payload",
         f'{{"received_on": "{today}"}}')
    signed = tmp_path / "cong-van-81.docx"
    signed.write_bytes(_docx())
    document = {"number": "81/STC-QLNS", "issued_on": today, "summary": "V/v góp ý dự thảo danh mục",
                "signer": "Giám đốc Lê Văn C"}
    _cli(app, *STC, "instances", "fire", str(made["id"]), "answer", "--payload",
         json.dumps({"document": document, "position": "agree"}, ensure_ascii=False), "--file", str(signed))
    assert app.store.history(made["id"])[-1].payload["document"] == document  # the parts, as given
    digest = hashlib.sha256(signed.read_bytes()).hexdigest()
    target = tmp_path / "backups" / "workflow.db"
    done = json.loads(_cli(app, "--json", "backup", str(target)))
    assert (done["files"], done["files_bytes"], done["files_folder"]) == (
        1, signed.stat().st_size, str(target) + ".files")
    assert (tmp_path / "backups" / "workflow.db.files" / digest[:2] / digest).read_bytes() == signed.read_bytes()
    restored = App(Settings(database_url=f"sqlite:///{target}"))  # finds its files beside it, by default
    assert restored.uses.audit.verify().ok
    restored.sql_engine.dispose()

    (tmp_path / "files.db.files" / digest[:2] / digest).write_bytes(b"PK\x03\x04 replaced")  # damaged at the source
    out = _cli(app, "backup", str(tmp_path / "backups" / "second.db"), code=1)
    assert f"{digest[:12]}… in " in out
    assert "was altered" in out
    assert (tmp_path / "backups" / "second.db").is_file()  # the database copy is kept; the damage is named
    assert not list((tmp_path / "backups").rglob("*.partial"))
