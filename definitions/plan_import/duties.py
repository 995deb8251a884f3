"""From a plan's paragraphs and tables to proposed duties (docs/plans.md, "Importing a plan").

Prose: the list markers make a tree (Roman sections, "1." items, "1.1." sub-items, "a)" points, "-" and "+"
bullets; a paragraph that is only a list of bodies, "Sở Khoa học và Công nghệ:", heads the bullets under it).
Sections about purpose, requirements, targets or grounds hold no duties. Every leaf of the tree in the other
sections is a duty: its lead is the body before a colon, the subject of its sentence ("Sở X chủ trì …", "Giao Sở
X …"), or else the nearest heading that names bodies. Tables: a header row with a task column and a lead or
deadline column makes every later row a duty (rows whose cells are merged are group headings).

Nothing is silently guessed: a field the importer is unsure of carries a flag for the reviewer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .bodies import Body, Registry, bodies, looks_like_bodies
from .deadlines import folded, parse
from .document import Block

RANK = {"capital": 0, "roman": 1, "number": 2, "paren": 7, "letter": 8, "bullet": 9, "dot": 10, "plus": 11}
NOT_DUTIES = re.compile(r"^(?:muc dich|yeu cau|quan diem|muc tieu|can cu|tinh hinh|ket qua|danh gia|boi canh|"
                        r"pham vi|doi tuong|su can thiet|co so)")
STOP = re.compile(r"^(?:noi nhan|tm\.? |kt\.? |t/m)")
APPENDIX = re.compile(r"^phu luc\b")
VERBS = (r"chu tri|chiu trach nhiem|co trach nhiem|tham muu|phoi hop|to chuc|xay dung|thuc hien|trien khai|"
         r"can cu|chu dong|huong dan|theo doi|bao cao|de xuat|lam dau moi|nghien cuu|ra soat|kiem tra|tang cuong|"
         r"day manh|tiep tuc|uu tien|bo tri|phan bo|tham dinh|ban hanh|trinh|lap|quan ly|dam bao|cung cap|"
         r"huy dong|ho tro|khuyen khich|thuc day|phat trien|nang cao|duy tri|cap nhat|tong hop|danh gia|"
         r"phan cong|giao|dieu phoi|xuc tien|lua chon|ung dung|dao tao|tiep nhan|gui|nop|tuyen truyen|quan triet|"
         r"phat dong|ky ket|thanh lap|kien toan|hoan thien|sua doi|bo sung")
# where a list of bodies ends and the action begins: words never inside a body's name
ENDS = (r"chu tri|tham muu|xay dung|thuc hien|trien khai|khuyen khich|tham dinh|nghien cuu|huong dan|kiem tra|"
        r"ra soat|danh gia|trinh|de xuat|bao cao|theo doi|tong hop|can cu|chu dong|co trach nhiem|"
        r"chiu trach nhiem|phoi hop|lam dau moi|tang cuong|day manh|tiep tuc|bo tri|phan bo|ban hanh|"
        r"huong dan|duy tri|cap nhat|phan cong|dieu phoi|xuc tien|tiep nhan|tuyen truyen|quan triet|phat dong|"
        r"ky ket|thanh lap|kien toan|hoan thien|sua doi|bo sung|dinh ky|hang nam|la (?:co quan|don vi|dau moi)|"
        r"can doi|to chuc (?!khoa|kh|cong|xa hoi|"
        r"chinh tri|thuoc|trong|ngoai)|lap (?!phap)")
_OPENING = re.compile(r"^(?:can cu|tren co so|theo|thuc hien|de|nham|trong qua trinh)\b[^,]{0,200},\s*")
_SUBJECT = re.compile(rf"(?:giao (?:cho )?)?(?P<subject>.{{3,300}}?)(?:,)?\s(?:{ENDS})")
_GIVEN_TO = re.compile(r"\b(?:giao|de nghi|yeu cau) (?:cho )?(?P<body>(?:so|ban|uy ban|ubnd|cac|dai|bao|lien hiep|"
                       r"cuc|trung tam|van phong|cong an|bo chi huy)[^,.;:]{2,120}?)\s(?:chu tri|chiu trach nhiem|"
                       r"la co quan|thuc hien|tham muu|theo doi|tong hop|to chuc)")
_COOPERATE = re.compile(
    rf"\b(?:phoi hop|cung) (?:chat che )?(?:voi )?(?P<list>.+?)(?=\s(?:de |nham |trong |theo |"
    rf"(?:{ENDS}))|[.;:(]|$)")
_BACK_REFERENCE = re.compile(r"\b(?:tai|o) (?:diem|muc|khoan|tiet) (?P<refs>[a-zđ0-9](?:(?:,| va) ?[a-zđ0-9])*)"
                             r" (?:tren|neu tren|noi tren|nay)")
_CONDITIONAL = re.compile(r"^(?:trong qua trinh[^,]*,\s*)?(?:neu|truong hop|khi co)\b")
_DOC_NUMBER = re.compile(r"\bS[ốố]\s*:\s*(?P<n>[^|]*?/[A-ZĐ][A-ZĐ\-]*)")
# "Ninh Thuận, ngày 14 tháng 3 năm 2024" (a place, then the date; day and month may be left blank in a draft)
_DOC_DATE = re.compile(r"^\s*[^\d,;.]{2,40},\s*ngày\s+(?P<d>\d{1,2})?\s*tháng\s+(?P<m>\d{1,2})?\s*năm\s+(?P<y>\d{4})",
                       re.IGNORECASE)

# (folded pattern, definition): the first that matches the duty's text, else by the deadline's kind
DEFINITIONS: tuple[tuple[str, str], ...] = (
    (r"thanh lap (?:ban chi dao|to cong tac)", "founding"),
    (r"kho khan|vuong mac", "difficulty"),
    (r"tham dinh (?:kip thoi )?du toan", "budget_appraisal"),
    (r"tong hop.{0,80}bao cao|bao cao tong hop", "consolidated_report"),
    (r"nghi quyet cua hoi dong nhan dan|nghi quyet hdnd|nghi quyet hoi dong nhan dan", "council_resolution"),
    (r"dinh muc kinh te", "norms"),
    (r"kien toan", "restructuring"),
    (r"ty le|tong chi thuong xuyen", "budget_share"),
    (r"phan bo kinh phi|bo tri kinh phi|bo tri du toan", "budget_allocation"),
    (r"tuyen truyen|thong tin tuyen truyen", "awareness_programme"),
    (r"(?:xay dung|lap|ban hanh) ke hoach (?:thuc hien|trien khai|to chuc thuc hien|cu the)|lap ke hoach",
     "implementation_plan"),
)
# a shipped definition whose own period is fixed is proposed only where the plan writes that period
FIXED_YEARLY = {"11-05": "annual_report"}
BY_KIND = {"relative": "catalogue_feedback", "yearly": "periodic_report", "periodic": "periodic_report",
           "ongoing": "ongoing_duty", "range": "ongoing_duty"}


@dataclass
class Node:
    block: Block | None
    kind: str
    label: str | None
    rank: float
    text: str
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    extra: list[Block] = field(default_factory=list)
    section_skipped: bool = False
    lead_heading: bool = False
    ordinal: int = 0

    @property
    def full_text(self) -> str:
        return "\n".join([self.text, *(b.text for b in self.extra)]).strip()


def _number_and_date(head: list[Block]) -> tuple[str | None, str | None, int | None]:
    number = issued_on = None
    year = None
    for cell in (c for b in head for c in (b.cells or (b.text,))):
        if number is None and (m := _DOC_NUMBER.search(cell)):
            number = re.sub(r"\s+", "", m.group("n")).strip()
        if issued_on is None and (m := _DOC_DATE.search(cell)):
            year = int(m.group("y"))
            if m.group("d") and m.group("m"):
                issued_on = f"{year:04d}-{int(m.group('m')):02d}-{int(m.group('d')):02d}"
    return number, issued_on, year


def _title(head: list[Block]) -> str | None:
    """ "KẾ HOẠCH" and the lines after it, up to the first numbered one."""
    for i, b in enumerate(head):
        if b.table is None and b.marker is None and re.fullmatch(
                r"(?:ke hoach|chuong trinh hanh dong|chuong trinh|quyet dinh|chi thi|de an)", folded(b.text).strip()):
            parts = [b.text.strip()]
            for nxt in head[i + 1: i + 4]:
                if nxt.marker is not None or nxt.table is not None:
                    break
                parts.append(nxt.text.strip())
                if len(" ".join(parts)) > 40:
                    break
            return " ".join(parts)
    return None


def metadata(blocks: list[Block]) -> dict[str, Any]:
    """The document's number, date (ISO, or None with a flag) and title, from its first twenty paragraphs."""
    head = blocks[:20]
    number, issued_on, year = _number_and_date(head)
    flags: list[str] = []
    if number is not None and number.startswith("/"):
        flags.append("number_blank")
    if issued_on is None:
        flags.append("date_blank" if year else "date_not_found")
    return {"number": number, "issued_on": issued_on, "title": _title(head), "year": year, "flags": flags}


