"""The deadline grammar, phrase by phrase: every form docs/plans.md lists, with the rule it gives."""

from __future__ import annotations

from typing import Any

import pytest

from definitions.plan_import.deadlines import folded, parse, words_to_int

# (as written, plan year, kind, fields that must be in the rule, flags that must be raised)
PHRASES: list[tuple[str, int | None, str, dict[str, Any], set[str]]] = [
    ("Nội dung này hoàn thành trong tháng 11/2022.", 2022, "end_of_month", {"month": "2022-11"}, set()),
    ("lập kế hoạch tổ chức thực hiện trong tháng 12 năm 2022.", 2022, "end_of_month", {"month": "2022-12"}, set()),
    ("chậm nhất là tháng 3/2023", 2022, "end_of_month", {"month": "2023-03"}, set()),
    ("đến hết tháng 9-2024", None, "end_of_month", {"month": "2024-09"}, set()),
    ("trong tháng 12", 2022, "end_of_month", {"month": "2022-12"}, {"year_assumed"}),
    ("trong tháng 12", None, "end_of_month", {"month": None}, {"year_unknown"}),
    ("hoàn thành trước tháng 6/2023", 2022, "date", {"date": "2023-06-01", "before": True}, {"before_month"}),
    ("Quý II/2026", None, "end_of_quarter", {"quarter": "2026-Q2"}, set()),
    ("quý 2 năm 2026", None, "end_of_quarter", {"quarter": "2026-Q2"}, set()),
    ("trong Quý IV năm 2023", None, "end_of_quarter", {"quarter": "2023-Q4"}, set()),
    ("quý III", 2024, "end_of_quarter", {"quarter": "2024-Q3"}, {"year_assumed"}),
    ("hoàn thành trong năm 2023", None, "end_of_year", {"year": 2023}, set()),
    ("Năm 2024", None, "end_of_year", {"year": 2024}, set()),
    ("trước năm 2025", None, "date", {"date": "2025-01-01", "before": True}, {"before_year"}),
    ("6 tháng đầu năm 2024", None, "end_of_month", {"month": "2024-06"}, set()),
    ("trước ngày 15/12/2023", None, "date", {"date": "2023-12-15", "before": True}, {"before_date_reading"}),
    ("chậm nhất ngày 31/3/2025", None, "date", {"date": "2025-03-31", "before": False}, set()),
    ("xong trước 30/6/2025", None, "date", {"date": "2025-06-30", "before": True}, {"before_date_reading"}),
    ("ngày 5 tháng 3 năm 2024", None, "date", {"date": "2024-03-05"}, set()),
    ("05-11-2024", None, "date", {"date": "2024-11-05"}, set()),
    ("05.11.2024", None, "date", {"date": "2024-11-05"}, set()),
    ("định kỳ hằng năm báo cáo kết quả (thông qua Sở Khoa học và Công nghệ) trước ngày 05/11.", 2022, "yearly",
     {"month_day": "11-05", "before": True}, {"before_date_reading"}),
    ("Hoàn thành trước ngày 05/11 hằng năm", None, "yearly", {"month_day": "11-05"}, set()),
    ("báo cáo hàng năm trước ngày 15 tháng 12", None, "yearly", {"month_day": "12-15"}, set()),
    ("định kỳ 6 tháng", None, "periodic", {"every": "6 months"}, set()),
    ("Báo cáo định kỳ hằng quý trước ngày 20 của tháng cuối quý", None, "periodic",
     {"every": "3 months", "day_of_month": 20}, set()),
    ("Báo cáo hằng tháng trước ngày 25", None, "periodic", {"every": "1 month", "day_of_month": 25}, set()),
    ("Định kỳ hằng năm", None, "periodic", {"every": "1 year"}, set()),
    ("báo cáo 6 tháng một lần", None, "periodic", {"every": "6 months"}, set()),
    ("Nội dung này cần hoàn thành trong thời hạn 20 ngày kể từ ngày nhận được dự thảo danh mục", None, "relative",
     {"days": 20, "working": False, "from": "ngày nhận được dự thảo danh mục"}, set()),
    ("trong vòng 15 (mười lăm) ngày làm việc kể từ ngày nhận được hồ sơ", None, "relative",
     {"days": 15, "working": True, "from": "ngày nhận được hồ sơ"}, set()),
    ("mười lăm ngày kể từ ngày nhận văn bản", None, "relative", {"days": 15}, set()),
    ("sau 30 ngày kể từ ngày Kế hoạch được ban hành", None, "relative", {"days": 30}, set()),
    ("giai đoạn 2023–2025", None, "range", {"from": "2023", "to": "2025"}, set()),
    ("2023-2025", None, "range", {"from": "2023", "to": "2025"}, set()),
    ("Từ năm 2024 đến năm 2026", None, "range", {"from": "2024", "to": "2026"}, set()),
    ("2024", None, "end_of_year", {"year": 2024}, set()),
    ("Báo cáo trước ngày 15 hằng tháng", None, "periodic", {"every": "1 month", "day_of_month": 15}, set()),
    ("Từ tháng 3/2024 đến hết tháng 6/2024", None, "end_of_month", {"month": "2024-06"}, set()),
    ("Thực hiện từ năm 2024, hoàn thành trong Quý II/2025", None, "end_of_quarter", {"quarter": "2025-Q2"}, set()),
    ("Nội dung này hoàn thành trong năm.", 2024, "end_of_year", {"year": 2024}, {"year_assumed"}),
    ("Thường xuyên", None, "ongoing", {}, set()),
    ("Hằng năm", None, "ongoing", {}, {"yearly_without_date"}),
    ("Hàng năm", None, "ongoing", {}, {"yearly_without_date"}),
    ("HOÀN THÀNH TRONG THÁNG 12/2022", None, "end_of_month", {"month": "2022-12"}, set()),
    ("hoan thanh trong thang 12/2022", None, "end_of_month", {"month": "2022-12"}, set()),
]


