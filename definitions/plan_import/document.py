"""A Word document as the importer reads it: paragraphs with their list markers, and tables as rows of cells.

docx2python is used because it keeps Word's automatic numbering ("I)", "1)", "a)", "--"), which python-docx
drops; markers a secretary typed by hand ("1.", "a)", "đ)", "-", "+") are read from the text. Paragraphs are
numbered in document order, 1-based, counting every non-empty paragraph outside tables and every table row as
one: that number is the ``source.paragraph`` the review page points to."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from docx2python import docx2python

from definitions.errors import WorkflowError


class DocumentUnreadable(WorkflowError):
    """A plan's Word document that cannot be read: not a .docx (a .doc, a PDF), damaged, or without text."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: không đọc được văn bản Word (.docx): {reason}")

# a marker Word rendered (docx2python writes it, then a tab) or one typed; the roman numerals before letters
_WORD_MARKER = re.compile(r"^(\t*)([^\t\s]{1,10})\t")
_TYPED_MARKER = re.compile(
    r"^\s*((?:[IVXL]+[.)])|(?:\d{1,2}(?:\.\d{1,2}){0,3}[.)]?)(?=\s)|(?:\(?[a-zđ][.)])|(?:\(\d{1,2}\))|[-–—+•*·▪◦●○])\s*")


@dataclass(frozen=True)
class Block:
    index: int  # paragraph number in the document (see module docstring)
    text: str  # without its marker
    marker: str | None = None  # as printed: "II", "4", "a", "-", "+"
    marker_kind: str | None = None  # roman, number, letter, bullet, plus, paren
    depth: int = 0  # for "1.2.3": how many numbers
    table: int | None = None  # 1-based table number, for rows
    row: int | None = None  # 1-based row number in its table
    cells: tuple[str, ...] = ()


def classify(marker: str) -> tuple[str, str, int] | None:
    """(kind, label, depth) of a list marker, or None if it is not one."""
    m = marker.strip()
    if m in ("-", "–", "—", "--", "−"):
        return "bullet", "-", 0
    if m in ("+",):
        return "plus", "+", 0
    if m in ("•", "*", "·", "▪", "◦", "●", "○", "o", "§", "", ""):
        return "dot", "•", 0
    if re.fullmatch(r"[IVXL]+[.)]?", m):
        return "roman", m.rstrip(".)"), 0
    if re.fullmatch(r"\d{1,2}(?:\.\d{1,2}){0,3}[.)]?", m):
        label = m.rstrip(".)")
        return "number", label, label.count(".")
    if re.fullmatch(r"\(\d{1,2}\)", m):
        return "paren", m.strip("()"), 0
    if re.fullmatch(r"\(?[a-zđ][.)]", m):
        return "letter", m.strip("().").rstrip(")"), 0
    return None


def _split_marker(text: str) -> tuple[str | None, str | None, int, str]:
    if m := _WORD_MARKER.match(text):
        found = classify(m.group(2))
        if found:
            kind, label, depth = found
            return kind, label, depth, text[m.end():].strip()
    if m := _TYPED_MARKER.match(text):
        found = classify(m.group(1))
        if found:
            kind, label, depth = found
            rest = text[m.end():].strip()
            if rest:
                return kind, label, depth, rest
    return None, None, 0, text.strip()


def _is_table(element: list[list[list[str]]]) -> bool:
    return len(element) > 1 or any(len(row) > 1 for row in element)


def _body(source: str | Path | bytes, name: str) -> list[list[list[list[str]]]]:
    data = io.BytesIO(source) if isinstance(source, bytes) else source
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise DocumentUnreadable(name, "không có tệp này")
    try:
        with docx2python(data) as content:
            return list(content.body)
    except zipfile.BadZipFile:
        raise DocumentUnreadable(name, "không phải tệp .docx (tệp .doc hoặc PDF cần lưu lại thành .docx)") from None
    except Exception as err:  # lxml's XMLSyntaxError, KeyError, ...: whatever a damaged file raises
        raise DocumentUnreadable(name, f"tệp .docx hỏng ({type(err).__name__})") from None


def _rows(element: list[list[list[str]]], index: int, table: int) -> list[Block]:
    out = []
    for r, row in enumerate(element, start=1):
        cells = tuple(" ".join(p.strip() for p in cell if p.strip()) for cell in row)
        if any(cells):
            index += 1
            out.append(Block(index, " | ".join(c for c in cells if c), table=table, row=r, cells=cells))
    return out


def read(source: str | Path | bytes) -> list[Block]:
    """Every paragraph and table row of a .docx, in order."""
    name = "tệp tải lên" if isinstance(source, bytes) else str(source)
    blocks: list[Block] = []
    tables = 0
    for element in _body(source, name):
        if _is_table(element):
            tables += 1
            blocks += _rows(element, len(blocks), tables)
            continue
        for paragraph in (p for row in element for cell in row for p in cell if p.strip()):
            kind, label, depth, rest = _split_marker(paragraph.replace("\n", " "))
            blocks.append(Block(len(blocks) + 1, re.sub(r"[ \t]+", " ", rest), label, kind, depth))
    if not blocks:
        raise DocumentUnreadable(name, "văn bản không có nội dung")
    return blocks
