"""Every file in ``broken/`` must be refused with exactly the problems its ``# expect:`` lines name."""

from __future__ import annotations

from pathlib import Path

import pytest

from definitions import DefinitionInvalid, load_file
from workflow import GUARDS

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))


def expected(path: Path) -> list[str]:
    return [line.removeprefix("# expect: ") for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("# expect: ")]


def test_the_corpus_is_large_enough() -> None:
    assert len(BROKEN) >= 25


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_definition_is_refused_with_its_exact_problems(path: Path) -> None:
    wanted = expected(path)
    assert wanted, f"{path.name} has no '# expect:' lines"
    with pytest.raises(DefinitionInvalid) as caught:
        load_file(path, GUARDS)
    got = [str(problem) for problem in caught.value.problems]
    assert got == [f"{path}:{line}" for line in wanted]
