"""Attached documents over HTTP: upload the bytes (POST /api/v1/files), then name them in an event's attachments."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from tests.api.conftest import Api
from tests.reliability.test_faults import tmpfs
from tests.web.test_dashboard import SIGNED_PDF
from workflow import SimulatedClock


def test_a_document_is_uploaded_then_named_in_the_act_that_it_goes_with(api: Api) -> None:
    with api.client() as admin:
        made = admin.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": "f/SYT",
                                                     "assignee": "SYT"}).json()
        assert admin.post(f"/api/v1/instances/{made['id']}/events", json={
            "event": "record_receipt", "payload": {"received_on": "2023-01-05"},
            "reason": "Nhập thay Sở Y tế theo sổ văn bản đến"}).status_code == 200  # on its behalf, with a reason
    with api.client("officer") as officer:
        up = officer.post("/api/v1/files", params={"name": "Công văn 45-SYT.pdf"}, content=SIGNED_PDF)
        assert up.status_code == 201, up.text
        digest = hashlib.sha256(SIGNED_PDF).hexdigest()
        assert up.json() == {"sha256": digest, "name": "Công văn 45-SYT.pdf", "size": len(SIGNED_PDF), "type": "pdf"}
        bad = officer.post("/api/v1/files", params={"name": "x.pdf"}, content=b"#!/bin/sh\nrm -rf /\n")
        assert bad.status_code == 422
        assert "not a PDF, DOCX or XLSX" in bad.text
        unknown = officer.post(f"/api/v1/instances/{made['id']}/events", json={
            "event": "answer", "payload": {"document": "45/SYT-KHTC", "position": "agree"},
            "attachments": [{"sha256": "0" * 64, "name": "x.pdf"}]})
        assert unknown.status_code == 422
        assert "was uploaded" in unknown.text
        fired = officer.post(f"/api/v1/instances/{made['id']}/events", json={
            "event": "answer", "payload": {"document": "45/SYT-KHTC", "position": "agree"},
            "attachments": [{"sha256": digest, "name": "Công văn 45-SYT (bản ký số).pdf"}]})
        assert fired.status_code == 200, fired.text
        last = officer.get(f"/api/v1/instances/{made['id']}/history").json()[-1]
    assert last["payload"]["@files"] == [{"sha256": digest, "name": "Công văn 45-SYT (bản ký số).pdf",
                                          "size": len(SIGNED_PDF), "type": "pdf"}]
    with api.client("auditor") as auditor:  # auditors change nothing, uploads included
        assert auditor.post("/api/v1/files", content=SIGNED_PDF).status_code == 403


def _pdf(n: int, size: int = 0) -> bytes:
    return SIGNED_PDF + f"\n%% bản số {n}\n".encode() + b"0" * size


def test_uploads_never_attached_have_a_quota_per_account_and_are_removed_after_some_days(api: Api) -> None:
    """Finding 7: an officer's key stored 20 × 10 MB never attached, with no quota and no clean-up."""
    files = [_pdf(n) for n in range(4)]
    api.app.settings.upload_quota_mb = (len(files[0]) * 2.5) / (1024 * 1024)
    with api.client() as admin:
        made = admin.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": "q/SYT",
                                                     "assignee": "SYT"}).json()
        admin.post(f"/api/v1/instances/{made['id']}/events", json={
            "event": "record_receipt", "payload": {"received_on": "2023-01-05"}, "reason": "Nhập thay theo sổ đến"})
    with api.client("officer") as officer, api.client("other_officer") as other:
        shas = [officer.post("/api/v1/files", params={"name": f"{n}.pdf"}, content=f).json().get("sha256")
                for n, f in enumerate(files[:2])]
        over = officer.post("/api/v1/files", params={"name": "2.pdf"}, content=files[2])
        assert over.status_code == 413
        assert over.json()["title"] == "Upload quota exceeded"
        assert "never attached" in over.json()["detail"]
        assert other.post("/api/v1/files", params={"name": "x.pdf"}, content=files[3]).status_code == 201  # its own
        fired = officer.post(f"/api/v1/instances/{made['id']}/events", json={
            "event": "answer", "payload": {"document": "46/SYT-KHTC", "position": "agree"},
            "attachments": [{"sha256": shas[0], "name": "0.pdf"}]})
        assert fired.status_code == 200, fired.text
        again = officer.post("/api/v1/files", params={"name": "2.pdf"}, content=files[2])  # attached ones free it
        assert again.status_code == 201, again.text
    stored = api.app.files
    assert isinstance(api.app.clock, SimulatedClock)
    api.app.clock.advance(dt.timedelta(days=api.app.settings.unattached_file_days, seconds=1))
    done = api.app.ticker(deliver=False).run_once().other  # serve's pass does it once a day
    assert done == [f"removed 3 file(s) uploaded over 7 days ago and never attached "
                    f"({len(files[1]) + len(files[2]) + len(files[3])} bytes)"]
    assert stored.digest(shas[0]) == shas[0]  # attached: kept, and verify still finds it whole
    assert all(stored.digest(hashlib.sha256(f).hexdigest()) is None for f in files[1:])
    assert api.app.uses.audit.verify().ok


def test_no_room_for_files_is_503_with_nothing_stored(api: Api) -> None:
    api.app.settings.files_budget_mb = len(SIGNED_PDF) * 1.5 / (1024 * 1024)
    with api.client("officer") as officer:
        assert officer.post("/api/v1/files", params={"name": "a.pdf"}, content=_pdf(1)).status_code == 201
        full = officer.post("/api/v1/files", params={"name": "b.pdf"}, content=_pdf(2))
    assert full.status_code == 503
    assert full.headers["Retry-After"]
    assert full.json()["title"] == "No room for files"
    assert api.app.files.digest(hashlib.sha256(_pdf(2)).hexdigest()) is None


def test_a_full_disk_under_the_files_is_503_not_500(api: Api, tmp_path: Path) -> None:
    """Finding 10: POST /files on a full disk answered 500. A real 1 MB tmpfs under the files folder."""
    with tmpfs(tmp_path / "small", "1m") as disk:
        api.app.settings.files_folder = disk / "files"
        api.app.settings.files_reserve_mb = 0  # the disk itself says it is full
        api.app.__dict__.pop("files", None)  # the file store is built from the settings once
        with api.client("officer") as officer:
            assert officer.post("/api/v1/files", params={"name": "a.pdf"}, content=_pdf(1, 600_000)).status_code \
                == 201
            full = officer.post("/api/v1/files", params={"name": "b.pdf"}, content=_pdf(2, 600_000))
        assert full.status_code == 503, full.text
        assert full.json()["title"] == "No room for files"
        assert not [p for p in (disk / "files").rglob("*") if p.name.startswith(".incoming-")]  # nothing half-written
        api.app.__dict__.pop("files", None)
