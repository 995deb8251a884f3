"""Group commit for SQLite: concurrent write transactions of one process share one commit, and one fsync.

SQLite has one writer at a time, and with ``synchronous=FULL`` every commit waits for an fsync of the WAL:
under concurrent requests the disk, not the work, sets the pace. Here the writers of this process take turns
in one open transaction (a *batch*) instead of one transaction each:

* a writer waits its turn, then runs its block in the batch (the first opens it with ``BEGIN IMMEDIATE``);
  every writer after the first runs inside a ``SAVEPOINT``, so a block that fails rolls back only itself;
* when a writer's block ends and others are waiting for their turn, it leaves the batch open for them and
  waits; the writer that ends with nobody waiting (or the one that fills the batch, ``limit``) commits it;
* a writer returns (and its HTTP request is answered) only after the commit of its batch; if that commit
  fails, every writer of the batch gets the error and nothing of the batch is written.

A writer alone commits at once: the batch never waits for company, so one client sees no added latency.
Writes outside the group (``alone``: SQLAlchemy Core transactions on their own connection) wait until no batch
is open, and no new batch opens while they wait.

A thread may also *hold* a batch (``held``): the process's writer thread (``service/writer.py``) takes its turn
once for all the commands waiting for it, runs each in a ``SAVEPOINT`` of that one batch (``member`` from the
holding thread joins at once and returns without waiting), and commits at the end of the block; what must
happen only once the batch has committed (publishing to subscribers) is deferred to then (``after_commit``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Batch:
    pooled: Any  # the pool's connection wrapper (commit, rollback, close)
    dbapi: Any
    members: int = 0  # blocks that ended well in it
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    holder: int = 0  # the thread holding it open (``held``), 0 for a batch of taking turns
    after: list[Callable[[], None]] = field(default_factory=list)  # run once it has committed (held batches)
    depth: int = 0  # members of a held batch running now, one inside the other
    fresh: bool = True  # a held batch has nothing written yet


class GroupCommit:
    def __init__(self, connect: Callable[[], Any], translate: Callable[[BaseException], BaseException],
                 limit: int = 64) -> None:
        """``connect``: a pooled DBAPI connection; ``translate``: a driver error as the store's error."""
        self._connect, self._translate, self._limit = connect, translate, limit
        self._cond = threading.Condition()
        self._busy = False  # a block runs, or a batch commits
        self._owner = 0  # the thread whose block runs
        self._joiners = 0  # writers waiting for their turn in the group
        self._exclusive = 0  # writers waiting to write alone
        self._batch: _Batch | None = None
        self.batches = 0  # commits made (for the benchmark's report)
        self.blocks = 0  # blocks committed in them

    @contextmanager
    def member(self) -> Iterator[Any]:
        """Run the block in the current batch; yields the DBAPI connection."""
        if self.holding():
            assert self._batch is not None
            with self._inside(self._batch) as dbapi:
                yield dbapi
            return
        with self._cond:
            self._take_turn("_joiners", lambda: self._batch is not None or self._exclusive == 0)
            batch = self._batch
            if batch is None:
                try:
                    batch = self._open()
                except BaseException:
                    self._busy = False
                    self._cond.notify_all()
                    raise
                self._batch = batch
        first = batch.members == 0
        failed: BaseException | None = None
        try:
            if not first:
                batch.dbapi.execute("SAVEPOINT member")
            yield batch.dbapi
            if not first:
                batch.dbapi.execute("RELEASE member")
        except BaseException as err:
            failed = err
        self._end(batch, first, failed)

    def _take_turn(self, queue: str, ready: Callable[[], bool]) -> None:
        """Wait (holding the condition) until no block runs and ``ready``; counted meanwhile in ``queue``
        (``_joiners`` or ``_exclusive``), which is what the others' decisions read."""
        if self._busy and self._owner == threading.get_ident():
            raise RuntimeError("a write transaction inside another in the same thread would wait for itself")
        setattr(self, queue, getattr(self, queue) + 1)
        self._cond.wait_for(lambda: not self._busy and ready())
        setattr(self, queue, getattr(self, queue) - 1)
        self._busy, self._owner = True, threading.get_ident()

    def _open(self) -> _Batch:
        pooled = self._connect()
        try:
            pooled.driver_connection.execute("BEGIN IMMEDIATE")
        except BaseException as err:
            pooled.close()
            raise self._translate(err) from err
        return _Batch(pooled, pooled.driver_connection)

    def _end(self, batch: _Batch, first: bool, failed: BaseException | None) -> None:
        abandon = False
        if failed is not None:
            try:
                if first:
                    abandon = True  # nothing else is in the batch: roll it all back, below
                else:
                    batch.dbapi.execute("ROLLBACK TO member")
                    batch.dbapi.execute("RELEASE member")
            except BaseException as err:  # the connection is unusable: the whole batch fails
                batch.error = self._translate(err)
                abandon = True
        with self._cond:
            if failed is None:
                batch.members += 1
            commit = not abandon and (self._joiners == 0 or batch.members >= self._limit)
            if not abandon and not commit:
                self._busy = False  # the next writer runs its block in this batch
                self._cond.notify_all()
        if abandon:
            self._close(batch, commit=False)
        elif commit:
            self._close(batch, commit=True)
        if failed is not None:
            raise failed
        batch.done.wait()
        if batch.error is not None:
            raise batch.error

    def _close(self, batch: _Batch, commit: bool) -> None:
        """Commit (or roll back) the batch while no one else runs; wake its writers and the next ones."""
        try:
            if commit and batch.members:
                batch.pooled.commit()
            else:
                batch.pooled.rollback()
        except BaseException as err:
            batch.error = batch.error or self._translate(err)
            try:
                batch.pooled.rollback()
            except BaseException:
                batch.pooled.invalidate()
        finally:
            batch.pooled.close()
            with self._cond:
                if commit and batch.error is None and batch.members:
                    self.batches += 1
                    self.blocks += batch.members
                self._batch = None
                self._busy = False
                batch.done.set()
                self._cond.notify_all()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold one batch open for every ``member`` this thread runs inside the block, each in a ``SAVEPOINT``
        (one that fails rolls back only itself); commit at the end (roll back everything if the block raises or
        the connection failed). Raises the commit's error: then nothing of the block was written."""
        with self._cond:
            self._take_turn("_exclusive", lambda: self._batch is None)
            try:
                batch = self._open()
            except BaseException:
                self._busy = False
                self._cond.notify_all()
                raise
            batch.holder = threading.get_ident()
            self._batch = batch
        failed: BaseException | None = None
        try:
            yield
        except BaseException as err:
            failed = err
        self._close(batch, commit=failed is None and batch.error is None)
        if failed is not None:
            raise failed
        if batch.error is not None:
            raise batch.error
        for run in batch.after:
            run()

    def holding(self) -> bool:
        """Whether this thread holds the open batch."""
        held = self._batch
        return held is not None and held.holder == threading.get_ident()

    def after_commit(self, run: Callable[[], None]) -> bool:
        """Inside a batch this thread holds: run ``run`` once it has committed (True); otherwise False (the caller
        is past its own commit already)."""
        if not self.holding():
            return False
        assert self._batch is not None
        self._batch.after.append(run)
        return True

    @contextmanager
    def _inside(self, batch: _Batch) -> Iterator[Any]:
        """A member of a held batch. The first block of a batch with nothing written yet runs in the transaction
        itself (no savepoint: a lone command costs BEGIN and COMMIT only), and if it fails the transaction is
        rolled back and begun again; any other block runs in a savepoint, released (kept) or rolled back to."""
        if batch.error is not None:
            raise batch.error
        plain = batch.depth == 0 and batch.fresh
        try:
            if not plain:
                batch.dbapi.execute("SAVEPOINT member")
        except BaseException as err:
            batch.error = self._translate(err)
            raise batch.error from err
        pending = len(batch.after)
        batch.depth += 1
        try:
            yield batch.dbapi
        except BaseException:
            del batch.after[pending:]  # what it wrote is undone: nobody hears of it
            try:
                if plain:
                    batch.dbapi.execute("ROLLBACK")
                    batch.dbapi.execute("BEGIN IMMEDIATE")
                else:
                    batch.dbapi.execute("ROLLBACK TO member")
                    batch.dbapi.execute("RELEASE member")
            except BaseException as err:  # the connection is unusable (or busy): the whole batch fails
                batch.error = self._translate(err)
            raise
        finally:
            batch.depth -= 1
        try:
            if not plain:
                batch.dbapi.execute("RELEASE member")
        except BaseException as err:
            batch.error = self._translate(err)
            raise batch.error from err
        batch.members += 1
        batch.fresh = False

    @contextmanager
    def alone(self) -> Iterator[None]:
        """Hold the writer's turn with no batch open (a write on a connection of its own)."""
        with self._cond:
            self._take_turn("_exclusive", lambda: self._batch is None)
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
