"""The seed plan's Word form (tests/plan_import/fixtures/ke-hoach-seed.docx, made by ``make_docx.py`` with real Word
numbering) imported gives the plan we run (definitions/plan/ke-hoach-2022.yaml): the same duties, leads,
co-operators and deadlines. Every difference is printed; the only ones allowed are listed in ``JUDGED_BY_HAND``
with the reason a person decided otherwise than the words of the document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from definitions import load_data
from definitions.agencies import Registry as RegistryFile
from definitions.agencies import Reorganisation
from definitions.plan import Plan, PlanSchedule, PlanTask
from definitions.plan_import import import_document, registry_from_files
from definitions.shipped_files import PLAN, REGISTRY, REORGANISATION, shipped

from .make_docx import FIXTURE, seed_document

# (section, field): why the running plan differs from what the document's words give
JUDGED_BY_HAND = {
    ("II.1b", "lead"): "the plan's hand-made II.1b/II.4b duty leaves out the newspaper, which has its own II.1a duty",
    ("II.4b", "lead"): "same duty as II.1b: all bodies consulted on the catalogue, the newspaper left out",
    ("III.1", "lead"): "the yearly report is asked of the bodies consulted on the catalogue (not the newspaper)",
    ("II.2c", "cooperating"): "the budget share's schedule names the DOST beside Finance, as the next point (the "
                              "appraisal) does; the point itself names nobody",
}


def _registry() -> Any:
    return registry_from_files(load_data(shipped(*REGISTRY), RegistryFile),
                               (load_data(shipped(*REORGANISATION), Reorganisation),))


@pytest.fixture(scope="module")
def proposal(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    made = seed_document(tmp_path_factory.mktemp("seed") / "seed.docx")
    return import_document(made, _registry())


def _ref(section: str) -> str:
    """ "II.4a" as the importer writes it: "II.4.a"."""
    head, _, rest = section.partition(".")
    number = "".join(c for c in rest if c.isdigit())
    letter = rest[len(number):]
    return ".".join(p for p in (head, number, letter) if p)


def _leads(entry: PlanTask | PlanSchedule, registry: Any) -> set[str]:
    if entry.assignees is not None:
        return set(entry.assignees)
    return set(registry.of_kinds(entry.assignee_kinds or ())) - set(entry.exclude)


def _duty_leads(duty: dict[str, Any]) -> set[str]:
    lead = duty["lead"] or {}
    if lead.get("code"):
        return {lead["code"]}
    return set(lead.get("expands_to") or [])


def _rule(entry: PlanTask) -> dict[str, Any] | None:
    due = entry.due
    if due is None:
        return None
    if due.end_of_month:
        return {"kind": "end_of_month", "month": due.end_of_month}
    if due.end_of_year:
        return {"kind": "end_of_year", "year": due.end_of_year}
    if due.before_date:
        return {"kind": "date", "date": due.before_date.isoformat(), "before": True}
    raise AssertionError(f"a deadline kind the seed does not use: {due}")


def _match(entry: PlanTask | PlanSchedule, duties: list[dict[str, Any]]) -> dict[str, Any] | None:
    refs = [_ref(s.strip()) for s in entry.section.split(",")]
    candidates = [d for d in duties if any(d["ref"] == r or d["ref"].startswith(r + "-") or
                                           d["ref"].startswith(r + ".") for r in refs)]
    def score(d: dict[str, Any]) -> tuple[int, int, int]:
        coop = {c["code"] for c in d["cooperating"] if c.get("code")}
        return (d["definition"] == entry.definition, len(set(entry.cooperating) & coop), -len(coop - set(
            entry.cooperating)))
    return max(candidates, key=score) if candidates else None


def differences(proposal: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(section, field, what differs) for every duty of the running plan."""
    registry = _registry()
    plan = load_data(shipped(*PLAN), Plan)
    found: list[tuple[str, str, str]] = []
    for entry in [*plan.tasks, *plan.schedules]:
        if isinstance(entry, PlanSchedule) and entry.key_template.startswith("ongoing-report/"):
            continue  # the yearly account of a standing duty: the plan file's rhythm, not a duty of the document
        section = entry.section.split(",")[0].strip()
        duty = _match(entry, proposal["duties"])
        if duty is None:
            found.append((section, "duty", f"{entry.duty!r}: no proposed duty at {entry.section}"))
            continue
        if duty["definition"] != entry.definition:
            found.append((section, "definition", f"{duty['ref']}: {duty['definition']} (plan: {entry.definition})"))
        ours, theirs = _duty_leads(duty), _leads(entry, registry)
        if ours != theirs:
            found.append((section, "lead", f"{duty['ref']}: extra {sorted(ours - theirs)}, "
                                           f"missing {sorted(theirs - ours)}"))
        coop = {c["code"] for c in duty["cooperating"] if c.get("code")}
        if set(entry.cooperating) - coop:
            found.append((section, "cooperating", f"{duty['ref']}: missing {sorted(set(entry.cooperating) - coop)}"))
        if isinstance(entry, PlanTask):
            want = _rule(entry)
            got = None if duty["deadline"] is None else {k: v for k, v in duty["deadline"].items()
                                                          if want is not None and k in want}
            if want != got and not (want is None and (duty["deadline"] or {}).get("kind") in (None, "ongoing")):
                found.append((section, "deadline", f"{duty['ref']}: {duty['deadline']} (plan: {want})"))
    return found


def test_the_seed_document_round_trips_to_the_running_plan(proposal: dict[str, Any]) -> None:
    found = differences(proposal)
    for section, what, detail in found:
        print(f"{section:<6} {what:<12} {detail}")
    unexpected = [d for d in found if (d[0], d[1]) not in JUDGED_BY_HAND]
    assert not unexpected, unexpected


def test_the_shipped_fixture_is_the_generator_s_output(tmp_path: Path) -> None:
    """The .docx in fixtures is what make_docx.py writes today (the reviewer's browser test uploads it)."""
    again = import_document(seed_document(tmp_path / "again.docx"), _registry())
    assert again == import_document(FIXTURE, _registry())


def test_the_seed_s_yearly_report_is_yearly_before_5_november(proposal: dict[str, Any]) -> None:
    report = next(d for d in proposal["duties"] if d["ref"] == "III.1")
    assert report["deadline"]["kind"] == "yearly"
    assert report["deadline"]["month_day"] == "11-05"
    assert report["recurring"] is True
    assert report["definition"] == "annual_report"
    assert "before_date_reading" in report["flags"]


def test_the_feedback_duty_counts_twenty_days_from_receipt(proposal: dict[str, Any]) -> None:
    feedback = next(d for d in proposal["duties"] if d["deadline"] and d["deadline"]["kind"] == "relative")
    assert feedback["ref"] == "II.4.b-2"
    assert feedback["deadline"]["days"] == 20
    assert feedback["deadline"]["working"] is False
    assert feedback["deadline"]["from"].startswith("ngày nhận được dự thảo")
    assert feedback["definition"] == "catalogue_feedback"
    assert "depends_on_event" in feedback["flags"]


def test_nothing_is_proposed_from_purpose_requirements_or_the_distribution_list(proposal: dict[str, Any]) -> None:
    refs = [d["ref"] for d in proposal["duties"]]
    assert not [r for r in refs if r.startswith("I.")], refs
    assert not [d for d in proposal["duties"] if "Nơi nhận" in d["text"] or "Bộ Khoa học" in d["text"][:20]]
