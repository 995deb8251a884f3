"""Plan imports over HTTP (SQLite and PostgreSQL): the seed's Word document posted, duties decided, the plan's date
set, submitted by one key and approved by another person's key, the plan loaded; a stale version is a 409, a
deadline the grammar cannot read a 422 naming the field, a file that is not a Word document a 422, an officer of
another agency a 403."""

from __future__ import annotations

from tests.plan_import.make_docx import FIXTURE

from .conftest import Api

OCTETS = {"Content-Type": "application/octet-stream"}


def test_import_decide_submit_and_approve_over_http(api: Api) -> None:
    second = api.app.store.create_key("second-admin", "admin", None, api.app.clock.now())[1]
    with api.client("admin") as admin:
        posted = admin.post("/api/v1/plan-imports", params={"name": "ke-hoach.docx"}, content=FIXTURE.read_bytes(),
                            headers=OCTETS)
        assert posted.status_code == 201, posted.text
        view = posted.json()
        assert view["status"] == "review"
        assert view["pending"] == len(view["items"])
        path = f"/api/v1/plan-imports/{view['id']}"
        stale = admin.post(f"{path}/decisions", json={"version": view["version"] + 5, "ref": "II.4.a-1",
                                                      "status": "accepted"})
        assert stale.status_code == 409
        wrong = admin.post(f"{path}/decisions", json={"version": view["version"], "ref": "II.4.a-1",
                                                      "status": "accepted", "deadline": "sắp tới"})
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["field"] == "deadline"
        view = admin.post(f"{path}/decisions", json={"version": view["version"], "ref": "II.2.a-5",
                                                     "status": "rejected"}).json()
        view = admin.post(f"{path}/settings", json={
            "version": view["version"], "plan_id": "ke-hoach-nhap-api", "title": "Kế hoạch KH&CN",
            "implements": "472/QĐ-UBND", "issued_on": "2022-11-01", "standing_body": "SKHCN"}).json()
        view = admin.post(f"{path}/accept-rest", json={"version": view["version"]}).json()
        assert view["pending"] == 0
        submitted = admin.post(f"{path}/submit", json={"version": view["version"]})
        assert submitted.status_code == 200, submitted.text
        version = submitted.json()["version"]
        assert admin.post(f"{path}/approve", json={"version": version}).status_code == 403  # four eyes
        approved = admin.post(f"{path}/approve", json={"version": version},
                              headers={"Authorization": f"Bearer {second}"})
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "loaded"
    assert len(api.app.store.list_instances(definition_id="founding", limit=10)) == 2


def test_not_a_word_document_and_another_agency(api: Api) -> None:
    with api.client("admin") as admin:
        assert admin.post("/api/v1/plan-imports", content=b"%PDF-1.4 a scan", headers=OCTETS).status_code == 422
        assert admin.get("/api/v1/plan-imports/99").status_code == 404
    with api.client("officer") as officer:
        assert officer.post("/api/v1/plan-imports", content=FIXTURE.read_bytes(),
                            headers=OCTETS).status_code == 403
