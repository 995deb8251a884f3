"""The process's one writer: the API's writes run on one thread, in one transaction per batch.

An HTTP handler parses and checks its request on the event loop (authentication from the process's key cache,
the body's validation), then hands its command, a function of the application layer, to ``Writer.run`` and
awaits the answer. The writer thread takes whatever commands are waiting (up to ``limit``) and runs them in one
write transaction (``SqlStore.held``): each of its transactions a savepoint of it (the batch's first runs in
the transaction itself), so a refused command rolls back only itself;
one commit and one fsync for the batch (each ``store.transaction()`` a command opens stands or falls on
its own, as anywhere else); then each caller's future is resolved (its result, its own refusal, or
the commit's error if the commit failed: then nothing of the batch was written). A lone request waits for no
company: the thread starts the batch with what is there.

So a write costs no hop to the thread pool and no turn-taking between threads: one thread runs the engine's
Python, the event loop the HTTP. Each command runs in the context (``contextvars``) of the request that sent it:
its API key (``store.keys.WRITING_KEY``, checked inside the transaction), its request id in the logs.

Other writers of the process (the timer pass, the pages, the CLI in its own process) still use
``store.transaction()``, which takes turns with this thread (``store/group_commit.py``). On PostgreSQL the
server groups the commits of concurrent connections itself: ``run`` hands the command to the thread pool, each
in its own transaction, as before.

The thread is started by the first command and ends after ``idle`` seconds without one (an app built for a test
leaves no thread behind); ``close`` ends it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from store import SqlStore

_log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class _Command:
    run: Callable[[], Any]
    context: contextvars.Context
    loop: asyncio.AbstractEventLoop
    answer: asyncio.Future[Any]


_STOP = object()


class Writer:
    def __init__(self, store: SqlStore, limit: int = 64, idle: float = 30.0) -> None:
        self.store, self.limit, self.idle = store, limit, idle
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0  # transactions committed (for the benchmark's report)
        self.commands = 0  # commands run in them

    async def run(self, command: Callable[[], T]) -> T:
        """Run ``command`` on the writer thread inside the batch's transaction; its result once committed."""
        if not self.store.holds_batches:
            return await run_in_threadpool(command)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Command(command, contextvars.copy_context(), loop, answer))
        self._ensure_thread()
        return await answer

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="workflow-writer", daemon=True)
                self._thread.start()

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(_STOP)
            thread.join()

    def _serve(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle)
            except queue.Empty:
                with self._lock:  # idle: end, unless a command arrived meanwhile
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            if first is _STOP:
                return
            batch = [first]
            while len(batch) < self.limit:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    self._queue.put(_STOP)
                    break
                batch.append(more)
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Command]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self.store.held():
                for command in batch:
                    try:
                        outcomes.append((True, command.context.run(command.run)))
                    except Exception as err:  # its own refusal: rolled back to its savepoint, the rest go on
                        outcomes.append((False, err))
            self.batches += 1
            self.commands += sum(1 for ok, _ in outcomes if ok)
        except Exception as err:  # the commit failed (or the transaction could not begin): nothing was written
            _log.warning("a batch of %d writes failed: %s", len(batch), err)
            outcomes = [(False, err if not outcomes[n:n + 1] or outcomes[n][0] else outcomes[n][1])
                        for n in range(len(batch))]
        for command, (ok, value) in zip(batch, outcomes, strict=True):
            with contextlib.suppress(RuntimeError):  # its event loop has closed: nobody waits for the answer
                command.loop.call_soon_threadsafe(_resolve, command.answer, ok, value)


def _resolve(answer: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if answer.cancelled():  # the client went away; the write stands (or not) all the same
        return
    if ok:
        answer.set_result(value)
    else:
        answer.set_exception(value)
