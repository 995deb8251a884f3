"""``SqlStore``: the engine's ``Store`` on SQLAlchemy 2, for SQLite and PostgreSQL alike.

A write transaction (``transaction()``) runs on a pooled DBAPI connection: ``BEGIN IMMEDIATE`` on SQLite,
the driver's implicit transaction on PostgreSQL, then the hot statements of ``store.hot``, then COMMIT
(ROLLBACK on any exception). Reads and rare writes use SQLAlchemy Core. Database failures that a person
must act on (busy past the timeout, disk full, read-only file) become ``StoreUnavailable`` with the
driver's reason; nothing is half-written because the transaction rolls back.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Dialect,
    Engine,
    Integer,
    MetaData,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateTable

from definitions import (
    DefinitionConflict,
    DefinitionTampered,
    NotFound,
    StoreUnavailable,
    ValueRejected,
    from_canonical_json,
)
from definitions.model import Definition
from definitions.vietnamese import fold
from workflow.audit import canonical
from workflow.calendar import DayOverride
from workflow.clock import Clock, SystemClock
from workflow.errors import DuplicateBusinessKey
from workflow.ports import (
    ArmedTimer,
    Derived,
    HistoryRecord,
    IdempotencyRecord,
    InstanceRecord,
    ObligationRecord,
    StoredDefinition,
)

from .accounts import AccountQueries
from .agency_rows import AgencyRows, AgencyStatements
from .connections import SystemStatements
from .folding import folded
from .group_commit import GroupCommit
from .hot import HotStatement
from .keys import WRITING_KEY, KeyQueries, KeyRevoked
from .obligation_rows import ObligationRows, ObligationStatements
from .outbox import OutboxQueries, OutboxRows, OutboxStatements
from .plan_imports import PlanImportQueries
from .registers import RegisterQueries, RegisterRows, RegisterStatements
from .rows import OBLIGATION_COLUMNS, history_from_row, instance_from_row, obligation_from_row, override_from_row
from .schedules import ScheduleQueries, ScheduleRows, ScheduleStatements
from .system_log import SystemQueries, SystemRows, system_problems
from .tables import (
    accounts,
    agencies,
    agency_names,
    api_keys,
    calendar_overrides,
    definitions,
    escalations,
    history,
    idempotency,
    instances,
    obligations,
    timers,
)
from .timer_queries import TimerQueries
from .timer_rows import TimerRows, TimerStatements
from .uploads import UploadQueries

_log = logging.getLogger("workflow.store")
MAX_ID = 2**63  # ids are 64-bit integers in both databases
ID_END = MAX_ID - 1  # the end of an id range that takes every id (the largest value the drivers accept)
_SELECT_INSTANCE = select(instances)
_SELECT_HISTORY = select(history)


def _all_columns(table: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {c.name: bindparam(c.name) for c in table.c if c.name not in skip}


class _HotPath:
    """The statements of start and fire, compiled once for a dialect (see ``store.hot``)."""

    def __init__(self, dialect: Dialect) -> None:
        instance_types = [c.type for c in instances.c]
        self.get_instance = HotStatement(
            _SELECT_INSTANCE.where(instances.c.id == bindparam("b_id")), dialect, instance_types)
        self.find_by_key = HotStatement(
            _SELECT_INSTANCE.where(and_(instances.c.definition_id == bindparam("b_definition"),
                                        instances.c.business_key == bindparam("b_key"))), dialect, instance_types)
        self.of_definition = HotStatement(
            _SELECT_INSTANCE.where(instances.c.definition_id == bindparam("b_definition")).order_by(instances.c.id),
            dialect, instance_types)
        self.insert_instance = HotStatement(
            insert(instances).values(_all_columns(instances, skip=("id",))).returning(instances.c.id), dialect)
        self.update_instance = HotStatement(
            update(instances)
            .where(and_(instances.c.id == bindparam("b_id"), instances.c.version == bindparam("b_expected")))
            .values({c: bindparam(c) for c in ("state", "version", "data", "updated_at", "head_hash", "assignee",
                                               "entry_seq", "suspended_at", "due_at", "effective_on",
                                               "definition_version")}),
            dialect)
        self.insert_history = HotStatement(insert(history).values(_all_columns(history)), dialect)
        self.get_history_row = HotStatement(
            _SELECT_HISTORY.where(and_(history.c.instance_id == bindparam("b_id"),
                                       history.c.seq == bindparam("b_seq"))), dialect, [c.type for c in history.c])
        self.latest_version = HotStatement(
            select(func.max(definitions.c.version)).where(definitions.c.id == bindparam("b_id")), dialect)
        key_columns = [api_keys.c.id, api_keys.c.name, api_keys.c.role, api_keys.c.agency, api_keys.c.key_hash,
                       api_keys.c.created_at, api_keys.c.revoked_at, api_keys.c.account_id, api_keys.c.expires_at,
                       api_keys.c.last_used_at, accounts.c.disabled_at, accounts.c.name]
        self.find_key = HotStatement(select(*key_columns)
                                     .select_from(api_keys.outerjoin(accounts, accounts.c.id == api_keys.c.account_id))
                                     .where(api_keys.c.key_hash == bindparam("b_hash")), dialect,
                                     [c.type for c in key_columns])
        self.key_live = HotStatement(select(api_keys.c.revoked_at, api_keys.c.expires_at, accounts.c.disabled_at)
                                     .select_from(api_keys.outerjoin(accounts, accounts.c.id == api_keys.c.account_id))
                                     .where(api_keys.c.id == bindparam("b_id")), dialect,
                                     [api_keys.c.revoked_at.type, api_keys.c.expires_at.type,
                                      accounts.c.disabled_at.type])
        self.get_idempotency = HotStatement(
            select(idempotency).where(idempotency.c.key == bindparam("b_key")), dialect)
        self.insert_idempotency = HotStatement(insert(idempotency).values(_all_columns(idempotency)), dialect)
        in_range = and_(instances.c.id >= bindparam("b_first"), instances.c.id < bindparam("b_end"))
        self.chain_heads = HotStatement(
            select(instances.c.id, instances.c.version, instances.c.head_hash).where(in_range), dialect)
        self.states = HotStatement(select(instances.c.id, instances.c.state, instances.c.assignee,
                                          instances.c.suspended_at.is_not(None)).where(in_range), dialect)
        self.scan_history = HotStatement(
            _SELECT_HISTORY.where(and_(history.c.instance_id >= bindparam("b_first"),
                                       history.c.instance_id < bindparam("b_end")))
            .order_by(history.c.instance_id, history.c.seq), dialect, [c.type for c in history.c])


# Where an incremental verification starts each chain it re-reads (``audit_since``): a temporary table, so that
# the scan joins on the history's primary key and reads only the rows from there on.
_verify_from = Table("verify_from", MetaData(),
                     Column("instance_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
                     Column("seq", Integer, nullable=False), prefixes=["TEMPORARY"])


class _AuditStatements:
    """The statements of verification beyond the chains (the derived tables; an incremental scan), compiled once
    for a dialect."""

    def __init__(self, dialect: Dialect) -> None:
        def in_range(column: Any) -> Any:
            return and_(column >= bindparam("b_first"), column < bindparam("b_end"))

        self.obligations = HotStatement(
            select(obligations.c.instance_id, obligations.c.name, obligations.c.agency, obligations.c.status,
                   obligations.c.last_day, obligations.c.due_at, obligations.c.opened_seq)
            .where(in_range(obligations.c.instance_id)), dialect,
            [c.type for c in (obligations.c.instance_id, obligations.c.name, obligations.c.agency,
                              obligations.c.status, obligations.c.last_day, obligations.c.due_at,
                              obligations.c.opened_seq)])
        self.escalations = HotStatement(
            select(escalations.c.id, escalations.c.instance_id, escalations.c.status, escalations.c.timer_id)
            .where(in_range(escalations.c.instance_id)), dialect)
        self.timers = HotStatement(
            select(timers.c.instance_id, timers.c.obligation, timers.c.fence, timers.c.kind, timers.c.status,
                   timers.c.base_due, timers.c.id)
            .where(and_(in_range(timers.c.instance_id), timers.c.obligation.is_not(None))), dialect,
            [timers.c.instance_id.type, timers.c.obligation.type, timers.c.fence.type, timers.c.kind.type,
             timers.c.status.type, timers.c.base_due.type, timers.c.id.type])
        self.create = str(CreateTable(_verify_from, if_not_exists=True).compile(dialect=dialect))
        self.clear = HotStatement(delete(_verify_from), dialect)
        self.insert = HotStatement(insert(_verify_from).values(instance_id=bindparam("b_id"),
                                                               seq=bindparam("b_seq")), dialect)
        self.scan = HotStatement(
            _SELECT_HISTORY.select_from(history.join(_verify_from, and_(
                _verify_from.c.instance_id == history.c.instance_id, history.c.seq >= _verify_from.c.seq)))
            .order_by(history.c.instance_id, history.c.seq), dialect, [c.type for c in history.c])
        shape = (select(history.c.instance_id, func.max(history.c.seq).label("last"), func.count().label("rows"))
                 .where(and_(history.c.instance_id >= bindparam("b_first"),
                             history.c.instance_id < bindparam("b_end")))
                 .group_by(history.c.instance_id).subquery())
        # Only the histories whose shape is wrong: rows missing (count < last seq), or not ending at the version.
        self.misshapen = HotStatement(
            select(instances.c.id, func.coalesce(shape.c.last, 0), func.coalesce(shape.c.rows, 0))
            .select_from(instances.outerjoin(shape, shape.c.instance_id == instances.c.id))
            .where(and_(instances.c.id >= bindparam("b_first"), instances.c.id < bindparam("b_end"),
                        or_(shape.c.rows.is_(None), shape.c.rows != shape.c.last,
                            shape.c.last != instances.c.version))), dialect)
        self.states = HotStatement(
            select(instances.c.id, instances.c.state, instances.c.assignee, instances.c.suspended_at.is_not(None))
            .select_from(instances.join(_verify_from, _verify_from.c.instance_id == instances.c.id)), dialect)


@dataclass(frozen=True)
class ReportGroup:
    """Obligations alike for the status report (``SqlStore.report_groups``)."""

    agency: str
    definition_id: str
    definition_version: int
    section: str | None  # data.section of its instance, as text
    duty: str | None  # data.duty of its instance, as text
    category: str  # done_on_time, done_late, within_deadline, overdue
    count: int


@dataclass(frozen=True)
class TaskRow:
    """One obligation with its instance, as the task lists show it (``SqlStore.find_tasks``)."""

    obligation_id: int
    instance_id: int
    agency: str
    definition_id: str
    definition_version: int
    state: str
    business_key: str
    section: str  # data.section, else the definition's section of the plan
    duty: str | None  # data.duty (yearly duties name theirs)
    last_day: str  # ISO date: the last day of the legal period
    due_at: dt.datetime
    status: str  # open, satisfied
    closed_on: str | None
    category: str  # done_on_time, done_late, within_deadline, overdue


@dataclass(frozen=True)
class TaskFilter:
    """What the task lists may be narrowed by (every field optional; all given must hold)."""

    agency: str | None = None
    section: str | None = None
    definition_id: str | None = None
    state: str | None = None
    category: str | None = None
    due_from: dt.date | None = None  # the last day on or after
    due_to: dt.date | None = None  # the last day on or before
    text: str | None = None  # in the business key or the duty's name
    titled: tuple[str, ...] = ()  # definitions whose title matches the text too


def _json(value: Any) -> str:
    return canonical(value).decode("utf-8")


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class _UnitStatements:
    """Every statement a unit of work runs, compiled once per dialect, by responsibility."""

    hot: _HotPath
    timer: TimerStatements
    agency: AgencyStatements
    obligation: ObligationStatements
    system: SystemStatements
    outbox: OutboxStatements
    schedule: ScheduleStatements
    register: RegisterStatements


class SqlUnitOfWork(TimerRows, ObligationRows, AgencyRows, ScheduleRows, OutboxRows, SystemRows, RegisterRows):
    """The reads and writes of one transaction on a DBAPI connection (see ``workflow.ports.UnitOfWork``):
    instances and history here; timers and escalations (``timer_rows``), obligations (``obligation_rows``), the
    registry (``agency_rows``), schedules (``schedules``), the outbox (``outbox``), the system history
    (``system_log``) in their own modules."""

    def __init__(self, dbapi: Any, sql: _UnitStatements) -> None:
        self.dbapi = dbapi
        self.hot = sql.hot
        self.timer_sql = sql.timer
        self.agency_sql = sql.agency
        self.obligation_sql = sql.obligation
        self.system_sql = sql.system
        self.outbox_sql = sql.outbox
        self.schedule_sql = sql.schedule
        self.register_sql = sql.register
        self.appended: list[HistoryRecord] = []  # what this transaction recorded, for the subscribers after commit

    def get_instance(self, instance_id: int) -> InstanceRecord | None:
        if not 0 < instance_id < MAX_ID:
            return None  # cannot exist (and SQLite would overflow)
        row = self.hot.get_instance.first(self.dbapi, {"b_id": instance_id})
        return None if row is None else instance_from_row(row)

    def latest_definition_version(self, definition_id: str) -> int | None:
        row = self.hot.latest_version.first(self.dbapi, {"b_id": definition_id})
        return None if row is None or row[0] is None else int(row[0])

    def find_instance_by_key(self, definition_id: str, business_key: str) -> InstanceRecord | None:
        row = self.hot.find_by_key.first(self.dbapi, {"b_definition": definition_id, "b_key": business_key})
        return None if row is None else instance_from_row(row)

    def instances_of_definition(self, definition_id: str) -> list[InstanceRecord]:
        rows = self.hot.of_definition.all(self.dbapi, {"b_definition": definition_id})
        return [instance_from_row(row) for row in rows]

    def insert_instance(self, instance: InstanceRecord) -> int:
        existing = self.find_instance_by_key(instance.definition_id, instance.business_key)
        if existing is not None:  # on PostgreSQL a concurrent start can still hit the unique constraint
            raise DuplicateBusinessKey(instance.definition_id, instance.business_key, existing.id)
        row = self.hot.insert_instance.first(self.dbapi, {
            "definition_id": instance.definition_id, "definition_version": instance.definition_version,
            "business_key": instance.business_key, "state": instance.state, "version": instance.version,
            "assignee": instance.assignee, "data": _json(instance.data), "parent_id": instance.parent_id,
            "created_at": instance.created_at, "updated_at": instance.updated_at, "head_hash": instance.head_hash,
            "entry_seq": instance.entry_seq, "suspended_at": instance.suspended_at, "due_at": instance.due_at,
            "effective_on": _day(instance.effective_on)})
        assert row is not None
        return int(row[0])

    def update_instance(self, instance: InstanceRecord, expected_version: int) -> bool:
        return self.hot.update_instance.run(self.dbapi, {
            "b_id": instance.id, "b_expected": expected_version, "state": instance.state,
            "version": instance.version, "data": _json(instance.data), "updated_at": instance.updated_at,
            "head_hash": instance.head_hash, "assignee": instance.assignee, "entry_seq": instance.entry_seq,
            "suspended_at": instance.suspended_at, "due_at": instance.due_at,
            "effective_on": _day(instance.effective_on), "definition_version": instance.definition_version}) == 1

    def append_history(self, r: HistoryRecord) -> None:
        self.appended.append(r)
        self.hot.insert_history.run(self.dbapi, {
            "instance_id": r.instance_id, "seq": r.seq, "event": r.event, "from_state": r.from_state,
            "to_state": r.to_state, "actor_id": r.actor_id, "actor_role": r.actor_role,
            "actor_agency": r.actor_agency, "at": r.at, "payload": _json(r.payload), "reason": r.reason,
            "definition_id": r.definition_id, "definition_version": r.definition_version,
            "request_id": r.request_id, "prev_hash": r.prev_hash, "hash": r.hash, "effective_on": r.effective_on,
            "obligations": None if r.obligations is None else _json(list(r.obligations))})

    def history_row(self, instance_id: int, seq: int) -> HistoryRecord | None:
        row = self.hot.get_history_row.first(self.dbapi, {"b_id": instance_id, "b_seq": seq})
        return None if row is None else history_from_row(row)

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        row = self.hot.get_idempotency.first(self.dbapi, {"b_key": key})
        return None if row is None else IdempotencyRecord(*row)

    def save_idempotency(self, record: IdempotencyRecord) -> None:
        self.hot.insert_idempotency.run(self.dbapi, {
            "key": record.key, "fingerprint": record.fingerprint, "instance_id": record.instance_id,
            "seq": record.seq})


class SqlStore(TimerQueries, ScheduleQueries, OutboxQueries, SystemQueries, KeyQueries, AccountQueries,
               RegisterQueries, UploadQueries, PlanImportQueries):
    """Definitions, instances and history in a SQL database (see ``workflow.ports.Store``)."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self._hot = _HotPath(engine.dialect)
        self._audit_sql = _AuditStatements(engine.dialect)
        self._timer_sql = TimerStatements(engine.dialect)
        self._agency_sql = AgencyStatements(engine.dialect)
        self._obligation_sql = ObligationStatements(engine.dialect)
        self._system_sql = SystemStatements(engine.dialect)
        self._unit_sql = _UnitStatements(self._hot, self._timer_sql, self._agency_sql, self._obligation_sql,
                                         self._system_sql, OutboxStatements(engine.dialect),
                                         ScheduleStatements(engine.dialect), RegisterStatements(engine.dialect))
        self._begin_sql = "BEGIN IMMEDIATE" if engine.dialect.name == "sqlite" else None
        dbapi = engine.dialect.loaded_dbapi
        self._operational = dbapi.OperationalError
        self._integrity = dbapi.IntegrityError
        self._data_error = dbapi.DataError
        # SQLite has one writer at a time. Writers waiting in its busy handler sleep in growing steps (up to
        # 100 ms) instead of being woken; measured: 8 concurrent HTTP writers fell to ~200 tx/s with 1 s stalls.
        # So this process's writers take turns (woken at once) and share commits (store/group_commit.py);
        # busy_timeout still covers other processes.
        self._group = GroupCommit(self._raw, self._write_error) if engine.dialect.name == "sqlite" else None
        self._subscribers: list[Callable[[Sequence[HistoryRecord]], None]] = []

    def subscribe(self, callback: Callable[[Sequence[HistoryRecord]], None]) -> Callable[[], None]:
        """Call ``callback`` with the history rows of every write transaction of this process, once it has
        committed: transitions, and the engine's own rows (``@escalated``, ``@deadline_extended``, ...). In the
        writer's thread, after the commit: a slow callback slows that writer, a failing one is logged and the
        write stands. Returns the function that ends the subscription. Other processes' writes are not seen: read
        the history for those (``docs/embedding.md``)."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _publish(self, uow: SqlUnitOfWork) -> None:
        for callback in list(self._subscribers):
            if uow.appended:
                try:
                    callback(tuple(uow.appended))
                except Exception:  # the write has committed: a subscriber's fault must not look like its failure
                    _log.exception("a history subscriber failed on %d rows", len(uow.appended))

    def _check_writing_key(self, dbapi: Any) -> None:
        """Inside a write transaction: the request's API key (``WRITING_KEY``) is still live, or nothing is written."""
        key_id = WRITING_KEY.get()
        if key_id is None:
            return
        row = self._hot.key_live.first(dbapi, {"b_id": key_id})
        if row is None or row[0] is not None or (row[1] is not None and row[1] <= self.clock.now()) or \
                row[2] is not None:
            self._cache().clear()  # its next request is looked up again (and refused there)
            raise KeyRevoked

    @contextmanager
    def transaction(self) -> Iterator[SqlUnitOfWork]:
        if self._group is None:
            with self._transaction() as uow:
                self._check_writing_key(uow.dbapi)
                yield uow
        else:
            try:
                with self._group.member() as dbapi:
                    self._check_writing_key(dbapi)
                    uow = SqlUnitOfWork(dbapi, self._unit_sql)
                    yield uow
            except BaseException as err:
                self._reraise(err, "write")
        # committed (a group member returns once its batch has), or once the batch this thread holds has
        if self._subscribers and (self._group is None or not self._group.after_commit(lambda: self._publish(uow))):
            self._publish(uow)

    @property
    def holds_batches(self) -> bool:
        """Whether ``held`` groups a writer thread's transactions into one commit (SQLite; a PostgreSQL server
        groups the commits of concurrent connections itself)."""
        return self._group is not None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Every ``transaction()`` this thread opens inside the block is a savepoint of one write transaction,
        committed at the end of the block (``store/group_commit.py``); a transaction that raises rolls back only
        itself. If the commit fails, it raises and nothing of the block was written. Without batches (PostgreSQL)
        each transaction commits on its own, as outside the block."""
        if self._group is None:
            yield
            return
        try:
            with self._group.held():
                yield
        except BaseException as err:
            self._reraise(err, "write")

    def _write_error(self, err: BaseException) -> BaseException:
        return self._store_error(err, "write")

    def _store_error(self, err: BaseException, doing: str) -> BaseException:
        """The one translation of database errors, SQLAlchemy's or the driver's own, into the store's (anything
        else comes back as it is). ``doing``: ``read``, ``write`` or ``open``."""
        cause = err.orig if isinstance(err, DBAPIError) else err
        if isinstance(cause, self._data_error):
            written = ", nothing was written" if doing == "write" else ""
            return ValueRejected(f"the database refused a value{written}: {cause}")
        if isinstance(cause, self._integrity) and doing == "write":
            return StoreUnavailable(f"a database constraint refused the write, nothing was written: {cause}")
        if isinstance(cause, self._operational):
            what = {"read": "the database could not be read", "open": "the database cannot be opened",
                    "write": "the database refused the write, nothing was written"}[doing]
            return StoreUnavailable(f"{what}: {cause}{'' if doing == 'write' else self._why()}")
        return err

    def _reraise(self, err: BaseException, doing: str) -> NoReturn:
        translated = self._store_error(err, doing)
        if translated is err:
            raise err
        raise translated from err

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """A SQLAlchemy write transaction (rare writes), queued like every write of this process."""
        try:
            with self._group.alone() if self._group is not None else nullcontext(), \
                    self.engine.begin() as connection:
                self._check_writing_key(connection.connection.driver_connection)
                yield connection
        except Exception as err:
            self._reraise(err, "write")

    def _raw(self) -> Any:
        """A pooled DBAPI connection. Errors raised while opening one (in our connect hook: the file cannot be
        opened, the file system is read-only) come as the driver's own, not SQLAlchemy's: both are a 503."""
        try:
            return self.engine.raw_connection()
        except Exception as err:
            self._reraise(err, "open")

    def _why(self) -> str:
        """What the file system says about a SQLite file that cannot be opened ('' if nothing useful)."""
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return ""
        try:
            fs = os.statvfs(os.path.dirname(os.path.abspath(database)))
        except OSError as err:
            return f" ({err.strerror}: {database})"
        if fs.f_flag & os.ST_RDONLY:
            return f" (the file system holding {database} is read-only)"
        if fs.f_bavail == 0:
            return f" (the disk holding {database} is full)"
        return ""

    @contextmanager
    def _transaction(self) -> Iterator[SqlUnitOfWork]:
        pooled = self._raw()
        dbapi = pooled.driver_connection
        try:
            if self._begin_sql is not None:
                dbapi.execute(self._begin_sql)
            yield SqlUnitOfWork(dbapi, self._unit_sql)
            pooled.commit()
        except BaseException as err:
            try:
                pooled.rollback()
            except Exception:  # the connection itself is gone (server restarted, connection dropped)
                pooled.invalidate()  # the pool opens a new one next time; the original error is what we report
            self._reraise(err, "write")
        finally:
            pooled.close()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
                yield connection
        except Exception as err:  # SQLAlchemy's, or the driver's own while a connection was being opened
            self._reraise(err, "read")

    # -- definitions -----------------------------------------------------------------------------

    def save_definition(self, definition: Definition) -> bool:
        content_hash = definition.content_hash
        try:
            with self._begin() as connection:
                stored = connection.execute(
                    select(definitions.c.content_hash).where(
                        and_(definitions.c.id == definition.id, definitions.c.version == definition.version))
                ).scalar()
                if stored == content_hash:
                    return False
                if stored is not None:
                    raise DefinitionConflict(definition.id, definition.version, stored, content_hash)
                connection.execute(insert(definitions).values(
                    id=definition.id, version=definition.version, content_hash=content_hash,
                    content=definition.canonical_json(), title_vi=definition.title.vi,
                    seed_section=definition.seed_section, loaded_at=self.clock.now()))
        except Exception as err:
            self._reraise(err, "write")
        return True

    def get_definition(self, definition_id: str, version: int | None = None) -> StoredDefinition:
        query = select(definitions).where(definitions.c.id == definition_id)
        query = (query.where(definitions.c.version == version) if version is not None
                 else query.order_by(definitions.c.version.desc()).limit(1))
        with self._read() as connection:
            row = connection.execute(query).first()
        if row is None:
            if version is None:
                raise NotFound("definition", definition_id, {d.definition.id for d in self.list_definitions()})
            raise NotFound("definition", f"{definition_id} v{version}")
        return self._stored(row._mapping)

    def _hot_read(self, statement: HotStatement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """One row by a hot statement on a pooled DBAPI connection, outside SQLAlchemy's result layer."""
        pooled = self._raw()
        try:
            row = statement.first(pooled.driver_connection, values)
            pooled.commit()  # ends the read transaction the driver may have opened
        except Exception as err:
            self._reraise(err, "read")
        finally:
            pooled.close()
        return row

    def latest_definition_version(self, definition_id: str) -> int | None:
        """The highest stored version of a definition (a hot read)."""
        row = self._hot_read(self._hot.latest_version, {"b_id": definition_id})
        return None if row is None or row[0] is None else int(row[0])

    def _key_row(self, digest: str) -> tuple[Any, ...] | None:
        """The API key row of this SHA-256 (every write request asks: a hot read)."""
        return self._hot_read(self._hot.find_key, {"b_hash": digest})

    def list_definitions(self) -> list[StoredDefinition]:
        with self._read() as connection:
            rows = connection.execute(select(definitions).order_by(definitions.c.id, definitions.c.version))
            return [self._stored(row._mapping) for row in rows]

    @staticmethod
    def _stored(m: Mapping[Any, Any]) -> StoredDefinition:
        """A stored definition, its content checked against its hash: an edited one is never run."""
        definition = from_canonical_json(json.loads(m["content"]))
        if definition.content_hash != m["content_hash"]:
            raise DefinitionTampered(m["id"], m["version"])
        return StoredDefinition(definition, m["content_hash"], m["loaded_at"])

    def integrity_problems(self) -> list[str]:
        """What is wrong outside the hash chains: stored definitions whose content does not match their hash, the
        append-only guards of the history table missing."""
        problems = []
        with self._read() as connection:
            for m in connection.execute(select(definitions)).mappings():
                try:
                    self._stored(m)
                except DefinitionTampered as err:
                    problems.append(str(err))
            if self.engine.dialect.name == "sqlite":
                found = {r[0] for r in connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'history'")}
                wanted = {"history_no_update", "history_no_delete"}
            else:
                found = {r[0] for r in connection.exec_driver_sql(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'history'::regclass AND tgenabled != 'D'")}
                wanted = {"history_no_change", "history_no_truncate"}
            problems.extend(system_problems(connection))
        problems.extend(f"the history table's guard {name} is missing or disabled: history can be rewritten"
                        for name in sorted(wanted - found))
        return problems

    # -- instances and history -------------------------------------------------------------------

    def get_instance(self, instance_id: int) -> InstanceRecord:
        if not 0 < instance_id < MAX_ID:
            raise NotFound("instance", instance_id)
        with self._read() as connection:
            row = connection.execute(_SELECT_INSTANCE.where(instances.c.id == instance_id)).first()
        if row is None:
            raise NotFound("instance", instance_id)
        return instance_from_row(tuple(row))

    def list_instances(self, *, definition_id: str | None = None, state: str | None = None,
                       assignee: str | None = None, after_id: int = 0, limit: int = 100,
                       overdue_at: dt.datetime | None = None, due_before: dt.datetime | None = None,
                       key_prefix: str | None = None, parent_id: int | None = None) -> list[InstanceRecord]:
        """Instances by id after ``after_id`` (cursor paging). ``overdue_at``: whose deadline passed by then."""
        query = _SELECT_INSTANCE.where(instances.c.id > after_id).order_by(instances.c.id).limit(limit)
        if definition_id is not None:
            query = query.where(instances.c.definition_id == definition_id)
        if state is not None:
            query = query.where(instances.c.state == state)
        if assignee is not None:
            query = query.where(instances.c.assignee == assignee)
        if overdue_at is not None:
            query = query.where(instances.c.due_at < overdue_at)
        if due_before is not None:
            query = query.where(instances.c.due_at < due_before)
        if key_prefix is not None:
            escaped = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(instances.c.business_key.like(escaped + "%", escape="\\"))
        if parent_id is not None:
            query = query.where(instances.c.parent_id == parent_id)
        with self._read() as connection:
            return [instance_from_row(tuple(row)) for row in connection.execute(query)]

    def by_deadline(self, *, due_from: dt.datetime | None = None, due_before: dt.datetime,
                    limit: int = 500) -> list[InstanceRecord]:
        """Instances with a deadline in ``[due_from, due_before)``, earliest first (final states have none)."""
        query = _SELECT_INSTANCE.where(instances.c.due_at < due_before)
        if due_from is not None:
            query = query.where(instances.c.due_at >= due_from)
        query = query.order_by(instances.c.due_at, instances.c.id).limit(limit)
        with self._read() as connection:
            return [instance_from_row(tuple(row)) for row in connection.execute(query)]

    def _data_field(self, name: str) -> Any:
        data = (type_coerce(instances.c.data, JSON) if self.engine.dialect.name == "sqlite"
                else cast(instances.c.data, JSONB))
        return data[name].as_string()

    def report_groups(self, at: dt.datetime) -> list[ReportGroup]:
        """Obligations counted by what the status report distinguishes, judged at ``at``, in one query:
        (agency, definition, version, data.section, data.duty, category). Waived ones are left out. The
        category is ``workflow.obligations.category`` written in SQL (ISO dates compare as text)."""
        o = obligations
        category = case(
            (and_(o.c.status == "satisfied", o.c.closed_on <= o.c.last_day), "done_on_time"),
            (o.c.status == "satisfied", "done_late"),
            (o.c.due_at <= at, "overdue"), else_="within_deadline")
        keys = (o.c.agency, instances.c.definition_id, instances.c.definition_version, self._data_field("section"),
                self._data_field("duty"), category)
        query = (select(*keys, func.count()).select_from(o.join(instances, instances.c.id == o.c.instance_id))
                 .where(o.c.status != "waived").group_by(*keys))
        with self._read() as connection:
            return [ReportGroup(a, d, v, se, du, c, int(n)) for a, d, v, se, du, c, n in connection.execute(query)]

    def find_tasks(self, at: dt.datetime, where: TaskFilter, offset: int = 0,
                   limit: int = 50) -> tuple[int, list[TaskRow]]:
        """Obligations (waived ones left out) narrowed by ``where``, judged at ``at``, nearest last day first:
        (how many match, the page from ``offset``). The category is ``report_groups``'s."""
        o = obligations
        category = case(
            (and_(o.c.status == "satisfied", o.c.closed_on <= o.c.last_day), "done_on_time"),
            (o.c.status == "satisfied", "done_late"),
            (o.c.due_at <= at, "overdue"), else_="within_deadline")
        section = func.coalesce(self._data_field("section"), definitions.c.seed_section)
        duty = self._data_field("duty")
        joined = o.join(instances, instances.c.id == o.c.instance_id).join(definitions, and_(
            definitions.c.id == instances.c.definition_id, definitions.c.version == instances.c.definition_version))
        conditions: list[Any] = [o.c.status != "waived"]
        if where.agency:
            conditions.append(o.c.agency == where.agency)
        if where.section:
            conditions.append(section == where.section)
        if where.definition_id:
            conditions.append(instances.c.definition_id == where.definition_id)
        if where.state:  # one state, or several a person reads under one name ("a,b")
            conditions.append(instances.c.state.in_(where.state.split(",")))
        if where.category:
            conditions.append(category == where.category)
        if where.due_from:
            conditions.append(o.c.last_day >= where.due_from.isoformat())
        if where.due_to:
            conditions.append(o.c.last_day <= where.due_to.isoformat())
        if where.text:  # with or without accents: "gop y" finds "Góp ý" (store/folding.py)
            text = fold(where.text)
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            found = [folded(instances.c.business_key).like(pattern, escape="\\"),
                     folded(duty).like(pattern, escape="\\")]
            if where.titled:
                found.append(instances.c.definition_id.in_(where.titled))
            conditions.append(or_(*found))
        matching = and_(*conditions)
        columns = (o.c.id, o.c.instance_id, o.c.agency, instances.c.definition_id, instances.c.definition_version,
                   instances.c.state, instances.c.business_key, section, duty, o.c.last_day, o.c.due_at, o.c.status,
                   o.c.closed_on, category)
        with self._read() as connection:
            total = int(connection.execute(select(func.count()).select_from(joined).where(matching)).scalar_one())
            rows = connection.execute(select(*columns).select_from(joined).where(matching)
                                      .order_by(o.c.due_at, o.c.id).offset(offset).limit(limit))
            return total, [TaskRow(int(r[0]), int(r[1]), r[2], r[3], int(r[4]), r[5], r[6], str(r[7]), r[8], r[9],
                                   r[10], r[11], r[12], r[13]) for r in rows]

    def completions_by_month(self) -> list[tuple[str, int, int]]:
        """(yyyy-mm, done on time, done late) for every month an obligation was met in, oldest first."""
        o = obligations
        month = func.substr(o.c.closed_on, 1, 7)
        on_time = func.sum(case((o.c.closed_on <= o.c.last_day, 1), else_=0))
        query = (select(month, on_time, func.count()).where(o.c.status == "satisfied").group_by(month)
                 .order_by(month))
        with self._read() as connection:
            return [(str(m), int(t), int(n) - int(t)) for m, t, n in connection.execute(query) if m]

    def named_files(self) -> list[tuple[int, int, str]]:
        """(instance, history row, SHA-256) for every attached file a history row names (``@files``)."""
        query = (select(history.c.instance_id, history.c.seq, history.c.payload)
                 .where(history.c.payload.like('%"@files"%')).order_by(history.c.instance_id, history.c.seq))
        out = []
        with self._read() as connection:
            for instance_id, seq, payload in connection.execute(query):
                for f in json.loads(payload).get("@files", ()):
                    if isinstance(f, dict):
                        out.append((int(instance_id), int(seq), str(f.get("sha256", ""))))
        return out

    def file_name(self, sha256: str) -> str | None:
        """The name the first history row that names an attached file gave it (``@files``), or None."""
        if not all(c in "0123456789abcdef" for c in sha256) or len(sha256) != 64:
            return None
        query = (select(history.c.payload).where(history.c.payload.like(f'%"sha256":"{sha256}"%'))
                 .order_by(history.c.instance_id, history.c.seq).limit(1))
        with self._read() as connection:
            payload = connection.execute(query).scalar()
        if payload is None:
            return None
        return next((str(f.get("name")) for f in json.loads(payload).get("@files", ())
                     if isinstance(f, dict) and f.get("sha256") == sha256), None)

    def sections(self) -> list[str]:
        """The plan's sections that tasks belong to (data.section, else the definition's), sorted."""
        section = func.coalesce(self._data_field("section"), definitions.c.seed_section)
        query = select(section).select_from(instances.join(definitions, and_(
            definitions.c.id == instances.c.definition_id,
            definitions.c.version == instances.c.definition_version))).distinct()
        with self._read() as connection:
            return sorted(str(s) for (s,) in connection.execute(query) if s is not None)

    def open_escalation_groups(self, now: dt.datetime | None = None
                               ) -> list[tuple[str, str, int, str | None, str | None, int]]:
        """Open escalations per (agency, definition, version, data.section, data.duty): the agency that owes the
        obligation escalated (which stays with the agency that missed it when another takes over the task), else
        the assignee."""
        owner = func.coalesce(obligations.c.agency, instances.c.assignee)
        keys = (owner, instances.c.definition_id, instances.c.definition_version,
                self._data_field("section"), self._data_field("duty"))
        source = (escalations.join(instances, instances.c.id == escalations.c.instance_id)
                  .outerjoin(timers, timers.c.id == escalations.c.timer_id)
                  .outerjoin(obligations, and_(obligations.c.instance_id == escalations.c.instance_id,
                                               obligations.c.name == timers.c.obligation)))
        raised = escalations.c.status == "open"
        if now is not None:  # raised by then (a report judged at an instant says nothing of a later one)
            raised = and_(raised, escalations.c.created_at <= now)
        query = select(*keys, func.count()).select_from(source).where(raised).group_by(*keys)
        with self._read() as connection:
            return [(a, d, v, se, du, int(n)) for a, d, v, se, du, n in connection.execute(query)]

    def count_instances(self) -> dict[tuple[str, int, str], int]:
        """Instances per (definition, version, state)."""
        query = select(instances.c.definition_id, instances.c.definition_version, instances.c.state,
                       func.count()).group_by(instances.c.definition_id, instances.c.definition_version,
                                              instances.c.state)
        with self._read() as connection:
            return {(d, v, s): n for d, v, s, n in connection.execute(query)}

    def history(self, instance_id: int) -> list[HistoryRecord]:
        if not 0 < instance_id < ID_END:
            return []
        return list(self.iter_history(instance_id, instance_id + 1))

    def search_history(self, *, agency: str | None = None, actor: str | None = None, event: str | None = None,
                       since: dt.datetime | None = None, until: dt.datetime | None = None, offset: int = 0,
                       limit: int = 50) -> tuple[int, list[HistoryRecord]]:
        """History rows across every task, newest first, with the total: of tasks assigned to ``agency`` or acts
        done by its people, by an actor whose id holds ``actor`` (accents and case ignored), of one ``event``,
        recorded in ``[since, until)``."""
        conditions: list[Any] = []
        if agency:
            conditions.append(or_(instances.c.assignee == agency, history.c.actor_agency == agency))
        if actor:
            escaped = fold(actor).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(folded(history.c.actor_id).like(f"%{escaped}%", escape="\\"))
        if event:
            conditions.append(history.c.event == event)
        if since is not None:
            conditions.append(history.c.at >= since)
        if until is not None:
            conditions.append(history.c.at < until)
        joined = history.join(instances, instances.c.id == history.c.instance_id)
        where = and_(true(), *conditions)
        with self._read() as connection:
            total = int(connection.execute(select(func.count()).select_from(joined).where(where)).scalar_one())
            rows = connection.execute(select(*history.c).select_from(joined).where(where)
                                      .order_by(history.c.at.desc(), history.c.instance_id.desc(),
                                                history.c.seq.desc()).offset(offset).limit(limit))
            return total, [history_from_row(tuple(r)) for r in rows]

    def iter_history(self, first_id: int = 0, end_id: int = ID_END) -> Iterator[HistoryRecord]:
        """History rows of instances ``first_id <= id < end_id`` ordered by (instance, seq), streamed."""
        with self._snapshot() as dbapi:
            yield from self._scan_history(dbapi, first_id, end_id)

    def chain_heads(self, first_id: int = 0, end_id: int = ID_END) -> dict[int, tuple[int, str]]:
        with self._snapshot() as dbapi:
            return self._heads(dbapi, first_id, end_id)

    @contextmanager
    def audit_snapshot(self, first_id: int = 0, end_id: int = ID_END
                       ) -> Iterator[tuple[dict[int, tuple[int, str]], Iterator[HistoryRecord],
                                           dict[int, tuple[str, str, bool]], Derived]]:
        """Chain heads, history rows, states and the tables derived from the histories (``Derived``) of
        instances ``first_id <= id < end_id``, read in ONE snapshot.

        Verifying heads from one moment against rows from another reports writes made in between as
        tampering; SQLite gives a read transaction one snapshot, PostgreSQL needs REPEATABLE READ."""
        required = self._required_timers()
        with self._snapshot() as dbapi:
            yield self._heads(dbapi, first_id, end_id), self._scan_history(dbapi, first_id, end_id), \
                self._states(dbapi, first_id, end_id), self._derived(dbapi, first_id, end_id, required)

    def _required_timers(self) -> dict[tuple[str, int], dict[str, tuple[str, ...]]]:
        """Per stored definition, the timer kinds each obligation arms that must exist while it is open (a
        definition whose content no longer matches its hash is left out: ``integrity_problems`` reports it)."""
        required: dict[tuple[str, int], dict[str, tuple[str, ...]]] = {}
        with self._read() as connection:
            rows = connection.execute(select(definitions)).all()
        for row in rows:
            try:
                definition = self._stored(row._mapping).definition
            except DefinitionTampered:
                continue
            required[(definition.id, definition.version)] = {
                o.name: (("escalation",) if o.escalate else ()) + (("timeout",) if o.timeout_event else ())
                for o in definition.obligations}
        return required

    def _derived(self, dbapi: Any, first_id: int, end_id: int,
                 required: Mapping[tuple[str, int], Mapping[str, tuple[str, ...]]]) -> Derived:
        values = {"b_first": first_id, "b_end": end_id}
        duties: dict[int, dict[str, tuple[str, str, str, dt.datetime, int]]] = {}
        for i, name, agency, status, last_day, due_at, opened_seq in self._audit_sql.obligations.all(dbapi, values):
            duties.setdefault(i, {})[name] = (agency, status, last_day, due_at, opened_seq)
        raised: dict[int, dict[int, str]] = {}
        escalated: dict[int, set[int]] = {}
        for escalation_id, i, status, timer_id in self._audit_sql.escalations.all(dbapi, values):
            raised.setdefault(i, {})[escalation_id] = status
            if timer_id is not None:
                escalated.setdefault(i, set()).add(int(timer_id))
        armed: dict[int, dict[tuple[str, int], list[ArmedTimer]]] = {}
        for i, name, fence, kind, status, base_due, timer_id in self._audit_sql.timers.all(dbapi, values):
            armed.setdefault(i, {}).setdefault((name, fence), []).append(ArmedTimer(kind, status, base_due, timer_id))
        return Derived(duties, raised, armed, required, escalated)

    @contextmanager
    def audit_since(self, checkpoint: Mapping[int, tuple[int, str]], first_id: int = 0, end_id: int = ID_END
                    ) -> Iterator[tuple[dict[int, tuple[int, str]], Iterator[HistoryRecord],
                                        dict[int, tuple[str, str, bool]], dict[int, tuple[int, int]]]]:
        """What an incremental verification reads, in ONE snapshot: every head; the rows and the state of each
        instance whose head moved since ``checkpoint``, from the checkpoint's row on (every row of an instance it
        did not contain), none of the others; and (last seq, row count) of each history whose shape is wrong
        (rows missing, or not ending at its version), counted in the database from the primary key's index."""
        with self._snapshot() as dbapi:
            heads = self._heads(dbapi, first_id, end_id)
            values = {"b_first": first_id, "b_end": end_id}
            shape = {i: (last, count) for i, last, count in self._audit_sql.misshapen.all(dbapi, values)}
            moved = [{"b_id": i, "b_seq": checkpoint[i][0] if i in checkpoint else 1}
                     for i, head in heads.items() if checkpoint.get(i) != head]
            cursor = dbapi.cursor()
            try:
                cursor.execute(self._audit_sql.create)
            finally:
                cursor.close()
            self._audit_sql.clear.run(dbapi, {})
            self._audit_sql.insert.many(dbapi, moved)
            states = {i: (state, assignee, bool(suspended))
                      for i, state, assignee, suspended in self._audit_sql.states.all(dbapi, {})}
            yield heads, (history_from_row(row) for row in self._audit_sql.scan.iterate(dbapi, {})), states, shape

    def count_history(self) -> int:
        """How many history rows there are (the total of a progress bar)."""
        with self._read() as connection:
            return int(connection.execute(select(func.count()).select_from(history)).scalar_one())

    def change_mark(self) -> tuple[int, int]:
        """How many instances there are and how many history rows they have (each row is one version of its
        instance): any row written moves it, so it keys a cache of figures computed from the history."""
        with self._read() as connection:
            count, rows = connection.execute(select(func.count(), func.sum(instances.c.version))).one()
        return int(count or 0), int(rows or 0)

    def id_range(self) -> tuple[int, int]:
        """The smallest and largest instance id (0, 0 when there are none)."""
        with self._read() as connection:
            low, high = connection.execute(select(func.min(instances.c.id), func.max(instances.c.id))).one()
        return (low or 0, high or 0)

    @contextmanager
    def _snapshot(self) -> Iterator[Any]:
        connection = self.engine.connect()
        try:
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            else:
                connection = connection.execution_options(sqlite_begin="DEFERRED")
            with connection.begin():
                yield connection.connection.driver_connection
        except Exception as err:
            self._reraise(err, "read")
        finally:
            connection.close()

    def _states(self, dbapi: Any, first_id: int, end_id: int) -> dict[int, tuple[str, str, bool]]:
        return {i: (state, assignee, bool(suspended)) for i, state, assignee, suspended
                in self._hot.states.all(dbapi, {"b_first": first_id, "b_end": end_id})}

    def _heads(self, dbapi: Any, first_id: int, end_id: int) -> dict[int, tuple[int, str]]:
        rows = self._hot.chain_heads.all(dbapi, {"b_first": first_id, "b_end": end_id})
        return {i: (v, h) for i, v, h in rows}

    def _scan_history(self, dbapi: Any, first_id: int, end_id: int) -> Iterator[HistoryRecord]:
        for row in self._hot.scan_history.iterate(dbapi, {"b_first": first_id, "b_end": end_id}):
            yield history_from_row(row)

    def agency_names_on(self, day: dt.date) -> dict[str, str]:
        """Every registered agency with the name it had on ``day`` (an agency that did not exist yet, or any
        more, with the name nearest to that day)."""
        text = day.isoformat()
        query = select(agency_names.c.code, agency_names.c.name, agency_names.c.valid_from,
                       agency_names.c.valid_to).order_by(agency_names.c.valid_from, agency_names.c.id)
        names: dict[str, str] = {}
        exact: set[str] = set()
        with self._read() as connection:
            for code, name, start, end in connection.execute(query):
                if start <= text and (end is None or text < end):
                    names[code] = name
                    exact.add(code)
                elif code not in exact and (start <= text or code not in names):
                    names[code] = name
        return names

    def agency_names(self) -> dict[str, str]:
        """Every registered agency (active, merged or retired) with its latest name."""
        query = select(agency_names.c.code, agency_names.c.name).order_by(agency_names.c.valid_from, agency_names.c.id)
        with self._read() as connection:
            return dict(connection.execute(query).tuples().all())

    def instance_obligations(self, instance_id: int) -> list[ObligationRecord]:
        """An instance's obligations, oldest first (a read, outside any unit of work)."""
        query = select(*[obligations.c[name] for name in OBLIGATION_COLUMNS]).where(
            obligations.c.instance_id == instance_id).order_by(obligations.c.id)
        with self._read() as connection:
            return [obligation_from_row(tuple(r)) for r in connection.execute(query)]

    def agency_statuses(self) -> dict[str, tuple[str, str | None]]:
        """Every registered agency's status (``active``, ``merged``, ``retired``) and successor."""
        query = select(agencies.c.code, agencies.c.status, agencies.c.successor)
        with self._read() as connection:
            return {str(code): (str(status), successor) for code, status, successor in connection.execute(query)}

    def calendar_overrides(self) -> list[DayOverride]:
        query = select(calendar_overrides.c.day, calendar_overrides.c.kind, calendar_overrides.c.reason)
        with self._read() as connection:
            return [override_from_row(*row) for row in connection.execute(query.order_by(calendar_overrides.c.day))]

    def now(self) -> dt.datetime:
        return self.clock.now()
