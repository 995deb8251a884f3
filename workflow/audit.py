"""The tamper-evident history: canonical encoding, the per-instance hash chain, verification, checkpoints.

Each history row's hash is SHA-256 over ``0x00 || canonical(row without its hash)`` and the canonical
form includes the previous row's hash, so editing, deleting, reordering or inserting any row breaks
the chain at that row. Checkpoints fix every chain head at a moment and a Merkle root over them
(RFC 6962: leaves prefixed 0x00, inner nodes 0x01); a checkpoint kept outside the database proves
later that no tail was cut. What this cannot prove: that a row was right when first written, or
that a party with write access did not rewrite every chain and every checkpoint copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from .ports import ArmedTimer, Derived, HistoryRecord

GENESIS = ""  # prev_hash of an instance's first row
_LEAF = b"\x00"
_NODE = b"\x01"


def nfc(value: Any) -> Any:
    """Normalise every string in a JSON-like value to Unicode NFC (keys included)."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, Mapping):
        return {nfc(k): nfc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [nfc(v) for v in value]
    return value


def reference_canonical(value: Any) -> bytes:
    """The definition of the canonical form: the standard library's JSON, sorted keys, no spaces, UTF-8. Every
    hash ever written is over these bytes."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | \
    orjson.OPT_PASSTHROUGH_SUBCLASS
_INFINITE = (float("inf"), float("-inf"))
# where orjson's number may be written otherwise: 0.0000… as a number (after what precedes a JSON value, or a
# minus), or a negative exponent; in text (an instant's "00.000000Z", "e-office") they only cost the slow path
_SMALL = re.compile(rb"(?:^|[:,\[-])0\.0000|[0-9]e-")


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def _non_finite(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return value != value or value in _INFINITE
    if kind is dict:
        return any(_non_finite(v) for v in value.values())
    if kind is list or kind is tuple:
        return any(_non_finite(v) for v in value)
    return False


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: one byte string per value, ``reference_canonical``'s bytes exactly, made by
    orjson (~25× faster) wherever its bytes are the same and by the standard library where they could differ:
    a type orjson would write but the standard library refuses or writes otherwise (passed through and refused:
    non-text keys, integers beyond 64 bits, subclasses, dates, dataclasses), a number below 1e-4 (written
    ``0.00001`` or ``9.6e-6``, not ``1e-05``, ``9.6e-06``) and a NaN or an infinity (``null``, not ``NaN``).
    Tested against the reference over generated values (tests/workflow/test_canonical.py) and every history row
    of simulated plans (tests/plan/test_truth.py).

    Text is NFC because the engine normalises everything where it enters (``nfc``); it is not
    normalised again here, so the hash covers the exact stored text and an NFD rewrite is caught."""
    try:
        out = orjson.dumps(value, default=_refuse, option=_ORJSON)
    except TypeError:
        return reference_canonical(value)
    if ((b"0.0000" in out or b"e-" in out) and _SMALL.search(out)) or (b"null" in out and _non_finite(value)):
        return reference_canonical(value)
    return out


def format_instant(instant: dt.datetime) -> str:
    """UTC, microseconds, ``Z``: the one text form of an instant inside hashes."""
    utc = instant if instant.tzinfo is dt.UTC else instant.astimezone(dt.UTC)
    if utc.year < 1000:  # strftime does not pad %Y below 1000 here; isoformat would, and the hash must not change
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"


def parse_instant(text: str) -> dt.datetime:
    """The inverse of ``format_instant``."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def record_fields(r: HistoryRecord) -> dict[str, Any]:
    """What a history row's hash covers: every field but the hash itself. The effective date and the
    obligation changes came later (migration 0007): rows written before carry neither, and their hashes
    stay as they were."""
    fields = {
        "instance_id": r.instance_id, "seq": r.seq, "event": r.event, "from": r.from_state,
        "to": r.to_state, "actor": {"id": r.actor_id, "role": r.actor_role, "agency": r.actor_agency},
        "at": format_instant(r.at), "payload": r.payload, "reason": r.reason,
        "definition": {"id": r.definition_id, "version": r.definition_version},
        "request_id": r.request_id, "prev": r.prev_hash,
    }
    if r.effective_on is not None:
        fields["effective_on"] = r.effective_on
    if r.obligations is not None:
        fields["obligations"] = list(r.obligations)
    return fields


def record_hash(r: HistoryRecord) -> str:
    return hashlib.sha256(_LEAF + canonical(record_fields(r))).hexdigest()


def merkle_root(leaves: list[bytes]) -> str:
    """RFC 6962 Merkle Tree Hash over already-encoded leaves."""

    def mth(items: list[bytes]) -> bytes:
        if not items:
            return hashlib.sha256(b"").digest()
        if len(items) == 1:
            return hashlib.sha256(_LEAF + items[0]).digest()
        k = 1
        while k * 2 < len(items):
            k *= 2
        return hashlib.sha256(_NODE + mth(items[:k]) + mth(items[k:])).digest()

    return mth(leaves).hex()


@dataclass(frozen=True)
class ChainProblem:
    instance_id: int
    seq: int | None  # the first row that is wrong (None: the instance row itself)
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "seq": self.seq, "message": self.message}

    def __str__(self) -> str:
        row = f" row {self.seq}" if self.seq is not None else ""
        return f"instance {self.instance_id}{row}: {self.message}"


@dataclass
class _Chain:
    instance_id: int
    expected_seq: int = 1
    prev: str = GENESIS
    broken: bool = False
    hashes: dict[int, str] = field(default_factory=dict)  # only for instances in the checkpoint
    state: str | None = None  # where the history leaves the instance
    assignee: str | None = None  # to whom (None: rows from before the start row named it, or not read)
    suspended: bool | None = False  # None: not known (an incremental verification did not read that far back)
    # the obligations and escalations as the history leaves them (read from row 1 only)
    obligations: dict[str, ObligationState] = field(default_factory=dict)
    escalations: dict[int, str] = field(default_factory=dict)
    definition: tuple[str, int] = ("", 0)


class _Verifier:
    """Walks rows ordered by (instance, seq) once, keeping one chain's state at a time."""

    def __init__(self, heads: Mapping[int, tuple[int, str]],
                 checkpoint: Mapping[int, tuple[int, str]] | None, taken_at: dt.datetime | None = None,
                 states: Mapping[int, tuple[str, str, bool]] | None = None,
                 shape: Mapping[int, tuple[int, int]] | None = None, derived: Derived | None = None) -> None:
        self.heads = heads
        self.derived = derived
        self.checkpoint = checkpoint or {}
        self.shape = shape
        self.incremental = shape is not None
        self.taken_at = taken_at
        self.states = states or {}
        self.seen: set[int] = set()

    def run(self, rows: Iterable[HistoryRecord]) -> Iterator[ChainProblem]:
        chain: _Chain | None = None
        for row in rows:
            if chain is None or row.instance_id != chain.instance_id:
                if chain is not None:
                    yield from self._finish(chain)
                chain = self._chain(row)
            if chain.broken:
                continue
            problem = _check_row(chain, row) or self._backdated(row)
            if problem is not None:
                chain.broken = True
                yield problem
                continue
            if row.instance_id in self.checkpoint:
                chain.hashes[row.seq] = row.hash
            chain.prev = row.hash
            _follow(chain, row)
            chain.expected_seq += 1
        if chain is not None:
            yield from self._finish(chain)
        yield from self._missing()

    def _chain(self, first: HistoryRecord) -> _Chain:
        """A chain from its first row, or, verifying incrementally, from the checkpoint's row: its link to the row
        before is taken as it is (the checkpoint pins that row's hash, which covers the link)."""
        seen = self.checkpoint.get(first.instance_id) if self.incremental else None
        if seen is None or seen[0] <= 1:
            return _Chain(first.instance_id)
        return _Chain(first.instance_id, expected_seq=seen[0], prev=first.prev_hash if first.seq == seen[0] else "",
                      suspended=None)

    def _backdated(self, row: HistoryRecord) -> ChainProblem | None:
        """A row the checkpoint did not contain cannot have been recorded before the checkpoint was taken."""
        if self.taken_at is None or row.at >= self.taken_at:
            return None
        seen = self.checkpoint.get(row.instance_id)
        if seen is not None and row.seq <= seen[0]:
            return None
        return ChainProblem(row.instance_id, row.seq, f"recorded at {format_instant(row.at)}, before the checkpoint "
                                                      f"taken at {format_instant(self.taken_at)} that did not "
                                                      "contain it (a row added later and back-dated)")

    def _finish(self, chain: _Chain) -> Iterator[ChainProblem]:
        self.seen.add(chain.instance_id)
        if chain.broken:
            return
        last = chain.expected_seq - 1
        if chain.instance_id not in self.heads:
            yield ChainProblem(chain.instance_id, None, "history rows exist for an instance that does not")
            return
        version, head = self.heads[chain.instance_id]
        row_says = self.states.get(chain.instance_id)
        mismatch = None if row_says is None or version != last or head != chain.prev else _differs(chain, row_says)
        if mismatch is not None:
            yield ChainProblem(chain.instance_id, None, f"{mismatch} (the instance row was changed)")
        elif version != last or head != chain.prev:
            yield ChainProblem(chain.instance_id, None if version <= last else last + 1,
                               f"instance row says version {version} head {head[:12]}, history ends at "
                               f"row {last} hash {chain.prev[:12]}")
        elif chain.instance_id in self.checkpoint:
            yield from _against_checkpoint(chain, self.checkpoint[chain.instance_id])
        if self.derived is not None and chain.expected_seq > 1 and not self.incremental:
            yield from _against_derived(chain, self.derived)

    def _missing(self) -> Iterator[ChainProblem]:
        concern: Iterable[int] = self.heads
        if self.shape is not None:  # incrementally, an unmoved history of the right shape needs nothing more
            concern = set(self.shape).union(i for i, head in self.heads.items()
                                            if i not in self.seen and self.checkpoint.get(i) != head)
        for instance_id in sorted(concern):
            version, head = self.heads[instance_id]
            if self.shape is not None:
                problem = self._misshapen(instance_id, version, head)
                if problem is not None:
                    yield problem
                    continue
            if instance_id in self.seen or (self.shape is not None
                                            and self.shape.get(instance_id, (version, version))[0] >= 1
                                            and self.checkpoint.get(instance_id) == (version, head)):
                continue  # (verifying incrementally, an unmoved history is not re-read: its shape was checked)
            if instance_id in self.checkpoint:
                seq = self.checkpoint[instance_id][0]
                if self.incremental and 0 < version < seq:
                    yield ChainProblem(instance_id, seq, f"the checkpoint saw row {seq}; history now ends at row "
                                                         f"{version} (tail cut)")
                    continue
                yield ChainProblem(instance_id, 1, f"the checkpoint saw its history up to row {seq}; it has no "
                                                   "history rows now (deleted)")
            elif version < 1:
                yield ChainProblem(instance_id, None, f"instance row says version {version}: every instance has at "
                                                      "least the row that started it (history deleted?)")
            else:
                yield ChainProblem(instance_id, 1, f"instance is at version {version} but has no history rows")
        for instance_id in sorted(set(self.checkpoint) - self.seen - set(self.heads)):
            yield ChainProblem(instance_id, None, "in the checkpoint but the instance is gone")

    def _misshapen(self, instance_id: int, version: int, head: str) -> ChainProblem | None:
        """Verifying incrementally, rows of a history that was not re-read can still be counted: rows 1..last
        all present (count = last), and, where the head did not move since the checkpoint, last = version.
        ``shape`` holds only the histories where one of these fails (or that have no row)."""
        assert self.shape is not None
        last, count = self.shape.get(instance_id, (version, version))
        if count != last:
            return ChainProblem(instance_id, None, f"{last - count} of its history rows 1..{last} are gone (deleted)")
        unchanged = self.checkpoint.get(instance_id) == (version, head)
        if unchanged and 0 < last != version:
            return ChainProblem(instance_id, None, f"its history holds rows up to {last}; the instance row and the "
                                                   f"checkpoint say {version} (rows added behind the engine's back)")
        return None


def verify(
    rows: Iterable[HistoryRecord],
    heads: Mapping[int, tuple[int, str]],
    checkpoint: Mapping[int, tuple[int, str]] | None = None,
    taken_at: dt.datetime | None = None,
    states: Mapping[int, tuple[str, str, bool]] | None = None,
    shape: Mapping[int, tuple[int, int]] | None = None,
    derived: Derived | None = None,
) -> Iterator[ChainProblem]:
    """Recompute every chain from rows ordered by (instance, seq); yield the first problem per instance.

    ``heads`` is what the instance rows record (version, head hash); ``checkpoint`` an earlier snapshot of heads,
    taken at ``taken_at``, whose rows must still be there unchanged (and no row it did not contain may be
    recorded before it); ``states``: the state each instance row records, which must be where its history
    leaves it (and, where the history names them, the assignee and whether its legal clock is suspended).

    ``shape`` (last seq and row count of each history where count != last or last != version) makes it
    incremental: ``rows`` then hold only the instances
    whose head moved since the checkpoint, from the checkpoint's row on (every row of an instance it did not
    contain). Those are re-hashed and linked, and the checkpoint's row must still hash to what it saw; every
    history must still count rows 1..last, and an unmoved one end where the checkpoint saw it. The content of
    rows not re-read is trusted to the checkpoint: a full verification re-hashes it.

    ``derived`` (a full verification only): the obligations, escalations and obligation timers the tables hold
    must be what the history says (obligations opened, satisfied, waived, moved; escalations raised and
    acknowledged; every open obligation's escalation and timeout timers armed and not cancelled)."""
    return _Verifier(heads, checkpoint, taken_at, states, shape, derived).run(rows)


@dataclass
class ObligationState:
    """One obligation as its history's changes leave it. The verifier (against the obligations table) and the
    "as of" replay (``workflow.obligations.replay``) fold changes with the same ``follow_obligation``."""

    agency: str
    status: str  # open, satisfied, waived
    last_day: str  # ISO date
    due_at: dt.datetime
    opened_seq: int | None  # the row that opened it (None: a migrated row from before rows named it)
    closed_on: str | None = None  # ISO date, once satisfied or waived
    extended_to: str | None = None  # ISO date: an extension granted after the last day (the lateness stays)
    extended_due: dt.datetime | None = None  # when that extension ends (the next escalation)

    def as_row(self) -> list[Any]:
        return [self.agency, self.status, self.last_day, self.due_at, self.opened_seq]


def follow_obligation(current: ObligationState | None, change: Mapping[str, Any], seq: int
                      ) -> ObligationState | None:
    """An obligation after one change a history row records (``seq``: that row's)."""
    op = change["op"]
    if op in ("open", "restart"):
        # a migration replays an instance's past: its row names the row that opened the obligation (rows
        # migrated before it did so leave it unknown)
        opened = change.get("opened_seq", None if "opened_on" in change else seq)
        return ObligationState(str(change["agency"]), "open", str(change["last_day"]),
                               parse_instant(str(change["due_at"])), opened)
    if current is None:
        return None
    if op in ("satisfy", "waive"):
        current.status = "satisfied" if op == "satisfy" else "waived"
        current.closed_on = str(change["on"]) if change.get("on") is not None else None
    elif op == "transfer":
        current.agency = str(change["to"])
    elif op == "reschedule":
        current.last_day, current.due_at = str(change["last_day"]), parse_instant(str(change["due_at"]))
        current.extended_to = current.extended_due = None
    elif op == "extend":
        current.extended_to = str(change["last_day"])
        current.extended_due = parse_instant(str(change["due_at"]))
    elif op == "correct":  # a recorded fact put right: the obligation restated as the corrected facts decide
        moved = str(change["last_day"]) != current.last_day
        current.agency, current.status = str(change["agency"]), str(change["status"])
        current.last_day, current.due_at = str(change["last_day"]), parse_instant(str(change["due_at"]))
        current.closed_on = str(change["closed_on"]) if change.get("closed_on") else None
        if moved:  # re-armed at the restated day: an earlier late extension's timer went with it
            current.extended_to = current.extended_due = None
    return current


def _follow(chain: _Chain, row: HistoryRecord) -> None:
    """What the row does to the state, the assignee, the legal clock's suspension, the obligations and the
    escalations."""
    chain.state = row.to_state
    chain.definition = (row.definition_id, row.definition_version)
    for change in row.obligations or ():
        name = str(change["name"])
        followed = follow_obligation(chain.obligations.get(name), change, row.seq)
        if followed is not None:
            chain.obligations[name] = followed
    if row.event == "@escalated":
        chain.escalations[int(row.payload["escalation_id"])] = "open"
    elif row.event == "@escalation_acknowledged":
        chain.escalations[int(row.payload["escalation_id"])] = "acknowledged"
    for closed in row.payload.get("@escalations_closed", ()):  # closed because the duty was done
        chain.escalations[int(closed)] = "acknowledged"
    if row.event == "@start" and isinstance(row.payload.get("assignee"), str):
        chain.assignee = row.payload["assignee"]
    elif row.event == "@reassigned":
        chain.assignee = str(row.payload["to"])
    if row.event == "@suspended":
        chain.suspended = True
    elif row.event == "@resumed" or not row.event.startswith("@"):
        chain.suspended = False  # an event's transition restarts the clock of the state it enters


def _against_derived(chain: _Chain, derived: Derived) -> Iterator[ChainProblem]:
    """The obligations, escalations and obligation timers of one instance against its history."""
    i = chain.instance_id
    table = derived.obligations.get(i, {})
    for name in sorted(set(table) | set(chain.obligations)):
        state = chain.obligations.get(name)
        said = None if state is None else state.as_row()
        held = table.get(name)
        if held is None:
            yield ChainProblem(i, None, f"obligation {name!r} is in its history but not in the obligations table "
                                        "(deleted)")
        elif said is None:
            yield ChainProblem(i, None, f"obligation {name!r} is in the obligations table but not in its history "
                                        "(planted)")
        elif tuple(said[:4]) != tuple(held[:4]) or said[4] not in (None, held[4]):
            fields = ("agency", "status", "last day", "due", "opened by row")
            diff = next(f for f, a, b in zip(fields, said, held, strict=True) if a != b)
            yield ChainProblem(i, None, f"obligation {name!r}: the table says {diff} {_text(held, fields, diff)}; "
                                        f"its history says {_text(said, fields, diff)}")
    escalations = derived.escalations.get(i, {})
    for escalation_id in sorted(set(escalations) | set(chain.escalations)):
        said_status, held_status = chain.escalations.get(escalation_id), escalations.get(escalation_id)
        if said_status != held_status:
            yield ChainProblem(i, None, f"escalation {escalation_id} is {held_status or 'missing'} in the table; its "
                                        f"history says {said_status or 'it never happened'}")
    required = derived.required.get(chain.definition, {})
    timers = derived.timers.get(i, {})
    for name, obligation in sorted(chain.obligations.items()):
        if obligation.status != "open":
            continue
        fence = obligation.opened_seq if obligation.opened_seq is not None else table.get(name, (None,) * 5)[4]
        if fence is None:
            continue  # its row is missing from the table: reported above
        armed = timers.get((name, int(fence)), ())
        live = ("pending", "fired", "suspended") if chain.suspended else ("pending", "fired")
        for kind in required.get(name, ()):
            statuses = [t.status for t in armed if t.kind == kind]
            if not any(status in live for status in statuses):
                what = "cancelled" if statuses else "missing"
                yield ChainProblem(i, None, f"obligation {name!r} is open but its {kind} timer is {what} "
                                            "(changed behind the engine's back)")
        yield from _escalation_timers(chain, derived, name, obligation, armed)


def _escalation_timers(chain: _Chain, derived: Derived, name: str, obligation: ObligationState,
                       armed: Sequence[ArmedTimer]) -> Iterator[ChainProblem]:
    """An open obligation's escalation: a pending timer is due when the obligation is (or, extended after its last
    day, when the extension ends); a timer marked fired raised an escalation."""
    i = chain.instance_id
    due = obligation.extended_due or obligation.due_at
    for timer in armed:
        if timer.kind != "escalation":
            continue
        if timer.status == "pending" and timer.base_due != due:
            yield ChainProblem(i, None, f"obligation {name!r}: its escalation is armed for "
                                        f"{format_instant(timer.base_due)}; its history says it is due "
                                        f"{format_instant(due)} (moved behind the engine's back)")
        elif timer.status == "fired" and timer.id not in derived.escalated.get(i, set()):
            yield ChainProblem(i, None, f"obligation {name!r}: its escalation timer {timer.id} is marked fired but "
                                        "no escalation was raised (the Committee was never told)")


def _text(values: Sequence[Any], fields: Sequence[str], which: str) -> str:
    value = values[list(fields).index(which)]
    return format_instant(value) if isinstance(value, dt.datetime) else str(value)


def _differs(chain: _Chain, row_says: tuple[str, str, bool]) -> str | None:
    state, assignee, suspended = row_says
    if state != chain.state:
        return f"instance row says state {state!r}; its history leaves it in {chain.state!r}"
    if chain.assignee is not None and assignee != chain.assignee:
        return f"instance row says it is assigned to {assignee}; its history says {chain.assignee}"
    if chain.suspended is not None and suspended != chain.suspended:
        said = "suspended" if suspended else "running"
        return f"instance row says its legal clock is {said}; its history says the opposite"
    return None


def _check_row(chain: _Chain, row: HistoryRecord) -> ChainProblem | None:
    if row.seq != chain.expected_seq:
        what = "missing" if row.seq > chain.expected_seq else "out of order"
        return ChainProblem(row.instance_id, chain.expected_seq,
                            f"row {chain.expected_seq} is {what} (found row {row.seq} in its place)")
    if row.prev_hash != chain.prev:
        return ChainProblem(row.instance_id, row.seq,
                            "previous-hash link does not match the row before it (rows removed, "
                            "reordered or rewritten)")
    if record_hash(row) != row.hash:
        return ChainProblem(row.instance_id, row.seq, "content does not match its hash (row altered)")
    return None


def _against_checkpoint(chain: _Chain, seen: tuple[int, str]) -> Iterator[ChainProblem]:
    seq, head = seen
    if seq >= chain.expected_seq:
        yield ChainProblem(chain.instance_id, seq, f"the checkpoint saw row {seq}; history now ends at row "
                                                   f"{chain.expected_seq - 1} (tail cut)")
    elif chain.hashes.get(seq) != head:
        yield ChainProblem(chain.instance_id, seq, "row differs from the one the checkpoint saw")


def checkpoint_leaves(heads: Mapping[int, tuple[int, str]]) -> list[bytes]:
    return [canonical([i, seq, head]) for i, (seq, head) in sorted(heads.items())]


def make_checkpoint(heads: Mapping[int, tuple[int, str]], taken_at: dt.datetime) -> dict[str, Any]:
    """A document an auditor keeps: every chain head and the Merkle root over them."""
    return {
        "format": "khcn-workflow-checkpoint/1",
        "taken_at": format_instant(taken_at),
        "root": merkle_root(checkpoint_leaves(heads)),
        "heads": [{"instance_id": i, "seq": s, "hash": h} for i, (s, h) in sorted(heads.items())],
    }


def checkpoint_time(document: Mapping[str, Any]) -> dt.datetime:
    """When a checkpoint document was taken."""
    return parse_instant(str(document["taken_at"]))


def read_checkpoint(document: Mapping[str, Any]) -> dict[int, tuple[int, str]]:
    """Heads of a checkpoint document; raises ValueError if the root does not match its heads."""
    heads = {int(h["instance_id"]): (int(h["seq"]), str(h["hash"])) for h in document["heads"]}
    if merkle_root(checkpoint_leaves(heads)) != document.get("root"):
        raise ValueError("the checkpoint's root does not match its heads: the checkpoint file was altered")
    return heads
