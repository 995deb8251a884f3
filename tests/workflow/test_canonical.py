"""The hash's canonical JSON (workflow/audit.canonical) is made by orjson where its bytes are the standard library's
and by the standard library elsewhere: the bytes (or the refusal) are the reference's for any value, generated
here, and for every history row of simulated plans (tests/plan/test_truth.py), so no stored hash changes."""

from __future__ import annotations

import enum
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.audit import canonical, reference_canonical

SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats() | st.floats(min_value=-1e-3, max_value=1e-3) | st.floats(min_value=1e14, max_value=1e18)
           | st.text() | st.text(alphabet=st.characters(max_codepoint=0x3f)))
KEYS = st.text() | st.text(alphabet=st.characters(max_codepoint=0x7f), max_size=3) | st.integers(-5, 5)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
                      | st.dictionaries(KEYS, inner, max_size=5), max_leaves=30)


def outcome(encode: Any, value: Any) -> tuple[str, Any]:
    try:
        return "bytes", encode(value)
    except Exception as err:  # the same refusal (type) for what the standard library cannot write
        return "refused", type(err).__name__


@settings(max_examples=3000, deadline=None)
@given(VALUES)
def test_canonical_is_the_reference_byte_for_byte(value: Any) -> None:
    assert outcome(canonical, value) == outcome(reference_canonical, value)


class Text(enum.StrEnum):
    A = "a"


class Number(enum.IntEnum):
    B = 2


def test_the_cases_where_orjson_alone_would_differ() -> None:
    for value in [{"a": 1e-05}, [-0.00001234], {"x": float("nan")}, [float("inf")], {1: 2, 10: 3}, 2**70,
                  Text.A, Number.B, {"k": (1, 2)}, "x\u2028\x7f\x00", {"a": 1e16, "b": -0.0, "c": 1e15}]:
        assert outcome(canonical, value) == outcome(reference_canonical, value), value
