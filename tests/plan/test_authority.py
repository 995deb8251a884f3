"""Facts with authority: an act takes effect on its document's date, no agency moves its own clock, extensions and
corrections are decisions of the body entitled to make them, and the duty's acts belong to the body that owes it.

Each of the four reproductions of the issue that asked for this (an answer counted late because it was typed late;
an agency restarting its own 20 days years later; a consultation window counted from the typing; an extension
without a date or a decider) is run again here and must give the true answer."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from definitions import Role
from service.report import status_report
from service.verification import verify_all
from store import SqlStore
from tests.conftest import ADMIN, COMMITTEE
from workflow import Actor, Deadlines, Engine, PayloadInvalid, Refused, RoleNotAllowed, SimulatedClock
from workflow.calendar import PROVINCE_TZ, end_of_day
from workflow.facts import Facts
from workflow.obligations import replay

TODAY = "2026-12-02"


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), PROVINCE_TZ)


def officer(code: str) -> Actor:
    return Actor(f"officer@{code.lower()}", Role.OFFICER, code)


def doc(number: str, day: str) -> dict[str, str]:
    return {"number": number, "issued_on": day}


def categories(engine: Engine, store: SqlStore, clock: SimulatedClock, as_of: dt.date | None = None,
               known_at: dt.datetime | None = None) -> dict[str, int]:
    report = status_report(engine, store, clock.now(), as_of, known_at)
    return {k: v for k, v in report.totals.items() if k in ("done_on_time", "done_late", "within_deadline",
                                                             "overdue") and v}


@pytest.fixture
def planned(registered: Engine) -> Engine:
    registered.standing_body = "SKHCN"
    return registered


def consulted(engine: Engine, clock: SimulatedClock, agency: str = "SYT") -> int:
    """A consulted agency's answer duty, sent on 14/12/2022 and entered today (02/12/2026)."""
    clock.set(at(TODAY))
    return engine.start("catalogue_feedback", f"2022/danh-muc/{agency}", agency, ADMIN,
                        effective_on=dt.date(2022, 12, 14)).id


def test_an_act_takes_effect_on_its_documents_date_not_the_day_it_is_typed(planned: Engine, store: SqlStore,
                                                                           clock: SimulatedClock) -> None:
    child = consulted(planned, clock)
    receipt = planned.fire(child, "record_receipt", officer("SYT"), payload={"received_on": "2022-12-15"})
    assert receipt.record.effective_on == "2022-12-15"  # the register's date, without --effective-on
    answer = planned.fire(child, "answer", officer("SYT"), payload={
        "document": doc("77/SYT-KHTC", "2022-12-20"), "position": "agree"})
    assert (answer.record.effective_on, answer.record.at) == ("2022-12-20", clock.now())
    assert categories(planned, store, clock) == {"done_on_time": 1}
    assert categories(planned, store, clock, dt.date(2022, 12, 31)) == {"done_on_time": 1}
    # a document dated after today, or before the previous act, is refused and names the part that said it
    other = consulted(planned, clock, "SNV")
    planned.fire(other, "record_receipt", officer("SNV"), payload={"received_on": "2022-12-15"})
    with pytest.raises(PayloadInvalid) as refused:
        planned.fire(other, "answer", officer("SNV"), payload={"document": doc("5/SNV", "2022-12-10"),
                                                               "position": "agree"})
    assert [f for f, _ in refused.value.errors] == ["document.issued_on"]


