"""Which bodies a duty names, and who they are in the registry.

A plan names bodies in lists ("Sở Thông tin và Truyền thông, Đài Phát thanh và Truyền hình tỉnh, Báo Ninh Thuận"),
by abbreviation ("Sở KH&CN", "UBND các huyện"), and by group ("các sở, ban, ngành cấp tỉnh", "UBND các huyện,
thành phố"). A list is cut at commas, semicolons and "và", and pieces that do not begin like a body are put back
("Sở Văn hóa" + "Thể thao và Du lịch"). Each piece is matched to the registry by a canonical key (folded, the
usual abbreviations spelled out, "tỉnh …" dropped) over every name a body has had; a group is expanded to the
registry's bodies of its kinds. A body not found is proposed as a new registry entry (``code`` null)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from .deadlines import folded

# how a body's name begins (folded): a piece of a list that begins otherwise belongs to the piece before it
HEADS = (
    "so ", "cac so", "ban ", "cac ban", "uy ban", "ubnd", "hoi dong", "hdnd", "cuc ", "cac cuc", "chi cuc", "dai ",
    "bao ", "lien hiep", "lien doan", "hoi ", "cac hoi", "truong ", "cac truong", "vien ", "cac vien", "trung tam",
    "cac trung tam", "cong an", "bo chi huy", "kho bac", "ngan hang", "van phong", "thanh tra", "cac co quan",
    "co quan", "cac don vi", "don vi", "cac to chuc", "cac dia phuong", "tinh doan", "tinh uy",
    "mat tran", "quy ", "cong ty", "tong cong ty", "bao hiem", "bhxh", "toa an", "vien kiem sat", "doan ",
    "ban quan ly", "to cong tac", "khu kinh te", "thu truong", "chu tich", "giam doc", "cac huyen", "cac xa",
    "cac phuong", "cac doanh nghiep", "doanh nghiep", "hiep hoi", "dien luc", "buu dien", "bo ", "cac bo",
    "nganh ", "cac nganh", "cac ca nhan", "hoi lien hiep", "uy ban mat tran", "ubmttq", "so kh", "phong ",
    "cac phong", "uy ban nhan dan", "chi nhanh", "cang vu", "hai quan", "cuc thong ke", "cuc thue",
)
ABBREVIATIONS = {  # folded abbreviation → folded words (longest first when applied)
    "ubnd": "uy ban nhan dan", "hdnd": "hoi dong nhan dan", "ubmttq": "uy ban mat tran to quoc",
    "kh&cn": "khoa hoc va cong nghe", "khcn": "khoa hoc va cong nghe", "kh&dt": "ke hoach va dau tu",
    "khdt": "ke hoach va dau tu", "tt&tt": "thong tin va truyen thong", "tttt": "thong tin va truyen thong",
    "nn&ptnt": "nong nghiep va phat trien nong thon", "nnptnt": "nong nghiep va phat trien nong thon",
    "nn&mt": "nong nghiep va moi truong", "tn&mt": "tai nguyen va moi truong", "tnmt": "tai nguyen va moi truong",
    "gd&dt": "giao duc va dao tao", "gddt": "giao duc va dao tao", "vh,tt&dl": "van hoa, the thao va du lich",
    "vhttdl": "van hoa, the thao va du lich", "ld-tb&xh": "lao dong - thuong binh va xa hoi",
    "ldtbxh": "lao dong - thuong binh va xa hoi", "gtvt": "giao thong van tai", "kh&kt": "khoa hoc va ky thuat",
    "khkt": "khoa hoc ky thuat", "pt-th": "phat thanh - truyen hinh", "ptth": "phat thanh va truyen hinh",
    "tp": "thanh pho", "tx": "thi xa", "bchqs": "bo chi huy quan su", "bhxh": "bao hiem xa hoi",
    "dmst": "doi moi sang tao", "kh,cn&dmst": "khoa hoc, cong nghe va doi moi sang tao",
}


@dataclass(frozen=True)
class Group:
    """A group a plan names, and the registry kinds it means."""
    pattern: str
    kinds: tuple[str, ...]
    label: str


GROUPS = (
    Group(r"(?:cac )?co quan chuyen mon,? (?:cac )?don vi su nghiep (?:thuoc|truc thuoc) (?:uy ban nhan dan|ubnd) "
          r"(?:tinh|cap tinh)", ("department", "press", "project_board"),
          "các cơ quan chuyên môn, đơn vị sự nghiệp thuộc UBND tỉnh"),
    Group(r"(?:cac )?co quan chuyen mon (?:thuoc|truc thuoc) (?:uy ban nhan dan|ubnd) (?:tinh|cap tinh)",
          ("department",), "các cơ quan chuyên môn thuộc UBND tỉnh"),
    Group(r"(?:cac )?don vi su nghiep (?:cong lap )?(?:thuoc|truc thuoc) (?:uy ban nhan dan|ubnd) (?:tinh|cap tinh)",
          ("press", "project_board"), "các đơn vị sự nghiệp thuộc UBND tỉnh"),
    Group(r"(?:thu truong )?(?:cac )?(?:co quan, don vi|co quan|don vi)?,? ?(?:cac )?so,?(?: ban,?)? "
          r"nganh,?(?: doan the,?)?(?: (?:cap tinh|thuoc tinh|tinh|lien quan|cua tinh))*", ("department",),
          "các sở, ban, ngành cấp tỉnh"),
    Group(r"(?:chu tich )?(?:uy ban nhan dan|ubnd) (?:cac|\d+|bay|tam|chin|muoi) huyen,? (?:thi xa,? )?"
          r"(?:thanh pho|tp)(?: thuoc tinh)?", ("district",), "UBND các huyện, thành phố"),
    Group(r"(?:chu tich )?(?:uy ban nhan dan|ubnd) (?:cac )?(?:cap huyen|huyen, thi xa, thanh pho|huyen)",
          ("district",), "UBND cấp huyện"),
    Group(r"(?:uy ban nhan dan|ubnd) (?:cac )?(?:cap xa|xa, phuong, thi tran|xa, phuong|xa, phuong, dac khu)",
          ("commune",), "UBND cấp xã"),
    Group(r"(?:cac )?(?:co quan|don vi|dia phuong|nganh|to chuc)(?:,? (?:co quan|don vi|dia phuong|nganh|to chuc))*"
          r"(?: co)? lien quan", (), "các cơ quan, đơn vị liên quan"),
)
_GROUPS = [(re.compile(g.pattern), g) for g in GROUPS]


@dataclass
class Body:
    as_written: str
    code: str | None = None
    group: str | None = None  # the group's label when a group was named
    expands_to: list[str] = field(default_factory=list)
    fuzzy: bool = False

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"as_written": self.as_written, "code": self.code}
        if self.group is not None:
            out["group"] = self.group
            out["expands_to"] = self.expands_to
        if self.fuzzy:
            out["matched_approximately"] = True
        return out


@dataclass(frozen=True)
class Known:
    code: str
    kind: str
    names: tuple[str, ...]
    active: bool = True


def canonical(name: str) -> str:
    """The key two spellings of one body share: folded, abbreviations spelled out, punctuation and "tỉnh" dropped."""
    f = folded(name).strip(" .;:,-–")
    f = re.sub(r"\s+", " ", f)
    words = []
    for token in f.split(" "):
        words.append(ABBREVIATIONS.get(token, token))
    f = " ".join(words)
    for short, long in sorted(ABBREVIATIONS.items(), key=lambda kv: -len(kv[0])):
        if not short.isalpha():
            f = f.replace(short, long)
    f = re.sub(r"^(?:cac |giao |do |voi )", "", f)
    f = re.sub(r"[^a-z0-9 ]", " ", f)
    f = re.sub(r"\b(?:va|cua|thuoc|tinh|cap tinh)\b", " ", f)
    return re.sub(r"\s+", " ", f).strip()


class Registry:
    """The registry the importer matches against: codes, kinds and every name (and short name) over time."""

    def __init__(self, bodies: Iterable[Known], province: str | None = None) -> None:
        self.bodies = list(bodies)
        self.province = province
        self._by_key: dict[str, str] = {}
        for body in self.bodies:
            for name in body.names:
                self._by_key.setdefault(canonical(name), body.code)
                if province:
                    self._by_key.setdefault(canonical(name.replace(province, "")), body.code)

    def match(self, name: str) -> tuple[str | None, bool]:
        key = canonical(name)
        if self.province:
            key = canonical(re.sub(re.escape(self.province), "", name, flags=re.IGNORECASE)) or key
        if not key:
            return None, False
        if key in self._by_key:
            return self._by_key[key], False
        best, score = None, 0.0
        for other, code in self._by_key.items():
            ratio = SequenceMatcher(None, key, other).ratio()
            if ratio > score:
                best, score = code, ratio
        if score >= 0.9:
            return best, True
        return None, False

    def of_kinds(self, kinds: Sequence[str]) -> list[str]:
        return [b.code for b in self.bodies if b.kind in kinds and b.active]


def _starts_like_body(piece: str) -> bool:
    f = folded(piece).strip()
    return f.startswith(HEADS) or any(p.match(f) for p, _ in _GROUPS)


def split_list(text: str) -> list[str]:
    """A written list of bodies cut into names ("Sở Văn hóa, Thể thao và Du lịch" stays one)."""
    pieces: list[str] = []
    for raw in re.split(r"(,|;| và | cùng | với )", text):
        if raw in (",", ";", " và ", " cùng ", " với ") or not raw.strip():
            if pieces and raw in (",", " và ", " cùng ", " với "):
                pieces[-1] += raw
            continue
        if pieces and not _starts_like_body(raw):
            pieces[-1] += raw
        else:
            pieces.append(raw)
    out = [p.strip().rstrip(",").strip() for p in pieces]
    out = [re.sub(r"\s+(?:và|cùng|với)$", "", p).strip(" ,") for p in out]
    return [p for p in out if p]


def _group_spans(text: str) -> list[tuple[int, int, Group]]:
    f = folded(text)
    spans: list[tuple[int, int, Group]] = []
    for pattern, group in _GROUPS:
        for m in pattern.finditer(f):
            if any(m.start() < b and a < m.end() for a, b, _ in spans):
                continue
            spans.append((m.start(), m.end(), group))
    return sorted(spans, key=lambda s: s[0])


def bodies(text: str, registry: Registry) -> list[Body]:
    """Every body a written list names, groups expanded."""
    out: list[Body] = []
    spans = _group_spans(text)
    cursor = 0
    chunks: list[tuple[str, Group | None]] = []
    for a, b, named in spans:
        chunks.append((text[cursor:a], None))
        chunks.append((text[a:b], named))
        cursor = b
    chunks.append((text[cursor:], None))
    for chunk, group in chunks:
        if group is not None:
            written = chunk.strip(" ,;")
            out.append(Body(written, None, group.label, registry.of_kinds(group.kinds)))
            continue
        for piece in split_list(chunk):
            if not _starts_like_body(piece) and not registry.match(piece)[0]:
                continue
            code, fuzzy = registry.match(piece)
            out.append(Body(piece, code, fuzzy=fuzzy))
    return out


# what a body does, never part of its name: a list of bodies that has one of these is a sentence, not a heading
ACTIONS = re.compile(r"\b(?:chu tri|tham muu|thuc hien|trien khai|can doi|bo tri|chiu trach nhiem|co trach nhiem|"
                     r"phoi hop|bao cao|theo doi|can cu|chu dong|la co quan|huong dan|kiem tra|de xuat|ra soat)\b")


def looks_like_bodies(text: str) -> bool:
    """Whether a heading or a prefix before ":" is a list of bodies and nothing else."""
    stripped = text.strip().rstrip(":").strip()
    if not stripped or len(stripped) > 400 or ":" in stripped:
        return False
    if stripped.isupper() and not folded(stripped).startswith(("so ", "ban ", "uy ban", "ubnd")):
        return False  # a section heading in capitals ("TỔ CHỨC THỰC HIỆN")
    if stripped.endswith(".") or ACTIONS.search(folded(stripped)):
        return False
    pieces = split_list(stripped)
    return bool(pieces) and all(_starts_like_body(p) and len(p.split()) <= 16 for p in pieces)