def _skipped(kind: str, folded_text: str) -> bool:
    """A section or item about purpose, requirements, targets or grounds (a short heading, not "Yêu cầu các sở …")."""
    return kind in ("roman", "capital", "number") and bool(NOT_DUTIES.match(folded_text)) and \
        len(folded_text.split()) <= 12


def _add_marked(stack: list[Node], b: Block, folded_text: str) -> None:
    kind = b.marker_kind or "bullet"
    rank = RANK.get(kind, 9) + (b.depth if kind == "number" else 0)
    while len(stack) > 1 and stack[-1].rank >= rank:
        stack.pop()
    parent = stack[-1]
    node = Node(b, kind, b.marker, rank, b.text, parent)
    node.ordinal = sum(1 for c in parent.children if c.kind == kind) + 1
    node.section_skipped = parent.section_skipped or _skipped(kind, folded_text)
    parent.children.append(node)
    stack.append(node)


def _add_plain(stack: list[Node], b: Block) -> None:
    current = stack[-1]
    if looks_like_bodies(b.text) and b.text.strip().endswith(":"):
        while len(stack) > 1 and stack[-1].lead_heading:
            stack.pop()
        parent = stack[-1]
        node = Node(b, "heading", None, parent.rank + 0.5, b.text, parent, lead_heading=True,
                    section_skipped=parent.section_skipped)
        parent.children.append(node)
        stack.append(node)
    elif current.children and not current.lead_heading:
        # a paragraph of its own under a heading that has items: a duty when it names who does it
        node = Node(b, "para", None, current.rank + 0.25, b.text, current, section_skipped=current.section_skipped)
        node.ordinal = sum(1 for c in current.children if c.kind == "para") + 1
        current.children.append(node)
    else:
        current.extra.append(b)


