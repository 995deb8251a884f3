"""What only PostgreSQL has to show: history is append-only there too."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import ADMIN
from tests.pg import PgServer
from workflow import Engine


@pytest.fixture
def db_url(pg_server: PgServer) -> str:
    return pg_server.new_database()


def test_history_refuses_update_delete_and_truncate(engine: Engine, db_url: str) -> None:
    engine.start("agency_feedback", "k", "SYT", ADMIN)
    conninfo = db_url.replace("postgresql+psycopg://", "postgresql://")
    for statement in ("UPDATE history SET reason = 'x'", "DELETE FROM history", "TRUNCATE history"):
        with psycopg.connect(conninfo, autocommit=True) as c, pytest.raises(psycopg.errors.RaiseException,
                                                                          match="history is append-only"):
            c.execute(statement)
    with psycopg.connect(conninfo) as c:
        assert c.execute("SELECT count(*) FROM history").fetchone() == (1,)
