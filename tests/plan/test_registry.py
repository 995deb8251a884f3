"""The agency registry: names over time, a merger moving open tasks, the 2025 reorganisation file."""

from __future__ import annotations

import datetime as dt

import pytest

from definitions import DefinitionInvalid, Role, load_data
from definitions.agencies import Certainty, Change, ChangeKind, Registry, Reorganisation
from store import SqlStore
from tests.conftest import ADMIN, OFFICER_SYT
from tests.plan.conftest import REGISTRY, REORG
from workflow import Actor, Engine, Refused, RoleNotAllowed, SimulatedClock, verify
from workflow.agencies import Agencies


def test_the_registry_has_every_body_with_its_name_as_written(registered: Engine) -> None:
    agencies = Agencies(registered)
    assert agencies.get("SKHCN").current.name == "Sở Khoa học và Công nghệ"
    assert agencies.get("SVHTTDL").current.name == "Sở Văn hóa, Thể thao và Du lịch"
    assert agencies.get("BODA").current.name == "Ban Xây dựng năng lực và Thực hiện các dự án ODA ngành nước"
    registry = load_data(REGISTRY, Registry)
    assert len(registry.steering_committee.members) == 18
    assert sum(1 for a in registry.agencies if a.kind.value == "district") == 7
    assert Agencies(registered).load(registry, ADMIN) == ([], [a.code for a in registry.agencies])


def test_a_changed_name_in_the_file_is_refused(registered: Engine, tmp_path: object) -> None:
    registry = load_data(REGISTRY, Registry)
    changed = registry.model_copy(update={"agencies": tuple(
        a.model_copy(update={"name": "Sở Y tế tỉnh"}) if a.code == "SYT" else a for a in registry.agencies)})
    with pytest.raises(Refused, match="use `workflow agencies rename`"):
        Agencies(registered).load(changed, ADMIN)


def test_a_merger_moves_open_tasks_and_keeps_the_old_history(registered: Engine, store: SqlStore,
                                                             clock: SimulatedClock) -> None:
    engine = registered
    open_one = engine.start("implementation_plan", "k/STTTT", "STTTT", ADMIN,
                            data={"due": {"end_of_month": "2025-12"}})  # still running at the merger: it moves
    done = engine.start("implementation_plan", "k2/STTTT", "STTTT", ADMIN, data={"due": {"end_of_month": "2022-12"}})
    engine.fire(done.id, "issue", Actor("officer@stttt", Role.OFFICER, "STTTT"), payload={"document": "12/KH-STTTT"})
    history_before = store.history(open_one.id)
    change = Change(op=ChangeKind.MERGE, code="STTTT", into="SKHCN", effective=dt.date(2025, 3, 1),
                    certainty=Certainty.FACT, note="hợp nhất")
    clock.set(dt.datetime(2025, 3, 1, 2, tzinfo=dt.UTC))
    result = Agencies(engine).apply(change, ADMIN, "15/QĐ-UBND")
    assert result.moved == (open_one.id,)
    assert store.get_instance(open_one.id).assignee == "SKHCN"
    assert store.get_instance(done.id).assignee == "STTTT"  # finished work stays with who did it
    rows = store.history(open_one.id)
    assert rows[: len(history_before)] == history_before  # nothing rewritten
    assert (rows[-1].event, rows[-1].payload["from"], rows[-1].payload["to"], rows[-1].payload["document"]) == (
        "@reassigned", "STTTT", "SKHCN", "15/QĐ-UBND")
    assert rows[-1].effective_on == "2025-03-01"
    assert rows[-1].obligations == [{"op": "transfer", "name": "issue", "to": "SKHCN"}]
    with store.transaction() as uow:
        assert [o.agency for o in uow.obligations_of(open_one.id)] == ["SKHCN"]
    assert list(verify(store.iter_history(), store.chain_heads())) == []
    assert Agencies(engine).apply(change, ADMIN, "15/QĐ-UBND").applied is False  # twice: nothing
    agency = Agencies(engine).get("STTTT")
    assert (agency.status, agency.successor) == ("merged", "SKHCN")
    clock.set(dt.datetime(2025, 4, 2, tzinfo=dt.UTC))
    with pytest.raises(Refused, match="is merged"):
        Agencies(engine).apply(change.model_copy(update={"effective": dt.date(2025, 4, 1)}), ADMIN, "16/QĐ-UBND")


def test_the_name_on_any_date(registered: Engine, clock: SimulatedClock) -> None:
    clock.set(dt.datetime(2025, 3, 2, tzinfo=dt.UTC))
    agencies = Agencies(registered)
    agencies.apply(Change(op=ChangeKind.RENAME, code="SNNPTNT", name="Sở Nông nghiệp và Môi trường",
                          effective=dt.date(2025, 3, 1), certainty=Certainty.FACT, note="tên mới"), ADMIN, "1/QĐ-UBND")
    assert agencies.name_on("SNNPTNT", dt.date(2025, 2, 28)) == "Sở Nông nghiệp và Phát triển nông thôn"
    assert agencies.name_on("SNNPTNT", dt.date(2025, 3, 1)) == "Sở Nông nghiệp và Môi trường"


def test_the_2025_reorganisation_file_marks_facts_and_assumptions(registered: Engine, clock: SimulatedClock) -> None:
    clock.set(dt.datetime(2025, 7, 2, tzinfo=dt.UTC))
    reorg = load_data(REORG, Reorganisation)
    certainties = {c.certainty for c in reorg.changes}
    assert certainties == {Certainty.FACT, Certainty.ASSUMPTION}
    assert all(c.note for c in reorg.changes)
    for change in sorted(reorg.changes, key=lambda c: c.effective):
        assert Agencies(registered).apply(change, ADMIN).applied
    assert all(c.document for c in reorg.changes)  # every change names its deciding document
    assert Agencies(registered).get("PRTC").status == "retired"
    assert Agencies(registered).name_on("UBND", dt.date(2025, 7, 1)) == "Ủy ban nhân dân tỉnh Khánh Hòa"


def test_only_admins_change_the_registry(registered: Engine) -> None:
    change = Change(op=ChangeKind.RENAME, code="SYT", name="X", effective=dt.date(2025, 1, 1),
                    certainty=Certainty.FACT, note="x")
    with pytest.raises(RoleNotAllowed):
        Agencies(registered).apply(change, OFFICER_SYT)


def test_a_broken_registry_file_is_located(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "bad.yaml"
    path.write_text(REGISTRY.read_text(encoding="utf-8").replace("kind: department}", "kind: ministry}", 1),
                    encoding="utf-8")
    with pytest.raises(DefinitionInvalid, match=r"bad.yaml:10:77: agencies\[4\].kind: Input should be"):
        load_data(path, Registry)


def test_listings_keep_merged_agencies(registered: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    clock.set(dt.datetime(2025, 3, 2, tzinfo=dt.UTC))
    change = Change(op=ChangeKind.MERGE, code="STTTT", into="SKHCN", effective=dt.date(2025, 3, 1),
                    certainty=Certainty.FACT, note="hợp nhất")
    Agencies(registered).apply(change, ADMIN, "15/QĐ-UBND")
    names = store.agency_names()
    assert names["STTTT"] == "Sở Thông tin và Truyền thông"
    assert len(names) == 28