def tree(blocks: list[Block]) -> tuple[Node, list[Block]]:
    """The prose as a tree; tables (the appendix's among them) are returned apart. Reading stops at "Nơi nhận"
    (the distribution list and the signature) and at "PHỤ LỤC" (whose tables are still read)."""
    root = Node(None, "root", None, -1, "")
    stack = [root]
    tables: list[Block] = []
    stopped = False
    appendices = 0
    for b in blocks:
        if b.table is not None:
            tables.append(b)
            continue
        f = folded(b.text).strip()
        if APPENDIX.match(f):  # an appendix in prose: its items are read again, under a reference of their own
            appendices += 1
            label = re.match(r"phu luc\s*(?:so\s*)?([ivxl]+|\d+)?\b", f)
            node = Node(b, "appendix", f"PL{(label.group(1) or str(appendices)).upper() if label else appendices}",
                        -0.5, b.text, root, section_skipped=False)
            root.children.append(node)
            stack[:] = [root, node]
            stopped = False
            continue
        stopped = stopped or bool(STOP.match(f))
        if stopped:
            continue
        if b.marker_kind is not None and stack[-1] is not root and FIELD_LINE.match(f):
            stack[-1].extra.append(b)  # "- Cơ quan chủ trì: …" under an item is a field of it, not a duty
        elif b.marker_kind is not None:
            _add_marked(stack, b, f)
        elif stack[-1] is not root:  # before the first section: the title and the preamble
            _add_plain(stack, b)
    return root, tables


