"""uvicorn's httptools protocol with a bound on what a request may send before its headers end.

llhttp (under httptools) parses as bytes arrive, but httptools keeps a header's name or value in memory until it
ends, and uvicorn the URL and headers until they all have: a client that sends an endless header line holds as much
memory as it sends (four unfinished 30 MB headers cost 170 MB, issue 26 finding 14), long before the middleware's
431 (``service.api.Around``) can look at them. Here, a request whose head passes ``HEAD_LIMIT`` bytes is answered 431
and its connection closed as soon as the limit is passed.
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_LIMIT = 64 * 1024  # twice what Around accepts (32 KiB of headers): the request line and framing besides
_BODY = json.dumps({"type": "about:blank", "title": "Request headers too large", "status": 431,
                    "detail": f"a request's line and headers are limited to {HEAD_LIMIT} bytes"}).encode()
_REFUSAL = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/problem+json\r\n"
            b"content-length: " + str(len(_BODY)).encode() + b"\r\nconnection: close\r\n\r\n" + _BODY)


class BoundedHttpTools(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head:  # still in a request's head after these bytes: they count (all of them, at most a read)
            self._head_bytes += len(data)
        if self._in_head and self._head_bytes > HEAD_LIMIT and not self.transport.is_closing():
            self.parser = None  # type: ignore[assignment]  # what it holds is let go with it
            self.headers = []
            self.url = b""
            self.transport.write(_REFUSAL)
            self.transport.close()

    def on_message_begin(self) -> None:
        self._in_head, self._head_bytes = True, 0  # each request on a connection has its own count (from the parser:
        super().on_message_begin()  # the rest of a body the app did not read is not the next request's head)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()
