"""Every page, as every role, in both languages: no raw identifier; in Vietnamese no English word of the pages'
catalogue, in English no definition label left in Vietnamese; no agency's code where its name belongs, no date
written the machine's way (YYYY-MM-DD), no "root" for who acted (issue 27's newcomer list).

The pages are crawled in Chromium from each role's landing page by following every link on the site, with the
session of an account of that role, and each kind of page is screenshotted (``test-artifacts/crawl/``). What is
read is the text the browser shows (``innerText``: not markup, attribute values or URLs; what a page marks
``data-raw``, a login name or a key a person types as it is, is left out). Forbidden: every identifier the
definitions hold (definition, state, event, field and choice ids), the ids the pages map to words (roles,
categories, timer kinds, agency kinds and statuses), every registered agency's code, and the English words of the
pages' own message catalogue (``service/web/words.yaml``) that are not also Vietnamese text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Browser

from definitions import Role
from definitions.agencies import AgencyKind
from definitions.labels import labels_of
from service.web.i18n import WORDS
from tests.web.conftest import ARTIFACTS, Site, log_in
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
    for code in site.app.store.agency_names():  # a person reads an agency's name, never its code
        out.setdefault(code.lower(), "agency code")
    out["root"] = "the command line's user instead of who acted"
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


SHOWN = """() => {
    const hide = document.createElement("style");
    hide.textContent = "script, style, [data-raw] { display: none !important }";
    document.head.appendChild(hide);
    const text = document.body.innerText;
    hide.remove();
    return [text, Array.from(document.querySelectorAll("a[href]"), a => a.getAttribute("href"))];
}"""
SCREENSHOTS = ARTIFACTS.parent / "crawl"


def crawl(site: Site, browser: Browser, who: str, lang: str = "vi") -> Iterator[tuple[str, str]]:
    """(path, the text shown there) for every page reached from the landing page, in the language asked; one
    screenshot of each kind of page."""
    page = log_in(browser, site, who, then=None)
    page.context.add_cookies([{"name": "wf_lang", "value": lang, "url": site.url}])
    queue, seen, shot = [urlsplit(page.url).path or "/", "/", "/tasks", "/tasks?category=overdue"], set(), set()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        while queue and len(seen) < MAX_PAGES:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            response = page.goto(site.url + path)
            if response is None or not response.headers.get("content-type", "").startswith("text/html"):
                continue  # the downloads (docx, xlsx, csv) are checked by their own tests
            text, links = page.evaluate(SHOWN)
            kind = "-".join("N" if re.search(r"[\dA-Z]", part) else part
                            for part in urlsplit(path).path.strip("/").split("/")) or "overview"
            if kind not in shot:
                shot.add(kind)
                page.screenshot(path=str(SCREENSHOTS / f"{who}-{lang}-{kind}.png"), full_page=True)
            yield path, text
            for href in links:
                target = urlsplit(urljoin(path, href))
                if target.netloc or target.path.startswith(("/lang", "/logout", "/report.", "/audit/export",
                                                            "/audit/checkpoint", "/login", "/files/")):
                    continue
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("who", ROLES)
def test_no_raw_identifier_on_any_page_and_no_english_word_on_a_vietnamese_one(site: Site, browser: Browser,
                                                                              who: str, lang: str) -> None:
    words = forbidden(site, lang)
    assert len(words) > 40  # the list is real: ids of every definition (and the catalogue's English)
    labels = vietnamese_labels(site) if lang == "en" else set()
    assert lang == "vi" or len(labels) > 50
    leaks: dict[str, set[str]] = {}
    pages = 0
    for path, text in crawl(site, browser, who, lang):
        pages += 1
        for iso in re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text):  # people here write dd/mm/yyyy
            leaks.setdefault(f"{iso} (a date written YYYY-MM-DD)", set()).add(re.sub(r"\d+", "N", path))
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
