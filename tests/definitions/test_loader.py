"""The loader on valid input, and the rules the broken corpus does not show one file at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from definitions import DefinitionInvalid, load_file, load_text
from definitions._yaml import MAX_BYTES, MAX_DEPTH
from workflow import GUARDS

SHIPPED = sorted((Path(__file__).parents[2] / "definitions" / "shipped").glob("*.yaml"))

MINIMAL = """\
id: demo
version: 1
title: {vi: "Thử nghiệm", en: "Demo"}
seed_section: "II.4b"
states:
  - {id: open, label: "Mở", kind: initial}
  - {id: done, label: "Xong", kind: final}
transitions:
  - {event: finish, label: "Xong", source: open, dest: done, roles: [admin]}
"""


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_definition_is_valid(path: Path) -> None:
    definition = load_file(path, GUARDS)
    assert definition.seed_section.startswith(("I", "II", "III"))


def test_vietnamese_titles_are_kept_exactly() -> None:
    definition = load_text(MINIMAL, "demo.yaml")
    assert definition.title.vi == "Thử nghiệm"
    assert definition.state("open").label == "Mở"


def test_content_hash_ignores_formatting_but_not_content() -> None:
    reformatted = MINIMAL.replace('{vi: "Thử nghiệm", en: "Demo"}', '\n  vi: "Thử nghiệm"\n  en: "Demo"')
    assert load_text(reformatted, "a.yaml").content_hash == load_text(MINIMAL, "b.yaml").content_hash
    changed = MINIMAL.replace('"Xong", source', '"Hoàn thành", source')
    assert load_text(changed, "c.yaml").content_hash != load_text(MINIMAL, "b.yaml").content_hash


def test_quoted_yes_is_a_word_and_true_is_a_boolean() -> None:
    text = MINIMAL.replace("{id: done,", '{id: "yes",').replace("dest: done", 'dest: "yes"')
    assert load_text(text, "q.yaml").final_states == {"yes"}


def test_star_source_means_every_non_final_state() -> None:
    text = MINIMAL + '  - {event: cancel, label: "Hủy", source: "*", dest: done, roles: [admin]}\n'
    definition = load_text(text, "star.yaml")
    assert definition.events_from("open") == ("finish", "cancel")
    assert definition.events_from("done") == ()


def test_billion_laughs_is_refused_before_expansion() -> None:
    bomb = 'a: &a ["lol","lol"]\nb: &b [*a,*a]\nc: &c [*b,*b]\n'
    with pytest.raises(DefinitionInvalid, match="anchors and aliases"):
        load_text(bomb, "bomb.yaml")


def test_deep_nesting_is_refused() -> None:
    deep = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    with pytest.raises(DefinitionInvalid, match=f"nesting deeper than {MAX_DEPTH}"):
        load_text(deep, "deep.yaml")


def test_oversized_file_is_refused() -> None:
    with pytest.raises(DefinitionInvalid, match="larger than"):
        load_text("#" * (MAX_BYTES + 1), "big.yaml")


def test_non_utf8_file_is_refused_with_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(MINIMAL.encode("utf-8").replace("Mở".encode(), b"M\xf6"))
    with pytest.raises(DefinitionInvalid, match=r"not UTF-8 \(byte \d+\)"):
        load_file(path)


def test_missing_file_is_reported_not_raised_raw(tmp_path: Path) -> None:
    with pytest.raises(DefinitionInvalid, match="cannot read"):
        load_file(tmp_path / "nope.yaml")


def test_guards_are_checked_only_against_the_registry_given() -> None:
    text = MINIMAL.replace("roles: [admin]}", "roles: [admin], guard: some_guard}")
    assert load_text(text, "g.yaml").transitions[0].guard == "some_guard"  # no registry: not checked
    with pytest.raises(DefinitionInvalid, match="unknown guard 'some_guard'"):
        load_text(text, "g.yaml", known_guards=GUARDS)


def test_a_control_character_is_a_located_problem() -> None:
    with pytest.raises(DefinitionInvalid, match=r"x.yaml:2:5: character U\+001C is not allowed in YAML"):
        load_text("id: demo\nab: \x1c\n", "x.yaml")


def test_every_choice_of_every_shipped_definition_has_a_label() -> None:
    """People read choices in words ("Nhất trí"), never their ids ("agree"): a shipped enum field labels each value."""
    from definitions import definition_files
    from definitions.model import FieldType
    from tests.conftest import SHIPPED

    unlabelled = [f"{d.id} v{d.version} {t.event}.{name}={value}"
                  for d in map(load_file, definition_files([SHIPPED])) for t in d.transitions
                  for name, spec in t.payload.items() if spec.type is FieldType.ENUM
                  for value in spec.values or () if value not in (spec.value_labels or {})]
    assert unlabelled == []
