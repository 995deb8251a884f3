"""An import through the application layer on a real SQLite file: the seed's Word document proposed, every duty
decided, submitted by one person, refused to the same person's approval, approved by a second and loaded; the
tasks name the document in their history, the system history records every step, a stale page cannot overwrite a
newer decision, and loading twice creates nothing new."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from definitions import Role
from service.context import App
from service.settings import Settings
from tests.api.conftest import prepared
from workflow import Actor, RoleNotAllowed, SimulatedClock
from workflow.errors import PayloadInvalid, VersionConflict

from .make_docx import seed_document, typed_document

NOW = dt.datetime(2022, 11, 10, 2, tzinfo=dt.UTC)
ADMIN = Actor("account:1:Quản trị", Role.ADMIN)
REVIEWER = Actor("account:2:Nguyễn Văn A", Role.OFFICER, "SKHCN")
APPROVER = Actor("account:3:Trần Thị B", Role.OFFICER, "SKHCN")
STRANGER = Actor("account:4:Lê Văn C", Role.OFFICER, "STC")


@pytest.fixture
def app(tmp_path: Path) -> App:
    return prepared(Settings(database_url=f"sqlite:///{tmp_path / 'import.db'}", sqlite_synchronous="NORMAL"),
                    SimulatedClock(NOW))


def _proposed(app: App, tmp_path: Path) -> int:
    data = seed_document(tmp_path / "ke-hoach.docx").read_bytes()
    return app.uses.plan_imports.propose(REVIEWER, "Kế hoạch KHCN.docx", data)


def test_review_submit_approve_by_a_second_person_and_load(app: App, tmp_path: Path) -> None:
    imports = app.uses.plan_imports
    import_id = _proposed(app, tmp_path)
    view = imports.review(REVIEWER, import_id)
    assert view["status"] == "review"
    assert view["pending"] == len(view["items"]) > 20
    assert "Văn bản chưa ghi ngày ban hành" in view["document_flags"]
    imports.configure(REVIEWER, import_id, view["version"], "ke-hoach-khcn-nhap", view["settings"]["title"],
                      "Quyết định số 472/QĐ-UBND", dt.date(2022, 11, 1), "SKHCN")
    version = imports.review(REVIEWER, import_id)["version"]
    # the conditional III.3 and the relative feedback duty: one rejected, one accepted (started by its event)
    imports.decide(REVIEWER, import_id, version, "II.2.a-1", "accepted", deadline="thường xuyên")
    with pytest.raises(VersionConflict):  # a stale page
        imports.decide(REVIEWER, import_id, version, "II.2.a-2", "rejected")
    version += 1
    with pytest.raises(PayloadInvalid) as refused:
        imports.decide(REVIEWER, import_id, version, "II.2.a-2", "accepted", lead=["XYZ"], deadline="sắp tới")
    assert {field for field, _ in refused.value.errors} == {"lead", "deadline"}  # both problems at once
    imports.decide_all(REVIEWER, import_id, version, "accepted")
    version += 1
    with pytest.raises(RoleNotAllowed):
        imports.submit(STRANGER, import_id, version)
    imports.submit(REVIEWER, import_id, version)
    version += 1
    with pytest.raises(RoleNotAllowed, match="four eyes"):
        imports.approve(REVIEWER, import_id, version)
    result = imports.approve(APPROVER, import_id, version)
    assert len(result.created) > 40
    assert "iii-1" in " ".join(result.schedules_added)
    view = imports.review(APPROVER, import_id)
    assert view["status"] == "loaded"
    assert view["approved_by"] == APPROVER.id
    founding = [i for i in app.store.list_instances(definition_id="founding", limit=10)]
    assert len(founding) == 2
    assert founding[0].data["source_document"]["name"] == "Kế hoạch KHCN.docx"
    start = app.store.history(founding[0].id)[0]  # who started it: the import, approved by the second person
    assert start.actor_id == f"system:plan-import:{import_id}|{APPROVER.id}"
    consultation = app.store.list_instances(definition_id="catalogue_consultation", limit=10)[0]
    assert "STC" in consultation.data["consulted"]  # the bodies the 20-day feedback duty names
    for event in ("plan_import_proposed", "plan_import_submitted"):
        assert app.store.last_system_event(event) is not None
    loaded = app.store.last_system_event("plan_import_loaded")
    assert loaded is not None
    assert loaded[1]["document"]["name"] == "Kế hoạch KHCN.docx"
    assert loaded[1]["submitted_by"] == REVIEWER.id
    assert app.uses.audit.verify().ok is True  # the system history's chain holds with the import's rows
    # approved twice (a second click): nothing new
    assert len(app.store.list_instances(limit=1000)) == len(result.created)


def test_nothing_is_submitted_while_a_duty_is_undecided_or_cannot_load(app: App, tmp_path: Path) -> None:
    imports = app.uses.plan_imports
    import_id = _proposed(app, tmp_path)
    version = imports.review(ADMIN, import_id)["version"]
    with pytest.raises(PayloadInvalid) as refused:
        imports.submit(ADMIN, import_id, version)
    messages = " ".join(why for _, why in refused.value.errors)
    assert "not yet accepted or rejected" in messages
    assert "ngày ban hành" in messages


def test_only_administrators_and_the_standing_body_import(app: App, tmp_path: Path) -> None:
    with pytest.raises(RoleNotAllowed):
        app.uses.plan_imports.propose(STRANGER, "x.docx", seed_document(tmp_path / "x.docx").read_bytes())


def test_a_body_the_registry_lacks_is_added_by_an_administrator_and_leads(app: App, tmp_path: Path) -> None:
    imports = app.uses.plan_imports
    data = typed_document(tmp_path / "binh-minh.docx").read_bytes()
    import_id = imports.propose(ADMIN, "binh-minh.docx", data)
    view = imports.review(ADMIN, import_id)
    contest = next(i for i in view["items"] if i["ref"] == "PL1.II.2")
    assert contest["unknown"] == ["Tỉnh đoàn"]
    imports.decide_all(ADMIN, import_id, view["version"], "accepted")
    view = imports.review(ADMIN, import_id)
    assert ("PL1.II.2", "chưa có cơ quan chủ trì trong danh mục (chưa có: Tỉnh đoàn)") in view["problems"]
    with pytest.raises(RoleNotAllowed):  # the registry is the administrators'
        imports.add_body(REVIEWER, import_id, view["version"], "PL1.II.2", "TDOAN", "Tỉnh đoàn", "association")
    with pytest.raises(PayloadInvalid):
        imports.add_body(ADMIN, import_id, view["version"], "PL1.II.2", "tỉnh đoàn!", "Tỉnh đoàn", "association")
    imports.add_body(ADMIN, import_id, view["version"], "PL1.II.2", "TDOAN", "Tỉnh đoàn", "association")
    view = imports.review(ADMIN, import_id)
    contest = next(i for i in view["items"] if i["ref"] == "PL1.II.2")
    assert contest["codes"] == ["TDOAN"]
    assert contest["unknown"] == []
    assert "TDOAN" in app.store.agency_names()
    assert app.uses.audit.verify().ok is True  # the registry's new row is replayed from the system history