def _ref(node: Node) -> str:
    parts: list[str] = []
    n: Node | None = node
    numbered: str | None = None  # "1.2" already says its parent "1"
    while n is not None and n.kind != "root":
        if n.kind == "number" and numbered is not None and numbered.startswith(f"{n.label}."):
            n = n.parent
            continue
        if n.kind == "number":
            numbered = n.label
        if n.kind in ("bullet", "dot", "plus"):
            parts.append(f"{'-' if n.kind != 'plus' else '+'}{n.ordinal}")
        elif n.kind == "para":
            parts.append(f"¶{n.ordinal}")
        elif n.kind == "appendix" and n.label:
            parts.append(n.label)
        elif n.kind != "heading" and n.label:
            parts.append("." + n.label)
        n = n.parent
    return "".join(reversed(parts)).lstrip(".")


def _context_lead(node: Node, registry: Registry) -> list[Body]:
    """The lead a heading above ``node`` names (none: an empty list)."""
    n = node.parent
    while n is not None and n.kind != "root":
        text = n.text.strip()
        head = text.split(":", 1)[0] if ":" in text[:300] else text
        if looks_like_bodies(head):
            return bodies(head.rstrip(":"), registry)
        if n.kind not in ("roman", "capital", "appendix") and (found := lead_of(text, registry)[0]):
            return found  # "- Sở X chủ trì thực hiện các nội dung sau:" above its "+" points
        n = n.parent
    return []


# a duty's fields written as labels: "- Cơ quan chủ trì: Sở Y tế.", "(Thời gian thực hiện: năm 2024)"
_LABEL_END = r"(?=[.\n)]|;\s*(?:co quan|don vi|thoi gian|thoi han|tien do|san pham|kinh phi|ket qua)|$)"
LABELLED = {
    "lead": re.compile(r"(?:co quan|don vi|to chuc)\s(?:chu tri|thuc hien|chiu trach nhiem|dau moi)\s?:\s*"
                       rf"(?P<x>[^.\n)]+?){_LABEL_END}|\bchu tri\s?:\s*(?P<y>[^.\n);]+)"),
    "cooperating": re.compile(rf"(?:co quan|don vi)\s(?:phoi hop)\s?:\s*(?P<x>[^.\n)]+?){_LABEL_END}"
                              r"|\bphoi hop\s?:\s*(?P<y>[^.\n);]+)"),
    "deadline": re.compile(r"(?:thoi gian|thoi han|tien do)(?: thuc hien| hoan thanh| trinh)?\s?:\s*"
                           rf"(?P<x>[^\n)]+?){_LABEL_END}"),
}
FIELD_LINE = re.compile(r"^(?:co quan|don vi|thoi gian|thoi han|tien do|san pham|kinh phi|ket qua|nguon kinh phi|"
                        r"hinh thuc|chu tri|phoi hop)[^:]{0,30}:")


