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
