"""A grammar of Vietnamese deadline phrases, as plans write them (docs/plans.md has the table).

Table-driven: each rule is a regular expression over the *folded* text (lower case, no accents, "đ" as "d",
"hàng năm" and "hằng năm" alike, one space) and a function from its match to a rule. Folding keeps every character
in place, so a match's span is also the span of the words as written (the review page highlights them).

No library fits: dateparser reads "trước" as *ago* and knows neither "chậm nhất" nor "kể từ ngày nhận được";
underthesea is GPL and downloads models. The rules are tested phrase by phrase (tests/plan_import/test_deadlines.py).

A phrase names a period; the period's end is the deadline and the calendar's art. 147-148 rules (workflow/calendar)
apply when the engine counts it. "trước ngày X" is read both ways (by the end of X-1 or of X) and flagged.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from definitions.vietnamese import fold


def folded(text: str) -> str:
    """Lower case without accents, one character for one: positions in the result are positions in ``text``."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        f = fold(ch)
        out.append(f if len(f) == 1 else ch.lower())
    return "".join(out)


_UNITS = {"khong": 0, "mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "lam": 5, "sau": 6,
          "bay": 7, "tam": 8, "chin": 9}
_NUMBER_WORDS = r"(?:(?:mot|hai|ba|bon|tu|nam|lam|sau|bay|tam|chin|muoi|muoi|khong|tram|linh|le)\s?)+"


def words_to_int(words: str) -> int | None:
    """Vietnamese number words up to 999 ("hai mươi", "mười lăm", "ba mươi mốt", "một trăm hai mươi")."""
    total, current = 0, 0
    tokens = words.split()
    if not tokens:
        return None
    for i, token in enumerate(tokens):
        if token == "tram":
            total += (current or 1) * 100
            current = 0
        elif token == "muoi":
            # "mười" (10) at the start, "mươi" (×10) after a unit: folded alike
            current = 10 if current == 0 else current * 10
        elif token in ("linh", "le"):
            continue
        elif token in _UNITS:
            value = _UNITS[token]
            if token == "nam" and i > 0 and tokens[i - 1] == "muoi":
                value = 5
            current += value
        else:
            return None
    return total + current


ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
MONTH = r"(1[0-2]|0?[1-9])"
DAY = r"(3[01]|[12]\d|0?[1-9])"
YEAR = r"((?:19|20|21)\d\d)"
SEP = r"\s?[/.\-]\s?"
QUARTER = r"(iv|iii|ii|i|[1-4])"
NUM = rf"(?P<n>\d{{1,3}}|{_NUMBER_WORDS})"

# before the deadline words: how the plan says "by"; "trước" alone is the ambiguous one
BY = (r"(truoc|cham nhat(?: la)?(?: vao)?(?: truoc)?|muon nhat(?: la)?|khong muon hon|khong qua|den(?: het)?|het|"
      r"xong truoc|hoan thanh(?: truoc| trong| vao)?|trong|vao|cuoi)")


@dataclass
class Found:
    kind: str
    fields: dict[str, Any]
    start: int
    end: int
    flags: list[str] = field(default_factory=list)
    recurring: bool = False
    priority: int = 0  # a completion phrase ("hoàn thành trong tháng 12/2022") beats a period named in passing


def _year(text: str | None, plan_year: int | None, flags: list[str]) -> int | None:
    if text:
        return int(text)
    if plan_year is None:
        flags.append("year_unknown")
        return None
    flags.append("year_assumed")
    return plan_year


def _number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else words_to_int(text)


def _month_end(m: re.Match[str], plan_year: int | None) -> Found | None:
    flags: list[str] = []
    year = _year(m.group("y"), plan_year, flags)
    if year is None:
        return Found("end_of_month", {"month": None, "month_number": int(m.group("m"))}, m.start(), m.end(), flags)
    if _before(m):  # "trước tháng 6/2023": before June, so by the end of May
        month = int(m.group("m"))
        first = dt.date(year, month, 1)
        return Found("date", {"date": first.isoformat(), "before": True}, m.start(), m.end(),
                     [*flags, "before_month"])
    return Found("end_of_month", {"month": f"{year:04d}-{int(m.group('m')):02d}"}, m.start(), m.end(), flags)


def _first_half(m: re.Match[str], plan_year: int | None) -> Found | None:
    flags: list[str] = []
    year = _year(m.group("y"), plan_year, flags)
    month = 6 if "dau" in m.group("half") else 12
    return Found("end_of_month", {"month": f"{year:04d}-{month:02d}" if year else None}, m.start(), m.end(), flags)


