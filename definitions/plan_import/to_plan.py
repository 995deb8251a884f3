"""A reviewed proposal as a plan (``definitions.plan.Plan``) that ``plan load`` starts: one task per one-off or
ongoing duty, one schedule per recurring duty, each deadline rule turned into the engine's deadline.

What cannot be loaded is said, duty by duty, in Vietnamese: a duty whose lead is not in the registry, and a duty
counted from an event ("20 ngày kể từ ngày nhận được dự thảo") -- that one is started when its event happens, by
the workflow that sends the event (a consultation starts its feedback tasks), not by the plan."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from definitions.model import Deadline, Definition
from definitions.plan import Plan, PlanSchedule, PlanTask

from .deadlines import folded

PERIOD_CRON = {  # a recurring duty is opened at the start of each period
    "1 month": "0 8 1 * *", "3 months": "0 8 1 1,4,7,10 *", "6 months": "0 8 1 1,7 *", "1 year": "0 8 1 1 *"}
PERIOD_DAYS = {"1 month": 30, "3 months": 91, "6 months": 182, "1 year": 365}


def periods_of(definitions: Iterable[Definition]) -> dict[str, tuple[str, int | None]]:
    """How each definition counts its deadline: ``("from_data", None)`` (the plan gives it), ``("yearly", month)``
    (its own yearly period: started by a schedule the month before), or ``("none", None)`` (an ongoing duty)."""
    out: dict[str, tuple[str, int | None]] = {}
    for d in definitions:
        periods = [o.period for o in d.obligations]
        if any(p.from_data is not None for p in periods):
            out[d.id] = ("from_data", None)
        elif (yearly := next((p for p in periods if p.yearly or p.yearly_end_of_month), None)) is not None:
            out[d.id] = ("yearly", int(yearly.yearly[:2]) if yearly.yearly else yearly.yearly_end_of_month)
        else:
            out[d.id] = ("none", None)
    return out


@dataclass
class Conversion:
    plan: Plan | None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (ref, why), in Vietnamese
    problems: list[tuple[str, str]] = field(default_factory=list)  # (ref, what must be fixed first)


def slug(text: str, limit: int = 40) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", folded(text)).strip("-")
    return words[:limit].rstrip("-") or "nhiem-vu"


def lead_codes(duty: dict[str, Any]) -> list[str]:
    lead = duty.get("lead") or {}
    if lead.get("code"):
        return [lead["code"]]
    codes = list(lead.get("expands_to") or [])
    for body in lead.get("bodies", []):
        if body.get("code") and body["code"] not in codes:
            codes.append(body["code"])
    return codes


def unknown_bodies(duty: dict[str, Any]) -> list[str]:
    """Bodies named by the duty that the registry does not know (the reviewer adds them or picks others)."""
    lead = duty.get("lead") or {}
    named = lead.get("bodies") or ([lead] if lead else [])
    return [b["as_written"] for b in named if not b.get("code") and not b.get("group")]


def deadline_of(rule: dict[str, Any]) -> Deadline | None:
    """The engine's deadline for a one-off rule (None: the duty has no deadline of its own)."""
    kind = rule["kind"]
    if kind == "date":
        day = dt.date.fromisoformat(rule["date"])
        return Deadline(before_date=day) if rule.get("before") else Deadline(on_date=day)
    if kind == "end_of_month":
        return Deadline(end_of_month=rule["month"])
    if kind == "end_of_quarter":
        year, q = rule["quarter"].split("-Q")
        return Deadline(end_of_month=f"{year}-{int(q) * 3:02d}")
    if kind == "end_of_year":
        return Deadline(end_of_year=int(rule["year"]))
    if kind == "range":
        return Deadline(end_of_year=int(rule["to"]))  # "giai đoạn 2023-2025": done by the end of the period
    return None


def _schedule(duty: dict[str, Any], codes: list[str], coop: tuple[str, ...], name: str) -> PlanSchedule:
    rule = duty["deadline"]
    if rule["kind"] == "yearly":
        month = int(rule["month_day"].split("-")[0])
        cron = f"0 8 1 {12 if month == 1 else month - 1} *"  # opened on the 1st of the month before
        due = Deadline(yearly=rule["month_day"])
    else:
        every = rule["every"]
        cron = PERIOD_CRON[every]
        # "hằng tháng, trước ngày 25": opened on the 1st, due by the end of the 24th; otherwise the period's length
        days = rule["day_of_month"] - 2 if every == "1 month" and rule.get("day_of_month", 0) > 2 else \
            PERIOD_DAYS[every]
        due = Deadline(days=days)
    return PlanSchedule(name=name, section=duty["ref"][:20], duty=_label(duty), definition=duty["definition"],
                        cron=cron, key_template=f"{name}/{{year}}-{{month}}/{{agency}}", assignees=tuple(codes),
                        cooperating=coop, due=due, deadline_as_written=rule.get("as_written"))


