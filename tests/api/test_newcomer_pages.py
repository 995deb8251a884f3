"""Lists as a Vietnamese reader expects (issue 27): a search finds "Góp ý" from "gop y" on both databases (the
folding is the store's, in SQL), several states a person reads under one name are one filter, and names sort in
Vietnamese order ("Đ" after "D", "Ủ" among the U's), merged and retired agencies marked in the pickers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from definitions.vietnamese import fold, sort_key
from tests.api.conftest import Api, password_of
from tests.web.test_dashboard import SIGNED_PDF


def test_vietnamese_order_and_folding() -> None:
    names = ["Ủy ban nhân dân huyện Bác Ái", "Đài Phát thanh và Truyền hình", "Sở Y tế", "Ban Dân tộc", "Dân",
             "Sở Tư pháp", "Sở Tài chính", "Zalo", "ao", "áo", "ào", "ảo", "ão", "ạo", "ăn", "ân", "ba"]
    assert sorted(names, key=sort_key) == [
        "ao", "ào", "ảo", "ão", "áo", "ạo", "ăn", "ân", "ba", "Ban Dân tộc", "Dân", "Đài Phát thanh và Truyền hình",
        "Sở Tài chính", "Sở Tư pháp", "Sở Y tế", "Ủy ban nhân dân huyện Bác Ái", "Zalo"]
    assert fold("Góp ý Đài ỦY BAN") == "gop y dai uy ban"


@pytest.mark.parametrize("query", ["gop y", "GÓP Ý", "góp ý", "gop-y"])
def test_a_search_finds_accented_words_typed_without_accents(api: Api, query: str) -> None:
    with api.client() as admin:
        made = admin.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": "góp-ý/SYT",
                                                     "assignee": "SYT"})
        assert made.status_code == 201, made.text
        other = admin.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": "khac/SNV",
                                                      "assignee": "SNV"})
        assert other.status_code == 201
        found = admin.get("/api/v1/tasks", params={"q": query}).json()
    keys = {row["business_key"] for row in found["rows"]}
    if query == "gop-y":
        assert keys == {"góp-ý/SYT"}  # only the key holds it; the definition's title has "Góp ý" without the dash
    else:
        assert "góp-ý/SYT" in keys
        assert "khac/SNV" in keys  # the definition's title ("Góp ý bằng văn bản ...") matches too


def test_pickers_sort_in_vietnamese_order_and_mark_ended_agencies(api: Api) -> None:
    _merge_agriculture_into_environment(api)
    with _signed_in(api) as http:
        page = http.get("/tasks").text
    picker = page[page.index('name="agency"'):]
    picker = picker[:picker.index("</select>")]
    offered = [m.group(2) for m in re.finditer(r'<option value="([A-Z0-9_-]+)"[^>]*>([^<]+)</option>', picker)]
    assert offered == sorted(offered, key=sort_key)
    assert [o for o in offered if "đã sáp nhập vào" in o] == [
        next(o for o in offered if o.startswith("Sở Nông nghiệp"))]
    d = [o for o in offered if o.startswith(("D", "Đ"))]
    assert d == sorted(d, key=sort_key)
    states = page[page.index('name="state"'):]
    states = states[:states.index("</select>")]
    labels = re.findall(r"<option value=\"[^\"]+\"[^>]*>([^<]+)</option>", states)
    assert len(labels) == len(set(labels))  # no state name offered twice


@contextmanager
def _signed_in(api: Api, who: str = "admin") -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, headers={"Accept": "text/html"}) as http:
        form = http.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        http.post("/login", data={"login": who, "password": password_of(who), "csrf": token.group(1), "next": "/"})
        yield http


def _merge_agriculture_into_environment(api: Api) -> None:
    with api.client() as admin:
        merged = admin.post("/api/v1/agencies/SNNPTNT/merge", json={"into": "STNMT", "effective": "2023-01-01",
                                                                    "document": "1/QĐ-UBND"})
        assert merged.status_code == 200, merged.text


def test_what_is_not_there_is_said_in_vietnamese(api: Api) -> None:
    """Issue 27: 404 pages said "no instance 99999" and "no agency 'XYZ'" in English; a path no page has answered
    with JSON."""
    with _signed_in(api) as http:
        for path, said in (("/instances/99999", "Không tìm thấy nhiệm vụ số “99999”."),
                           ("/agencies/SYTT", "Không tìm thấy cơ quan có mã “SYTT”. Có phải ý ông/bà là “SYT”?"),
                           ("/khong-co-trang-nay", "Không có trang này.")):
            r = http.get(path)
            assert r.status_code == 404
            assert r.headers["content-type"].startswith("text/html")
            assert said in r.text, (path, r.text[-800:])
            assert "no instance" not in r.text
            assert "no agency" not in r.text
        api_answer = http.get("/api/v1/khong-co", headers={"Accept": "application/json"})
    assert api_answer.status_code == 404
    assert api_answer.headers["content-type"].startswith("application/problem+json")


def test_no_opinion_is_chosen_for_the_reader_and_a_finished_task_says_how_it_ended(api: Api) -> None:
    """Issue 27: "Ý kiến" came preselected "Nhất trí"; a finished task showed "Hạn —" and no verdict."""
    import datetime as dt

    from workflow import SimulatedClock

    ids = []
    with api.client() as admin:
        for key in ("ket-thuc/SYT", "tre/SYT"):
            made = admin.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": key,
                                                         "assignee": "SYT"}).json()
            admin.post(f"/api/v1/instances/{made['id']}/events", json={
                "event": "record_receipt", "payload": {"received_on": "2023-01-05"}, "reason": "Nhập thay theo sổ"})
            ids.append(made["id"])
    with _signed_in(api) as http:
        form = http.get(f"/instances/{ids[0]}").text
        select = form[form.index('name="p.position"'):]
        select = select[:select.index("</select>")]
        assert re.search(r'<option value="" selected disabled>Chọn</option>', select), select
        assert 'value="agree" selected' not in select
    answer = {"event": "answer", "payload": {"document": "5/SYT-KHTC", "position": "agree"},
              "reason": "Nhập thay theo sổ đi"}
    with api.client() as admin:
        assert admin.post(f"/api/v1/instances/{ids[0]}/events", json=answer).status_code == 200
        assert isinstance(api.app.clock, SimulatedClock)
        api.app.clock.advance(dt.timedelta(days=40))
        assert admin.post(f"/api/v1/instances/{ids[1]}/events", json=answer).status_code == 200
    with _signed_in(api) as http:
        on_time, late = (http.get(f"/instances/{i}").text for i in ids)
    assert "Hạn 27/01/2023: hoàn thành đúng hạn (ngày 05/01/2023)" in on_time  # 20 days, past the Tết holiday
    assert "Hạn 27/01/2023: hoàn thành quá hạn 18 ngày (ngày 14/02/2023)" in late
    # the same in the API and the CLI: `instances show` carries the task's obligations (issue 27)
    with api.client() as admin:
        shown = admin.get(f"/api/v1/instances/{ids[1]}").json()["obligations"]
    answer_duty = next(o for o in shown if o["name"] == "answer")
    assert {k: answer_duty[k] for k in ("agency", "last_day", "status", "category", "days_late", "closed_on")} == {
        "agency": "SYT", "last_day": "2023-01-27", "status": "satisfied", "category": "done_late", "days_late": 18,
        "closed_on": "2023-02-14"}
    from service.cli.instances import _instance_text  # what `workflow instances show` prints (without a second engine)

    out = _instance_text(api.app.uses.instances.show(ids[1]))
    assert "hạn 27/01/2023: hoàn thành quá hạn 18 ngày" in out


def test_a_number_is_typed_and_shown_the_vietnamese_way(api: Api) -> None:
    """Issue 27: "'1.250,5' is not a decimal number" (the Vietnamese decimal comma refused, and shown as 1250.5)."""
    with api.client() as admin:
        made = admin.post("/api/v1/instances", json={"definition": "budget_share", "business_key": "ns-2023/SYT",
                                                     "assignee": "SYT"}).json()
    with _signed_in(api, "officer") as http:
        page = http.get(f"/instances/{made['id']}").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        fields = {"csrf": csrf.group(1), "event": "report", "expected_version": "1",
                  "p.document.number": "9/BC-SYT", "p.document.issued_on": "05/01/2023", "p.year": "2.023",
                  "p.st_budget": "1.250,5", "p.regular_spending": "abc"}
        refused = http.post(f"/instances/{made['id']}/fire", data=fields,
                            files={"file": ("Báo cáo 9-SYT.pdf", SIGNED_PDF, "application/pdf")})
        assert refused.status_code == 422
        assert "“abc” không phải là một số; hãy viết như 1.250,5." in refused.text
        # the chosen file is gone from the form (browsers never keep it): the page says so beside its input
        assert ("Tệp “Báo cáo 9-SYT.pdf” chưa được lưu vì biểu mẫu còn lỗi; vui lòng chọn lại tệp trước khi gửi."
                in refused.text)
        assert "is not a decimal number" not in refused.text
        done = http.post(f"/instances/{made['id']}/fire", data={**fields, "p.regular_spending": "250.000"},
                         follow_redirects=True)
        assert done.status_code == 200, done.text[-500:]
        assert "Chi sự nghiệp KH&amp;CN (triệu đồng): 1.250,5" in done.text
        assert "Tổng chi thường xuyên (triệu đồng): 250.000" in done.text
    with api.client() as admin:
        stored = admin.get(f"/api/v1/instances/{made['id']}/history").json()[-1]["payload"]
    assert (stored["st_budget"], stored["regular_spending"], stored["year"]) == ("1250.5", "250000", 2023)


def test_an_agency_page_names_its_successor_and_dates_in_the_vietnamese_way(api: Api) -> None:
    """Issue 27: "Cơ quan kế thừa SKHCN" and "2022-01-01" on an agency's page."""
    _merge_agriculture_into_environment(api)
    with _signed_in(api) as http:
        page = http.get("/agencies/SNNPTNT").text
    successor = re.search(r'<a href="/agencies/STNMT">([^<]+)</a>', page)
    assert successor is not None
    assert successor.group(1).startswith("Sở Tài nguyên")
    assert not re.search(r"<td>\d{4}-\d\d-\d\d</td>", page)
    assert re.search(r"<td>\d\d/\d\d/\d{4}</td>", page)


