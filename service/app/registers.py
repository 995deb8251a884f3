"""The agencies' registers of documents in and out, and the province's e-office system posting a receipt.

A receipt from the e-office is signed with the secret shared with it (``WORKFLOW_EOFFICE_SECRET``): HMAC-SHA256
over ``"<timestamp>.<body>"``, sent as ``X-Signature: sha256=<hex>`` with ``X-Timestamp: <unix seconds>``; a
signature older or newer than five minutes is refused (a replayed capture). Its own id makes it idempotent: the
same post again answers the first result and writes nothing; the same id with other content is refused. It enters
the receiving agency's incoming register with the e-office's own number and, where it belongs to a task (named, or
the task whose sender's document it answers), records the receipt on that task as evidence (never a claim: no
agency typed the date). A receipt that matches no task is registered and written in the system history."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import TypedDict

from definitions import FieldType, NotFound, Role
from workflow import Actor
from workflow.errors import IdempotencyKeyReused, PayloadInvalid, Refused
from workflow.ports import InstanceRecord, RegisterEntry

from .ports import Services

WINDOW = dt.timedelta(minutes=5)  # how far a signature's time may be from ours
EOFFICE = "eoffice"


class SignatureRefused(Refused):
    """A post from an outside system whose signature is missing, wrong or out of its time window."""


class ReceiptDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=1, max_length=100)
    issued_on: dt.date | None = None
    summary: str | None = Field(default=None, max_length=1000)
    signer: str | None = Field(default=None, max_length=200)


class Receipt(BaseModel):
    """What the e-office posts: its id, the receiving agency, its incoming number and day, the document."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "vpdt-2022-000123", "agency": "SYT", "number": 1520, "received_on": "2022-12-15",
        "sender": "SKHCN", "document": {"number": "2233/SKHCN-QLKH", "issued_on": "2022-12-14"}}]})
    id: str = Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
    agency: str = Field(max_length=32)
    number: int = Field(ge=1, le=10_000_000)  # số đến
    received_on: dt.date  # ngày đến
    sender: str | None = Field(default=None, max_length=300)
    document: ReceiptDocument
    task: int | None = Field(default=None, ge=1, le=2**62)  # the task it belongs to, if the e-office knows it


class RegisterView(TypedDict):
    agency: str
    direction: str
    year: int
    number: int
    registered_on: str
    counterpart: str | None
    reference: str | None
    issued_on: str | None
    summary: str | None
    signer: str | None
    instance_id: int | None
    seq: int | None
    source: str


class ReceiptAnswer(TypedDict):
    register: RegisterView
    matched: bool  # recorded on a task
    replayed: bool  # the same post again: nothing written


def register_view(e: RegisterEntry) -> RegisterView:
    return {"agency": e.agency, "direction": e.direction, "year": e.year, "number": e.number,
            "registered_on": e.registered_on.isoformat(), "counterpart": e.counterpart, "reference": e.reference,
            "issued_on": e.issued_on.isoformat() if e.issued_on else None, "summary": e.summary, "signer": e.signer,
            "instance_id": e.instance_id, "seq": e.seq, "source": e.source}


