"""The refusals' gettext catalogue (service/web/locale/vi/LC_MESSAGES/refusals.po): every message the code says is
there, translated, with the same placeholders; and a translator's edit to the .po is what the pages say."""

from __future__ import annotations

import ast
import inspect
import re
import shutil
from pathlib import Path

import pytest

from service.web import refusals
from workflow.errors import PayloadInvalid


def messages() -> list[str]:
    """Every English message of the module: the field problems' and each words_for(...) call's first argument."""
    said = [node.args[0].value for node in ast.walk(ast.parse(inspect.getsource(refusals)))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "words_for"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)]
    return ([english for _, english in refusals.FIELD_PROBLEMS] + [english for _, english in refusals.REFUSALS]
            + said + ["suspended", "running"])


def test_every_message_is_translated_with_its_placeholders() -> None:
    found = messages()
    assert len(found) >= 20
    catalogue = refusals.catalogue()
    missing = [m for m in found if m not in catalogue]
    assert missing == []
    for message in found:
        assert sorted(re.findall(r"\{\w*\}", message)) == sorted(re.findall(r"\{\w*\}", catalogue[message])), message
        assert catalogue[message] != message  # Vietnamese, not the English copied


def test_a_translators_edit_to_the_po_is_what_the_page_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edited = tmp_path / "refusals.po"
    shutil.copy(str(refusals.CATALOGUE), edited)
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text.replace('msgstr "Bắt buộc nhập."', 'msgstr "Ô này phải điền."'), encoding="utf-8")
    monkeypatch.setattr(refusals, "CATALOGUE", edited)
    refusals.catalogue.cache_clear()
    try:
        _, fields = refusals.said(PayloadInvalid([("document", "required")]), "vi", {})
        assert fields == {"document": "Ô này phải điền."}
        _, fields = refusals.said(PayloadInvalid([("document", "required")]), "en", {})
        assert fields == {"document": "Required."}
    finally:
        refusals.catalogue.cache_clear()
