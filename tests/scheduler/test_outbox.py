"""Notifications delivered to a real SMTP server and a real HTTP server on loopback: retries, dead letters,
and a crash between commit and delivery ending in one delivery or a recognisable duplicate."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduler.outbox import DeliveryError, DeliverySettings, Dispatcher, send_email
from store import SqlStore
from tests.conftest import ADMIN, OFFICER_SYT
from tests.servers import free_port, smtp_sink, webhook_sink
from workflow import Deadlines, Engine, SimulatedClock
from workflow.calendar import PROVINCE_TZ
from workflow.notify import Contact

LOOPBACK = ("127.0.0.0/8",)  # the test servers run on loopback: allowed explicitly, as an operator would


def overdue_feedback(engine: Engine, store: SqlStore, clock: SimulatedClock, agency: str = "SYT") -> None:
    """An agency that received the draft on 26/12/2022 and never answered; the committee is reachable."""
    clock.set(dt.datetime(2022, 12, 26, 9, tzinfo=PROVINCE_TZ))
    instance = engine.start("agency_feedback", f"cat/{agency}", agency, ADMIN)
    officer = OFFICER_SYT if agency == "SYT" else ADMIN
    engine.fire(instance.id, "record_receipt", officer, payload={"received_on": "2022-12-26"})
    clock.set(dt.datetime(2023, 1, 11, 9, tzinfo=PROVINCE_TZ))  # the 5-day reminder is due
    Deadlines(engine).fire_due()


def settings(port: int, **kw: object) -> DeliverySettings:
    return DeliverySettings(smtp_host="127.0.0.1", smtp_port=port, webhook_networks=LOOPBACK,
                            **kw)  # type: ignore[arg-type]


def test_email_and_webhook_are_delivered_with_stable_ids(engine: Engine, store: SqlStore,
                                                         clock: SimulatedClock) -> None:
    with smtp_sink() as smtp, webhook_sink() as hook:
        store.set_contact(Contact("SYT", "Sở Y tế", "vanthu@syt.ninhthuan.gov.vn", hook.url), clock.now())
        overdue_feedback(engine, store, clock)
        results = Dispatcher(store, clock, settings(smtp.port)).deliver_due()
        assert [r.ok for r in results] == [True, True]
        [mail] = smtp.messages
        assert mail["To"] == "vanthu@syt.ninhthuan.gov.vn"
        assert str(mail["Subject"]).startswith("[Nhắc việc] Góp ý bằng văn bản dự thảo danh mục")
        assert "/" not in str(mail["Subject"]).split("–")[0]  # no business key (a technical reference) in it
        text = mail.get_payload(decode=True).decode("utf-8")
        assert text.startswith("Kính gửi: ")
        assert "Thời hạn: 24 giờ 00 ngày 16/01/2023" in text
        assert "Reminder" not in text  # no English under the Vietnamese
        [(headers, body)] = hook.requests
        assert headers["Idempotency-Key"] == body["message_id"]
        assert mail["Message-ID"] == body["message_id"].replace(".webhook@", ".email@")
    assert {m.status.value for m in store.list_outbox()} == {"sent"}


def test_smtp_down_retries_with_backoff_then_delivers(engine: Engine, store: SqlStore,
                                                      clock: SimulatedClock) -> None:
    port = free_port()
    store.set_contact(Contact("SYT", None, "syt@example.vn", None), clock.now())
    overdue_feedback(engine, store, clock)
    dispatcher = Dispatcher(store, clock, settings(port, backoff_s=60))
    [failed] = dispatcher.deliver_due()
    assert not failed.ok
    assert "SMTP 127.0.0.1" in (failed.error or "")
    [message] = store.list_outbox()
    assert (message.status.value, message.attempts) == ("pending", 1)
    assert message.next_attempt_at == clock.now() + dt.timedelta(seconds=60)
    assert dispatcher.deliver_due() == []  # not yet time to retry
    clock.advance(dt.timedelta(seconds=61))
    with smtp_sink(port) as smtp:
        [ok] = dispatcher.deliver_due()
        assert ok.ok
        assert len(smtp.messages) == 1


def test_dead_letter_after_the_last_attempt_and_retry(engine: Engine, store: SqlStore,
                                                      clock: SimulatedClock) -> None:
    port = free_port()
    store.set_contact(Contact("SYT", None, "syt@example.vn", None), clock.now())
    overdue_feedback(engine, store, clock)
    dispatcher = Dispatcher(store, clock, settings(port, max_attempts=3, backoff_s=10))
    outcomes = []
    for _ in range(3):
        outcomes.extend(dispatcher.deliver_due())
        clock.advance(dt.timedelta(hours=1))
    assert [(o.ok, o.dead) for o in outcomes] == [(False, False), (False, False), (False, True)]
    [dead] = store.list_outbox("dead")
    assert dead.attempts == 3
    assert dead.last_error
    assert dispatcher.deliver_due() == []
    assert store.retry_outbox(None, clock.now()) == 1
    with smtp_sink(port) as smtp:
        assert [d.ok for d in dispatcher.deliver_due()] == [True]
        assert len(smtp.messages) == 1


def test_a_webhook_error_status_is_a_failure(engine: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    with webhook_sink() as hook:
        hook.status = 503
        store.set_contact(Contact("SYT", None, None, hook.url), clock.now())
        overdue_feedback(engine, store, clock)
        [result] = Dispatcher(store, clock, DeliverySettings(webhook_networks=LOOPBACK)).deliver_due()
        assert not result.ok
        assert "503" in (result.error or "")


def test_webhooks_reach_no_internal_address_unless_allowed_and_follow_no_redirect(
        engine: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    with webhook_sink() as hook:
        store.set_contact(Contact("SYT", None, None, hook.url), clock.now())
        overdue_feedback(engine, store, clock)
        [refused] = Dispatcher(store, clock, DeliverySettings()).deliver_due()
        assert not refused.ok
        assert "is 127.0.0.1, an internal address" in (refused.error or "")
        assert hook.requests == []
        hook.status = 307
        hook.location = hook.url.replace("/hook", "/elsewhere")
        clock.advance(dt.timedelta(days=1))
        [redirected] = Dispatcher(store, clock, DeliverySettings(webhook_networks=LOOPBACK)).deliver_due()
        assert not redirected.ok
        assert "307" in (redirected.error or "")
        assert hook.paths == ["/hook"]  # the redirect was not followed


def test_crash_before_delivery_ends_in_one_delivery(engine: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    store.set_contact(Contact("SYT", None, "syt@example.vn", None), clock.now())
    overdue_feedback(engine, store, clock)
    lease = dt.timedelta(minutes=5)
    assert len(store.claim_outbox(clock.now(), 10, "node-that-dies", lease)) == 1  # then the process dies
    with smtp_sink() as smtp:
        dispatcher = Dispatcher(store, clock, settings(smtp.port, lease_s=300), claimer="node-2")
        assert dispatcher.deliver_due() == []  # leased by the dead node
        clock.advance(lease + dt.timedelta(seconds=1))
        assert [d.ok for d in dispatcher.deliver_due()] == [True]
        assert len(smtp.messages) == 1


def test_crash_after_sending_gives_a_recognisable_duplicate(engine: Engine, store: SqlStore,
                                                            clock: SimulatedClock) -> None:
    store.set_contact(Contact("SYT", None, "syt@example.vn", None), clock.now())
    overdue_feedback(engine, store, clock)
    with smtp_sink() as smtp:
        config = settings(smtp.port)
        [claimed] = store.claim_outbox(clock.now(), 10, "node-that-dies", dt.timedelta(minutes=5))
        send_email(config, claimed)  # sent; the process dies before recording it
        clock.advance(dt.timedelta(minutes=6))
        assert [d.ok for d in Dispatcher(store, clock, config).deliver_due()] == [True]
        ids = smtp.message_ids()
        assert len(ids) == 2
        assert ids[0] == ids[1]
    assert store.list_outbox("sent")[0].attempts == 1


@pytest.mark.parametrize("subject", ["Hạn\r\nBcc: attacker@example.com", "a\nb"])
def test_line_breaks_never_reach_a_mail_header(subject: str) -> None:
    from workflow.notify import one_line

    assert "\n" not in one_line(subject)
    assert "\r" not in one_line(subject)


@pytest.mark.parametrize("address", ["100.64.0.1", "100.127.255.254", "192.168.1.1", "198.18.0.1", "10.1.2.3",
                                     "169.254.169.254", "::ffff:127.0.0.1", "fd00::1", "0.0.0.0"])
def test_a_webhook_to_an_address_not_globally_reachable_is_refused(address: str) -> None:
    """Issue 26, finding 14: 100.64.0.0/10 (carrier-grade NAT, the provider's own network) was allowed."""
    from scheduler.outbox import check_target

    host = f"[{address}]" if ":" in address else address
    with pytest.raises(DeliveryError, match="an internal address"):
        check_target(f"http://{host}:8080/hook", ())
    check_target(f"http://{host}:8080/hook", ("0.0.0.0/0", "::/0"))  # allowed when its network is named


@pytest.mark.parametrize("recipient", ["syt@example.vn, attacker@example.com", "syt@example.vn;x@y.vn",
                                       "Sở Y tế <syt@example.vn>"])
def test_an_address_list_never_sends_to_two_people(recipient: str, engine: Engine, store: SqlStore,
                                                   clock: SimulatedClock) -> None:
    """Finding 14: a comma in a contact's e-mail sent to two recipients. Refused where it enters; a row stored
    before is not delivered (dead after its attempts), never split."""
    from workflow.notify import is_address

    assert not is_address(recipient)
    store.set_contact(Contact("SYT", None, recipient, None), clock.now())  # as if stored before the check
    overdue_feedback(engine, store, clock)
    with smtp_sink() as smtp:
        [result] = Dispatcher(store, clock, settings(smtp.port)).deliver_due()
        assert not result.ok
        assert "is not one e-mail address" in (result.error or "")
        assert smtp.messages == []