def test_an_agency_stating_a_late_receipt_does_not_restart_its_own_clock(planned: Engine, store: SqlStore,
                                                                          clock: SimulatedClock) -> None:
    clock.set(at("2022-12-14"))
    child = planned.start("catalogue_feedback", "2022/danh-muc/SYT", "SYT", ADMIN).id
    deadlines = Deadlines(planned)
    clock.set(at("2023-01-10"))
    assert [o.kind for o in deadlines.fire_due() if o.kind == "escalation"] == ["escalation"]
    presumed = end_of_day(dt.date(2023, 1, 9))  # 19/12 presumed + 20 days = Sunday 08/01 → Monday 09/01
    assert store.get_instance(child).due_at == presumed
    clock.set(at(TODAY))
    planned.fire(child, "record_receipt", officer("SYT"), payload={"received_on": "2026-12-01"})
    instance = store.get_instance(child)
    assert instance.data["@receipt_claim"]["started_on"] == "2026-12-01"  # kept as a claim beside the presumption
    with store.transaction() as uow:
        [answer] = uow.obligations_of(child)
    assert (answer.last_day, answer.presumed) == (dt.date(2023, 1, 9), True)
    assert store.history(child)[-1].obligations[0]["op"] == "claim"
    planned.fire(child, "answer", officer("SYT"), payload={"document": doc("9/SYT", "2026-12-02"),
                                                           "position": "agree"})
    assert categories(planned, store, clock) == {"done_late": 1}
    # the escalation is closed beside the satisfied obligation, saying why
    with store.engine.connect() as c:
        assert c.execute(text("SELECT status, note FROM escalations")).all() == [
            ("acknowledged", "Nghĩa vụ đã được thực hiện ngày 02/12/2026 (quá hạn)")]
    assert store.history(child)[-1].payload["@escalations_closed"] == [1]
    # only the standing body (or the Committee) decides on the claim; never the agency that made it
    facts = Facts(planned)
    clock.advance(dt.timedelta(hours=1))
    with pytest.raises(RoleNotAllowed):
        facts.decide_claim(child, officer("SYT"), accept=True, reason="chúng tôi nhận muộn")
    row = facts.decide_claim(child, officer("SKHCN"), accept=True, reason="Sổ văn bản đến của Sở Y tế xác nhận",
                             document=doc("12/SKHCN-VP", "2026-12-02"))
    assert row.event == "@receipt_claim_accepted"
    assert categories(planned, store, clock) == {"done_on_time": 1}  # 20 days from 01/12/2026
    assert categories(planned, store, clock, known_at=row.at - dt.timedelta(seconds=1)) == {"done_late": 1}
    assert verify_all(store).ok


def test_a_consultation_window_counts_from_the_day_the_draft_was_sent(planned: Engine, store: SqlStore,
                                                                       clock: SimulatedClock) -> None:
    clock.set(at(TODAY))
    parent = planned.start("catalogue_consultation", "2022/danh-muc", "SKHCN", ADMIN, effective_on=dt.date(
        2022, 12, 1), data={"consulted": ["SYT"], "due": {"end_of_month": "2022-12"}}).id
    planned.fire(parent, "send_for_consultation", officer("SKHCN"), payload={
        "document": doc("2233/SKHCN-QLKH", "2022-12-14"), "task_count": 12})
    window = next(t for t in store.list_timers(parent) if t.name == "window")
    assert window.base_due == end_of_day(dt.date(2023, 1, 13))  # 30 days from 14/12/2022, not from today
    Deadlines(planned).fire_due()
    assert store.get_instance(parent).state == "consolidating"  # the round closed long ago


def received(engine: Engine, clock: SimulatedClock) -> int:
    """SYT received the draft on 15/12/2022: its 20 days end on 04/01/2023."""
    child = consulted(engine, clock)
    clock.set(at("2022-12-16"))
    engine.fire(child, "record_receipt", officer("SYT"), payload={"received_on": "2022-12-15"})
    return child


