"""The dashboard's words in Vietnamese (the default) and English, kept in ``words.yaml`` beside this module (data,
not code: adding an act's words touches no Python file). Keys are English; a missing one is a bug
(``test_every_word_has_both_languages``)."""

from __future__ import annotations

import re
from pathlib import Path

from definitions._yaml import parse

LANGUAGES = ("vi", "en")
WORDS_FILE = Path(__file__).with_name("words.yaml")


def _read_words() -> dict[str, tuple[str, str]]:
    """``words.yaml``, read strictly (a duplicate key, a missing language or a third one is refused at start-up)."""
    document = parse(WORDS_FILE.read_text(encoding="utf-8"), str(WORDS_FILE))
    read: dict[str, tuple[str, str]] = {}
    for key, pair in document.data.items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) and p for p in pair)):
            line = document.locate((key,)).line
            raise ValueError(f"{WORDS_FILE}:{line}: {key}: give [Vietnamese, English], both not empty")
        read[key] = (pair[0], pair[1])
    return read


WORDS: dict[str, tuple[str, str]] = _read_words()


def words(language: str) -> dict[str, str]:
    index = LANGUAGES.index(language) if language in LANGUAGES else 0
    return {key: pair[index] for key, pair in WORDS.items()}


#: The engine's own reasons (workflow/engine.py, deadlines.py, fanout.py) are stored in Vietnamese in history; on
#: English pages a system actor's reason is shown by these patterns (a person's reason is shown as they wrote it).
SYSTEM_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Quá hạn, báo cáo Ban Chỉ đạo$"), "Overdue: reported to the Steering Committee"),
    (re.compile(r"^Hết thời hạn: 24 giờ 00 ngày (\d\d/\d\d/\d{4})$"), "Deadline passed: 24:00 on {0}"),
    (re.compile(r"^Hết thời hạn: (\d\d) giờ (\d\d) ngày (\d\d/\d\d/\d{4})$"), "Deadline passed: {0}:{1} on {2}"),
    (re.compile(r"^Mọi cơ quan đã trả lời$"), "Every agency has answered"),
    (re.compile(r"^Đã hủy lấy ý kiến$"), "Consultation cancelled"),
    (re.compile(r"^Hết thời hạn lấy ý kiến, cơ quan chưa trả lời$"),
     "Consultation period over; the agency has not answered"),
]


def system_reason(reason: str | None, actor_id: str, lang: str) -> str | None:
    """A history row's reason in the page's language: the engine's own in English on English pages."""
    if reason is None or lang != "en" or not actor_id.startswith("system:"):
        return reason
    for pattern, english in SYSTEM_REASONS:
        found = pattern.match(reason)
        if found:
            return english.format(*found.groups())
    return reason
