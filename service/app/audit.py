"""The audit trail: verify every hash chain (and, from a checkpoint kept elsewhere, that nothing before it
changed), take a checkpoint of every chain head, export the whole history."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, NotRequired, cast

from typing_extensions import TypedDict

from workflow import make_checkpoint, read_checkpoint
from workflow.audit import checkpoint_time
from workflow.clock import PROVINCE_TZ
from workflow.errors import PayloadInvalid

from .. import signing
from ..signing import CheckpointUnreadable
from ..verification import Tick, Verification, verify_all, verify_database
from ..views import export_lines
from .ports import Services


class ProblemView(TypedDict):
    instance_id: int
    seq: int | None  # the first wrong row (None: the instance row itself)
    message: str


class VerificationView(TypedDict):
    ok: bool
    instances: int  # instance histories verified
    rows: int  # history rows re-hashed
    problems: list[ProblemView]  # the first bad row of each instance
    database: list[str]  # outside the chains: definitions, the derived tables, the history's guards


class HeadView(TypedDict):
    instance_id: int
    seq: int
    hash: str


class SignatureView(TypedDict):
    algorithm: str
    public_key: str
    value: str


class CheckpointView(TypedDict):
    format: str
    taken_at: str
    root: str  # Merkle root over the heads
    heads: list[HeadView]
    signature: NotRequired[SignatureView]


def verification_view(result: Verification) -> VerificationView:
    return cast(VerificationView, result.as_dict())


class Audit:
    def __init__(self, app: Services) -> None:
        self.app = app

    def verify(self) -> Verification:
        """Every chain in one process and one snapshot (writes during the scan are not "tampering"), and every
        attached file a history row names, re-hashed."""
        done = verify_all(self.app.store)
        done.database.extend(self.file_problems())
        return done

    def file_problems(self) -> list[str]:
        """Attached files that a history row names and that are missing or no longer hash to what it says."""
        return self.app.files.problems(self.app.store.named_files())

    def verify_from(self, checkpoint: Path | None = None, public_key: Path | None = None, jobs: int | None = None,
                    incremental: bool = False, tick: Tick | None = None) -> Verification:
        """Every chain, split over ``jobs`` processes; against a checkpoint file (signed by ``public_key``'s
        pair, if given); ``incremental``: re-hash only what moved since the checkpoint."""
        heads, taken_at = None, None
        if checkpoint is not None:
            try:
                document = json.loads(checkpoint.read_text(encoding="utf-8"))
                heads, taken_at = read_checkpoint(document), checkpoint_time(document)
            except (OSError, ValueError, KeyError, TypeError) as err:
                raise CheckpointUnreadable(checkpoint, err) from None
            if public_key is not None:
                signing.check(document, public_key)
        elif public_key is not None or incremental:
            raise PayloadInvalid([("public_key" if public_key is not None else "incremental",
                                   "goes with a checkpoint")])
        done = verify_database(self.app.store, self.app.settings.database_url, heads, jobs, taken_at, incremental,
                               tick)
        done.database.extend(self.file_problems())
        return done

    def rows(self) -> int:
        """How many history rows there are (what a full verification or an export reads)."""
        return self.app.store.count_history()

    def checkpoint(self, sign: Path | None = None) -> CheckpointView:
        """Every chain head and a Merkle root over them, with the time (signed with the private key ``sign``)."""
        document = make_checkpoint(self.app.store.chain_heads(), self.app.clock.now())
        return cast(CheckpointView, signing.sign(document, sign) if sign is not None else document)

    def checkpoint_name(self, now: dt.datetime | None = None) -> str:
        return f"checkpoint-{(now or self.app.clock.now()).astimezone(PROVINCE_TZ):%Y%m%d-%H%M%S}.json"

    def export(self, fmt: Literal["jsonl", "csv"]) -> Iterator[str]:
        """The whole history as JSON lines or CSV, streamed."""
        return export_lines(self.app.store.iter_history(), fmt)
