"""Registers of documents in and out, and the province's e-office system posting receipts: signed with the shared
secret, idempotent by its own id, entered in the receiving agency's incoming register with its own number, and
recorded on the task it belongs to as evidence (a receipt acknowledged electronically is not an agency's claim).
A real uvicorn on loopback; the e-office is this test, signing as the e-office would."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from definitions import Role
from service.context import App
from service.settings import Settings
from service.verification import verify_all
from tests.api.conftest import prepared, served
from workflow import Actor, SimulatedClock
from workflow.calendar import PROVINCE_TZ, end_of_day

SECRET = "bí-mật-dùng-chung-với-hệ-thống-văn-phòng-điện-tử"
SKHCN = Actor("officer@skhcn", Role.OFFICER, "SKHCN")


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), PROVINCE_TZ)


class Office:
    """The e-office as the test plays it: posts receipts signed with the shared secret."""

    def __init__(self, url: str, clock: SimulatedClock, secret: str = SECRET) -> None:
        self.url, self.clock, self.secret = url, clock, secret

    def post(self, receipt: dict[str, object], *, secret: str | None = None,
             shift: dt.timedelta = dt.timedelta(0)) -> httpx.Response:
        body = json.dumps(receipt, ensure_ascii=False).encode()
        stamp = str(int((self.clock.now() + shift).timestamp()))
        mac = hmac.new((secret or self.secret).encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        return httpx.post(f"{self.url}/api/v1/integration/receipts", content=body, timeout=30, headers={
            "Content-Type": "application/json", "X-Timestamp": stamp, "X-Signature": f"sha256={mac}"})


@pytest.fixture
def office(tmp_path: Path) -> Iterator[tuple[Office, App, int]]:
    clock = SimulatedClock(at("2022-12-01"))
    app = prepared(Settings(database_url=f"sqlite:///{tmp_path / 'registers.db'}", sqlite_synchronous="NORMAL",
                            eoffice_secret=SECRET, files_folder=tmp_path / "files"), clock)
    parent = app.engine.start("catalogue_consultation", "2022/danh-muc", "SKHCN", Actor("setup", Role.ADMIN),
                              data={"consulted": ["SYT", "SNV"], "due": {"end_of_month": "2022-12"}})
    clock.set(at("2022-12-14"))
    app.engine.fire(parent.id, "send_for_consultation", SKHCN, payload={
        "document": {"number": "2233/SKHCN-QLKH", "issued_on": "2022-12-14"}, "task_count": 64})
    with served(app) as (url, _):
        yield Office(url, clock), app, parent.id


def receipt(**changes: object) -> dict[str, object]:
    return {"id": "vpdt-2022-000123", "agency": "SYT", "number": 1520, "received_on": "2022-12-15",
            "sender": "SKHCN", "document": {"number": "2233/SKHCN-QLKH", "issued_on": "2022-12-14"}, **changes}


def test_a_signed_receipt_is_registered_and_recorded_on_its_task_once(office: tuple[Office, App, int]) -> None:
    post, post_app, parent = office  # the e-office, and the App behind the server
    post.clock.set(at("2022-12-16"))
    first = post.post(receipt())
    assert first.status_code == 200, first.text
    answer = first.json()
    assert (answer["matched"], answer["replayed"]) == (True, False)
    assert (answer["register"]["number"], answer["register"]["registered_on"], answer["register"]["source"]) == (
        1520, "2022-12-15", "eoffice")
    child = next(c for c in post_app.store.list_instances(parent_id=parent) if c.assignee == "SYT")
    row = post_app.store.history(child.id)[-1]
    assert (row.event, row.effective_on, row.actor_id) == ("record_receipt", "2022-12-15", "eoffice:SYT")
    assert row.payload["@register"] == {"direction": "in", "agency": "SYT", "year": 2022, "number": 1520,
                                        "registered_on": "2022-12-15", "source": "eoffice",
                                        "external_id": "vpdt-2022-000123"}
    assert child.due_at == end_of_day(dt.date(2023, 1, 4))  # 20 days from the register's day
    # the same post again: the first answer, nothing written; the same id with other content: refused
    rows = len(post_app.store.history(child.id))
    again = post.post(receipt())
    assert (again.status_code, again.json()["replayed"], again.json()["register"]["number"]) == (200, True, 1520)
    assert len(post_app.store.history(child.id)) == rows
    other = post.post(receipt(number=1521))
    assert other.status_code == 422
    assert len(post_app.store.register_entries("SYT", "in")) == 1
    assert verify_all(post_app.store).ok


def test_a_receipt_without_the_right_signature_is_refused_and_writes_nothing(
        office: tuple[Office, App, int]) -> None:
    post, app, _ = office
    for response in (post.post(receipt(), secret="không-phải-bí-mật"),
                     post.post(receipt(), shift=dt.timedelta(minutes=6)),  # a capture replayed later
                     httpx.post(f"{post.url}/api/v1/integration/receipts", json=receipt(), timeout=30)):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert app.store.register_entries() == [e for e in app.store.register_entries() if e.direction == "out"]
    bad = post.post(receipt(received_on="15/12/2022"))
    assert bad.status_code == 422
    assert "received_on" in bad.text


def test_an_electronic_receipt_is_evidence_not_a_late_claim(office: tuple[Office, App, int]) -> None:
    post, app, parent = office
    post.clock.set(at("2023-01-20"))  # SNV's presumed deadline (19/12 + 20 days: 09/01/2023) has passed
    done = post.post(receipt(id="vpdt-2023-000007", agency="SNV", number=3, received_on="2023-01-05"))
    assert done.status_code == 200, done.text
    child = next(c for c in app.store.list_instances(parent_id=parent) if c.assignee == "SNV")
    assert "@receipt_claim" not in child.data  # the e-office's acknowledgement restarts the clock
    assert child.due_at == end_of_day(dt.date(2023, 1, 27))  # 05/01 + 20 days = 25/01, in Tết: Friday 27/01
    unmatched = post.post(receipt(id="vpdt-2023-000008", agency="SYT", number=4,
                                  document={"number": "9/UBND-KGVX", "issued_on": "2023-01-03"}))
    assert unmatched.json()["matched"] is False  # registered all the same, and in the system history
    assert [e.number for e in app.store.register_entries("SYT", "in")] == [4]


def test_acts_enter_the_registers_numbered_per_agency_and_year(office: tuple[Office, App, int]) -> None:
    _, app, parent = office
    outgoing = app.store.register_entries("SKHCN", "out")
    assert [(e.number, e.reference, e.registered_on) for e in outgoing] == [
        (1, "2233/SKHCN-QLKH", dt.date(2022, 12, 14))]  # the draft sent, on its date of issue
    child = next(c for c in app.store.list_instances(parent_id=parent) if c.assignee == "SNV")
    snv = Actor("officer@snv", Role.OFFICER, "SNV")
    app.engine.fire(child.id, "record_receipt", snv, payload={"received_on": "2022-12-14"})
    app.engine.fire(child.id, "answer", snv, payload={"document": {"number": "5/SNV-VP", "issued_on": "2022-12-14"},
                                                       "position": "agree"})
    [received] = app.store.register_entries("SNV", "in")
    assert (received.number, received.counterpart, received.reference) == (1, "SKHCN", "2233/SKHCN-QLKH")
    [sent] = app.store.register_entries("SNV", "out")
    assert (sent.number, sent.counterpart, sent.reference) == (1, "SKHCN", "5/SNV-VP")
    assert app.store.history(child.id)[-1].payload["@register"]["number"] == 1