@pytest.mark.parametrize(("text", "year", "kind", "fields", "flags"), PHRASES, ids=[p[0][:40] for p in PHRASES])
def test_each_phrase_gives_its_rule(text: str, year: int | None, kind: str, fields: dict[str, Any],
                                    flags: set[str]) -> None:
    rule = parse(text, year)
    assert rule is not None, text
    assert rule["kind"] == kind, rule
    for key, value in fields.items():
        assert rule[key] == value, (key, rule)
    assert flags <= set(rule["flags"]), rule
    start, end = rule["span"]
    assert text[start:end] == rule["as_written"]  # the words that set it, for the review page to highlight


NOT_DEADLINES = [
    "Triển khai Quyết định số 472/QĐ-UBND ngày 23/8/2022 của Ủy ban nhân dân tỉnh",
    "Chiến lược của quốc gia giai đoạn đến năm 2025, định hướng đến năm 2030",
    "theo Nghị định số 35/2021/NĐ-CP ngày 29/3/2021 của Chính phủ",
    "đạt từ 0,5 - 1,0% tổng chi thường xuyên ngân sách tỉnh",
    "Chương trình “phát triển khoa học đến năm 2030” của tỉnh",
    "Kế hoạch số 123/KH-UBND ngày 5 tháng 3 năm 2021 của UBND tỉnh",
    "Bắt đầu triển khai từ năm 2024",
    "kết quả đạt được trong năm qua",
]


@pytest.mark.parametrize("text", NOT_DEADLINES)
def test_dates_of_other_documents_and_programme_titles_are_not_deadlines(text: str) -> None:
    rule = parse(text, 2022)
    assert rule is None or rule["kind"] == "ongoing", rule


def test_folding_keeps_every_character_in_place() -> None:
    text = "Đến hết Quý IV/2025 … hằng năm"
    assert len(folded(text)) == len(text)
    assert folded(text).startswith("den het quy iv/2025")


@pytest.mark.parametrize(("words", "value"), [("hai mươi", 20), ("mười lăm", 15), ("ba mươi mốt", 31),
                                              ("bảy", 7), ("một trăm hai mươi", 120), ("mười", 10)])
def test_numbers_in_words(words: str, value: int) -> None:
    assert words_to_int(folded(words)) == value


def test_a_completion_phrase_wins_over_a_period_named_in_passing() -> None:
    rule = parse("Triển khai các nhiệm vụ giai đoạn 2023-2025; xây dựng kế hoạch hoàn thành trong tháng 3/2023.", None)
    assert rule is not None
    assert rule["kind"] == "end_of_month"
    assert rule["month"] == "2023-03"