class Registers:
    def __init__(self, app: Services) -> None:
        self.app = app

    def entries(self, agency: str | None = None, direction: str | None = None, year: int | None = None,
                limit: int = 500) -> list[RegisterView]:
        if direction not in (None, "in", "out"):
            raise PayloadInvalid([("direction", "must be one of in, out")])
        return [register_view(e) for e in self.app.store.register_entries(agency, direction, year, limit)]

    def verify_signature(self, body: bytes, signature: str | None, timestamp: str | None) -> None:
        secret = self.app.settings.eoffice_secret
        if secret is None:
            raise NotFound("integration", "e-office (WORKFLOW_EOFFICE_SECRET is not set)")
        try:
            sent = dt.datetime.fromtimestamp(int(timestamp or ""), dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise SignatureRefused("X-Timestamp must be the signing time in Unix seconds") from None
        if abs(self.app.clock.now() - sent) > WINDOW:
            raise SignatureRefused("the signature's time is more than 5 minutes from ours (a replay, or a clock off)")
        expected = hmac.new(secret.get_secret_value().encode(), f"{timestamp}.".encode() + body,
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(f"sha256={expected}", signature or ""):
            raise SignatureRefused("the signature does not match the body (X-Signature: sha256=<hex HMAC>)")

    def eoffice_receipt(self, body: bytes, signature: str | None, timestamp: str | None) -> ReceiptAnswer:
        """A receipt the e-office acknowledged, signed; see the module docstring."""
        self.verify_signature(body, signature, timestamp)
        try:
            receipt = Receipt.model_validate_json(body)
        except ValidationError as err:
            raise PayloadInvalid.from_pydantic(err.errors(include_url=False), "receipt") from None
        fingerprint = hashlib.sha256(body).hexdigest()
        with self.app.store.transaction() as uow:
            earlier = uow.find_register_entry(EOFFICE, receipt.id)
        if earlier is not None:
            if earlier.fingerprint != fingerprint:
                raise IdempotencyKeyReused(receipt.id)
            return {"register": register_view(earlier), "matched": earlier.instance_id is not None, "replayed": True}
        with self.app.store.transaction() as uow:
            known = uow.agency(receipt.agency) is not None or not uow.agency_codes()
        if not known:
            raise PayloadInvalid([("agency", f"unknown agency {receipt.agency!r}")])
        document = receipt.document
        entry = RegisterEntry(receipt.agency, "in", receipt.received_on, number=receipt.number,
                              counterpart=receipt.sender, reference=document.number, issued_on=document.issued_on,
                              summary=document.summary, signer=document.signer, source=EOFFICE,
                              external_id=receipt.id, fingerprint=fingerprint, actor_id=f"{EOFFICE}:{receipt.agency}",
                              created_at=self.app.clock.now())
        task = self._task(receipt)
        if task is None:
            with self.app.store.transaction() as uow:
                stored = uow.register_document(entry)
                uow.append_system_event("register_entry", entry.actor_id, self.app.clock.now(), stored.note())
            return {"register": register_view(stored), "matched": False, "replayed": False}
        instance, event, field = task
        actor = Actor(f"{EOFFICE}:{receipt.agency}", Role.OFFICER, receipt.agency)
        result = self.app.engine.fire(instance.id, event, actor, payload={field: receipt.received_on.isoformat()},
                                      evidence=entry)
        note = result.record.payload["@register"]
        stored = RegisterEntry(**{**entry.__dict__, "number": int(note["number"]), "instance_id": instance.id,
                                  "seq": result.record.seq})
        return {"register": register_view(stored), "matched": True, "replayed": False}

    def _task(self, receipt: Receipt) -> tuple[InstanceRecord, str, str] | None:
        """The task the receipt belongs to and its receipt act (the one that registers an incoming document, with
        its date field): the one named, else the receiving agency's open task whose sender's document it is."""
        store = self.app.store
        candidates: list[InstanceRecord]
        if receipt.task is not None:
            candidates = [store.get_instance(receipt.task)]
            if candidates[0].assignee != receipt.agency:
                raise PayloadInvalid([("task", f"task {receipt.task} is not {receipt.agency}'s")])
        else:
            with store.transaction() as uow:
                candidates = list(uow.instances_assigned_to(receipt.agency))
        for instance in candidates:
            act = self._receipt_act(instance)
            if act is None:
                continue
            if receipt.task is not None:
                return instance, *act
            parent = store.get_instance(instance.parent_id) if instance.parent_id else None
            sent: Any = parent.data.get("document") if parent is not None else None
            number = sent.get("number") if isinstance(sent, dict) else sent
            if number == receipt.document.number:
                return instance, *act
        if receipt.task is not None:
            raise Refused(f"task {receipt.task} is not waiting for a receipt", instance_id=receipt.task)
        return None

    def _receipt_act(self, instance: InstanceRecord) -> tuple[str, str] | None:
        definition = self.app.engine.definition(instance.definition_id, instance.definition_version)
        for event in definition.events_from(instance.state):
            transition = definition.transition_from(instance.state, event)
            if transition is not None and transition.register_as == "in":
                field = next((n for n, f in transition.payload.items() if f.type is FieldType.DATE), None)
                if field is not None:
                    return event, field
        return None
