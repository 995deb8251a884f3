"""Audit checkpoints written by ``serve`` on a schedule, signed, with their root mailed to the auditors.

Every ``WORKFLOW_CHECKPOINT_HOURS`` (default 24) while ``serve`` runs with ``WORKFLOW_CHECKPOINT_FOLDER`` set:

1. every chain head is read in one snapshot and made into a checkpoint document (``workflow.audit``), signed with
   ``WORKFLOW_CHECKPOINT_KEY`` (Ed25519, ``workflow audit keygen``) when one is given;
2. the document is written to the folder as ``checkpoint-YYYYMMDDTHHMMSSZ.json`` (a temporary file, fsynced, then
   renamed, so a crash leaves a whole file or none);
3. one transaction records the checkpoint in the system history (event ``checkpoint``: root, time, chains, file,
   signing key) and queues a mail with the root to the contact ``WORKFLOW_CHECKPOINT_CONTACT`` (default
   ``KIEMTOAN``, the auditors) in the outbox, delivered like every notification. Whichever node commits first
   wins the period; a node that finds a checkpoint newer than a period ago removes its own file.

The mail is what leaves the machine: an auditor keeps it (and the public key) where the host's administrators
cannot reach, and later checks a checkpoint file, or the database, against the root it carries.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from definitions import WorkflowError
from store import SqlStore
from workflow import make_checkpoint
from workflow.clock import Clock
from workflow.notify import checkpoint_text, messages

from . import signing
from .settings import Settings

EVENT = "checkpoint"


@dataclass(frozen=True)
class Written:
    file: Path
    root: str
    chains: int
    signed: bool


class Checkpoints:
    def __init__(self, store: SqlStore, clock: Clock, folder: Path, every: dt.timedelta, key: Path | None,
                 contact: str) -> None:
        self.store, self.clock, self.folder, self.every, self.key, self.contact = (
            store, clock, folder, every, key, contact)

    @classmethod
    def from_settings(cls, store: SqlStore, clock: Clock, settings: Settings) -> Checkpoints | None:
        if settings.checkpoint_folder is None:
            return None
        if settings.checkpoint_key is not None and not settings.checkpoint_key.is_file():
            raise WorkflowError(f"WORKFLOW_CHECKPOINT_KEY: {settings.checkpoint_key} is not a file "
                                "(make one with `workflow audit keygen`)")
        return cls(store, clock, settings.checkpoint_folder, dt.timedelta(hours=settings.checkpoint_hours),
                   settings.checkpoint_key, settings.checkpoint_contact)

    def due_at(self) -> dt.datetime | None:
        last = self.store.last_system_event(EVENT)  # a read: asked at every wake-up of the pass
        return self.clock.now() if last is None else last[0] + self.every

    def run_due(self) -> list[str]:
        """Write a checkpoint if one is due; what was done, one line each (nothing when not due)."""
        due = self.due_at()
        if due is None or due > self.clock.now():
            return []
        written = self.write()
        if written is None:
            return []
        how = "signed" if written.signed else "UNSIGNED (no WORKFLOW_CHECKPOINT_KEY)"
        return [f"checkpoint {written.file.name}: {written.chains} chains, root {written.root}, {how}; "
                f"root queued for {self.contact}"]

    def write(self) -> Written | None:
        now = self.clock.now()
        document = make_checkpoint(self.store.chain_heads(), now)
        public_key = None
        if self.key is not None:
            document = signing.sign(document, self.key)
            public_key = str(document["signature"]["public_key"])
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"checkpoint-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}.json"
        _write_durably(target, json.dumps(document, indent=1) + "\n")
        chains = len(document["heads"])
        subject, body = checkpoint_text(str(document["root"]), now, chains, target.name, public_key)
        with self.store.transaction() as uow:
            last = uow.last_system_event(EVENT)
            if last is not None and last[0] + self.every > now:  # another node took this period's checkpoint
                target.unlink(missing_ok=True)
                return None
            uow.append_system_event(EVENT, "system:checkpoint", now, {
                "root": document["root"], "taken_at": document["taken_at"], "chains": chains, "file": target.name,
                "public_key": public_key})
            cause = f"checkpoint.{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
            uow.insert_outbox(messages(EVENT, cause, uow.contact(self.contact), subject, body, None, now))
        return Written(target, str(document["root"]), chains, public_key is not None)


def _write_durably(target: Path, text: str) -> None:
    temporary = target.with_name(f".{target.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
