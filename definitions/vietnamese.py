"""Vietnamese order and accent-free matching, for what people read and search.

``sort_key`` orders text as a Vietnamese reader expects (the alphabet a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t
u ư v x y; tones after letters: none, huyền, hỏi, ngã, sắc, nặng; case last): "Đài" after "Dân", "Ủy ban" among the
U words, where code-point order puts both after "Z". ICU's Vietnamese collation does this too, but PyICU needs
libicu's headers and a C++ build on every machine (there is no wheel), so this small table is written by hand; it
agrees with ICU's ``vi`` on letters and tones, the differences being punctuation and digits (placed before letters).

``fold`` is what a search compares: lower case without accents or tone marks, "đ" as "d" ("Góp ý" and "gop y"
match). The store registers it as the SQL function ``wf_fold`` on SQLite and spells it with ``translate`` on
PostgreSQL (``store.database``).
"""

from __future__ import annotations

import unicodedata

ALPHABET = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
_RANK = {letter: 2 * i for i, letter in enumerate(ALPHABET)}
_RANK.update({foreign: _RANK[after] + 1 for foreign, after in (("f", "ê"), ("j", "i"), ("w", "v"), ("z", "y"))})
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}  # huyền, hỏi, ngã, sắc, nặng
_SHAPED = {("a", "\u0306"): "ă", ("a", "\u0302"): "â", ("e", "\u0302"): "ê", ("o", "\u0302"): "ô",
           ("o", "\u031b"): "ơ", ("u", "\u031b"): "ư"}


def _letter(ch: str) -> tuple[tuple[int, int], int]:
    """(primary, tone) of one character."""
    decomposed = unicodedata.normalize("NFD", ch.lower())
    base, marks = decomposed[0], decomposed[1:]
    letter, tone = base, 0
    for mark in marks:
        if mark in _TONES:
            tone = _TONES[mark]
        else:
            letter = _SHAPED.get((base, mark), letter)
    if letter in _RANK:  # f, j, w, z (in foreign names) where the Latin alphabet has them
        return (2, _RANK[letter]), tone
    if base.isdigit():
        return (1, ord(base)), tone
    if base.isalpha():
        return (3, ord(base)), tone
    return (0, ord(base)), tone


def sort_key(text: str) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...], tuple[bool, ...]]:
    """A key that orders Vietnamese text as a Vietnamese dictionary does: letters, then tones, then case."""
    letters = [_letter(ch) for ch in text]
    return (tuple(p for p, _ in letters), tuple(t for _, t in letters), tuple(ch.isupper() for ch in text))


def fold(text: str) -> str:
    """Lower case without accents or tone marks, "đ" as "d": what a search compares."""
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


# for SQL without a Python function (PostgreSQL's translate): every precomposed Vietnamese letter → its base
ACCENTED = "".join(sorted({c for c in (unicodedata.normalize("NFC", b + m + t)
                                       for b in "aeiouyAEIOUY" for m in ("", "\u0306", "\u0302", "\u031b")
                                       for t in ("", *_TONES)) if len(c) == 1 and c != fold(c)} | {"đ", "Đ"}))
PLAIN = "".join(fold(c) for c in ACCENTED)
