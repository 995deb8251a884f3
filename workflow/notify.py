"""Notifications as outbox rows: who is told what, in Vietnamese (English below), with a stable id.

Rows are written in the same transaction as their cause (a reminder or an escalation firing) and
delivered later by the dispatcher (``scheduler.outbox``). The Message-ID comes from the cause, not from
chance, so a resend after a crash carries the same id and the receiver can recognise it. A missing
contact is recorded as a row with status ``no_contact``, never an error.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from definitions.model import EMAIL_PATTERN

from .calendar import local_date
from .clock import PROVINCE_TZ

COMMITTEE = "BCD"  # the contacts entry of the Steering Committee (Ban Chỉ đạo)


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    NONE = "none"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # gave up after the last attempt; `workflow notifications retry` re-queues
    NO_CONTACT = "no_contact"


@dataclass(frozen=True)
class Contact:
    agency: str
    name: str | None
    email: str | None
    webhook_url: str | None


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    created_at: dt.datetime
    instance_id: int | None
    kind: str
    channel: Channel
    recipient: str | None
    subject: str
    body: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: dt.datetime
    message_id: str
    last_error: str | None = None
    sent_at: dt.datetime | None = None


ADDRESS = re.compile(EMAIL_PATTERN)


def is_address(text: str) -> bool:
    """One plain e-mail address (local@domain.tld): no list separators (a comma would send to two people), no
    display name, no spaces or control characters."""
    return len(text) <= 254 and ADDRESS.fullmatch(text) is not None


def one_line(text: str) -> str:
    """Header-safe: no CR/LF or other control characters can reach a mail header."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def ddmmyyyy(due_at: dt.datetime) -> str:
    return f"{local_date(due_at - dt.timedelta(microseconds=1)):%d/%m/%Y}"


@dataclass(frozen=True)
class Subject:
    """What a notification is about."""

    instance_id: int
    business_key: str
    title_vi: str
    title_en: str
    assignee: str
    assignee_name: str | None
    due_at: dt.datetime


def reminder_text(s: Subject, offset_days: int) -> tuple[str, str]:
    """To the agency, in Vietnamese only: what to do, by when; the tracking number at the foot, not the subject."""
    who = s.assignee_name or s.assignee
    subject = one_line(f"[Nhắc việc] {s.title_vi} – hạn {ddmmyyyy(s.due_at)}")
    body = (f"Kính gửi: {who}.\n\n"
            f"Theo Kế hoạch, {who} có nhiệm vụ: {s.title_vi}.\n"
            f"Thời hạn: 24 giờ 00 ngày {ddmmyyyy(s.due_at)} (còn {offset_days} ngày).\n\n"
            "Đề nghị quý cơ quan hoàn thành và gửi kết quả đúng thời hạn. Nếu đã gửi, xin bỏ qua thư này.\n\n"
            f"(Số theo dõi: {s.business_key})\n")
    return subject, body


def escalation_text(s: Subject) -> tuple[str, str]:
    """To the Steering Committee, in Vietnamese only: who has not done what, and since when."""
    who = s.assignee_name or s.assignee
    subject = one_line(f"[Báo cáo Ban Chỉ đạo] {who} chưa hoàn thành: {s.title_vi}")
    body = ("Kính gửi: Ban Chỉ đạo thực hiện Kế hoạch.\n\n"
            f"{who} chưa hoàn thành nhiệm vụ: {s.title_vi}.\n"
            f"Thời hạn: 24 giờ 00 ngày {ddmmyyyy(s.due_at)}; đến nay đã quá hạn.\n\n"
            "Đề nghị Ban Chỉ đạo xem xét, chỉ đạo.\n\n"
            f"(Số theo dõi: {s.business_key})\n")
    return subject, body


def checkpoint_text(root: str, taken_at: dt.datetime, chains: int, file_name: str, key: str | None) -> tuple[str, str]:
    """The mail that carries a checkpoint's root off the machine, to the auditors, in Vietnamese only (the root, the
    file's name and the command are for machines and are the same in any language)."""
    when = f"{taken_at.astimezone(PROVINCE_TZ):%H:%M} ngày {local_date(taken_at):%d/%m/%Y}"
    signed = f"ký bằng khóa công khai {key}" if key else "CHƯA KÝ (chưa cấu hình khóa ký)"
    subject = one_line(f"[Điểm kiểm tra nhật ký] {when} – gốc {root[:16]}")
    body = (f"Kính gửi: Người kiểm tra nhật ký, truy vết.\n\nLúc {when} (giờ tỉnh), hệ thống đã ghi điểm kiểm tra "
            f"nhật ký của {chains} chuỗi lịch sử nhiệm vụ.\nGốc Merkle: {root}\nTệp: {file_name} ({signed}).\n\n"
            "Đề nghị lưu thư này ở nơi ngoài máy chủ. Khi kiểm tra: so gốc trên với tệp, rồi chạy\n"
            f"  workflow audit verify --checkpoint {file_name} --public-key <khóa công khai>\n")
    return subject, body


def messages(kind: str, cause: str, contact: Contact | None, subject: str, body: str, instance_id: int | None,
             now: dt.datetime) -> list[OutboxMessage]:
    """One outbox row per channel the contact has, or one ``no_contact`` row. ``cause`` makes the ids."""
    channels: list[tuple[Channel, str | None]] = []
    if contact is not None and contact.email:
        channels.append((Channel.EMAIL, contact.email))
    if contact is not None and contact.webhook_url:
        channels.append((Channel.WEBHOOK, contact.webhook_url))
    if not channels:
        channels.append((Channel.NONE, None))
    return [OutboxMessage(
        id=0, created_at=now, instance_id=instance_id, kind=kind, channel=channel, recipient=recipient,
        subject=subject, body=body,
        status=OutboxStatus.NO_CONTACT if channel is Channel.NONE else OutboxStatus.PENDING,
        attempts=0, next_attempt_at=now, message_id=f"<{cause}.{channel.value}@khcn-workflow>")
        for channel, recipient in channels]