def labelled(text: str, field: str) -> tuple[str, tuple[int, int]] | None:
    """A field written with its label in ``text``: its words as written and their span."""
    m = LABELLED[field].search(folded(text))
    if not m:
        return None
    group = "x" if m.group("x") is not None else "y"
    a, b = m.span(group)
    return text[a:b].strip(" ;,"), (a, b)


def lead_of(text: str, registry: Registry) -> tuple[list[Body], tuple[int, int] | None]:
    """The bodies that lead a duty written in ``text``, and their span in it."""
    if (written := labelled(text, "lead")) and (named := bodies(written[0], registry)):
        return named, written[1]
    colon = text.find(":")
    if 0 < colon < 400 and looks_like_bodies(text[:colon]):
        return bodies(text[:colon], registry), (0, colon)
    f = folded(text)
    if m := _GIVEN_TO.search(f[:300]):
        found = bodies(text[m.start("body"): m.end("body")], registry)
        if found:
            return found, (m.start("body"), m.end("body"))
    # the subject of the sentence, or of the clause after an opening "Căn cứ …, " / "Trên cơ sở …, "
    starts = [0] + ([m.end() for m in re.finditer(r",\s*", f[:300])] if _OPENING.match(f) else [])
    for start in starts:
        if m := _SUBJECT.match(f, start):
            subject = text[m.start("subject"): m.end("subject")].rstrip(" ,")
            if not looks_like_bodies(subject):
                continue
            named = bodies(subject, registry)
            if start and not all(b.code or b.expands_to for b in named):
                continue  # after an opening clause only bodies the registry knows: "…, đơn vị, địa phương" is not one
            return named, (m.start("subject"), m.start("subject") + len(subject))
    return [], None


def cooperating_of(text: str, registry: Registry, lead: list[Body]) -> tuple[list[Body], list[tuple[int, int]]]:
    found: list[Body] = []
    spans: list[tuple[int, int]] = []
    f = folded(text)
    for m in _COOPERATE.finditer(f):
        chunk = text[m.start("list"): m.end("list")]
        named = bodies(chunk, registry)
        if named:
            found.extend(named)
            spans.append((m.start("list"), m.end("list")))
    lead_keys = {(b.code or b.as_written) for b in lead}
    unique: list[Body] = []
    seen: set[str] = set()
    for b in found:
        key = b.code or b.as_written
        if key in lead_keys or key in seen:
            continue
        seen.add(key)
        unique.append(b)
    return unique, spans


def choose_definition(text: str, deadline: dict[str, Any] | None) -> tuple[str, list[str]]:
    f = folded(text)
    kind = deadline["kind"] if deadline else None
    if kind == "relative" and re.search(r"du thao|gop y|y kien|dat hang", f):
        return "catalogue_feedback", []
    if re.search(r"danh muc.{0,60}nhiem vu", f) and kind not in ("relative",) and re.search(r"chu tri|xay dung", f):
        return "catalogue_consultation", []
    for pattern, definition in DEFINITIONS:
        if re.search(pattern, f):
            return definition, []
    if kind == "yearly" and deadline is not None and deadline.get("month_day") in FIXED_YEARLY:
        return FIXED_YEARLY[deadline["month_day"]], []
    if kind in BY_KIND:
        return BY_KIND[kind], []
    if kind is None:
        return "ongoing_duty", []
    return "delivery", []


def _lead_json(found: list[Body], written: str | None = None) -> dict[str, Any] | None:
    if not found:
        return None
    if len(found) == 1:
        return found[0].as_json()
    codes: list[str] = []
    for b in found:
        codes.extend([b.code] if b.code else b.expands_to)
    return {"as_written": written or ", ".join(b.as_written for b in found), "code": None,
            "bodies": [b.as_json() for b in found], "expands_to": codes}


def _body_flags(found: list[Body], role: str) -> list[str]:
    flags: list[str] = []
    for b in found:
        if b.group is not None and not b.expands_to:
            flags.append(f"{role}_group_unresolved")
        elif b.group is not None:
            flags.append(f"{role}_group_expanded")
        elif b.code is None:
            flags.append(f"{role}_not_in_registry")
        elif b.fuzzy:
            flags.append(f"{role}_matched_approximately")
    return flags