def _label(duty: dict[str, Any]) -> str:
    text = " ".join(duty["text"].split())
    return text if len(text) <= 500 else text[:497] + "…"


Entry = tuple[str, "PlanTask | PlanSchedule | str"]  # ("task" | "schedule" | "problem" | "skipped", what)


def _entry(duty: dict[str, Any], name: str, periods: Mapping[str, tuple[str, int | None]]) -> Entry:
    """One accepted duty as a task, a schedule, a problem to fix first, or a duty started by its event."""
    ref, codes = duty["ref"], lead_codes(duty)
    if not codes:
        unknown = unknown_bodies(duty)
        return "problem", "chưa có cơ quan chủ trì trong danh mục" + (f" (chưa có: {', '.join(unknown)})"
                                                                      if unknown else "")
    coop = tuple(c for c in dict.fromkeys(c["code"] for c in duty.get("cooperating", []) if c.get("code"))
                 if c not in codes)
    rule = duty.get("deadline")
    counted, month = periods.get(duty["definition"], (None, None))
    if counted is None:
        return "problem", f"không có quy trình {duty['definition']}"
    if rule is not None and rule["kind"] == "relative":
        return "skipped", f"tính từ sự kiện ({rule.get('from', '')}): khởi tạo khi sự kiện xảy ra"
    if counted == "yearly":  # the definition's own yearly deadline: a schedule opens it the month before
        opens = 12 if month in (None, 1) else int(month) - 1
        return "schedule", PlanSchedule(
            name=name, section=ref[:20], duty=_label(duty), definition=duty["definition"], cron=f"0 8 1 {opens} *",
            key_template=f"{name}/{{year}}/{{agency}}", assignees=tuple(codes), cooperating=coop,
            deadline_as_written=(rule or {}).get("as_written"))
    if rule is not None and rule["kind"] in ("yearly", "periodic"):
        if counted != "from_data":
            return "problem", (f"quy trình {duty['definition']} không nhận thời hạn định kỳ của kế hoạch; chọn "
                               "'periodic_report'")
        return "schedule", _schedule(duty, list(codes), coop, name)
    try:
        due = deadline_of(rule) if rule is not None else None
    except (KeyError, ValueError, TypeError) as err:
        return "problem", f"thời hạn chưa đủ để tính ({err})"
    if due is None and counted == "from_data":
        return "problem", (f"quy trình {duty['definition']} cần thời hạn; chọn 'ongoing_duty' nếu là nhiệm vụ "
                           "thường xuyên")
    return "task", PlanTask(key=f"{{cycle}}/{name}/{{agency}}"[:150], section=ref[:20], duty=_label(duty),
                            definition=duty["definition"], assignees=tuple(codes), cooperating=coop,
                            deadline_as_written=(rule or {}).get("as_written"),
                            due=due if counted == "from_data" else None)  # else the definition counts its own


def to_plan(plan_id: str, title: str, implements: str, issued_on: dt.date, standing_body: str | None,
            duties: Iterable[dict[str, Any]], periods: Mapping[str, tuple[str, int | None]]) -> Conversion:
    """The accepted duties as a plan; ``problems`` non-empty means nothing can be loaded yet. ``periods`` is
    ``periods_of`` the definitions the engine has."""
    tasks: list[PlanTask] = []
    schedules: list[PlanSchedule] = []
    result = Conversion(None)
    used: set[str] = set()
    duties_list = list(duties)
    for duty in duties_list:
        name = slug(f"{duty['ref']}-{duty['text']}", 60)
        while name in used:
            name += "-2"
        used.add(name)
        kind, what = _entry(duty, name, periods)
        if isinstance(what, PlanTask):
            tasks.append(what)
        elif isinstance(what, PlanSchedule):
            schedules.append(what)
        else:
            (result.problems if kind == "problem" else result.skipped).append((duty["ref"], what))
    # "góp ý trong 20 ngày kể từ ngày nhận được dự thảo": the bodies that answer are the ones the consultation asks
    consulted = [c for d in duties_list if d["definition"] == "catalogue_feedback" for c in lead_codes(d)]
    if consulted:
        tasks = [t.model_copy(update={"data": {**t.data, "consulted": list(dict.fromkeys(consulted))}})
                 if t.definition == "catalogue_consultation" else t for t in tasks]
    if not result.problems and not tasks:
        result.problems.append(("", "không có nhiệm vụ nào để khởi tạo"))
    if result.problems:
        return result
    result.plan = Plan(id=plan_id, title=title, implements=implements, issued_on=issued_on,
                       standing_body=standing_body, tasks=tuple(tasks), schedules=tuple(schedules))
    return result