def _quarter(m: re.Match[str], plan_year: int | None) -> Found | None:
    flags: list[str] = []
    year = _year(m.group("y"), plan_year, flags)
    q = m.group("q")
    n = ROMAN.get(q) or int(q)
    return Found("end_of_quarter", {"quarter": f"{year}-Q{n}" if year else None}, m.start(), m.end(), flags)


def _year_end(m: re.Match[str], _plan_year: int | None) -> Found | None:
    year = int(m.group("y"))
    if _before(m):  # "trước năm 2025": by the end of 2024
        return Found("date", {"date": dt.date(year, 1, 1).isoformat(), "before": True}, m.start(), m.end(),
                     ["before_year"])
    return Found("end_of_year", {"year": year}, m.start(), m.end())


def _date(m: re.Match[str], plan_year: int | None) -> Found | None:
    flags: list[str] = []
    day, month = int(m.group("d")), int(m.group("m"))
    before = _before(m)
    recurring_words = m.group("every") if "every" in m.re.groupindex else None
    if m.group("y") is None and (recurring_words or _yearly_context(m)):
        return Found("yearly", {"month_day": f"{month:02d}-{day:02d}", "before": before}, m.start(),
                     m.end(), ["before_date_reading"] if before else [], recurring=True)
    year = _year(m.group("y"), plan_year, flags)
    try:
        day_value = dt.date(year, month, day) if year else None
    except ValueError:
        return None
    if before:
        flags.append("before_date_reading")
    fields: dict[str, Any] = {"date": day_value.isoformat() if day_value else None, "before": before}
    return Found("date", fields, m.start(), m.end(), flags)


def _before(m: re.Match[str]) -> bool:
    """ "trước …", "hoàn thành trước …", "xong trước …": before the named day or period, not by its end."""
    by = (m.group("by") or "").split()
    return bool(by) and by[-1] == "truoc"


def _yearly_context(m: re.Match[str]) -> bool:
    around = m.string[max(0, m.start() - 120): m.end() + 40]
    return bool(re.search(r"hang nam|moi nam|dinh ky", around))


def _relative(m: re.Match[str], _plan_year: int | None) -> Found | None:
    days = _number(m.group("n"))
    if days is None:
        return None
    unit = m.group("unit")
    working = bool(m.group("work"))
    origin = m.group("from")
    cut = len(origin) - len(origin.rstrip(" ,.;"))
    span = (m.start("from"), m.end("from") - cut)  # the words as written are read back from the text (find_all)
    flags: list[str] = []
    if "thang" in unit:
        flags.append("months_as_days")
        days *= 30
    return Found("relative", {"days": days, "working": working, "from": span}, m.start(), m.end(), flags)


def _periodic(m: re.Match[str], _plan_year: int | None) -> Found | None:
    words = m.group(0)
    if re.search(r"6 thang|sau thang|nua nam|hai lan (?:mot|moi|/) ?nam", words):
        every = "6 months"
    elif re.search(r"quy|3 thang|ba thang", words):
        every = "3 months"
    elif re.search(r"thang", words):
        every = "1 month"
    else:
        every = "1 year"
    fields: dict[str, Any] = {"every": every}
    around = m.string[max(0, m.start() - 25): m.end() + 60]  # "trước ngày 15 hằng tháng", "hằng tháng, trước ngày 25"
    if every != "1 year" and (d := re.search(rf"truoc ngay {DAY}\b(?! ?[/.\-])", around)):
        fields["day_of_month"] = int(d.group(1))
    return Found("periodic", fields, m.start(), m.end(), recurring=True)


def _range(m: re.Match[str], _plan_year: int | None) -> Found | None:
    start, end = int(m.group("a")), int(m.group("b"))
    if end < start:
        return None
    return Found("range", {"from": str(start), "to": str(end)}, m.start(), m.end())


def _this_year(m: re.Match[str], plan_year: int | None) -> Found | None:
    """ "hoàn thành trong năm." with no year: the plan's own year."""
    flags: list[str] = []
    year = _year(None, plan_year, flags)
    return Found("end_of_year", {"year": year}, m.start(), m.end(), flags)


def _ongoing(m: re.Match[str], _plan_year: int | None) -> Found | None:
    return Found("ongoing", {}, m.start(), m.end(), recurring="hang nam" in m.group(0))


RuleFn = Callable[[re.Match[str], int | None], Found | None]
NOT_START = r"(?<!tu )(?<!bat dau )"  # "từ tháng 3/2024", "bắt đầu năm 2025": when it starts, not its deadline
COMPLETION = r"(?:hoan thanh|thoi gian|thoi han|tien do|xong|trinh|bao cao|nop|gui)"

