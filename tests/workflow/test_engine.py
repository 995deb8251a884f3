"""The engine's rules on a real SQLite file: each refusal is its own error and writes nothing."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from definitions import NotFound, Role
from store import SqlStore
from tests.conftest import ADMIN, AUDITOR, COMMITTEE, OFFICER_SNV, OFFICER_SYT, SUPERSEDED, SYSTEM
from workflow import (
    PROVINCE_TZ,
    Actor,
    AgencyMismatch,
    DuplicateBusinessKey,
    Engine,
    EventNotAllowed,
    GuardFailed,
    IdempotencyKeyReused,
    InstanceRecord,
    PayloadInvalid,
    RoleNotAllowed,
    SimulatedClock,
    VersionConflict,
)
from workflow.guards import GUARDS, GuardContext

ANSWER = {"document": "12/SYT-KHTC", "position": "agree_with_changes",
          "additions": "Bổ sung nhiệm vụ: ứng dụng công nghệ cao trong nuôi trồng thủy sản"}


def feedback(engine: Engine, key: str = "cat-2022/SYT", assignee: str = "SYT") -> InstanceRecord:
    return engine.start("agency_feedback", key, assignee, ADMIN, data={"tên": "Sở Y tế"})


def received(engine: Engine) -> InstanceRecord:
    instance = feedback(engine)
    return engine.fire(instance.id, "record_receipt", OFFICER_SYT, payload={"received_on": "2022-12-15"}).instance


def unchanged(store: SqlStore, before: InstanceRecord) -> bool:
    after = store.get_instance(before.id)
    return after == before and len(store.history(before.id)) == before.version


def test_start_creates_the_initial_state_and_first_history_row(engine: Engine, store: SqlStore) -> None:
    instance = feedback(engine)
    assert (instance.state, instance.version, instance.assignee) == ("sent", 1, "SYT")
    [row] = store.history(instance.id)
    assert (row.seq, row.event, row.from_state, row.to_state, row.actor_id) == (1, "@start", None, "sent", ADMIN.id)
    assert store.get_instance(instance.id).head_hash == row.hash


def test_fire_moves_state_bumps_version_and_chains_history(engine: Engine, store: SqlStore,
                                                           clock: SimulatedClock) -> None:
    instance = received(engine)
    clock.advance(dt.timedelta(days=3))
    result = engine.fire(instance.id, "answer", OFFICER_SYT, payload=ANSWER, request_id="req-1")
    assert (result.instance.state, result.instance.version) == ("answered", 3)
    rows = store.history(instance.id)
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[2].prev_hash == rows[1].hash
    assert rows[2].at == clock.now()
    assert (rows[2].actor_role, rows[2].actor_agency, rows[2].request_id) == ("officer", "SYT", "req-1")
    assert store.get_instance(instance.id).data["received_on"] == "2022-12-15"


def test_event_not_allowed_lists_the_allowed_events(engine: Engine, store: SqlStore) -> None:
    instance = feedback(engine)
    with pytest.raises(EventNotAllowed) as caught:
        engine.fire(instance.id, "answer", OFFICER_SYT, payload=ANSWER)
    assert caught.value.allowed == ("record_receipt",)
    assert (caught.value.state, caught.value.event, caught.value.instance_id) == ("sent", "answer", instance.id)
    assert "allowed events: record_receipt" in str(caught.value)
    assert unchanged(store, instance)


def test_unknown_event_is_not_allowed(engine: Engine) -> None:
    instance = feedback(engine)
    with pytest.raises(EventNotAllowed, match="allowed events: record_receipt"):
        engine.fire(instance.id, "explode", ADMIN)


def test_role_not_allowed(engine: Engine, store: SqlStore) -> None:
    instance = received(engine)
    for actor in (COMMITTEE, AUDITOR):
        with pytest.raises(RoleNotAllowed) as caught:
            engine.fire(instance.id, "answer", actor, payload=ANSWER)
        assert caught.value.roles == ("officer", "admin")
    assert unchanged(store, instance)


def test_officer_of_another_agency_is_refused(engine: Engine, store: SqlStore) -> None:
    instance = received(engine)
    with pytest.raises(AgencyMismatch, match="officer of SNV may act only on its own agency's"):
        engine.fire(instance.id, "answer", OFFICER_SNV, payload=ANSWER)
    assert unchanged(store, instance)


def test_payload_errors_list_every_bad_field(engine: Engine, store: SqlStore) -> None:
    instance = received(engine)
    bad = {"document": "không số", "position": "maybe", "surprise": 1}
    with pytest.raises(PayloadInvalid) as caught:
        engine.fire(instance.id, "answer", OFFICER_SYT, payload=bad)
    fields = dict(caught.value.errors)
    assert set(fields) == {"surprise", "document", "position"}
    assert fields["position"] == "must be one of agree, agree_with_changes, disagree"
    assert unchanged(store, instance)


def test_reason_required(engine: Engine, store: SqlStore) -> None:
    instance = received(engine)
    with pytest.raises(PayloadInvalid, match="reason: required for this event"):
        engine.fire(instance.id, "close_window", SYSTEM, reason="  ")
    assert engine.fire(instance.id, "close_window", SYSTEM, reason="hết 20 ngày").instance.state == "no_response"


def test_guard_false_is_refused(store: SqlStore, clock: SimulatedClock) -> None:
    def never(ctx: GuardContext) -> str | None:
        return "the committee has not met yet"

    engine = Engine(store, clock, guards={**GUARDS, "has_document": never})

    engine.load_definition_text((SUPERSEDED / "agency_feedback.yaml").read_text(), "agency_feedback.yaml")
    instance = received(engine)
    with pytest.raises(GuardFailed) as caught:
        engine.fire(instance.id, "answer", OFFICER_SYT, payload=ANSWER)
    assert caught.value.guard == "has_document"
    assert "the committee has not met yet" in str(caught.value)
    assert unchanged(store, instance)


def test_stale_expected_version_conflicts(engine: Engine, store: SqlStore) -> None:
    instance = received(engine)
    with pytest.raises(VersionConflict) as caught:
        engine.fire(instance.id, "answer", OFFICER_SYT, payload=ANSWER, expected_version=1)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert unchanged(store, instance)
    assert engine.fire(instance.id, "answer", OFFICER_SYT, payload=ANSWER, expected_version=2).instance.version == 3


def test_idempotency_key_returns_the_first_result_and_writes_nothing(engine: Engine, store: SqlStore,
                                                                     clock: SimulatedClock) -> None:
    instance = received(engine)
    first = engine.fire(instance.id, "answer", OFFICER_SYT, payload=ANSWER, idempotency_key="k-1")
    clock.advance(dt.timedelta(hours=1))
    again = engine.fire(instance.id, "answer", OFFICER_SYT, payload=ANSWER, idempotency_key="k-1")
    assert again.replayed
    assert not first.replayed
    assert again.record == first.record
    assert again.instance.version == first.instance.version
    assert len(store.history(instance.id)) == 3
    with pytest.raises(IdempotencyKeyReused):
        engine.fire(instance.id, "answer", OFFICER_SYT, payload={**ANSWER, "position": "agree"},
                    idempotency_key="k-1")


def test_duplicate_business_key_is_refused(engine: Engine) -> None:
    feedback(engine)
    with pytest.raises(DuplicateBusinessKey, match="cat-2022/SYT"):
        feedback(engine)
    assert feedback(engine, key="cat-2022/SNV", assignee="SNV").id > 0


def test_start_requires_admin_or_system(engine: Engine) -> None:
    with pytest.raises(RoleNotAllowed):
        engine.start("agency_feedback", "x", "SYT", OFFICER_SYT)
    assert engine.start("agency_feedback", "y", "SYT", SYSTEM).state == "sent"


def test_start_checks_its_arguments(engine: Engine) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        engine.start("agency_feedback", " padded ", "not a code", ADMIN)
    assert {f for f, _ in caught.value.errors} == {"business_key", "assignee"}
    with pytest.raises(NotFound, match="no definition 'nope'"):
        engine.start("nope", "k", "SYT", ADMIN)


def test_unknown_instance(engine: Engine) -> None:
    with pytest.raises(NotFound, match="no instance 999"):
        engine.fire(999, "answer", ADMIN)


def test_vietnamese_text_round_trips_unchanged(engine: Engine, store: SqlStore) -> None:
    instance = received(engine)
    text = "Đề nghị đưa ra khỏi danh mục: nhiệm vụ “Ứng dụng AI” – không phù hợp quy hoạch ngành Y tế 🙂"
    engine.fire(instance.id, "answer", OFFICER_SYT, payload={**ANSWER, "removals": text})
    row = store.history(instance.id)[-1]
    assert row.payload["removals"] == text
    assert row.payload["additions"] == ANSWER["additions"]
    assert store.get_instance(instance.id).data["removals"] == text


def test_decomposed_vietnamese_is_stored_as_nfc(engine: Engine, store: SqlStore) -> None:
    instance = received(engine)
    decomposed = unicodedata.normalize("NFD", "Sở Khoa học và Công nghệ")
    engine.fire(instance.id, "answer", OFFICER_SYT, payload={**ANSWER, "additions": decomposed})
    assert store.history(instance.id)[-1].payload["additions"] == "Sở Khoa học và Công nghệ"


def test_payload_types_are_normalised(engine: Engine, store: SqlStore) -> None:
    instance = engine.start("catalogue_draft", "catalogue/2022", "SKHCN", ADMIN)
    payload = {"document": "1234/SKHCN-QLKH", "task_count": 42, "estimated_budget": "15000.50"}
    engine.fire(instance.id, "send_for_consultation", ADMIN, payload=payload)
    assert store.history(instance.id)[-1].payload == payload
    with pytest.raises(PayloadInvalid) as caught:
        engine.fire(instance.id, "consolidate", ADMIN, payload={"task_count": 1})
    assert caught.value.errors == (("task_count", "unknown field (fields: none)"),)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("task_count", 0, "must be at least 1"),
    ("task_count", True, "must be a number, not a boolean"),
    ("task_count", "12", "must be a whole number, not '12'"),
    ("estimated_budget", 1.5, "must be a decimal written as a string"),
    ("estimated_budget", "-1", "must be at least 0"),
    ("estimated_budget", "abc", "'abc' is not a decimal number"),
    ("document", "472/QĐ UBND", "is not a document reference"),
])
def test_payload_field_rules(engine: Engine, field: str, value: object, message: str) -> None:
    instance = engine.start("catalogue_draft", "catalogue/2022", "SKHCN", ADMIN)
    payload = {"document": "1234/SKHCN-QLKH", "task_count": 42, field: value}
    with pytest.raises(PayloadInvalid) as caught:
        engine.fire(instance.id, "send_for_consultation", ADMIN, payload=payload)
    assert [f for f, _ in caught.value.errors] == [field]
    assert message in caught.value.errors[0][1]


def test_a_document_is_recorded_by_its_parts_each_checked(engine: Engine, store: SqlStore,
                                                          clock: SimulatedClock) -> None:
    today = clock.now().astimezone(PROVINCE_TZ).date()
    instance = engine.start("catalogue_draft", "catalogue/2022", "SKHCN", ADMIN)
    bad = {"number": "không số", "issued_on": "15/12/2022", "signed_by": "x", "summary": "dòng 1\ndòng 2"}
    with pytest.raises(PayloadInvalid) as caught:
        engine.fire(instance.id, "send_for_consultation", ADMIN, payload={"document": bad, "task_count": 1})
    assert [field for field, _ in caught.value.errors] == [
        "document.signed_by", "document.number", "document.issued_on", "document.summary"]  # every part named
    with pytest.raises(PayloadInvalid) as caught:
        engine.fire(instance.id, "send_for_consultation", ADMIN, payload={"document": {"summary": "x"},
                                                                          "task_count": 1})
    assert caught.value.errors == (("document.number", "required"), ("document.issued_on", "required"))
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    with pytest.raises(PayloadInvalid) as caught:  # a document cannot be dated after today (province time)
        engine.fire(instance.id, "send_for_consultation", ADMIN,
                    payload={"document": {"number": "12/SKHCN-QLKH", "issued_on": tomorrow}, "task_count": 1})
    assert [field for field, _ in caught.value.errors] == ["document.issued_on"]
    assert "is after today" in caught.value.errors[0][1]
    assert unchanged(store, instance)
    document = {"number": " 12/SKHCN-QLKH ", "issued_on": today.isoformat(), "summary": "  V/v lấy ý kiến ",
                "signer": "Giám đốc Nguyễn Văn A"}
    engine.fire(instance.id, "send_for_consultation", ADMIN, payload={"document": document, "task_count": 1})
    assert store.history(instance.id)[-1].payload["document"] == {
        "number": "12/SKHCN-QLKH", "issued_on": today.isoformat(), "summary": "V/v lấy ý kiến",
        "signer": "Giám đốc Nguyễn Văn A"}  # trimmed; dated before the task's last event is allowed


def test_instances_stay_on_the_definition_version_they_started_with(engine: Engine, store: SqlStore) -> None:
    old = feedback(engine)

    text = (SUPERSEDED / "agency_feedback.yaml").read_text(encoding="utf-8")
    v2 = text.replace("version: 1", "version: 2").replace('label: "Gửi văn bản góp ý"', 'label: "Góp ý (mẫu mới)"')
    engine.load_definition_text(v2, "agency_feedback.v2.yaml")
    new = feedback(engine, key="cat-2023/SYT")
    assert (old.definition_version, new.definition_version) == (1, 2)
    engine.fire(old.id, "record_receipt", OFFICER_SYT, payload={"received_on": "2022-12-15"})
    assert store.history(old.id)[-1].definition_version == 1


def test_a_system_actor_is_still_bound_by_the_definition(engine: Engine) -> None:
    instance = feedback(engine)
    with pytest.raises(RoleNotAllowed):
        engine.fire(instance.id, "record_receipt", Actor("system:timer", Role.SYSTEM),
                    payload={"received_on": "2022-12-15"})
