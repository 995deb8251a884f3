"""Hostile input over real HTTP: each refused with the right status, or stored as inert data; never a 5xx.
(The generated cases are tests/fuzz/test_schemathesis.py: over 10,000, every check. Line breaks reaching a mail
header: tests/scheduler/test_outbox.py. Definitions one rule at a time: tests/definitions/.)"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import Api

SQL = ["'; DROP TABLE instances; --", "x' OR '1'='1", "1; DELETE FROM history", "\" OR \"\"=\"", "%' --", "\\'"]


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite: these requests are about the HTTP layer; both databases get the generated cases."""
    return sqlite_url


def problem(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    return body  # type: ignore[no-any-return]


def test_malformed_json_and_invalid_utf8_are_400_or_422(api: Api) -> None:
    with api.client() as c:
        for raw in (b'{"definition": "agency_feedback",', b"\xff\xfe\x00{", b'{"definition": "\xc3\x28"}', b"[]",
                    b"null", b'{"a":' * 5000):
            r = c.post("/api/v1/instances", content=raw, headers={"content-type": "application/json"})
            body = problem(r, 400 if r.status_code == 400 else 422)  # 400: not text at all; 422: not the JSON wanted
            assert body["detail"]
        assert c.get("/api/v1/instances").json()["items"] == []


def chunks(size: int) -> Iterator[bytes]:
    block = b"x" * 65536
    for _ in range(size // len(block) + 1):
        yield block


def test_oversized_bodies_are_413_with_or_without_a_length(api: Api) -> None:
    limit = 1 << 20
    with api.client() as c:
        problem(c.post("/api/v1/instances", content=b"{" + b" " * (limit + 10) + b"}",
                       headers={"content-type": "application/json"}), 413)
        # chunked: no Content-Length, so the count of what arrives must stop it
        problem(c.post("/api/v1/definitions", content=chunks(limit * 2), headers={"content-type": "application/json"}),
                413)
        assert c.get("/healthz").status_code == 200
    host, port = api.url.removeprefix("http://").split(":")
    for length in ("-5", "abc", "99999999999999999999"):  # what a client library would not send
        with socket.create_connection((host, int(port)), timeout=30) as raw:
            raw.sendall(f"POST /api/v1/instances HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {length}\r\nConnection: close\r\n\r\n{{}}".encode())
            status_line = raw.recv(200).split(b"\r\n", 1)[0]
        assert status_line.split()[1] in (b"400", b"413"), (length, status_line)


def test_sql_injection_strings_are_stored_as_text_and_match_nothing(api: Api) -> None:
    with api.client() as c:
        for n, attack in enumerate(SQL):
            created = c.post("/api/v1/instances", json={"definition": "agency_feedback", "business_key": attack,
                                                        "assignee": "SYT", "data": {"note": attack}})
            assert created.status_code == 201, created.text
            assert created.json()["business_key"] == attack
            assert c.get(f"/api/v1/instances/{created.json()['id']}").json()["data"]["note"] == attack
            listed = c.get("/api/v1/instances", params={"agency": attack, "key_prefix": attack})
            assert listed.status_code == 200
            assert listed.json()["items"] == []
            as_state = problem(c.get("/api/v1/instances", params={"state": attack}), 422)  # no definition has it
            errors = as_state["errors"]
            assert isinstance(errors, list)
            assert [e["field"] for e in errors] == ["state"]
            problem(c.get(f"/api/v1/definitions/{attack}"), 404)
            problem(c.get(f"/api/v1/agencies/{attack}"), 422)  # not an agency code: refused by the path's pattern
            assert n + 1 == len(c.get("/api/v1/instances").json()["items"])
        assert c.get("/api/v1/audit/verify").json()["ok"] is True
    path = api.app.settings.database_url.removeprefix("sqlite:///")
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT count(*) FROM instances").fetchone() == (len(SQL),)
    assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    raw.close()


def test_path_traversal_in_export_names_and_paths_is_refused(api: Api) -> None:
    with api.client() as c:
        for value in ("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "/etc/passwd", "csv/../../x", "jsonl\x00"):
            problem(c.get("/api/v1/audit/export", params={"format": value}), 422)
            problem(c.get("/api/v1/reports/status", params={"format": value}), 422)
        exported = c.get("/api/v1/audit/export", params={"format": "csv"})
        assert exported.headers["content-disposition"] == 'attachment; filename="history.csv"'
        for path in ("/api/v1/agencies/..%2F..%2Fetc%2Fpasswd", "/api/v1/definitions/..%2F..%2Fetc%2Fpasswd",
                     "/api/v1/../../etc/passwd", "/api/v1/instances/..%2F1"):
            assert c.get(path).status_code in (404, 422), path


def test_enormous_and_nested_yaml_definitions_are_refused_before_expansion(api: Api) -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9))
    nested = "id: deep\nx: " + "[" * 5000 + "]" * 5000 + "\n"
    mapping = "id: deep\n" + "".join("  " * i + f"k{i}:\n" for i in range(400)) + "  " * 400 + "v: 1\n"
    with api.client() as c:
        body = problem(c.post("/api/v1/definitions", json={"yaml": laughs}), 422)
        assert "anchors and aliases" in str(body["detail"])
        for text in (nested, mapping):
            body = problem(c.post("/api/v1/definitions", json={"yaml": text}), 422)
            assert "request body" in str(body["detail"])  # file name, line and column of the problem
        problem(c.post("/api/v1/definitions", json={"yaml": "a: b\n" * 300_000}), 413)
        assert [d["id"] for d in c.get("/api/v1/definitions").json()] == sorted(
            d["id"] for d in c.get("/api/v1/definitions").json())  # nothing new, the list still reads


def test_an_endless_header_line_is_cut_off_with_431_once_it_passes_the_limit(api: Api) -> None:
    """Finding 14: four unfinished 30 MB headers cost 170 MB before the 431 (uvicorn keeps a header until it ends).
    Now a request's head is answered 431 and its connection closed as soon as it passes 64 KiB: the client sends
    a little more than that, never ending its header line, and waits for the answer (without the bound the server
    would wait for the rest of the header for ever, holding what it had)."""
    from service.http_protocol import HEAD_LIMIT

    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as raw:
        raw.sendall(b"GET /api/v1/agencies HTTP/1.1\r\nHost: x\r\nX-Endless: " + b"a" * (HEAD_LIMIT + 1024))
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 ")
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {api.keys['admin']}"}) as c:
        assert c.get("/api/v1/agencies").status_code == 200  # the server goes on serving
