"""Real servers on loopback for tests: an SMTP sink (aiosmtpd) and a webhook receiver (http.server); and how a
test follows a ``workflow serve`` child through its log (``ServeLog``)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpSink:
    port: int
    messages: list[Message] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)  # Message-ID of each message received, in order
    distinct: set[str] = field(default_factory=set)
    all_received: threading.Event = field(default_factory=threading.Event)
    expect: int | None = None  # set all_received once this many distinct Message-IDs arrived

    def message_ids(self) -> list[str]:
        return list(self.ids)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(message)
        self.ids.append(str(message["Message-ID"]))
        self.distinct.add(self.ids[-1])
        if self.expect is not None and len(self.distinct) >= self.expect:
            self.all_received.set()
        return "250 OK"


@contextmanager
def smtp_sink(port: int | None = None) -> Iterator[SmtpSink]:
    sink = SmtpSink(port or free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class WebhookSink:
    url: str
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    location: str | None = None  # sent with a 3xx status
    paths: list[str] = field(default_factory=list)


@contextmanager
def webhook_sink() -> Iterator[WebhookSink]:
    port = free_port()
    sink = WebhookSink(f"http://127.0.0.1:{port}/hook")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            sink.requests.append((dict(self.headers), json.loads(body)))
            sink.paths.append(self.path)
            self.send_response(sink.status)
            if sink.location:
                self.send_header("Location", sink.location)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


class ServeLog(threading.Thread):
    """Follows a ``workflow serve`` child's standard error to its end (so the pipe never fills): the records of its
    own logger (``workflow.serve``, JSON lines, each with an ``event``) in order, and the other lines. ``wait``
    returns when the awaited event is logged, or fails when the process ends before it."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.records: list[dict[str, Any]] = []
        self.other: deque[str] = deque(maxlen=200)  # the last lines of the rest (requests, errors)
        self.changed = threading.Condition()
        self.closed = False
        self.start()

    def run(self) -> None:
        for line in self.stream:
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            with self.changed:
                if isinstance(record, dict) and record.get("logger") == "workflow.serve":
                    self.records.append(record)
                else:
                    self.other.append(line)
                self.changed.notify_all()
        self.stream.close()
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def find(self, event: str) -> dict[str, Any] | None:
        return next((r for r in self.records if r.get("event") == event), None)

    def events(self) -> list[str]:
        with self.changed:
            return [str(r.get("event")) for r in self.records]

    def wait(self, event: str, timeout: float = 300) -> dict[str, Any]:
        """The first record of this event (a deadline only so that a hung child fails the test)."""
        with self.changed:
            if not self.changed.wait_for(lambda: self.find(event) is not None or self.closed, timeout=timeout):
                raise AssertionError(f"serve logged no {event!r} in {timeout:.0f} s: {self.tail()}")
            found = self.find(event)
            if found is None:
                raise AssertionError(f"serve ended before logging {event!r}: {self.tail()}")
            return found

    def wait_closed(self, timeout: float = 300) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: self.closed, timeout=timeout):
                raise AssertionError("serve's standard error stayed open")

    def tail(self) -> str:
        return "".join(list(self.other)[-20:]) + "\n".join(str(r.get("message")) for r in self.records[-20:])
