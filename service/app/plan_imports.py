"""Importing a plan from its Word document (issue 28; docs/plans.md): read and proposed, reviewed item by item,
submitted, approved by a second person (four eyes), then loaded as ``plan load`` loads a plan file.

Who: administrators and the officers of the plan's standing body (``WORKFLOW_STANDING_BODY``). The person who
submits a review may not approve it. Every step is a row in the system history (``plan_import_*``), and the tasks
loaded carry the document (its SHA-256, name and number) in their start data, so each task's history names it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import ValidationError
from typing_extensions import TypedDict

from definitions import Definition, Role
from definitions.agencies import AgencyEntry, AgencyKind
from definitions.plan_import import Known, Registry, import_document
from definitions.plan_import.deadlines import parse
from definitions.plan_import.labels import flag_words, rule_words
from definitions.plan_import.to_plan import Conversion, lead_codes, periods_of, slug, to_plan, unknown_bodies
from workflow import Actor, RoleNotAllowed
from workflow.agencies import Agencies
from workflow.errors import PayloadInvalid, VersionConflict

from ..plan import PlanLoad, load_plan
from ..plan_revision import apply_revision, revision_of
from .access import require
from .attachments import Attachments, _account_part, clean_name
from .ports import Services

STATUSES = ("pending", "accepted", "rejected")


class PlanImportView(TypedDict):
    """An import as the review page and the API show it."""
    id: int
    file_name: str
    sha256: str
    status: str  # review, submitted, loaded
    version: int  # name it in the next change (a stale one: 409)
    document: dict[str, Any]  # number, issued_on, title, flags
    settings: dict[str, Any]  # plan_id, title, implements, issued_on, standing_body
    document_flags: list[str]  # in words
    items: list[dict[str, Any]]  # ref, proposed, decided, status, edited, flags (words), rule (words), codes, unknown
    imported_by: str
    submitted_by: str | None
    approved_by: str | None
    plan_id: str | None
    pending: int
    problems: list[tuple[str, str]]  # (ref, what stops it from loading)
    skipped: list[tuple[str, str]]  # (ref, why the plan does not start it)
    may_approve: bool
    changes: list[str]  # what approving it changes in the running tasks of the same plan, a line each (+ − ~ !)
    definitions: list[tuple[str, str]]  # (id, title) of the workflows a duty may be given
    may_add_bodies: bool
    kinds: list[str]


class PlanImports:
    def __init__(self, app: Services) -> None:
        self.app = app

    # -- who ---------------------------------------------------------------------------------------------------

    @property
    def standing_body(self) -> str:
        return self.app.settings.standing_body or "SKHCN"

    def may_import(self, actor: Actor) -> bool:
        return actor.role == Role.ADMIN or (actor.role == Role.OFFICER and actor.agency == self.standing_body)

    def _require(self, actor: Actor, what: str, auditors: bool = False) -> None:
        if not self.may_import(actor) and not (auditors and actor.role == Role.AUDITOR):
            require(actor, Role.ADMIN, what=f"{what} (administrators and officers of {self.standing_body})")

    # -- reading -----------------------------------------------------------------------------------------------

    def registry_on(self, day: dt.date | None) -> Registry:
        """The registry as the importer matches against it: every body's names and short names over time; a group
        expands to the bodies in existence on the plan's date (today if the document is undated)."""
        agencies = Agencies(self.app.engine)
        on = (day or self.app.clock.now().date()).isoformat()
        known = []
        for code in sorted(self.app.store.agency_names()):
            record = agencies.get(code)
            names = tuple(n for name in record.names for n in (name.name, name.short_name))
            known.append(Known(code, record.kind, names, active=record.name_on(on) is not None and (
                record.status == "active" or any(n.valid_to and n.valid_to > on for n in record.names))))
        return Registry(known)

    def propose(self, actor: Actor, name: str, data: bytes) -> int:
        """Read a .docx and keep its proposal for review; the document is stored with the attached files."""
        self._require(actor, "importing a plan")
        stored = Attachments(self.app).accept(name, data, "file", _account_part(actor.id))
        if stored["type"] != "docx":
            raise PayloadInvalid([("file", "not a Word document (.docx)")])
        proposal = import_document(data, self.registry_on)
        document = proposal["document"]
        issued = document.get("issued_on")
        settings = {"plan_id": f"ke-hoach-{slug(document.get('number') or clean_name(name), 40)}",
                    "title": document.get("title") or clean_name(name),
                    "implements": document.get("number") or clean_name(name),
                    "issued_on": issued, "standing_body": self.standing_body}
        now = self.app.clock.now()
        import_id = self.app.store.add_plan_import(stored["sha256"], stored["name"], proposal, settings, actor.id, now)
        self._history("plan_import_proposed", actor, now, {"import": import_id, "file": stored["sha256"],
                                                            "name": stored["name"],
                                                            "duties": len(proposal["duties"])})
        return import_id

    def _history(self, event: str, actor: Actor, now: dt.datetime, payload: dict[str, Any]) -> None:
        with self.app.store.transaction() as uow:
            uow.append_system_event(event, actor.id, now, payload)

    def imports(self, actor: Actor) -> list[dict[str, Any]]:
        self._require(actor, "reading plan imports", auditors=True)
        return [{"id": r.id, "file_name": r.file_name, "status": r.status, "imported_by": r.imported_by,
                 "imported_at": r.imported_at, "duties": len(r.proposal["duties"]), "plan_id": r.plan_id}
                for r in self.app.store.plan_import_list()]

    def review(self, actor: Actor, import_id: int, lang: str = "vi") -> PlanImportView:
        """The import as the review page shows it: each duty as proposed and as decided, its flags in words, and
        what still stops it from loading."""
        self._require(actor, "reading plan imports", auditors=True)  # auditors read what went in, and who let it
        row = self.app.store.plan_import(import_id)
        items = self._items(row, lang)
        workflows = self._workflows()
        conversion = self._conversion(row.settings, [i["decided"] for i in items if i["status"] == "accepted"],
                                      workflows)
        revision = revision_of(self.app.engine, self.app.store, conversion.plan) if conversion.plan else None
        problems = conversion.problems + [(ref, f"không hủy được nhiệm vụ đang chạy: {why}")
                                          for ref, why in (revision.blocked if revision else [])]
        return {"id": row.id, "file_name": row.file_name, "sha256": row.sha256, "status": row.status,
                "version": row.version, "document": row.proposal["document"], "settings": row.settings,
                "document_flags": [flag_words(f, lang) for f in row.proposal["document"].get("flags", [])],
                "items": items, "imported_by": row.imported_by, "submitted_by": row.submitted_by,
                "approved_by": row.approved_by, "plan_id": row.plan_id,
                "pending": sum(1 for i in items if i["status"] == "pending"),
                "problems": problems, "skipped": conversion.skipped,
                "may_approve": row.status == "submitted" and row.submitted_by is not None
                and _account_part(row.submitted_by) != _account_part(actor.id),
                "changes": revision.words(lang) if revision else [],
                "definitions": sorted(((d.id, d.title.en if lang == "en" and d.title.en else d.title.vi)
                                       for d in workflows), key=lambda kv: kv[1]),
                "may_add_bodies": actor.role == Role.ADMIN, "kinds": [k.value for k in AgencyKind]}

    def _items(self, row: Any, lang: str) -> list[dict[str, Any]]:
        return [self._item(duty, row.decisions.get(duty["ref"], {}), lang) for duty in row.proposal["duties"]]

    def _item(self, duty: dict[str, Any], decision: dict[str, Any], lang: str) -> dict[str, Any]:
        decided = dict(duty)
        edits = decision.get("edits", {})
        if "lead" in edits:
            decided["lead"] = {"as_written": ", ".join(edits["lead"]), "code": None, "expands_to": edits["lead"]} \
                if len(edits["lead"]) != 1 else {"as_written": edits["lead"][0], "code": edits["lead"][0]}
        if "deadline" in edits:
            decided["deadline"] = edits["deadline"]
        if "definition" in edits:
            decided["definition"] = edits["definition"]
        return {"ref": duty["ref"], "proposed": duty, "decided": decided, "status": decision.get("status", "pending"),
                "edited": sorted(edits), "flags": [flag_words(f, lang) for f in duty["flags"]],
                "rule": rule_words(decided["deadline"], lang), "codes": lead_codes(decided),
                "unknown": [] if "lead" in edits else unknown_bodies(decided),
                "by": decision.get("by")}

    def _conversion(self, settings: dict[str, Any], accepted: list[dict[str, Any]],
                    workflows: list[Definition]) -> Conversion:
        issued = settings.get("issued_on")
        if not issued:
            return Conversion(None, problems=[("", "chưa có ngày ban hành của kế hoạch")])
        return to_plan(settings["plan_id"], settings["title"], settings["implements"],
                       dt.date.fromisoformat(issued), settings.get("standing_body"), accepted, periods_of(workflows))

    def _workflows(self) -> list[Definition]:
        """The latest version of every workflow not retired: what a duty may be given (read once per request)."""
        latest: dict[str, Definition] = {}
        for stored in self.app.store.list_definitions():
            d = stored.definition
            if d.id not in latest or d.version > latest[d.id].version:
                latest[d.id] = d
        return [d for d in latest.values() if not d.retired]

    # -- deciding ----------------------------------------------------------------------------------------------

    def _open(self, actor: Actor, import_id: int, version: int, status: str = "review") -> Any:
        self._require(actor, "reviewing a plan import")
        row = self.app.store.plan_import(import_id)
        if row.version != version:
            raise VersionConflict(import_id, version, row.version)
        if row.status != status:
            raise PayloadInvalid([("status", f"the import is {row.status}, not {status}")])
        return row

    def _write(self, row: Any, **values: Any) -> None:
        if not self.app.store.change_plan_import(row.id, row.version, **values):
            raise VersionConflict(row.id, row.version, None)

    def decide(self, actor: Actor, import_id: int, version: int, ref: str, status: str,
               lead: list[str] | None = None, deadline: str | None = None, definition: str | None = None) -> None:
        """Accept, reject or edit one proposed duty: its lead (registry codes), its deadline (a phrase the grammar
        reads again: "trong tháng 12/2022") and its workflow. Every problem is reported at once."""
        row = self._open(actor, import_id, version)
        refs = {d["ref"]: d for d in row.proposal["duties"]}
        problems: list[tuple[str, str]] = []
        if ref not in refs:
            problems.append(("ref", f"no proposed duty {ref!r}"))
        if status not in STATUSES:
            problems.append(("status", f"one of {', '.join(STATUSES)}"))
        edits: dict[str, Any] = dict(row.decisions.get(ref, {}).get("edits", {}))
        if lead is not None:
            known = set(self.app.store.agency_names())
            unknown = [c for c in lead if c not in known]
            if unknown or not lead:
                problems.append(("lead", f"not in the registry: {', '.join(unknown)}" if unknown else "empty"))
            else:
                edits["lead"] = lead
        if deadline is not None:
            if deadline.strip() in ("", "-", "—"):
                edits["deadline"] = None
            elif (rule := parse(deadline, _year(row.settings))) is None:
                problems.append(("deadline", f"{deadline!r} is not a deadline the grammar reads (docs/plans.md)"))
            else:
                for key in ("span", "flags", "recurring"):
                    rule.pop(key, None)
                edits["deadline"] = rule
        if definition is not None:
            if definition not in {d.id for d in self._workflows()}:
                problems.append(("definition", f"no workflow {definition!r}"))
            else:
                edits["definition"] = definition
        if problems:
            raise PayloadInvalid(problems)
        decisions = {**row.decisions, ref: {"status": status, "edits": edits, "by": actor.id}}
        self._write(row, decisions=decisions)

    def add_body(self, actor: Actor, import_id: int, version: int, ref: str, code: str, name: str, kind: str
                 ) -> None:
        """A body the document names that the registry does not know, added to the registry (administrators: the
        registry's rule) and made the duty's lead, in place of the unknown one."""
        row = self._open(actor, import_id, version)
        duty = next((d for d in row.proposal["duties"] if d["ref"] == ref), None)
        problems: list[tuple[str, str]] = [] if duty else [("ref", f"no proposed duty {ref!r}")]
        try:
            entry = AgencyEntry(code=code.strip().upper(), name=name.strip(), short_name=name.strip()[:100],
                                kind=AgencyKind(kind))
        except (ValueError, ValidationError) as err:
            problems.append(("code", str(err).splitlines()[0][:200]))
        if problems:
            raise PayloadInvalid(problems)
        Agencies(self.app.engine).add(entry, actor)
        assert duty is not None
        decision = row.decisions.get(ref, {})
        edits = dict(decision.get("edits", {}))
        known = set(self.app.store.agency_names())
        edits["lead"] = [c for c in edits.get("lead", lead_codes(duty)) if c in known and c != entry.code] + \
            [entry.code]
        self._write(row, decisions={**row.decisions, ref: {"status": decision.get("status", "pending"),
                                                           "edits": edits, "by": actor.id}})

    def decide_all(self, actor: Actor, import_id: int, version: int, status: str) -> None:
        """Accept (or reject) every duty not decided yet."""
        row = self._open(actor, import_id, version)
        if status not in STATUSES:
            raise PayloadInvalid([("status", f"one of {', '.join(STATUSES)}")])
        decisions = dict(row.decisions)
        for duty in row.proposal["duties"]:
            current = decisions.get(duty["ref"], {})
            if current.get("status", "pending") == "pending":
                decisions[duty["ref"]] = {**current, "status": status, "edits": current.get("edits", {}),
                                          "by": actor.id}
        self._write(row, decisions=decisions)

    def configure(self, actor: Actor, import_id: int, version: int, plan_id: str, title: str, implements: str,
                  issued_on: dt.date, standing_body: str) -> None:
        row = self._open(actor, import_id, version)
        problems = []
        if not re.fullmatch(r"[a-z][a-z0-9_.-]{0,99}", plan_id):
            problems.append(("plan_id", "lower-case letters, digits, '.', '_' or '-', starting with a letter"))
        if not title.strip():
            problems.append(("title", "required"))
        if standing_body not in self.app.store.agency_names():
            problems.append(("standing_body", f"{standing_body!r} is not in the registry"))
        if problems:
            raise PayloadInvalid(problems)
        self._write(row, settings={"plan_id": plan_id, "title": title.strip()[:500],
                                   "implements": implements.strip()[:500] or title.strip()[:500],
                                   "issued_on": issued_on.isoformat(), "standing_body": standing_body})

    def submit(self, actor: Actor, import_id: int, version: int) -> None:
        """The review done: every duty decided and the accepted ones loadable; a second person approves next."""
        row = self._open(actor, import_id, version)
        view = self.review(actor, import_id)
        problems = [("items", f"{view['pending']} duties not yet accepted or rejected")] if view["pending"] else []
        problems += [(f"duty {ref}" if ref else "plan", why) for ref, why in view["problems"]]
        if problems:
            raise PayloadInvalid(problems)
        now = self.app.clock.now()
        self._write(row, status="submitted", submitted_by=actor.id, submitted_at=now)
        self._history("plan_import_submitted", actor, now, {"import": import_id})

    def send_back(self, actor: Actor, import_id: int, version: int, reason: str) -> None:
        row = self._open(actor, import_id, version, status="submitted")
        if not reason.strip():
            raise PayloadInvalid([("reason", "say what must be changed")])
        now = self.app.clock.now()
        self._write(row, status="review", submitted_by=None, submitted_at=None)
        self._history("plan_import_returned", actor, now, {"import": import_id, "reason": reason.strip()[:500]})

    def approve(self, actor: Actor, import_id: int, version: int) -> PlanLoad:
        """The second person's approval: the plan is loaded (as ``plan load``), its tasks naming the document."""
        row = self._open(actor, import_id, version, status="submitted")
        if row.submitted_by is None or _account_part(row.submitted_by) == _account_part(actor.id):
            raise RoleNotAllowed(actor.role.value, [], instance_id=None,
                                 event="approving one's own review (a second person approves: four eyes)", state=None)
        conversion = self._conversion(row.settings, [i["decided"] for i in self._items(row, "vi")
                                                     if i["status"] == "accepted"], self._workflows())
        if conversion.plan is None:
            raise PayloadInvalid([(f"duty {ref}" if ref else "plan", why) for ref, why in conversion.problems])
        source = {"sha256": row.sha256, "name": row.file_name,
                  "number": row.proposal["document"].get("number"), "import": import_id}
        plan = conversion.plan.model_copy(update={"tasks": tuple(
            t.model_copy(update={"data": {**t.data, "source_document": source}}) for t in conversion.plan.tasks)})
        now = self.app.clock.now()
        # the plan starts its tasks, as a schedule does: a system actor that names the approval and its approver
        loader = Actor(f"system:plan-import:{import_id}|{actor.id}", Role.SYSTEM)
        revision = revision_of(self.app.engine, self.app.store, plan)  # the same plan running: a revised document
        changed: dict[str, Any] = {}
        if revision is None:
            result = load_plan(self.app.engine, self.app.store, plan, loader)
        else:
            if revision.blocked:
                raise PayloadInvalid([(ref, f"không hủy được nhiệm vụ đang chạy: {why}")
                                      for ref, why in revision.blocked])
            reason = (f"Kế hoạch sửa đổi: {source['number'] or source['name']} (lần nhập {import_id}, "
                      f"người lập {row.submitted_by}, người phê duyệt {actor.id})")
            result = apply_revision(self.app.engine, self.app.store, plan, revision, loader, actor, reason)
            changed = {"withdrawn": [i for i, _, _ in revision.withdraw],
                       "redated": [i for i, _, _, _ in revision.redate],
                       "schedules_changed": [n for n, _ in revision.schedules_changed],
                       "schedules_ended": [n for n, _ in revision.schedules_ended], "changes": revision.words()}
        self._write(row, status="loaded", approved_by=actor.id, approved_at=now, loaded_at=now, plan_id=plan.id)
        self._history("plan_import_loaded", actor, now, {
            "import": import_id, "plan": plan.id, "document": source, "created": len(result.created),
            "schedules": result.schedules_added, "submitted_by": row.submitted_by, **changed})
        return result


def _year(settings: dict[str, Any]) -> int | None:
    issued = settings.get("issued_on")
    return int(issued[:4]) if issued else None
