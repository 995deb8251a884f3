"""Every page, as every role, in both languages: no raw identifier; in Vietnamese no English word of the pages'
catalogue, in English no definition label left in Vietnamese.

The pages are crawled from each role's landing page by following every link on the site (as a browser would,
with the session of an account of that role). What is read is the text of the page (not its markup, attribute
values or URLs). Forbidden: every identifier the definitions hold (definition, state, event, field and choice ids),
the ids the pages map to words (roles, categories, timer kinds, agency kinds and statuses), and the English words
of the pages' own message catalogue (``service.web.i18n.WORDS``) that are not also Vietnamese text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from definitions import Role
from definitions.agencies import AgencyKind
from definitions.labels import labels_of
from service.web.i18n import WORDS
from tests.api.conftest import password_of
from tests.web.conftest import Site
from workflow.obligations import CATEGORIES
from workflow.timers import TimerKind

ROLES = ["admin", "committee", "officer", "auditor"]
TOKEN = r"[\w'-]+"  # a word, Vietnamese letters included (so "Thuận" is one word, not "Thu")
MAX_PAGES = 120  # per role: every kind of page many times over in this fixture
#: Words that are the same in both languages or are names, not English: abbreviations, units, the product's codes.
SHARED = {"csv", "xlsx", "docx", "api", "sso", "kh&cn", "email", "e-mail", "svg", "ubnd", "hđnd", "oda", "vi", "en",
          "json", "jsonl", "ok"}


class _Text(HTMLParser):
    """The text a person reads: data outside <style>, <script> and data-raw elements; links on the site."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self._skip = 0
        self._raw: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <style>, <script>, and what a page marks data-raw: a login name or a key a person types as it is
        if tag in ("style", "script") or "data-raw" in dict(attrs):
            self._raw.append(tag)
            self._skip += 1
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if self._raw and tag == self._raw[-1]:
            self._raw.pop()
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def identifiers(site: Site) -> dict[str, str]:
    """Every id the definitions hold and the pages map to words, and where it comes from."""
    out: dict[str, str] = {}
    for stored in site.app.store.list_definitions():
        d = stored.definition
        out[d.id] = f"definition id ({d.id})"
        for s in d.states:
            out.setdefault(s.id, f"state id of {d.id}")
        for t in d.transitions:
            out.setdefault(t.event, f"event id of {d.id}")
            for name, spec in t.payload.items():
                out.setdefault(name, f"field id of {d.id}.{t.event}")
                for value in spec.values or ():
                    out.setdefault(value, f"choice id of {d.id}.{t.event}.{name}")
    for kind, ids in (("role", [r.value for r in Role]), ("category", list(CATEGORIES)),
                      ("timer kind", [k.value for k in TimerKind]), ("agency kind", [k.value for k in AgencyKind]),
                      ("agency status", ["active", "merged", "retired"])):
        for ident in ids:
            out.setdefault(ident, kind)
    return out


def vietnamese_labels(site: Site) -> set[str]:
    """The definitions' labels of more than one word (states, events, fields, choices, obligations): in English
    pages each must be in English (a one-word label such as "Năm" could be part of a name)."""
    return {label for stored in site.app.store.list_definitions() for label in labels_of(stored.definition)
            if " " in label}


def forbidden(site: Site, lang: str = "vi") -> dict[str, str]:
    """Each forbidden word (lower case) and where it comes from (in English pages: the identifiers only)."""
    out = identifiers(site)
    vietnamese = {w.lower() for vi, _ in WORDS.values() for w in re.findall(TOKEN, vi)}
    english = {w.lower() for _, en in WORDS.values() for w in re.findall(TOKEN, en)}
    if lang == "en":  # English pages say English words (an id may be one: "submit"): the compound ids only
        return {w: why for w, why in out.items() if "_" in w and w not in english}
    for key, (_, en) in WORDS.items():
        for word in re.findall(TOKEN, en):
            if word.isascii() and word.lower() not in vietnamese:
                out.setdefault(word.lower(), f"English of the message {key!r}")
    for word in SHARED | vietnamese:
        out.pop(word, None)
    return {w: why for w, why in out.items() if len(w) > 2}


def crawl(site: Site, who: str, lang: str = "vi") -> Iterator[tuple[str, str]]:
    """(path, the text read there) for every page reached from the landing page, in the language asked."""
    with httpx.Client(base_url=site.url, timeout=30, follow_redirects=True, cookies={"wf_lang": lang}) as c:
        form = c.get("/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token is not None
        landed = c.post("/login", data={"csrf": token.group(1), "login": who, "password": password_of(who),
                                        "next": "/"})
        assert landed.status_code == 200, landed.text[:300]
        queue, seen = [urlsplit(str(landed.url)).path or "/", "/", "/tasks", "/tasks?category=overdue"], set()
        while queue and len(seen) < MAX_PAGES:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            r = c.get(path)
            if not r.headers.get("content-type", "").startswith("text/html"):
                continue  # the downloads (docx, xlsx, csv) are checked by their own tests
            parser = _Text()
            parser.feed(r.text)
            yield path, " ".join(parser.text)
            for href in parser.links:
                target = urlsplit(urljoin(path, href))
                if target.netloc or target.path.startswith(("/lang", "/logout", "/report.", "/audit/export",
                                                            "/audit/checkpoint", "/login")):
                    continue
                queue.append(target.path + (f"?{target.query}" if target.query else ""))


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("who", ROLES)
def test_no_raw_identifier_on_any_page_and_no_english_word_on_a_vietnamese_one(site: Site, who: str,
                                                                              lang: str) -> None:
    words = forbidden(site, lang)
    assert len(words) > 40  # the list is real: ids of every definition (and the catalogue's English)
    labels = vietnamese_labels(site) if lang == "en" else set()
    assert lang == "vi" or len(labels) > 50
    leaks: dict[str, set[str]] = {}
    pages = 0
    for path, text in crawl(site, who, lang):
        pages += 1
        for label in labels:
            if label in text:
                leaks.setdefault(f"{label} (a definition's label left in Vietnamese)", set()).add(
                    re.sub(r"\d+", "N", path))
        for token in re.findall(TOKEN, text):
            why = words.get(token.lower())
            if why is not None:
                leaks.setdefault(f"{token} ({why})", set()).add(re.sub(r"\d+", "N", path))
    assert pages >= 10
    assert not leaks, "\n".join(f"{leak} on {', '.join(sorted(paths)[:3])}" for leak, paths in sorted(leaks.items()))