def _deadline(text: str, deadline_text: str | None, year: int | None) -> dict[str, Any] | None:
    """A labelled "Thời gian thực hiện: …" first, else the whole text (or the table's deadline cell)."""
    written_at = labelled(text, "deadline") if deadline_text is None else None
    deadline = parse(written_at[0], year) if written_at else None
    if deadline is not None and written_at is not None:
        deadline["span"] = [deadline["span"][0] + written_at[1][0], deadline["span"][1] + written_at[1][0]]
        return deadline
    return parse(deadline_text if deadline_text is not None else text, year)


def _cooperating(text: str, registry: Registry, lead: list[Body]) -> tuple[list[Body], list[tuple[int, int]]]:
    cooperating, spans = cooperating_of(text, registry, lead)
    if (named := labelled(text, "cooperating")) is not None:
        keys = {(b.code or b.as_written) for b in [*lead, *cooperating]}
        cooperating += [b for b in bodies(named[0], registry) if (b.code or b.as_written) not in keys]
        spans.append(named[1])
    helpers = {b.code for b in cooperating if b.code}
    for body in lead:  # "các sở … phối hợp với Sở KH&CN": the body they help is not one of them
        if body.group is not None and helpers:
            body.expands_to = [c for c in body.expands_to if c not in helpers]
    return cooperating, spans


def _deadline_flags(deadline: dict[str, Any] | None) -> list[str]:
    if deadline is None:
        return ["no_deadline"]
    flags = list(deadline.pop("flags"))
    if deadline["kind"] == "relative":
        flags.append("depends_on_event")
    if any(v is None for k, v in deadline.items() if k not in ("as_written", "span", "recurring")):
        flags.append("deadline_incomplete")
    return flags


def _duty(ref: str, text: str, source: Block, source_text: str, lead: list[Body], lead_span: tuple[int, int] | None,
          registry: Registry, year: int | None, deadline_text: str | None = None) -> dict[str, Any]:
    deadline = _deadline(text, deadline_text, year)
    cooperating, coop_spans = _cooperating(text, registry, lead)
    flags = ([] if lead else ["lead_not_found"]) + _body_flags(lead, "lead") + _body_flags(cooperating, "cooperating")
    flags += _deadline_flags(deadline)
    evidence: dict[str, Any] = {}
    recurring = False
    if deadline is not None:
        recurring = deadline.pop("recurring")
        span = deadline.pop("span")
        evidence["deadline"] = span if deadline_text is None else None
    f = folded(text)
    flags += (["back_reference"] if _BACK_REFERENCE.search(f) else []) + (
        ["conditional"] if _CONDITIONAL.match(f) else [])
    definition, more = choose_definition(text, deadline)
    if lead_span is not None:
        evidence["lead"] = list(lead_span)
    if coop_spans:
        evidence["cooperating"] = [list(s) for s in coop_spans]
    written = text[lead_span[0]:lead_span[1]].strip() if lead_span else None
    return {"ref": ref, "text": text.strip(), "lead": _lead_json(lead, written),
            "cooperating": [b.as_json() for b in cooperating], "deadline": deadline, "recurring": recurring,
            "definition": definition, "source": {"paragraph": source.index, "text": source_text},
            "flags": sorted({*flags, *more}), "evidence": evidence}


