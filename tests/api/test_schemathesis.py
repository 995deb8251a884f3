"""Schemathesis against the app's own OpenAPI document: over 1,000 generated requests, no 5xx."""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core import NotSet

from tests.api.conftest import Api

PER_OPERATION = 60


def test_generated_requests_never_get_a_server_error(api: Api) -> None:
    schema = schemathesis.openapi.from_dict(api.fastapi.openapi())  # type: ignore[attr-defined]
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    with api.client() as admin:
        own_key = admin.get("/api/v1/keys").json()[0]["id"]
        admin.post("/api/v1/instances", json={"definition": "agency_feedback", "business_key": "fuzz/SYT",
                                              "assignee": "SYT"})
        for operation in operations:
            # derandomize: CI runs exactly the cases run before landing (a random seed could reach a new bug
            # and fail a landing at random); run with --hypothesis-seed=random locally to explore further
            @settings(max_examples=PER_OPERATION, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(), data=st.data())
            def send(case: Any, data: Any) -> None:
                if case.path_parameters and case.path_parameters.get("key_id") == own_key:
                    return  # revoking the fuzzer's own key would turn the rest into 401s
                body = None if isinstance(case.body, NotSet) else case.body
                headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
                r = admin.request(case.method, case.formatted_path, params=case.query or None, json=body,
                                  headers=headers)
                statuses[r.status_code] += 1
                if case.formatted_path == "/readyz" and r.status_code == 503:
                    return  # documented: not ready, because this test server runs no scheduler
                if r.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} {case.query} {body!r}: {r.text[:300]}")

            send()
    assert failures == []
    assert sum(statuses.values()) >= 1000, statuses
    assert len(operations) >= 30
