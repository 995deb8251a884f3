"""Access over the app's whole route table (API, pages, health), not only its OpenAPI document: a route added
anywhere is enumerated here. Auditors change nothing by any route; officers act only for their agency; no
response and no log line ever contains a key."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text

from tests.api.conftest import Api, password_of
from tests.api.test_role_matrix import BODIES, QUERY

PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/login"), ("POST", "/login"),
          ("GET", "/lang")}
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI keeps an included router as one lazy entry
            yield from _walk(route.original_router.routes, prefix + getattr(route.include_context, "prefix", ""))
        elif isinstance(route, APIRoute) and route.path not in DOCS:
            yield from ((method, prefix + route.path) for method in sorted(route.methods - {"HEAD"}))


def route_table(api: Api) -> list[tuple[str, str]]:
    """Every route the app serves, read from its route table (included routers opened up)."""
    return sorted(set(_walk(api.fastapi.routes)))  # type: ignore[attr-defined]


def page_session(api: Api, who: str) -> tuple[httpx.Client, str]:
    """A browser-like client logged in to the dashboard as ``who``; (client, the session's CSRF token)."""
    c = httpx.Client(base_url=api.url, timeout=30)
    form = c.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    r = c.post("/login", data={"csrf": token.group(1), "login": who, "password": password_of(who), "next": "/"})
    assert r.status_code == 303, r.text
    page = c.get("/").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    return c, csrf.group(1)


def fingerprint(api: Api) -> dict[str, object]:
    """Everything a write could change (sessions aside: logging in is not changing the plan)."""
    with api.app.sql_engine.connect() as c:
        tables = [t for (t,) in c.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
                  if t not in ("web_sessions", "alembic_version")]
        out: dict[str, object] = {t: c.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}
        out["versions"] = c.execute(text("SELECT group_concat(id || ':' || version) FROM instances")).scalar()
        out["keys"] = c.execute(text("SELECT group_concat(id || ':' || coalesce(revoked_at, '')) FROM api_keys")
                                ).scalar()
        out["agencies"] = c.execute(text("SELECT group_concat(code || ':' || status) FROM agencies")).scalar()
    return out


def calls(api: Api, instance_id: int, spare_key: int, csrf: str) -> Iterator[tuple[str, str, dict[str, object]]]:
    for method, path in route_table(api):
        url = path.format(instance_id=instance_id, definition_id="agency_feedback", escalation_id=1, code="SNV",
                          key_id=spare_key, fmt="docx", op="extend", login="officer", sha256="0" * 64, import_id=1,
                          act="decide")
        if path.startswith("/api/v1"):
            yield method, url, {"json": BODIES.get((method, path)), "params": QUERY.get(path)}
        elif method == "POST":
            yield method, url, {"data": {"csrf": csrf, "event": "record_receipt", "p.received_on": "2023-01-05",
                                         "login": "", "password": "", "next": "/"}}
        else:
            yield method, url, {}


def test_the_route_table_covers_the_openapi_document_and_every_route_is_classified(api: Api) -> None:
    table = set(route_table(api))
    documented = {(m.upper(), p) for p, ops in api.fastapi.openapi()["paths"].items()  # type: ignore[attr-defined]
                  for m in ops}
    assert documented <= table
    pages = {r for r in table if not r[1].startswith("/api/v1") and r not in PUBLIC}
    assert ("POST", "/instances/{instance_id}/fire") in pages
    assert len(table) >= 45


def test_an_auditor_changes_nothing_by_any_route(api: Api, capfd: pytest.CaptureFixture[str]) -> None:
    with api.client() as admin:
        instance = admin.post("/api/v1/instances", json={"definition": "agency_feedback", "business_key": "a/SYT",
                                                         "assignee": "SYT"}).json()
        spare = admin.post("/api/v1/keys", json={"name": "spare", "account": "auditor"}).json()["id"]
    browser, csrf = page_session(api, "auditor")  # logging in is an event in the system history: before the count
    before = fingerprint(api)
    statuses: dict[tuple[str, str], int] = {}
    with api.client("auditor") as bearer, contextlib.closing(browser):
        for method, url, kwargs in calls(api, instance["id"], spare, csrf):
            for c in (bearer, browser):
                r = c.request(method, url, **kwargs)  # type: ignore[arg-type]
                not_ready = url == "/readyz" and r.status_code == 503  # documented: this test runs no scheduler
                assert r.status_code < 500 or not_ready, (method, url, r.text[:300])
                for key in api.keys.values():
                    assert key not in r.text, (method, url)
                    assert key not in str(r.headers), (method, url)
                if method != "GET" and url not in ("/login", "/logout"):
                    statuses[(method, url)] = r.status_code
                    assert r.status_code in (303, 401, 403, 404, 405, 422), (method, url, r.status_code, r.text[:200])
    assert fingerprint(api) == before
    assert any(s == 403 for s in statuses.values())
    logs = capfd.readouterr().err
    for key in api.keys.values():
        assert key not in logs


def test_an_officer_acts_only_for_their_agency_by_api_and_by_page(api: Api) -> None:
    with api.client() as admin:
        syt = admin.post("/api/v1/instances", json={"definition": "agency_feedback", "business_key": "o/SYT",
                                                    "assignee": "SYT"}).json()
    event = {"event": "record_receipt", "payload": {"received_on": "2023-01-05"}}
    with api.client("other_officer") as snv:
        r = snv.post(f"/api/v1/instances/{syt['id']}/events", json=event)
        assert r.status_code == 403
        assert api.keys["other_officer"] not in r.text
    browser, csrf = page_session(api, "other_officer")
    r = browser.post(f"/instances/{syt['id']}/fire", data={"csrf": csrf, "event": "record_receipt",
                                                            "p.received_on": "2023-01-05"})
    assert r.status_code == 403
    assert "form" not in browser.get(f"/instances/{syt['id']}").text.split('id="actions"')[1].split("<h2")[0]
    browser.close()
    assert api.app.store.get_instance(syt["id"]).version == 1
    own, csrf = page_session(api, "officer")  # SYT
    r = own.post(f"/instances/{syt['id']}/fire", data={"csrf": csrf, "event": "record_receipt",
                                                        "p.received_on": "2023-01-05"})
    own.close()
    assert r.status_code == 303
    assert api.app.store.get_instance(syt["id"]).state == "received"