def prose_duties(root: Node, registry: Registry, year: int | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    by_node: dict[int, dict[str, Any]] = {}

    def walk(node: Node) -> None:
        for child in node.children:
            walk(child)
        if node.kind in ("root", "appendix") or node.section_skipped or node.block is None or node.lead_heading:
            return
        if any(not c.section_skipped for c in node.children):
            return  # a heading: its items are the duties
        text = node.full_text
        if len(text.split()) < 4 or (looks_like_bodies(text) and not node.children):
            return
        lead, span = lead_of(text, registry)
        if node.kind == "para" and span is None:
            return  # a paragraph that names nobody itself is commentary, not a duty
        lead = lead or _context_lead(node, registry)
        duty = _duty(_ref(node), text, node.block, text, lead, span, registry, year)
        if not lead and duty["deadline"] is None and not _BACK_REFERENCE.search(folded(text)):
            return  # nobody named and no date: a solution or a statement ("kinh phí từ nguồn …"), not a duty
        by_node[id(node)] = duty
        out.append(duty)

    walk(root)
    _apply_back_references(root, by_node, year)
    out.sort(key=lambda d: d["source"]["paragraph"])
    return out


def _apply_back_references(root: Node, by_node: dict[int, dict[str, Any]], year: int | None) -> None:
    """ "Các cơ quan được giao nhiệm vụ tại điểm a, b trên, lập kế hoạch … trong tháng 12 năm 2022": the sentence's
    deadline is given to the siblings it names that have none of their own (flagged on both)."""
    def visit(node: Node) -> None:
        for child in node.children:
            visit(child)
        duty = by_node.get(id(node))
        if duty is None or node.parent is None:
            return
        f = folded(node.full_text)
        m = _BACK_REFERENCE.search(f)
        if not m:
            return
        sentence_end = f.find(".", m.end())
        sentence = node.full_text[m.start(): sentence_end if sentence_end > 0 else None]
        deadline = parse(sentence, year)
        if deadline is None:
            return
        labels = set(re.findall(r"[a-zđ0-9]", m.group("refs")))
        for sibling in node.parent.children:
            other = by_node.get(id(sibling))
            if other is None or sibling is node or (sibling.label or "") not in labels:
                continue
            if other["deadline"] is None:
                rule = dict(deadline)
                rule.pop("span", None)
                flags = rule.pop("flags")
                recurring = rule.pop("recurring")
                other["deadline"] = rule
                other["recurring"] = recurring
                other["flags"] = sorted({*other["flags"], *flags, "deadline_from_back_reference"} - {"no_deadline"})
                other["definition"], more = choose_definition(other["text"], rule)
                other["flags"] = sorted({*other["flags"], *more})

    visit(root)


COLUMNS = {
    "number": r"^(?:stt|tt|so tt|so thu tu)$",
    "task": r"nhiem vu|noi dung|ten (?:de an|du an|nhiem vu|cong viec)|cong viec|hoat dong|giai phap|^de an|"
            r"^du an|^chuong trinh",
    "lead": r"chu tri|co quan thuc hien|don vi thuc hien|co quan (?:duoc )?giao|co quan, don vi chu tri|"
            r"trach nhiem thuc hien|don vi chu tri|co quan chiu trach nhiem",
    "cooperating": r"phoi hop",
    "deadline": r"thoi gian|thoi han|tien do|hoan thanh|nam thuc hien|moc",
    "product": r"san pham|ket qua|hinh thuc",
}


def _columns(cells: tuple[str, ...]) -> dict[str, int]:
    roles: dict[str, int] = {}
    for i, cell in enumerate(cells):
        f = folded(cell).strip()
        for role, pattern in COLUMNS.items():
            if role in roles:
                continue
            if role == "task" and re.search(COLUMNS["lead"] + "|" + COLUMNS["cooperating"], f):
                continue
            if re.search(pattern, f):
                roles[role] = i
                break
    return roles


def _header(table_rows: list[Block]) -> tuple[int, dict[str, int]] | None:
    """The last header row (within the first four) and the column of each role, if this table lists duties. A
    header over two rows ("Cơ quan" above "Chủ trì | Phối hợp") is read as one."""
    for i, row in enumerate(table_rows[:4]):
        found = _columns(row.cells)
        if "task" in found and ("lead" in found or "deadline" in found):
            if i + 1 < len(table_rows):
                cells = table_rows[i + 1].cells
                below = _columns(cells)
                if ("lead" in below or "cooperating" in below) and "task" not in below and all(
                        len(c.split()) <= 4 for c in cells) and not any(c.strip().isdigit() for c in cells):
                    return i + 1, {**found, **{k: v for k, v in below.items() if k in ("lead", "cooperating")}}
            return i, found
    return None


def _cell(values: list[str], roles: dict[str, int], role: str) -> str:
    return values[roles[role]] if role in roles and roles[role] < len(values) else ""


def _row_duty(ref: str, row: Block, values: list[str], roles: dict[str, int], registry: Registry,
              year: int | None) -> dict[str, Any]:
    lead_text, coop_text = _cell(values, roles, "lead"), _cell(values, roles, "cooperating")
    f = folded(lead_text)
    if not coop_text and (m := re.search(r"[;,.]?\s*phoi hop\s*:?", f)):  # "Sở X chủ trì; Sở Y phối hợp"
        lead_text, coop_text = lead_text[:m.start()], lead_text[m.end():]
    if not coop_text and (m := re.search(r"\(\s*chủ trì\s*\)", lead_text, flags=re.IGNORECASE)):
        lead_text, coop_text = lead_text[:m.start()], lead_text[m.end():].strip(" ;,")  # "Sở Y tế (chủ trì); Sở TC"
    lead_text = re.sub(r"\(?\s*chủ trì\s*\)?\s*:?", "", lead_text, flags=re.IGNORECASE).strip(" ;,")
    deadline_text = _cell(values, roles, "deadline")
    lead = bodies(lead_text, registry) if lead_text else []
    duty = _duty(ref, _cell(values, roles, "task"), row, row.text, lead, None, registry, year, deadline_text)
    if coop_text:
        extra = bodies(coop_text, registry)
        keys = {(b.code or b.as_written) for b in lead}
        duty["cooperating"] = [b.as_json() for b in extra if (b.code or b.as_written) not in keys]
        duty["flags"] = sorted({*duty["flags"], *_body_flags(extra, "cooperating")})
    if deadline_text and duty["deadline"] is None:
        duty["flags"] = sorted({*duty["flags"], "deadline_unreadable"} - {"no_deadline"})
    if product := _cell(values, roles, "product"):
        duty["product"] = product
    duty["source"]["table"] = row.table
    duty["source"]["row"] = row.row
    return duty


def table_duties(rows: list[Block], registry: Registry, year: int | None) -> list[dict[str, Any]]:
    """Every row of every table whose header names the task and its lead or deadline; a row with one cell filled
    (or a Roman or capital number and no lead) heads a group: its number goes into the next rows' references."""
    out: list[dict[str, Any]] = []
    by_table: dict[int, list[Block]] = {}
    for b in rows:
        by_table.setdefault(b.table or 0, []).append(b)
    appendix_no = 0
    for table_rows in by_table.values():
        header = _header(table_rows)
        if header is None:
            continue
        appendix_no += 1
        at, roles = header
        group = ""
        for row in table_rows[at + 1:]:
            values = [c.strip() for c in row.cells]
            filled = {v for v in values if v}
            if not filled or re.fullmatch(r"[\d\s()]+", "".join(values)):
                continue  # empty, or the column numbers row "(1) (2) (3)"
            num = _cell(values, roles, "number")
            if len(filled) == 1 or not (_cell(values, roles, "lead") or _cell(values, roles, "deadline")) or (
                    re.fullmatch(r"[IVXL]+|[A-Z]", num) and not _cell(values, roles, "lead")):
                group = num or group
                continue
            ref = f"PL{appendix_no}.{group + '.' if group else ''}{num or row.row}"
            out.append(_row_duty(ref, row, values, roles, registry, year))
    return out
