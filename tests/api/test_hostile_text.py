"""Text with control characters (issue 26, finding 8 and part of 14): refused where it enters, 422 naming the field;
and a report never fails on text already stored with one (an old row, a database edited by hand)."""

from __future__ import annotations

import sqlite3

import pytest

from tests.api.conftest import Api


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url  # the stored-text half edits the SQLite file


def test_control_characters_are_refused_at_the_door_and_reports_survive_stored_ones(api: Api) -> None:
    with api.client() as admin, api.client("officer") as syt:
        renamed = admin.post("/api/v1/agencies/SNV/rename", json={"name": "Sở Nội vụ\u0007", "effective": "2023-01-01",
                                                                  "document": "1/QĐ-UBND"})
        assert renamed.status_code == 422, renamed.text
        assert "name" in renamed.text
        made = admin.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": "ctl/SYT",
                                                     "assignee": "SYT"}).json()
        fired = syt.post(f"/api/v1/instances/{made['id']}/events", json={
            "event": "record_receipt", "payload": {"received_on": "2023-01-05"}, "reason": "đã nhận\u001b[31m"})
        assert fired.status_code == 422, fired.text
        assert [e["field"] for e in fired.json()["errors"]] == ["reason"]
    database = api.app.settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:  # a name stored before the door was shut
        db.execute("UPDATE agency_names SET name = name || char(7) WHERE code = 'SYT'")
    with api.client() as admin:
        for fmt in ("xlsx", "docx", "csv", "json"):
            r = admin.get("/api/v1/reports/status", params={"format": fmt})
            assert r.status_code == 200, (fmt, r.text[:300])


def test_a_business_key_is_one_line_and_the_cli_never_prints_a_control_character_raw(api: Api) -> None:
    """Finding 14: CR/LF were accepted in business keys, and NUL, BEL, ESC stored in an old row were printed raw
    by `workflow audit history` (an escape sequence rewrites the auditor's terminal)."""
    from typer.testing import CliRunner

    from service.cli import cli

    with api.client() as admin:
        for key in ("a\r\nb", "a\nb", "a\tb", "a\u001bb"):
            r = admin.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": key,
                                                      "assignee": "SYT"})
            assert r.status_code == 422, (key, r.text)
            assert [e["field"] for e in r.json()["errors"]] == ["business_key"]
        made = admin.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": "esc/SYT",
                                                     "assignee": "SYT"}).json()
    database = api.app.settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:  # a reason stored behind the engine's back (verify says so)
        db.execute("DROP TRIGGER history_no_update")
        db.execute("UPDATE history SET reason = 'x' || char(27) || '[2J' || char(7) || char(0) WHERE instance_id = ?",
                   (made["id"],))
    out = CliRunner().invoke(cli, ["--db", api.app.settings.database_url, "audit", "history", str(made["id"])])
    assert out.exit_code == 0, out.output
    assert "x\\x1b[2J\\x07\\x00" in out.output
    assert not any(c in out.output for c in "\x1b\x07\x00")
