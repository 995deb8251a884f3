"""Attached documents over HTTP: upload the bytes (POST /api/v1/files), then name them in an event's attachments."""

from __future__ import annotations

import hashlib

from tests.api.conftest import Api
from tests.web.test_dashboard import SIGNED_PDF


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
