"""Delivering the notification outbox by SMTP and webhook, with retries and dead letters.

At least once, recognisably: a message is leased, sent, then marked sent. A crash between sending and
marking leaves the lease to expire and the message to be sent again with the same ``Message-ID``
(e-mail) or ``Idempotency-Key`` (webhook), so the receiver can drop the repeat; a crash before sending
loses nothing. Failed attempts back off exponentially; after ``max_attempts`` the message is dead and
waits for ``workflow notifications retry``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import smtplib
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from workflow.clock import Clock
from workflow.notify import Channel, OutboxMessage, is_address, one_line
from workflow.ports import ServiceQueries


@dataclass(frozen=True)
class DeliverySettings:
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "khcn-workflow@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    webhook_timeout_s: float = 10.0
    # networks a webhook may reach besides the public internet (loopback, link-local and private addresses are
    # refused unless inside one of these: the server must not be a way into its own network)
    webhook_networks: tuple[str, ...] = ()
    max_attempts: int = 8
    backoff_s: float = 30.0  # first retry after this, doubling each time
    backoff_max_s: float = 6 * 3600.0
    lease_s: float = 300.0


class DeliveryError(Exception):
    pass


def _mail(settings: DeliverySettings, message: OutboxMessage) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.smtp_sender
    mail["To"] = one_line(message.recipient or "")
    mail["Subject"] = one_line(message.subject)
    mail["Message-ID"] = message.message_id
    mail["Date"] = format_datetime(message.created_at)
    mail.set_content(message.body, charset="utf-8")
    return mail


def _session(settings: DeliverySettings) -> smtplib.SMTP:
    if not settings.smtp_host:
        raise DeliveryError("no SMTP server configured (WORKFLOW_SMTP_HOST)")
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        return smtp
    except (OSError, smtplib.SMTPException) as err:
        raise DeliveryError(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {err}") from err


def send_emails(settings: DeliverySettings, messages: list[OutboxMessage]
                ) -> Iterator[tuple[OutboxMessage, str | None]]:
    """Send over one SMTP session (reopened if it breaks), yielding each message with None or the reason it
    failed as soon as the server has answered for it, before the next is sent: the caller records each at once,
    so a crash (or a power cut) leaves at most the one message in flight to be sent again."""
    smtp: smtplib.SMTP | None = None
    try:
        for message in messages:
            if not message.recipient:
                yield message, "no recipient address"
                continue
            if not is_address(message.recipient):  # stored before addresses were checked: never a list
                yield message, f"{message.recipient[:100]!r} is not one e-mail address"
                continue
            error: str | None = None
            try:
                smtp = smtp or _session(settings)
                smtp.send_message(_mail(settings, message))
            except DeliveryError as err:
                error = str(err)
            except (OSError, smtplib.SMTPException) as err:
                error = f"SMTP {settings.smtp_host}:{settings.smtp_port}: {err}"
                if not isinstance(err, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError):
                    smtp = None  # the session may be broken: a new one for the next message
            yield message, error
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def send_email(settings: DeliverySettings, message: OutboxMessage) -> None:
    """One message in a session of its own (raises ``DeliveryError``)."""
    [(_, error)] = list(send_emails(settings, [message]))
    if error is not None:
        raise DeliveryError(error)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook answers where it was asked: a redirect is a failure, never followed (to loopback, say)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def check_target(url: str, allowed: tuple[str, ...]) -> None:
    """Refuse a webhook whose host resolves to an address that is not globally reachable (loopback, link-local,
    private, shared 100.64.0.0/10, reserved, ...) or multicast, unless it is inside one of the ``allowed`` networks."""
    host = urllib.parse.urlsplit(url).hostname
    if not host:
        raise DeliveryError(f"no host in {url!r}")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as err:
        raise DeliveryError(f"webhook {url}: cannot resolve {host}: {err}") from err
    networks = [ipaddress.ip_network(n, strict=False) for n in allowed]
    for text in addresses:
        address = ipaddress.ip_address(str(text).split("%")[0])
        # anything not globally reachable (loopback, private, link-local, the carrier-grade NAT 100.64.0.0/10,
        # documentation and benchmarking ranges, ...) or multicast
        internal = not address.is_global or address.is_multicast
        if internal and not any(address in n for n in networks):
            raise DeliveryError(f"webhook {url}: {host} is {address}, an internal address; allow its network in "
                                "WORKFLOW_WEBHOOK_NETWORKS to deliver there")


def send_webhook(settings: DeliverySettings, message: OutboxMessage) -> None:
    if not message.recipient or not message.recipient.startswith(("http://", "https://")):
        raise DeliveryError(f"not an http(s) URL: {message.recipient!r}")
    check_target(message.recipient, settings.webhook_networks)
    body = json.dumps({"message_id": message.message_id, "kind": message.kind, "instance_id": message.instance_id,
                       "subject": message.subject, "body": message.body,
                       "created_at": message.created_at.isoformat()}, ensure_ascii=False).encode()
    request = urllib.request.Request(message.recipient, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message.message_id})
    try:
        with _OPENER.open(request, timeout=settings.webhook_timeout_s) as response:
            if not 200 <= response.status < 300:
                raise DeliveryError(f"webhook answered {response.status}")
    except urllib.error.HTTPError as err:
        raise DeliveryError(f"webhook answered {err.code}") from err
    except (OSError, urllib.error.URLError) as err:
        raise DeliveryError(f"webhook {message.recipient}: {err}") from err


@dataclass(frozen=True)
class Delivery:
    message: OutboxMessage
    ok: bool
    error: str | None
    dead: bool


class Dispatcher:
    """Delivers due outbox rows; one pass per ``deliver_due`` call."""

    def __init__(self, store: ServiceQueries, clock: Clock, settings: DeliverySettings,
                 claimer: str = "local") -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.claimer = claimer

    def backoff(self, attempts: int) -> dt.timedelta:
        """Wait before attempt ``attempts + 1`` (after ``attempts`` failures)."""
        seconds = min(self.settings.backoff_s * 2 ** max(0, attempts - 1), self.settings.backoff_max_s)
        return dt.timedelta(seconds=seconds)

    def deliver_due(self, limit: int = 50) -> list[Delivery]:
        now = self.clock.now()
        lease = dt.timedelta(seconds=self.settings.lease_s)
        claimed = self.store.claim_outbox(now, limit, self.claimer, lease)
        emails = [m for m in claimed if m.channel is Channel.EMAIL]
        # each mail is recorded as soon as the server has taken it, before the next is sent
        results = [self._record(message, error) for message, error in send_emails(self.settings, emails)]
        for message in claimed:
            if message.channel is Channel.EMAIL:
                continue
            if message.channel is Channel.WEBHOOK:
                try:
                    send_webhook(self.settings, message)
                    error = None
                except DeliveryError as err:
                    error = str(err)
            else:
                error = f"no way to deliver on channel {message.channel.value!r}"
            results.append(self._record(message, error))
        return results

    def _record(self, message: OutboxMessage, error: str | None) -> Delivery:
        if error is None:
            self.store.outbox_delivered(message.id, self.clock.now())
            return Delivery(message, True, None, False)
        attempts = message.attempts + 1
        dead = attempts >= self.settings.max_attempts
        retry_at = None if dead else self.clock.now() + self.backoff(attempts)
        self.store.outbox_failed(message.id, error, retry_at)
        return Delivery(message, False, error, dead)
