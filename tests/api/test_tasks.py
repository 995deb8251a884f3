"""GET /api/v1/tasks: the overview's task list with its filters, pages and refusals, over HTTP."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api


def _start(api: Api, key: str, agency: str) -> int:
    """A feedback duty whose draft the agency received today: its 20-day obligation runs."""
    with api.client() as c:
        r = c.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": key,
                                              "assignee": agency})
        assert r.status_code == 201, r.text
        fired = c.post(f"/api/v1/instances/{r.json()['id']}/events",
                       json={"event": "record_receipt", "payload": {"received_on": "2023-01-05"},
                             "reason": "Nhập thay theo sổ văn bản đến"})  # the administrator, on the agency's behalf
        assert fired.status_code == 200, fired.text
    return int(r.json()["id"])


def _all(api: Api, **params: Any) -> list[dict[str, Any]]:
    with api.client("auditor") as c:
        r = c.get("/api/v1/tasks", params={**params, "size": 200})
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["rows"]
    return rows


def test_tasks_filter_by_agency_and_words_and_page_through_everything(api: Api) -> None:
    made = {_start(api, f"gop-y/{n}/{agency}", agency): agency for n in range(4) for agency in ("SYT", "SNV")}
    everything = _all(api)
    assert {r["instance_id"] for r in everything} == set(made)
    assert [r["last_day"] for r in everything] == sorted(r["last_day"] for r in everything)  # nearest first
    assert {r["category"] for r in everything} == {"within_deadline"}
    snv = _all(api, agency="SNV")
    assert {r["instance_id"] for r in snv} == {i for i, a in made.items() if a == "SNV"}
    assert {r["agency_name"] for r in snv} == {"Sở Nội vụ"}
    assert [r["business_key"] for r in _all(api, q="gop-y/2/SYT")] == ["gop-y/2/SYT"]
    assert len(_all(api, q="Góp ý")) == len(made)  # words of the definition's title find its tasks
    assert _all(api, category="overdue") == []
    with api.client("officer") as c:
        pages = []
        for page in (1, 2, 3):
            body = c.get("/api/v1/tasks", params={"size": 3, "page": page}).json()
            assert (body["total"], body["pages"], body["page"]) == (len(made), 3, page)
            pages += [r["instance_id"] for r in body["rows"]]
    assert pages == [r["instance_id"] for r in everything]  # the pages together are the whole list, in order


def test_wrong_filters_are_refused_with_the_field_named(api: Api) -> None:
    with api.client("auditor") as c:
        wrong = c.get("/api/v1/tasks", params={"due_from": "2023-02-01", "due_to": "2023-01-01"})
        assert wrong.status_code == 422
        assert "due_to" in wrong.text
        assert c.get("/api/v1/tasks", params={"category": "late"}).status_code == 422
        assert c.get("/api/v1/tasks", params={"size": 0}).status_code == 422
        assert c.get("/api/v1/tasks", params={"due_from": "31/02/2023"}).status_code == 422