# (name, pattern over folded text, rule, priority): a higher priority wins; at equal priority the first in the text
RULES: list[tuple[str, str, RuleFn, int]] = [
    ("relative", rf"(?:trong (?:thoi han|vong|thoi gian) |trong |sau )?{NUM}\s?(?:\([^)]{{0,30}}\)\s?)?"
                 rf"(?P<unit>ngay|thang)(?P<work> lam viec)?,?\s(?:ke tu|tinh tu|tu|sau|ke tu khi|sau khi)\s"
                 r"(?P<from>(?:ngay |khi )?[^.;:()]{3,80})", _relative, 5),
    ("date", rf"(?:(?P<by>{BY})\s)?(?:ngay\s)?(?<![\d,.])(?P<d>{DAY})[/.\-](?P<m>{MONTH})(?:[/.\-](?P<y>{YEAR}))?"
             r"(?![\d,%])"
             r"(?P<every>\s(?:hang nam|moi nam))?", _date, 4),
    ("date_words", rf"(?:(?P<by>{BY})\s)?ngay\s(?P<d>{DAY})\sthang\s(?P<m>{MONTH})(?!\d)(?:\s(?:nam\s)?(?P<y>{YEAR}))?"
                   r"(?P<every>\s(?:hang nam|moi nam))?", _date, 4),
    ("quarter", rf"{NOT_START}(?:(?P<by>{BY})\s)?quy\s(?P<q>{QUARTER})\b(?:\s?(?:/|nam|-)\s?(?:nam\s)?(?P<y>{YEAR}))?",
     _quarter, 3),
    ("half_year", rf"(?P<half>6 thang (?:dau|cuoi) nam|sau thang (?:dau|cuoi) nam)(?:\s(?:nam\s)?(?P<y>{YEAR}))?",
     _first_half, 2),
    ("month", rf"{NOT_START}(?:(?P<by>{BY})\s)?thang\s(?P<m>{MONTH})(?:\s?(?:/|-|\s?nam\s)\s?(?P<y>{YEAR}))?(?![\d/])",
     _month_end, 3),
    ("range", rf"(?:giai doan|thoi ky|tu nam|nam)\s(?P<a>{YEAR})\s?(?:-|–|—|den(?: nam)?)\s?(?P<b>{YEAR})",
     _range, 1),
    ("bare_range", rf"(?<![\d/])(?P<a>{YEAR})\s?[-–—]\s?(?P<b>{YEAR})(?![\d/])", _range, 1),
    ("this_year", r"(?:hoan thanh |thuc hien )?(?:trong|cuoi|het|den het) nam(?=\s*(?:[.;,)]|$))", _this_year, 2),
    ("year", rf"{NOT_START}(?:(?P<by>truoc|trong|cuoi|den het|het|cham nhat(?: la)?(?: trong)?|hoan thanh trong|nam)\s)"
             rf"(?:nam\s)?(?P<y>{YEAR})(?![\d/\-])", _year_end, 2),
    ("periodic", r"(?:dinh ky|thuc hien)?\s?(?:hang|moi)\s(?:thang|quy)|dinh ky\s(?:6|sau|3|ba)\sthang"
                 r"(?:\s(?:mot|1)\s?lan)?|(?:6|sau) thang (?:mot|1) lan|hai lan (?:mot|moi|/) ?nam|"
                 r"dinh ky hang nam|dinh ky nam", _periodic, 0),
    ("ongoing", r"thuong xuyen|lien tuc|hang nam|hang ngay|hang tuan", _ongoing, -1),
]
_COMPILED = [(name, re.compile(pattern), fn, priority) for name, pattern, fn, priority in RULES]
# programme titles name years that are not deadlines: "đến năm 2025, định hướng đến năm 2030", "giai đoạn 2021 - 2025"
# inside a name in quotes
_NOT_DEADLINES = re.compile(
    r"giai doan\sden nam\s(?:19|20)\d\d(?:,?\s(?:va\s)?(?:dinh huong|tam nhin)\s(?:den|toi)\s(?:nam\s)?(?:19|20)\d\d)?"
    r"|den nam\s(?:19|20)\d\d,?\s(?:va\s)?(?:dinh huong|tam nhin)\s(?:den|toi)\s(?:nam\s)?(?:19|20)\d\d"
    r"|(?:dinh huong|tam nhin)\s(?:den|toi)\s(?:nam\s)?(?:19|20)\d\d"
    r"|\d+/[^\s]+\s(?:[^.;\d]{0,40}\s)?ngay\s\d{1,2}\s?[/.\-]\s?\d{1,2}\s?[/.\-]\s?\d{4}"
    r"|\d+/[^\s]+\s(?:[^.;\d]{0,40}\s)?ngay\s\d{1,2}\sthang\s\d{1,2}\snam\s\d{4}"
    r"|\d+/\d{4}/[a-z\-]+|\d+/[a-z]{1,4}-[a-z\-]+"
    r"|“[^”]*”|\"[^\"]*\"")