def test_an_extension_is_asked_by_the_agency_and_decided_by_the_body_that_assigned_the_duty(
        planned: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    clock.set(at("2022-12-10"))
    child = planned.start("catalogue_feedback", "2022/danh-muc/SYT", "SYT", ADMIN).id
    clock.set(at("2022-12-16"))
    planned.fire(child, "record_receipt", officer("SYT"), payload={"received_on": "2022-12-15"})
    facts = Facts(planned)
    clock.set(at("2022-12-28"))
    with pytest.raises(RoleNotAllowed):  # the Committee decides; it does not ask
        facts.request_extension(child, COMMITTEE, reason="x", to_date=dt.date(2023, 1, 20))
    with pytest.raises(PayloadInvalid) as refused:
        facts.request_extension(child, officer("SYT"), reason="", to_date=dt.date(2023, 1, 2))
    assert {f for f, _ in refused.value.errors} == {"reason"}
    with pytest.raises(PayloadInvalid, match="not after the current last day"):
        facts.request_extension(child, officer("SYT"), reason="chờ ý kiến", to_date=dt.date(2023, 1, 2))
    asked = facts.request_extension(child, officer("SYT"), reason="Chờ ý kiến các bệnh viện tuyến tỉnh",
                                    to_date=dt.date(2023, 1, 25), document=doc("88/SYT-KHTC", "2022-12-28"))
    assert (asked.event, asked.payload["current_last_day"], asked.effective_on) == (
        "@extension_requested", "2023-01-04", "2022-12-28")
    with pytest.raises(Refused, match="already waiting"):
        facts.request_extension(child, officer("SYT"), reason="again", to_date=dt.date(2023, 1, 26))
    with pytest.raises(RoleNotAllowed):  # the interested party never decides its own deadline
        facts.decide_extension(child, officer("SYT"), grant=True, reason="x", document="1/SYT")
    clock.set(at("2023-01-03"))
    granted = facts.decide_extension(child, COMMITTEE, grant=True, to_date=dt.date(2023, 1, 20),
                                     reason="Đồng ý gia hạn, rút ngắn còn đến 20/01/2023",
                                     document=doc("15/BCĐ-KHCN", "2023-01-03"))
    assert (granted.payload["from_last_day"], granted.payload["new_last_day"], granted.payload["late"],
            granted.payload["proposed"]) == ("2023-01-04", "2023-01-20", False, "2023-01-25")
    assert store.get_instance(child).due_at == end_of_day(dt.date(2023, 1, 20))
    clock.set(at("2023-01-18"))
    planned.fire(child, "answer", officer("SYT"), payload={"document": doc("91/SYT", "2023-01-18"),
                                                           "position": "agree"})
    assert categories(planned, store, clock) == {"done_on_time": 1}
    assert categories(planned, store, clock, dt.date(2023, 1, 10)) == {"within_deadline": 1}
    assert verify_all(store).ok


def test_an_extension_granted_after_the_deadline_keeps_the_lateness_and_has_a_date(
        planned: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    child = received(planned, clock)
    deadlines = Deadlines(planned)
    clock.set(at("2023-01-06"))
    deadlines.fire_due()  # escalated: the 20 days ended on 04/01/2023
    clock.set(at("2023-01-12"))
    deadlines.extend(child, COMMITTEE, to_date=dt.date(2023, 1, 20), reason="Gia hạn theo đề nghị của Sở Y tế",
                     document=doc("20/BCĐ-KHCN", "2023-01-10"))
    row = store.history(child)[-1]
    assert (row.event, row.effective_on, row.payload["from_last_day"], row.payload["new_last_day"],
            row.payload["late"]) == ("@deadline_extended", "2023-01-10", "2023-01-04", "2023-01-20", True)
    # the same question asked on two days gets the same answer: the decision is dated
    assert categories(planned, store, clock, dt.date(2023, 1, 11)) == {"overdue": 1}
    clock.set(at("2023-01-18"))
    planned.fire(child, "answer", officer("SYT"), payload={"document": doc("91/SYT", "2023-01-18"),
                                                           "position": "agree"})
    assert categories(planned, store, clock) == {"done_late": 1}  # the time already missed stays missed
    [(_, found)] = replay(store.iter_history(), dt.date(2023, 1, 15))[0].items()
    assert (found.extended_to, found.category(end_of_day(dt.date(2023, 1, 15)))) == (dt.date(2023, 1, 20), "overdue")
    assert verify_all(store).ok


def test_a_wrong_receipt_date_is_corrected_by_the_standing_body_and_verify_accepts_it(
        planned: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    clock.set(at("2022-12-14"))
    child = planned.start("catalogue_feedback", "2022/danh-muc/SYT", "SYT", ADMIN).id
    clock.set(at("2022-12-26"))  # typed from memory: the register says 15/12
    wrong = planned.fire(child, "record_receipt", officer("SYT"), payload={"received_on": "2022-12-25"})
    clock.set(at("2023-01-10"))
    planned.fire(child, "answer", officer("SYT"), payload={"document": doc("77/SYT", "2023-01-10"),
                                                           "position": "agree"})
    clock.set(at(TODAY))
    assert categories(planned, store, clock) == {"done_on_time": 1}  # 20 days from 25/12: 14/01/2023
    facts = Facts(planned)
    with pytest.raises(RoleNotAllowed):  # the agency cannot correct its own record
        facts.correct(child, officer("SYT"), seq=wrong.record.seq, field="received_on", value="2022-12-15",
                      reason="x")
    with pytest.raises(PayloadInvalid, match="not a fact of row"):
        facts.correct(child, officer("SKHCN"), seq=wrong.record.seq, field="position", value="x", reason="x")
    before = clock.now()
    clock.advance(dt.timedelta(hours=1))
    fixed = facts.correct(child, officer("SKHCN"), seq=wrong.record.seq, field="received_on", value="2022-12-15",
                          reason="Sổ văn bản đến số 1520 ghi ngày 15/12/2022", document=doc("30/SKHCN-VP", TODAY))
    assert (fixed.event, fixed.payload["from"], fixed.payload["to"], fixed.effective_on) == (
        "@corrected", "2022-12-25", "2022-12-15", "2022-12-15")
    assert store.history(child)[wrong.record.seq - 1] == wrong.record  # the original row stays
    assert categories(planned, store, clock) == {"done_late": 1}  # last day 04/01/2023, answered 10/01
    assert categories(planned, store, clock, dt.date(2023, 1, 5)) == {"overdue": 1}
    assert categories(planned, store, clock, dt.date(2023, 1, 5), known_at=before) == {"within_deadline": 1}
    assert store.get_instance(child).data["received_on"] == "2022-12-15"
    assert verify_all(store).ok
    # an act's own date is corrected the same way: the answer was in fact sent on 03/01/2023
    answer_seq = store.get_instance(child).version - 1
    facts.correct(child, ADMIN, seq=answer_seq, field="effective_on", value="2023-01-03", reason="Ngày gửi trên sổ đi")
    assert categories(planned, store, clock) == {"done_on_time": 1}
    assert categories(planned, store, clock, dt.date(2023, 1, 2)) == {"within_deadline": 1}
    with pytest.raises(PayloadInvalid, match="after today"):
        facts.correct(child, ADMIN, seq=answer_seq, field="effective_on", value="2027-01-01", reason="x")
    assert verify_all(store).ok


def test_the_body_that_owes_a_duty_does_it_and_an_administrator_acts_for_it_only_with_a_reason(
        planned: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    clock.set(at("2022-12-01"))
    parent = planned.start("catalogue_consultation", "2022/danh-muc", "SKHCN", ADMIN,
                           data={"consulted": ["SYT"], "due": {"end_of_month": "2022-12"}})
    instance = store.get_instance(parent.id)
    assert planned.allowed_events(instance, officer("SKHCN")) == ("send_for_consultation", "withdraw")
    assert planned.allowed_events(instance, officer("SYT")) == ()
    with pytest.raises(PayloadInvalid, match="only with a reason"):
        planned.fire(parent.id, "send_for_consultation", ADMIN, payload={"document": "1/SKHCN", "task_count": 3})
    done = planned.fire(parent.id, "send_for_consultation", ADMIN, reason="Sở KH&CN đề nghị nhập thay",
                        payload={"document": "1/SKHCN", "task_count": 3})
    assert done.record.payload["@on_behalf_of"] == {"role": "officer", "agency": "SKHCN"}
