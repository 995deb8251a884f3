"""The hot path's generated parameter builders and the fast datetime format give the driver exactly what
SQLAlchemy's own processors give (issue 30: faster, not different; rows written before must read the same)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from store.hot import HotStatement, bind_processor, sqlite_utc
from store.tables import UTCDateTime, history, instances, timers

SQLITE = sqlite.dialect()
ZONES = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=7)), dt.timezone(dt.timedelta(hours=-5, minutes=-30))])


@given(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=ZONES))
def test_the_fast_datetime_text_is_sqlalchemys(moment: dt.datetime) -> None:
    theirs = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert theirs is not None
    assert sqlite_utc(moment) == theirs(moment)


def test_a_naive_datetime_is_still_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        sqlite_utc(dt.datetime(2023, 1, 1))  # a naive datetime: the point
    assert bind_processor(UTCDateTime(), postgresql.dialect()) is not sqlite_utc  # PostgreSQL keeps its own


def _reference(statement: HotStatement, values: dict[str, Any]) -> Any:
    """The loop the builder replaced: literals merged, each value converted by its processor."""
    merged = {**statement.literals, **values}
    if statement.positional:
        return tuple(v if (v := merged[n]) is None or p is None else p(v) for n, p in statement.order)
    return {n: v if (v := merged[n]) is None or p is None else p(v) for n, p in statement.order}


@pytest.mark.parametrize("dialect", [SQLITE, postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_generated_builders_equal_the_loop(dialect: Any) -> None:
    now = dt.datetime(2023, 1, 2, 2, tzinfo=dt.UTC)
    cancel = update(timers).where(timers.c.instance_id == bindparam("b_id")).values(status="cancelled",
                                                                                     fired_at=bindparam("at"))
    cases = [
        (HotStatement(select(instances.c.state).where(instances.c.id == bindparam("b_id")), dialect), {"b_id": 7}),
        (HotStatement(cancel, dialect), {"b_id": 3, "at": now}),
        (HotStatement(cancel, dialect), {"b_id": 3, "at": None, "status": "fired"}),  # a literal overridden
        (HotStatement(insert(history).values({c.name: bindparam(c.name) for c in history.c}), dialect),
         {c.name: None for c in history.c} | {"instance_id": 1, "seq": 2, "at": now, "event": "answer"}),
    ]
    for statement, values in cases:
        assert statement._params(values) == _reference(statement, values)
