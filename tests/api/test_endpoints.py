"""Each endpoint over real HTTP, and the semantics: problem+json, ETag/If-Match, Idempotency-Key, limits."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections import Counter
from typing import Any

import httpx
import pytest
from docx import Document
from openapi_spec_validator import validate
from openpyxl import load_workbook
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import Api

VIET = "Đề nghị bổ sung nhiệm vụ “Ứng dụng AI trong y tế” – Sở Y tế"


def start(api: Api, key: str = "cat/SYT", definition: str = "agency_feedback", **data: Any) -> dict[str, Any]:
    with api.client() as c:
        r = c.post("/api/v1/instances", json={"definition": definition, "business_key": key, "assignee": "SYT",
                                              "data": data})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_instance_lifecycle_over_http(api: Api) -> None:
    instance = start(api, ghi_chu=VIET)
    assert instance["data"]["ghi_chu"] == VIET
    with api.client("officer") as c:
        r = c.get(f"/api/v1/instances/{instance['id']}")
        assert r.headers["ETag"] == '"1"'
        r = c.post(f"/api/v1/instances/{instance['id']}/events", headers={"If-Match": '"1"'},
                   json={"event": "record_receipt", "payload": {"received_on": "2023-01-05"}})
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.headers["ETag"]) == ("received", '"2"')
        # the hot routes' answer (orjson) is byte for byte what the framework's JSON answer would be
        assert r.content == json.dumps(r.json(), ensure_ascii=False, separators=(",", ":")).encode()
        r = c.post(f"/api/v1/instances/{instance['id']}/events", json={"event": "answer", "payload": {
            "document": "12/SYT-KHTC", "position": "agree", "additions": VIET}})
        assert r.json()["data"]["additions"] == VIET
        history = c.get(f"/api/v1/instances/{instance['id']}/history").json()
        assert [h["event"] for h in history] == ["@start", "record_receipt", "answer"]
        assert history[-1]["actor_id"] == "key:officer"
        assert history[-1]["payload"]["additions"] == VIET
        assert c.get(f"/api/v1/instances/{instance['id']}/timers").json()
        assert c.get(f"/api/v1/instances/{instance['id']}/children").json() == []


def test_lists_filter_and_page_with_a_cursor(api: Api) -> None:
    for n in range(5):
        start(api, key=f"cat/{n}")
    with api.client("auditor") as c:
        first = c.get("/api/v1/instances", params={"limit": 2, "key_prefix": "cat/"}).json()
        assert [i["business_key"] for i in first["items"]] == ["cat/0", "cat/1"]
        second = c.get("/api/v1/instances", params={"limit": 2, "cursor": first["next_cursor"]}).json()
        assert [i["business_key"] for i in second["items"]] == ["cat/2", "cat/3"]
        assert c.get("/api/v1/instances", params={"agency": "SNV"}).json()["items"] == []
        assert c.get("/api/v1/instances", params={"key_prefix": "cat/%"}).json()["items"] == []
        assert c.get("/api/v1/instances", params={"overdue": True}).json()["items"] == []


def test_refusals_are_problem_json(api: Api) -> None:
    instance = start(api)
    with api.client("officer") as c:
        r = c.post(f"/api/v1/instances/{instance['id']}/events", json={"event": "answer", "payload": {}})
        assert r.status_code == 409
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["allowed"] == ["record_receipt"]
        r = c.post(f"/api/v1/instances/{instance['id']}/events",
                   json={"event": "record_receipt", "payload": {"received_on": "05/01/2023", "x": 1}})
        assert r.status_code == 422
        assert {e["field"] for e in r.json()["errors"]} == {"received_on", "x"}
        r = c.post(f"/api/v1/instances/{instance['id']}/events", headers={"If-Match": '"7"'},
                   json={"event": "record_receipt", "payload": {"received_on": "2023-01-05"}})
        assert r.status_code == 409
        assert "expected version 7" in r.json()["detail"]
        assert c.get("/api/v1/instances/999999").status_code == 404
        r = c.post("/api/v1/instances", json={"definition": "agency_feedback"})
        assert r.status_code == 422
        assert {e["field"] for e in r.json()["errors"]} >= {"body.business_key", "body.assignee"}
    with api.client("other_officer") as c:
        r = c.post(f"/api/v1/instances/{instance['id']}/events",
                   json={"event": "record_receipt", "payload": {"received_on": "2023-01-05"}})
        assert r.status_code == 403
        assert "may act only on its own agency" in r.json()["detail"]
    with api.client(None) as c:
        assert c.get("/api/v1/instances").status_code == 401
    with httpx.Client(base_url=api.url, headers={"Authorization": "Bearer wf_nope"}) as c:
        assert c.get("/api/v1/instances").status_code == 401


def test_body_limit_and_bad_json(api: Api) -> None:
    with api.client() as c:
        big = c.post("/api/v1/instances", content=b"{" + b" " * (1 << 20) + b"}",
                     headers={"Content-Type": "application/json"})
        assert big.status_code == 413
        undecodable = c.post("/api/v1/instances", content=b'{"definition": "\xff"}',
                             headers={"Content-Type": "application/json"})
        assert undecodable.status_code == 400
        assert undecodable.headers["content-type"].startswith("application/problem+json")
        malformed = c.post("/api/v1/instances", content=b'{"definition": ',
                           headers={"Content-Type": "application/json"})
        assert malformed.status_code == 400  # not JSON: a bad request, as docs/api.md says
        assert malformed.headers["content-type"].startswith("application/problem+json")
        assert malformed.json()["title"] == "Malformed JSON"
        wrong = c.post("/api/v1/instances", json={"definition": 5})  # JSON, but not a start: 422
        assert wrong.status_code == 422


def test_idempotency_key_replays_the_first_response(api: Api) -> None:
    body = {"definition": "agency_feedback", "business_key": "idem/SYT", "assignee": "SYT", "data": {}}
    with api.client() as c:
        first = c.post("/api/v1/instances", json=body, headers={"Idempotency-Key": "k-1"})
        again = c.post("/api/v1/instances", json=body, headers={"Idempotency-Key": "k-1"})
        assert (first.status_code, again.status_code) == (201, 201)
        assert first.json() == again.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        other = c.post("/api/v1/instances", json={**body, "business_key": "idem/2"}, headers={"Idempotency-Key": "k-1"})
        assert other.status_code == 422
        iid = first.json()["id"]
        fire = {"event": "record_receipt", "payload": {"received_on": "2023-01-05"}}
        one = c.post(f"/api/v1/instances/{iid}/events", json=fire, headers={"Idempotency-Key": "f-1"})
        two = c.post(f"/api/v1/instances/{iid}/events", json=fire, headers={"Idempotency-Key": "f-1"})
        assert (one.json()["replayed"], two.json()["replayed"], two.headers["Idempotent-Replayed"]) == (
            False, True, "true")
        assert {**one.json(), "replayed": True} == two.json()
        assert one.headers["ETag"] == two.headers["ETag"] == '"2"'
        assert len(c.get(f"/api/v1/instances/{iid}/history").json()) == 2
        # the same key on another instance's request is another request: refused, nothing written
        assert c.post(f"/api/v1/instances/{iid}/events", json={**fire, "reason": "x"},
                      headers={"Idempotency-Key": "f-1"}).status_code == 422


def test_concurrent_fires_over_http_one_winner_per_version(api: Api) -> None:
    instance = start(api, definition="catalogue_draft", key="draft/1")
    cycle = {"drafting": ("send_for_consultation", {"document": "1/SKHCN", "task_count": 8}, None),
             "consulting": ("consolidate", {}, None), "consolidating": ("submit", {"document": "2/TTr-SKHCN"}, None),
             "submitted": ("return_for_revision", {}, "bổ sung")}
    statuses: Counter[int] = Counter()
    wins: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with api.client() as c:
            for _ in range(15):
                current = c.get(f"/api/v1/instances/{instance['id']}")
                event, payload, reason = cycle[current.json()["state"]]
                r = c.post(f"/api/v1/instances/{instance['id']}/events", headers={"If-Match": current.headers["ETag"]},
                           json={"event": event, "payload": payload, "reason": reason})
                with lock:
                    statuses[r.status_code] += 1
                    if r.status_code == 200:
                        wins.append(r.json()["version"])

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) <= {200, 409}
    assert sorted(wins) == list(range(2, 2 + len(wins)))


def test_deadlines_escalations_agencies_calendar_reports_audit(api: Api) -> None:
    instance = start(api, definition="catalogue_feedback")  # its obligation is what the report counts
    iid = instance["id"]
    with api.client() as c:
        c.post(f"/api/v1/instances/{iid}/events",
               json={"event": "record_receipt", "payload": {"received_on": "2023-01-05"}})
        r = c.post(f"/api/v1/instances/{iid}/deadline/extend", json={"days": 5, "reason": "chờ", "document": "1/BCĐ"})
        assert r.status_code == 200, r.text
        assert c.post(f"/api/v1/instances/{iid}/deadline/suspend", json={"reason": "dừng"}).status_code == 200
        assert c.post(f"/api/v1/instances/{iid}/deadline/resume", json={"reason": "tiếp"}).status_code == 200
        assert c.get("/api/v1/escalations", params={"status": "open"}).json() == []
        assert c.post("/api/v1/escalations/99/acknowledge", json={}).status_code == 409
        assert c.get("/api/v1/agencies/SYT").json()["name"] == "Sở Y tế"
        r = c.post("/api/v1/agencies/SNNPTNT/rename", json={"name": "Sở Nông nghiệp và Môi trường",
                                                           "effective": "2023-01-02", "document": "1/QĐ-UBND"})
        assert r.json()["applied"] is True
        assert c.get("/api/v1/agencies/SNNPTNT", params={"on": "2023-01-01"}).json()["name_on"]["name"] == (
            "Sở Nông nghiệp và Phát triển nông thôn")
        r = c.post("/api/v1/agencies/SYT/merge",  # dated after today: scheduled, applied on its date by serve
                   json={"into": "SKHCN", "effective": "2025-03-01", "document": "2/QĐ-UBND"})
        assert (r.json()["applied"], r.json()["scheduled"], r.json()["moved"]) == (False, True, [])
        r = c.post("/api/v1/agencies/SYT/merge",
                   json={"into": "SKHCN", "effective": "2023-01-05", "document": "2/QĐ-UBND"})
        assert r.json()["moved"] == [iid]
        due = c.get("/api/v1/calendar/due", params={"from": "2022-11-20", "end_of_month": "2022-12"}).json()
        assert (due["last_day"], due["due_at"]) == ("2023-01-03", "2023-01-03T17:00:00Z")
        r = c.post("/api/v1/calendar/overrides", json={"day": "2099-02-02", "kind": "day_off", "reason": "bão"})
        assert r.status_code == 201
        assert c.get("/api/v1/calendar/overrides").json()[0]["reason"] == "bão"
        assert c.get("/api/v1/schedules").json() == []
        assert c.get("/api/v1/notifications").status_code == 200
        assert c.post("/api/v1/notifications/retry", json={}).json() == {"requeued": 0}
        report = c.get("/api/v1/reports/status").json()
        assert report["totals"]["within_deadline"] == 1
        record = c.get("/api/v1/reports/agencies").json()
        assert sum(r["within_deadline"] for r in record["rows"]) == 1  # the same obligation, by agency
        forecast = c.get("/api/v1/reports/forecast", params={"seed": 3, "lang": "en"}).json()
        assert [(r["enough_history"], r["basis"][:24]) for r in forecast["rows"]] == [
            (False, "not enough history (n = ")]
        assert c.get("/api/v1/reports/agencies", params={"updated_days": 0}).status_code == 422
        assert c.get("/api/v1/reports/forecast", params={"as_of": "2999-01-01"}).status_code == 422
        assert c.get("/api/v1/reports/status", params={"format": "csv"}).content.startswith(
            "\ufeffMã cơ quan".encode())  # with the BOM Excel needs
        xlsx = c.get("/api/v1/reports/status", params={"format": "xlsx"})
        assert load_workbook(io.BytesIO(xlsx.content)).active["A2"].value == "Mã cơ quan"
        evaluation = load_workbook(io.BytesIO(xlsx.content))["Đánh giá cơ quan"]  # the record beside it (issue 29)
        assert evaluation["A3"].value == record["rows"][0]["agency_name"]
        signed = c.get("/api/v1/reports/status", params={"format": "docx", "number": "7", "signer": "Trần Thị B"})
        assert signed.headers["content-type"].endswith("wordprocessingml.document")
        paragraphs = [p.text for p in Document(io.BytesIO(signed.content)).paragraphs]
        assert "III. ĐÁNH GIÁ KẾT QUẢ THỰC HIỆN" in paragraphs  # seed III.2: for commendation and discipline
        assert any(p.startswith("- Cơ quan, đơn vị có nhiệm vụ quá hạn trên 90 ngày") for p in paragraphs)
        texts = [p.text for p in Document(io.BytesIO(signed.content)).tables[0].rows[0].cells[0].paragraphs]
        assert texts[-1] == "Số: 7/BC-SKHCN"
        assert c.get("/api/v1/audit/verify").json()["ok"] is True
        checkpoint = c.get("/api/v1/audit/checkpoint").json()
        assert checkpoint["format"] == "khcn-workflow-checkpoint/1"
        lines = c.get("/api/v1/audit/export").text.splitlines()
        assert json.loads(lines[0])["event"] == "@start"
        assert c.get("/api/v1/audit/export", params={"format": "csv"}).text.startswith("instance_id,seq")
        assert "stateDiagram-v2" in c.get("/api/v1/definitions/agency_feedback/diagram").text
        assert {d["id"] for d in c.get("/api/v1/definitions").json()} >= {"agency_feedback"}


def test_keys_health_metrics_and_openapi(api: Api) -> None:
    with api.client() as c:
        created = c.post("/api/v1/keys", json={"name": "thanh.tra", "account": "auditor"}).json()
        assert created["key"].startswith("wf_")
        assert c.post("/api/v1/keys", json={"name": "x", "role": "officer"}).status_code == 422
        with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {created['key']}"}) as new:
            assert new.get("/api/v1/instances").status_code == 200
            assert c.delete(f"/api/v1/keys/{created['id']}").status_code == 204
            assert new.get("/api/v1/instances").status_code == 401
        assert all("key" not in k for k in c.get("/api/v1/keys").json())
        machine = c.post("/api/v1/keys", json={"name": "tich-hop-cong-van", "account": "officer"}).json()
        with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {machine['key']}"}) as new:
            made = c.post("/api/v1/instances", json={"definition": "agency_feedback", "business_key": "k/owner",
                                                     "assignee": "SYT"}).json()
            fired = new.post(f"/api/v1/instances/{made['id']}/events",
                             json={"event": "record_receipt", "payload": {"received_on": "2023-01-05"}})
            assert fired.status_code == 200, fired.text
        owner = api.app.store.account("officer")
        assert owner is not None  # a machine's act names the key and the person who owns it
        assert api.app.store.history(made["id"])[-1].actor_id == (
            f"key:tich-hop-cong-van|account:{owner.id}:{owner.name}")
    with httpx.Client(base_url=api.url) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
        assert ready.status_code == 503  # no scheduler in this test server
        assert ready.json()["database"] == "ok"
        assert "workflow_http_requests_total" in c.get("/metrics").text
        assert c.get("/api/v1/instances/987654").status_code == 401  # no key: counted all the same
        scraped = c.get("/metrics")
        assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
        families = {f.name: f for f in text_string_to_metric_families(scraped.text)}  # the library's own parser
        requests = {(s.labels["route"], s.labels["method"], s.labels["status"]): s.value
                    for s in families["workflow_http_requests"].samples if s.name.endswith("_total")}
        assert requests[("/api/v1/instances/{instance_id}", "GET", "401")] >= 1  # the template, not the id
        assert not any("987654" in route for route, _, _ in requests)
        assert requests[("/api/v1/keys", "POST", "201")] >= 1
        assert any(s.labels.get("le") == "+Inf" for s in families["workflow_http_request_seconds"].samples)
        assert {s.labels["status"] for s in families["workflow_escalations"].samples} <= {"open", "acknowledged"}
        assert "workflow_timers" in families
        assert "workflow_notifications" in families
        assert families["process_cpu_seconds"].samples[0].value > 0
        spec = c.get("/openapi.json").json()
        assert spec["openapi"].startswith("3.1")
        assert "/api/v1/instances/{instance_id}/events" in spec["paths"]
        assert c.get("/docs").status_code == 404  # off by default: its scripts come from a CDN
        assert c.get("/redoc").status_code == 404


def test_effective_dates_and_non_finite_numbers_over_http(api: Api) -> None:
    """Dates people type are facts (422 naming the field, nothing written); JSON has no NaN (nothing written)."""
    with api.client() as c, api.client("officer") as syt:  # the receipt is the Department of Health's own act
        r = c.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": "cat/SYT",
                                              "assignee": "SYT", "effective_on": "2023-01-02"})
        assert r.status_code == 201, r.text
        iid = r.json()["id"]
        assert r.json()["effective_on"] == "2023-01-02"
        for body, field in (({"received_on": "2199-06-01"}, "received_on"), ({"received_on": "2023-01-01"},
                                                                              "received_on")):
            r = syt.post(f"/api/v1/instances/{iid}/events", json={"event": "record_receipt", "payload": body})
            assert r.status_code == 422, r.text
            assert [e["field"] for e in r.json()["errors"]] == [field]
        r = syt.post(f"/api/v1/instances/{iid}/events", json={"event": "record_receipt", "effective_on": "2023-01-06",
                                                            "payload": {"received_on": "2023-01-03"}})
        assert r.status_code == 422
        assert [e["field"] for e in r.json()["errors"]] == ["effective_on"]
        assert len(c.get(f"/api/v1/instances/{iid}/history").json()) == 1  # nothing written
        r = c.post("/api/v1/instances", content=b'{"definition": "catalogue_feedback", "business_key": "x", '
                                                 b'"assignee": "SYT", "data": {"x": NaN}}',
                   headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 422), r.text
        r = c.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": "y",
                                              "assignee": "NOPE"})
        assert r.status_code == 422
        assert "unknown agency 'NOPE'" in r.text
        assert c.get("/api/v1/instances").json()["items"][-1]["id"] == iid  # neither was stored
        assert c.get("/api/v1/reports/status").status_code == 200  # and the reports still answer
        r = syt.post(f"/api/v1/instances/{iid}/events", json={"event": "record_receipt", "effective_on": "31/02/2023",
                                                              "payload": {"received_on": "2023-01-03"}})
        assert r.status_code == 422  # no such day, said of the field
        assert [e["field"] for e in r.json()["errors"]] == ["body.effective_on"]
        r = syt.post(f"/api/v1/instances/{iid}/events", json={"event": "record_receipt", "effective_on": "03/01/2023",
                                                              "payload": {"received_on": "2023-01-03"}})
        assert r.status_code == 200, r.text  # a date as people write it here, as the pages and the CLI take it
        assert c.get(f"/api/v1/instances/{iid}/history").json()[-1]["effective_on"] == "2023-01-03"
        day = c.get("/api/v1/reports/agencies", params={"as_of": "03/01/2023"})
        assert (day.status_code, day.json()["as_of"]) == (200, "2023-01-03")


def test_a_reason_that_looks_like_a_formula_is_exported_as_text(api: Api) -> None:
    instance = start(api, key="cat/formula", definition="catalogue_draft")
    with api.client() as c:
        r = c.post(f"/api/v1/instances/{instance['id']}/events",
                   json={"event": "withdraw", "reason": '=HYPERLINK("http://x.invalid","bấm vào")'})
        assert r.status_code == 200, r.text
        csv_text = c.get("/api/v1/audit/export", params={"format": "csv"}).text
    import csv

    reasons = [row["reason"] for row in csv.DictReader(io.StringIO(csv_text)) if row["event"] == "withdraw"]
    assert reasons == ["'=HYPERLINK(\"http://x.invalid\",\"bấm vào\")"]  # text, never a formula


def test_deep_nesting_and_dates_outside_the_calendar_are_422_not_500(api: Api) -> None:
    nested: dict[str, Any] = {}
    cursor = nested
    for _ in range(260):
        cursor["a"] = {}
        cursor = cursor["a"]
    with api.client() as c:
        r = c.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": "deep",
                                              "assignee": "SYT", "data": nested})
        assert r.status_code == 422
        assert "nested deeper than 32 levels" in r.text
        iid = start(api, key="cat/far", definition="catalogue_feedback")["id"]
        c.post(f"/api/v1/instances/{iid}/events", json={"event": "record_receipt",
                                                        "payload": {"received_on": "2023-01-05"}})
        r = c.post(f"/api/v1/instances/{iid}/deadline/extend",
                   json={"to_date": "9999-12-31", "reason": "x", "document": "1/BCĐ"})
        assert r.status_code == 422
        assert [e["field"] for e in r.json()["errors"]] == ["to_date"]


def test_a_key_revoked_on_another_node_can_write_nothing_at_once(api: Api) -> None:
    from store import SqlStore

    key, token = api.app.store.create_key("short-lived", "admin", None, api.app.clock.now())
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/api/v1/instances").status_code == 200  # now in this server's cache
        other_node = SqlStore(api.app.sql_engine, api.app.clock)  # e.g. `workflow keys revoke` in another process
        other_node.revoke_key(key.id, api.app.clock.now())
        r = c.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": "late/1",
                                              "assignee": "SYT"})
        assert r.status_code == 401
    assert api.app.store.list_instances(key_prefix="late/") == []


def test_oversized_or_too_many_headers_are_refused_before_authentication(api: Api) -> None:
    with httpx.Client(base_url=api.url) as c:
        r = c.get("/healthz", headers={"X-Padding": "a" * (1 << 20)})
        assert r.status_code == 431
        assert r.headers["content-type"].startswith("application/problem+json")
        assert c.get("/api/v1/instances", headers={f"X-H{i}": "1" for i in range(150)}).status_code == 431
        assert c.get("/healthz").status_code == 200


def test_notification_recipients_and_errors_are_for_admins_only(api: Api) -> None:
    from workflow.notify import Contact

    api.app.store.set_contact(Contact("SYT", None, "van.thu@syt.example", None), api.app.clock.now())
    start(api, key="cat/mail", definition="catalogue_feedback")
    api.app.clock.advance(dt.timedelta(days=40))  # type: ignore[attr-defined]
    api.app.ticker(deliver=False).run_once()  # reminders and an escalation queued
    with api.client("admin") as c:
        assert any(n["recipient"] == "van.thu@syt.example" for n in c.get("/api/v1/notifications").json())
    for role in ("officer", "committee", "auditor"):
        with api.client(role) as c:
            rows = c.get("/api/v1/notifications").json()
            assert rows
            assert {(n["recipient"], n["last_error"]) for n in rows} == {(None, None)}, role


def test_failed_authentication_is_throttled_per_address_and_logged(api: Api,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    with httpx.Client(base_url=api.url, headers={"Authorization": "Bearer wf_not-a-key"}) as c:
        statuses = [c.get("/api/v1/instances").status_code for _ in range(62)]
    assert statuses == [401] * 60 + [429] * 2  # WORKFLOW_AUTH_FAILURE_LIMIT: 60 a minute by default
    with httpx.Client(base_url=api.url, headers={"Authorization": "Bearer wf_not-a-key"}) as c:
        r = c.get("/api/v1/instances")
        assert int(r.headers["Retry-After"]) >= 1
    assert any("authentication failed: unknown API key from 127.0.0.1" in m for m in caplog.messages)


def test_the_api_document_is_valid_and_says_what_each_operation_answers(api: Api) -> None:
    """`/openapi.json` passes openapi-spec-validator; every operation has a description (its docstring), a tag,
    the bearer scheme, a schema for its 2xx answer and the problem answers it can give."""
    with httpx.Client(base_url=api.url) as c:
        spec = c.get("/openapi.json").json()
    validate(spec)
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "Problem" in spec["components"]["schemas"]
    operations = [(path, method, op) for path, item in spec["paths"].items() if path.startswith("/api/v1/")
                  for method, op in item.items()]
    assert len(operations) >= 30
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert op.get("description"), where
        assert op.get("tags"), where
        signed = path.startswith("/api/v1/integration/")  # an outside system's post: its signature, not a key
        assert op.get("security") == ([{"EofficeSignature": []}] if signed else [{"HTTPBearer": []}]), where
        codes = set(op["responses"])
        assert {"401", "422", "429", "503"} <= codes, where
        if "{" in path:
            assert "404" in codes, where
        if method != "get":
            assert {"403", "409", "413"} <= codes, where
        for code in codes - {"200", "201", "204"}:
            schema = op["responses"][code]["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, (where, code)
        ok = next(op["responses"][code] for code in ("200", "201", "204") if code in op["responses"])
        if "content" in ok and "application/json" in ok["content"]:
            answer = ok["content"]["application/json"]["schema"]
            named = answer.get("items", answer)  # a list of a named shape, or a named shape
            assert set(named) == {"$ref"}, (where, answer)  # typed: not {} nor a free object
        if "requestBody" in op and "application/octet-stream" in op["requestBody"]["content"]:
            assert op["requestBody"]["content"]["application/octet-stream"]["schema"]["format"] == "binary", where
        elif "requestBody" in op and signed:  # read raw (the signature covers the bytes): its shape inline
            assert op["requestBody"]["content"]["application/json"]["schema"].get("examples"), where
        elif "requestBody" in op:  # a JSON body: a named shape with an example
            body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            assert spec["components"]["schemas"][body].get("examples"), (where, body)
    fire = spec["paths"]["/api/v1/instances/{instance_id}/events"]["post"]["responses"]["200"]
    assert fire["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Fired"}


def test_a_fault_of_ours_is_a_500_problem_naming_the_request_and_logged_whole(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    def fails() -> None:
        raise RuntimeError("a bug in a route")

    api.fastapi.add_api_route("/api/v1/test-fault", fails)  # type: ignore[attr-defined]
    with api.client() as c:
        answer = c.get("/api/v1/test-fault", headers={"X-Request-ID": "fault-1"})
        assert answer.status_code == 500
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["request_id"] == answer.headers["X-Request-ID"] != "fault-1"  # ours, never the client's
        assert "a bug in a route" not in answer.text  # nothing of the inside goes out
        # a report to sign with a control character in its signer's name is the client's fault: 422, not a 500
        refused = c.get("/api/v1/reports/status", params={"format": "docx", "signer": "Nguyễn\x00An"})
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "signer"
    logged = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert logged
    assert logged[0].exc_info is not None


def test_true_is_not_a_number(api: Api) -> None:
    """JSON's true is not the integer 1, nor the string "yes" a boolean: the fuzz found `{"ids": [true]}` accepted."""
    with api.client("admin") as admin:
        assert admin.post("/api/v1/notifications/retry", json={"ids": [True]}).status_code == 422
        assert admin.post("/api/v1/instances", json={"definition": "agency_feedback", "business_key": "t/SYT",
                                                     "assignee": "SYT", "version": True}).status_code == 422
