"""The Steering Committee's view (issue 29): each agency's record (bảng theo dõi, đánh giá) and a forecast of which
open obligations will be finished late, both as of the end of any day, rebuilt from the history like the status
report (``service.report``), so a past day reads as it stood then.

**The record**, one row per agency: its obligations in the four official categories, the share of those done that
were done on time, the median and worst days late (calendar days past the last day: of those done late, when done;
of those still open and overdue, so far), its overdue obligations by age band (≤ 30, 31–90, 91–180, > 180 days
past the last day), the share of its open obligations *updated* within the last ``updated_days`` days (an act of
the agency or on its task, or on another task of the same duty: a transition, a progress report, a request for
more time; the start alone is not an update), and the
extensions it asked and was granted, and the explanations asked of it that it has not given (counted apart from
its duties). Waived obligations (a withdrawn or cancelled duty) are not counted.

**The forecast**, one row per obligation open at the end of the day: when the owing agency's obligations were
finished relative to their own last day (working days early or late, our calendar), among those of the same
workflow and obligation (falling back to every agency's of that kind, then to all of the agency's own, then to
every obligation). Only comparable ones count: those still unfinished as long before their last day as this one is
now (survival on the deadline's axis), and those unfinished past their last day count as late with no day of
finishing (so an agency that leaves duties undone is not judged by the ones it finished). A bootstrap over them
gives the probability that this one is finished after its last day, and the days by which it is done with 50 %
and 85 % likelihood (none when that many are not done at all). Below ``MIN_HISTORY`` comparable obligations the
row says "chưa đủ dữ liệu" and gives no probability, unless the last day has already passed (then it is late:
1.0). Deterministic for a seed and a day: each row draws from its own ``random.Random`` seeded with (seed,
instance, obligation, day). Standard library and our calendar only. Back-tested in ``benchmarks/forecast.py``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from store import SqlStore
from workflow import Engine, HistoryRecord
from workflow.calendar import BusinessCalendar
from workflow.explanations import DEFINITION as EXPLANATION
from workflow.obligations import days_late, effective_of, end_of, replay
from workflow.progress import PROGRESS

MIN_HISTORY = 8  # finished obligations below which a forecast says it has too little to go on
DRAWS = 2000
BANDS = ((30, "overdue_le_30"), (90, "overdue_31_90"), (180, "overdue_91_180"), (None, "overdue_over_180"))
EXTENSION_ASKED = "@extension_requested"
EXTENSION_GRANTED = "@deadline_extended"


@dataclass
class Obligation:
    """One obligation as it stood at the end of the day."""

    instance_id: int
    name: str
    agency: str
    kind: str  # definition id / obligation name: "similar" obligations share it
    started_on: dt.date | None
    last_day: dt.date
    status: str  # open, satisfied (waived ones are left out)
    closed_on: dt.date | None
    category: str
    answer: str | None = None  # the document the act that met it came with: "12/BC-SKHCN ngày 02/11/2026"


@dataclass
class Standing:
    """What the history says on the day, read once for the record and the forecast."""

    day: dt.date
    obligations: list[Obligation]
    last_update: dict[int, dt.date]  # instance -> the last day an act touched it
    asked: Counter[int]
    granted: Counter[int]


def standing(engine: Engine, store: SqlStore, day: dt.date, history: Sequence[HistoryRecord] | None = None,
             duties: dict[int, Duty] | None = None) -> Standing:
    """The obligations as they stood at the end of ``day``; ``history`` and ``duties`` (``duties_of``) when the
    caller reads them once for several days."""
    started: dict[tuple[int, str], dt.date] = {}
    definitions: dict[int, str] = {}
    last_update: dict[int, dt.date] = {}
    asked: Counter[int] = Counter()
    granted: Counter[int] = Counter()
    answered: dict[tuple[int, str], str | None] = {}

    def rows() -> Iterator[HistoryRecord]:
        for row in store.iter_history() if history is None else history:
            on = effective_of(row)
            if on <= day:
                definitions.setdefault(row.instance_id, row.definition_id)
                for change in row.obligations or ():
                    if change.get("started_on") and change["op"] in ("open", "restart", "correct"):
                        started[(row.instance_id, str(change["name"]))] = dt.date.fromisoformat(change["started_on"])
                    if change["op"] in ("satisfy", "open", "restart"):  # met, or to be met again
                        answered[(row.instance_id, str(change["name"]))] = (
                            document_reference(row.payload) if change["op"] == "satisfy" else None)
                if not row.event.startswith("@") or row.event in (EXTENSION_ASKED, PROGRESS):
                    last_update[row.instance_id] = max(on, last_update.get(row.instance_id, on))
                asked[row.instance_id] += row.event == EXTENSION_ASKED
                granted[row.instance_id] += row.event == EXTENSION_GRANTED
            yield row

    replayed, _ = replay(rows(), day)
    at = end_of(day)
    found = []
    last_update = _by_duty(duties_of(store) if duties is None else duties, last_update)
    for (instance_id, name), o in replayed.items():
        category = o.category(at)
        if category is None:
            continue  # waived
        found.append(Obligation(instance_id, name, o.agency, f"{definitions.get(instance_id, '?')}/{name}",
                                started.get((instance_id, name)), o.extended_to or o.last_day, o.status,
                                o.closed_on, category, answered.get((instance_id, name))))
    return Standing(day, found, last_update, asked, granted)


def document_reference(payload: Mapping[str, Any]) -> str | None:
    """The official document an act came with, as offices cite it: "12/BC-SKHCN ngày 02/11/2026" (its number
    and date of issue; ``workflow.payload.DOCUMENT_PARTS``), or None."""
    for value in payload.values():  # a document field has its date of issue (a register entry has no such part)
        if isinstance(value, Mapping) and value.get("number") and "issued_on" in value:
            issued = value.get("issued_on")
            try:
                return f"{value['number']} ngày {dt.date.fromisoformat(str(issued)):%d/%m/%Y}" if issued else str(
                    value["number"])
            except ValueError:
                return str(value["number"])
    return None


Duty = tuple[Any, Any, str]  # (plan, section, owing agency)


def duties_of(store: SqlStore) -> dict[int, Duty]:
    """Each task of a plan by the duty it serves."""
    found: dict[int, Duty] = {}
    after = 0
    while batch := store.list_instances(after_id=after, limit=5000):
        after = batch[-1].id
        found.update((i.id, (i.data.get("plan"), i.data.get("section"), i.assignee)) for i in batch
                     if i.data.get("plan") is not None)
    return found


def _by_duty(duty_of: dict[int, Duty], touched: dict[int, dt.date]) -> dict[int, dt.date]:
    """A task counts as acted on when any task of the same duty (plan, section, owing agency) was: a progress
    report on a standing duty keeps its yearly account up to date."""
    latest: dict[Duty, dt.date] = {}
    for instance_id, on in touched.items():
        duty = duty_of.get(instance_id)
        if duty is not None:
            latest[duty] = max(on, latest.get(duty, on))
    out = dict(touched)
    for instance_id, duty in duty_of.items():
        if duty in latest:
            out[instance_id] = max(latest[duty], out.get(instance_id, latest[duty]))
    return out


# -- the record ---------------------------------------------------------------------------------------------


@dataclass
class RecordRow:
    agency: str
    agency_name: str
    done_on_time: int = 0
    done_late: int = 0
    within_deadline: int = 0
    overdue: int = 0
    share_on_time: float | None = None  # of those done
    days_late_median: float | None = None
    days_late_worst: int | None = None
    overdue_le_30: int = 0
    overdue_31_90: int = 0
    overdue_91_180: int = 0
    overdue_over_180: int = 0
    open: int = 0
    updated: int = 0  # open obligations touched within the window
    share_updated: float | None = None
    extensions_asked: int = 0
    extensions_granted: int = 0
    explanations_owed: int = 0  # explanations asked of it and not given by the day (workflow.explanations)


@dataclass
class AgencyRecord:
    as_of: str  # YYYY-MM-DD
    updated_days: int
    rows: list[RecordRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "updated_days": self.updated_days, "rows": [asdict(r) for r in self.rows]}


def agency_record(state: Standing, names: dict[str, str], updated_days: int = 30) -> AgencyRecord:
    """Every agency with an obligation counted on the day, worst first (most overdue, then least on time)."""
    rows: dict[str, RecordRow] = {}
    late: dict[str, list[int]] = defaultdict(list)
    counted: dict[str, set[int]] = defaultdict(set)
    since = state.day - dt.timedelta(days=updated_days)
    for o in state.obligations:
        row = rows.get(o.agency) or rows.setdefault(o.agency, RecordRow(o.agency, names.get(o.agency, o.agency)))
        if o.kind.startswith(f"{EXPLANATION}/"):  # owed because a duty was late: counted apart, not as a duty
            row.explanations_owed += o.status == "open"
            continue
        setattr(row, o.category, getattr(row, o.category) + 1)
        counted[o.agency].add(o.instance_id)
        if o.category == "done_late" and o.closed_on is not None:
            late[o.agency].append(days_late(o.last_day, o.closed_on))
        if o.category == "overdue":
            past = days_late(o.last_day, state.day)
            late[o.agency].append(past)
            band = next(b for limit, b in BANDS if limit is None or past <= limit)
            setattr(row, band, getattr(row, band) + 1)
        if o.status == "open":
            row.open += 1
            touched = state.last_update.get(o.instance_id)
            row.updated += touched is not None and touched > since
    for agency, row in rows.items():
        done = row.done_on_time + row.done_late
        row.share_on_time = round(row.done_on_time / done, 4) if done else None
        row.share_updated = round(row.updated / row.open, 4) if row.open else None
        if late[agency]:
            row.days_late_median = float(statistics.median(late[agency]))
            row.days_late_worst = max(late[agency])
        row.extensions_asked = sum(state.asked[i] for i in counted[agency])
        row.extensions_granted = sum(state.granted[i] for i in counted[agency])
    ordered = sorted(rows.values(), key=lambda r: (-r.overdue, r.share_on_time if r.share_on_time is not None
                                                   else 1.0, r.agency))
    return AgencyRecord(state.day.isoformat(), updated_days, ordered)


# -- the forecast -------------------------------------------------------------------------------------------


class WorkingDays:
    """Working days counted by index over a span, for durations and their inverse."""

    def __init__(self, calendar: BusinessCalendar, first: dt.date, last: dt.date) -> None:
        self.days: list[dt.date] = []
        day = first
        while day <= last:
            if calendar.is_working_day(day):
                self.days.append(day)
            day += dt.timedelta(days=1)

    def index(self, day: dt.date) -> int:
        """How many working days come before ``day``."""
        return bisect.bisect_left(self.days, day)

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to ``end`` (0 when done the day it started)."""
        return max(0, bisect.bisect_right(self.days, end) - bisect.bisect_right(self.days, start))

    def after(self, start: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``start`` (``start`` itself for 0)."""
        if count <= 0:
            return start
        at = bisect.bisect_right(self.days, start) + count - 1
        if at >= len(self.days):
            return self.days[-1] + dt.timedelta(days=int((at - len(self.days) + 1) * 7 / 5) + 1)
        return self.days[at]


@dataclass
class ForecastRow:
    instance_id: int
    obligation: str
    agency: str
    last_day: str
    p_late: float | None
    p50: str | None
    p85: str | None
    n: int
    basis: str  # in words
    enough_history: bool


@dataclass
class Forecast:
    as_of: str
    seed: int
    rows: list[ForecastRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "seed": self.seed, "rows": [asdict(r) for r in self.rows]}


def forecast(state: Standing, calendar: BusinessCalendar, seed: int = 0, lang: str = "vi") -> Forecast:
    """Every obligation open at the end of the day, likeliest to be late first."""
    finished = [o for o in state.obligations if o.status == "satisfied" and o.started_on and o.closed_on]
    opened = [o for o in state.obligations if o.status == "open"]
    if not opened:
        return Forecast(state.day.isoformat(), seed)
    first = min([o.started_on for o in finished + opened if o.started_on] + [state.day]) - dt.timedelta(days=1)
    last = max(o.last_day for o in opened) + dt.timedelta(days=3 * 366)
    work = WorkingDays(calendar, first, max(last, state.day + dt.timedelta(days=5 * 366)))
    seen: dict[tuple[str, str], list[tuple[int, bool]]] = defaultdict(list)
    for o in finished:
        assert o.started_on is not None
        assert o.closed_on is not None
        rel = work.between(o.started_on, o.closed_on) - work.between(o.started_on, o.last_day)
        for key in ((o.agency, o.kind), ("*", o.kind), (o.agency, "*"), ("*", "*")):
            seen[key].append((rel, True))
    for o in opened:  # not finished yet: late already if its last day has passed; else its outcome is unknown
        if o.started_on is not None and o.last_day < state.day:
            for key in ((o.agency, o.kind), ("*", o.kind), (o.agency, "*"), ("*", "*")):
                seen[key].append((work.between(o.last_day, state.day), False))
    pools = {key: Pool(items) for key, items in seen.items()}
    rows = [_row(o, pools, work, state.day, seed, lang) for o in opened]
    rows.sort(key=lambda r: (-(r.p_late if r.p_late is not None else -1.0), r.last_day, r.instance_id))
    return Forecast(state.day.isoformat(), seed, rows)


class Pool:
    """When obligations were finished relative to their own last day (working days: negative early, positive
    late), and how many are still unfinished past it (late, day of finishing unknown). For an obligation with
    ``left`` working days to go, the comparable ones are those that were still unfinished that long before their
    own last day: those finished later than that, and those unfinished past it (survival on the deadline's axis)."""

    def __init__(self, items: list[tuple[int, bool]]) -> None:
        self.done = sorted(v for v, exact in items if exact)
        self.unfinished = sum(1 for _, exact in items if not exact)

    def __len__(self) -> int:
        return len(self.done) + self.unfinished

    def comparable(self, left: int) -> int:
        return len(self.done) - bisect.bisect_right(self.done, -left) + self.unfinished

    def draw(self, rng: random.Random, left: int) -> float:
        """When a comparable obligation was finished relative to its last day (``inf``: not yet, past it)."""
        first = bisect.bisect_right(self.done, -left)
        pick = rng.randrange(self.comparable(left))
        at = first + pick
        return self.done[at] if at < len(self.done) else float("inf")


SOURCES = {(False, False): ("cùng loại nhiệm vụ", "same kind of duty"),
           (False, True): ("mọi nhiệm vụ của cơ quan", "all of its duties"),
           (True, False): ("mọi cơ quan, cùng loại nhiệm vụ", "all agencies, same kind"),
           (True, True): ("mọi cơ quan, mọi nhiệm vụ", "all agencies, all duties")}


def _row(o: Obligation, pools: dict[tuple[str, str], Pool], work: WorkingDays, day: dt.date, seed: int,
         lang: str) -> ForecastRow:
    en = lang == "en"
    started = o.started_on or day
    late_already = day > o.last_day
    base = ForecastRow(o.instance_id, o.name, o.agency, o.last_day.isoformat(), 1.0 if late_already else None,
                       None, None, 0, "", False)
    left = 0 if late_already else work.between(day, o.last_day)
    pool, source = None, (True, True)
    for all_agencies, all_kinds in ((False, False), (True, False), (False, True), (True, True)):
        found = pools.get(("*" if all_agencies else o.agency, "*" if all_kinds else o.kind))
        if found is not None and found.comparable(left) >= MIN_HISTORY:
            pool, source = found, (all_agencies, all_kinds)
            break
    if pool is None:
        n = len(pools.get((o.agency, "*"), ()))
        base.n = n
        thin = f"not enough history (n = {n})" if en else f"chưa đủ dữ liệu (n = {n})"
        base.basis = (("already past its last day; " if en else "đã quá hạn; ") + thin) if late_already else thin
        return base
    rng = random.Random(f"{seed}:{o.instance_id}:{o.name}:{day.isoformat()}")
    draws = sorted(pool.draw(rng, left) for _ in range(DRAWS))
    p_late = sum(1 for d in draws if d > 0) / DRAWS
    slack = work.between(started, o.last_day)

    def when(d: float) -> str | None:
        if d == float("inf"):
            return None
        return work.after(started, max(slack + int(d), work.between(started, day) + 1)).isoformat()

    n = pool.comparable(left)
    median = statistics.median(draws)
    words = SOURCES[source][1 if en else 0]
    who = "" if source[0] else f"{o.agency}: "
    if median == float("inf"):
        said = "median: not finished by its last day" if en else "trung vị: chưa xong khi đến hạn"
    elif median > 0:
        said = f"median {median:g} working days late" if en else f"trung vị trễ {median:g} ngày làm việc"
    else:
        said = (f"median {-median:g} working days early" if en else
                f"trung vị xong trước hạn {-median:g} ngày làm việc")
    basis = f"{who}{said}, n = {n} ({words})"
    if late_already:
        basis = ("already past its last day; " if en else "đã quá hạn; ") + basis
    return ForecastRow(o.instance_id, o.name, o.agency, o.last_day.isoformat(),
                       1.0 if late_already else round(p_late, 3), when(draws[DRAWS // 2]),
                       when(draws[int(DRAWS * 0.85)]), n, basis, True)


# -- how well it has done ----------------------------------------------------------------------------------


def _rates(state: Standing) -> tuple[float, dict[str, float]]:
    """The late rates known on the day: of the obligations whose last day had passed, the share finished after it
    or not finished at all (the naive forecasters)."""
    due = [o for o in state.obligations if o.last_day < state.day]
    late = [(o.agency, o.closed_on is None or o.closed_on > o.last_day) for o in due]
    overall = sum(x for _, x in late) / len(late) if late else 0.5
    by: dict[str, list[bool]] = {}
    for agency, x in late:
        by.setdefault(agency, []).append(x)
    return overall, {a: sum(v) / len(v) for a, v in by.items()}


def quarter_starts(today: dt.date, count: int = 8) -> list[dt.date]:
    """The first day of each of the ``count`` quarters before the one ``today`` is in, oldest first."""
    start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    days = []
    for _ in range(count):
        start = dt.date(start.year - (start.month == 1), (start.month - 4) % 12 + 1, 1)
        days.append(start)
    return days[::-1]


def track_record(engine: Engine, store: SqlStore, today: dt.date, days: list[dt.date], seed: int = 0
                 ) -> dict[str, Any]:
    """The forecast as it would have been made on each of ``days``, against what is known ``today``: every
    obligation then still within its time whose outcome is known now (finished, or unfinished past its last day).
    Brier scores (lower is better) of ours and of two naive forecasters (the overall late rate and the agency's
    own, as known on the day), and calibration by tenths. Obligations already past their last day are left out
    (their lateness is known: any forecaster saying 1.0 would look skilled)."""
    history, duties = list(store.iter_history()), duties_of(store)  # read once for every day
    final = {(o.instance_id, o.name): o for o in standing(engine, store, today, history, duties).obligations}
    scored: list[tuple[float, float, float, bool]] = []
    skipped = 0
    for day in days:
        state = standing(engine, store, day, history, duties)
        overall, own = _rates(state)
        for row in forecast(state, engine.calendar, seed).rows:
            if dt.date.fromisoformat(row.last_day) < day:
                continue
            after = final.get((row.instance_id, row.obligation))
            if after is None or (after.status == "open" and after.last_day >= today):
                continue  # waived, or its outcome not known yet
            if row.p_late is None:
                skipped += 1
                continue
            scored.append((row.p_late, overall, own.get(row.agency, overall),
                           (after.closed_on or today) > after.last_day))
    n = len(scored)

    def brier(index: int) -> float | None:
        return round(sum((s[index] - s[3]) ** 2 for s in scored) / n, 4) if n else None

    bins = []
    for low in range(10):
        inside = [s for s in scored if low / 10 <= s[0] < (low + 1) / 10 or (low == 9 and s[0] == 1.0)]
        if inside:
            bins.append({"from": low / 10, "to": (low + 1) / 10, "n": len(inside),
                         "late": round(sum(s[3] for s in inside) / len(inside), 3)})
    return {"scored": n, "without_history": skipped,
            "late_share": round(sum(s[3] for s in scored) / n, 3) if n else None, "brier_ours": brier(0),
            "brier_overall_rate": brier(1), "brier_agency_rate": brier(2), "calibration": bins}


# -- as text ------------------------------------------------------------------------------------------------

RECORD_HEADERS = {"agency": "Cơ quan", "done_on_time": "Đúng hạn", "done_late": "Quá hạn (đã xong)",
                  "within_deadline": "Trong hạn", "overdue": "Quá hạn (chưa xong)", "share_on_time": "% đúng hạn",
                  "days_late_median": "Trễ (trung vị, ngày)", "days_late_worst": "Trễ nhất",
                  "overdue_le_30": "≤30", "overdue_31_90": "31–90", "overdue_91_180": "91–180",
                  "overdue_over_180": ">180", "share_updated": "% cập nhật", "extensions_asked": "Xin gia hạn",
                  "extensions_granted": "Được gia hạn", "explanations_owed": "Chưa giải trình"}


def _cell(value: Any, share: bool = False) -> str:
    if value is None:
        return "—"
    if share:
        return f"{value * 100:.0f}%"
    return f"{value:g}".replace(".", ",") if isinstance(value, float) else str(value)


def record_table(record: AgencyRecord) -> str:
    """The record for a terminal, under Vietnamese headings, dates dd/mm/yyyy."""
    day = dt.date.fromisoformat(record.as_of)
    columns = list(RECORD_HEADERS)
    cells = [[r.agency, *(_cell(getattr(r, c), c.startswith("share")) for c in columns[1:])] for r in record.rows]
    widths = [max(len(RECORD_HEADERS[c]), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = "  ".join(RECORD_HEADERS[c].ljust(w) for c, w in zip(columns, widths, strict=True))
    out = [f"Bảng theo dõi, đánh giá các cơ quan đến hết ngày {day:%d/%m/%Y} (cập nhật: trong {record.updated_days} "
           "ngày gần nhất; quá hạn theo số ngày quá hạn)", line, "-" * len(line)]
    out += ["  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True)))
            for row in cells]
    return "\n".join(out)


def forecast_table(result: Forecast) -> str:
    day = dt.date.fromisoformat(result.as_of)
    out = [f"Dự báo khả năng trễ hạn các nghĩa vụ đang mở đến hết ngày {day:%d/%m/%Y} (seed {result.seed})",
           "Nhiệm vụ  Nghĩa vụ          Cơ quan   Hạn cuối    Khả năng trễ  50%         85%         Căn cứ"]
    for r in result.rows:
        p = "—" if r.p_late is None else f"{r.p_late * 100:.0f}%"
        dates = [dt.date.fromisoformat(d).strftime("%d/%m/%Y") if d else "—" for d in (r.last_day, r.p50, r.p85)]
        out.append(f"#{r.instance_id:<8} {r.obligation[:17]:<17} {r.agency:<9} {dates[0]:<11} {p:>12}  "
                   f"{dates[1]:<11} {dates[2]:<11} {r.basis}")
    if not result.rows:
        out.append("Không có nghĩa vụ nào đang mở.")
    return "\n".join(out)
