"""The definitions' English (definitions/locale/en.po): every label of every definition shipped has it, and the
English copy the pages show changes no label's meaning for machines (ids, hash of the definition as written)."""

from __future__ import annotations

from pathlib import Path

import pytest

from definitions import load_file
from definitions.labels import catalogue, labels_of, shown, word

ROOT = Path(__file__).resolve().parents[2] / "definitions"
FILES = sorted((ROOT / "shipped").glob("*.yaml")) + sorted((ROOT / "superseded").glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_label_of_every_definition_has_its_english(path: Path) -> None:
    labels = labels_of(load_file(path))
    assert labels
    missing = sorted({label for label in labels if label not in catalogue()})
    assert not missing, f"{path.name}: no English in definitions/locale/en.po for: {missing}"


def test_the_english_copy_translates_every_label_and_keeps_every_id_and_the_written_hash() -> None:
    written = load_file(ROOT / "shipped" / "catalogue_feedback.yaml")
    before = written.content_hash
    english = shown(written, "en")
    assert shown(written, "vi") is written
    assert shown(written, "en") is english  # built once
    assert [s.id for s in english.states] == [s.id for s in written.states]
    assert [s.label for s in english.states] == [word(s.label, "en") for s in written.states]
    assert english.state("received").label == "Draft received"
    answer = english.transition_from("received", "answer")
    assert answer is not None
    assert answer.label == "Send the written answer"
    assert answer.payload["position"].value_label("agree_with_changes") == (
        "Agree, with proposed changes and additions")
    assert written.content_hash == before  # the definition as written is untouched
    assert not set(labels_of(english)) & set(labels_of(written))  # no Vietnamese label left


def test_a_label_without_english_stays_vietnamese() -> None:
    assert word("Một nhãn chưa dịch", "en") == "Một nhãn chưa dịch"
    assert word("Đã hủy", "en") == "Cancelled"
    assert word("Đã hủy", "vi") == "Đã hủy"