def normalise(text: str) -> str:
    """Folded, "hằng"/"hàng" alike, dashes and spaces made one."""
    f = folded(text)
    f = re.sub(r"[\u2010-\u2015]", "-", f)
    return re.sub(r"\s", " ", f)


def _masked(text: str) -> str:
    """The folded text with document numbers, dates of other documents and programme titles blanked out."""
    return _NOT_DEADLINES.sub(lambda m: " " * len(m.group(0)), normalise(text))


def find_all(text: str, plan_year: int | None = None) -> list[Found]:
    """Every deadline phrase in ``text``, in order, overlaps resolved in favour of the longer phrase."""
    masked = _masked(text)
    found: list[Found] = []
    for _name, pattern, fn, priority in _COMPILED:
        for m in pattern.finditer(masked):
            if not m.group(0).strip():
                continue
            result = fn(m, plan_year)
            if result is None:
                continue
            result.priority = priority
            if isinstance(result.fields.get("from"), tuple):
                a, b = result.fields["from"]
                result.fields["from"] = text[a:b]
            # trim leading spaces so the span starts at a word
            lead = len(m.group(0)) - len(m.group(0).lstrip())
            result.start += lead
            found.append(result)
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Found] = []
    for f in found:
        if any(f.start < k.end and k.start < f.end for k in kept):
            continue
        kept.append(f)
    return kept


def _completion_bonus(text: str, f: Found) -> int:
    before = text[max(0, f.start - 40): f.start]
    return 2 if re.search(COMPLETION, before) or re.search(r"^(?:truoc|cham nhat|trong|den het)", text[f.start:]) \
        else 0


def parse(text: str, plan_year: int | None = None) -> dict[str, Any] | None:
    """The duty's deadline rule: ``{"as_written", "kind", …fields, "span": [start, end], "flags": […]}`` or None.

    Where a recurrence ("định kỳ hằng năm") and a day ("trước ngày 05/11") are both written, they make one yearly
    rule; where several deadlines are written, the strongest is taken and the duty is flagged."""
    if bare := re.fullmatch(r"\s*((?:19|20|21)\d\d)\s*\.?\s*", text):  # a table's "Thời gian" cell: "2024"
        return {"as_written": bare.group(1), "kind": "end_of_year", "year": int(bare.group(1)),
                "span": [bare.start(1), bare.end(1)], "flags": [], "recurring": False}
    found = find_all(text, plan_year)
    if not found:
        return None
    masked = _masked(text)
    yearly = [f for f in found if f.kind == "yearly"]
    periodic = [f for f in found if f.kind == "periodic"]
    flags: list[str] = []
    if yearly:
        best = yearly[0]
    elif periodic and any(f.kind == "date" and f.fields.get("date") is None for f in found):
        best = periodic[0]
    else:
        ranked = sorted(found, key=lambda f: (-(f.priority + _completion_bonus(masked, f)), f.start))
        best = ranked[0]
        if best.kind in ("periodic", "ongoing"):
            best = next((f for f in ranked if f.kind == "periodic"), best)
    strong = [f for f in found if f is not best and f.kind not in ("ongoing", "periodic", "range")
              and f.priority >= 2]
    if strong and best.kind not in ("ongoing", "periodic", "range"):
        flags.append("several_deadlines")
    recurring = best.recurring or any(f.kind in ("periodic", "yearly") for f in found) or (
        best.kind == "ongoing" and "hang nam" in masked)
    if best.kind == "periodic" and best.fields["every"] == "1 year" and not recurring:
        recurring = True
    start, end = best.start, best.end
    rule: dict[str, Any] = {"as_written": text[start:end].strip(), "kind": best.kind, **best.fields,
                            "span": [start, end], "flags": sorted({*best.flags, *flags}), "recurring": recurring}
    if best.kind == "ongoing" and "hang nam" in masked[best.start:best.end]:
        rule["flags"] = sorted({*rule["flags"], "yearly_without_date"})
    return rule
