"""Real servers on loopback for tests: an SMTP sink (aiosmtpd) and a webhook receiver (http.server)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