def test_the_history_download_is_for_a_vietnamese_spreadsheet(api: Api) -> None:
    """Issue 27: the CSV from the audit page had English columns, UTC times, `cli:root` and commas, though Excel on
    Vietnamese Windows expects ";". The API's export stays the machine's (raw columns, UTC, ",")."""
    with api.client() as admin:
        admin.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": "csv/SYT",
                                              "assignee": "SYT"})
    with _signed_in(api) as http:
        text = http.get("/audit/export", params={"format": "csv"}).text
    lines = text.splitlines()
    assert lines[0].startswith("\ufeffNhiệm vụ số;Thứ tự;Thời điểm ghi (giờ Việt Nam);")
    first = lines[1].split(";")
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", first[2])  # province time, as people write it
    assert first[2].startswith("05/01/2023 09:00")  # 02:00 UTC is 09:00 in the province
    with api.client() as admin:
        assert admin.get("/api/v1/audit/export", params={"format": "csv"}).text.startswith("instance_id,seq")


def test_an_auditor_searches_the_history_by_agency_actor_act_and_days(api: Api) -> None:
    """Issue 27: auditors had no history page to search (by agency, actor, act, date range)."""
    import datetime as dt

    from workflow import SimulatedClock

    with api.client() as admin:
        for key, agency in (("ls/SYT", "SYT"), ("ls/SNV", "SNV")):
            made = admin.post("/api/v1/instances", json={"definition": "catalogue_feedback", "business_key": key,
                                                         "assignee": agency}).json()
        assert isinstance(api.app.clock, SimulatedClock)
        api.app.clock.advance(dt.timedelta(days=2))
        admin.post(f"/api/v1/instances/{made['id']}/events", json={
            "event": "record_receipt", "payload": {"received_on": "2023-01-06"}, "reason": "Nhập thay theo sổ"})
    with _signed_in(api, "auditor") as http:
        everything = http.get("/audit").text
        assert 'href="/audit/history"' in everything
        snv = http.get("/audit/history", params={"agency": "SNV"}).text
        assert "Tìm thấy 2 dòng lịch sử" in snv  # its start and the receipt
        assert "Sở Nội vụ" in snv
        assert "Sở Y tế" not in snv.split('id="history-search-table"')[1]
        acts = http.get("/audit/history", params={"event": "record_receipt"}).text
        assert "Tìm thấy 1 dòng lịch sử" in acts
        assert "07/01/2023 09:00" in acts  # recorded two days after 05/01 at 09:00, province time
        days = http.get("/audit/history", params={"from": "06/01/2023", "to": "07/01/2023"}).text
        assert "Tìm thấy 1 dòng lịch sử" in days
        who = http.get("/audit/history", params={"actor": "ÁDMIN"}).text  # the acting key, any case and accents
        assert "Tìm thấy 3 dòng lịch sử" in who
        nobody = http.get("/audit/history", params={"actor": "khong-co-ai"}).text
        assert "Tìm thấy 0 dòng lịch sử" in nobody
        wrong = http.get("/audit/history", params={"from": "31/02/2023"})
        assert wrong.status_code == 422
        assert "“31/02/2023” không phải là một ngày" in wrong.text
