"""One log format: every logger of the process through ``service/logs.py``, JSON lines or text."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from service import logs


@pytest.fixture(autouse=True)
def _restore() -> object:
    yield None
    logs.configure("json")


def test_json_lines_carry_time_level_logger_and_fields(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("json")
    logging.getLogger("workflow.http").info("GET /x 200", extra=logs.fields(request_id="r1", client="10.0.0.9",
                                                                             actor="key:admin", status=200))
    logging.getLogger("uvicorn.error").error("port busy")
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    first, second = lines
    assert dt.datetime.fromisoformat(first["time"].replace("Z", "+00:00")).tzinfo is not None
    assert (first["level"], first["logger"], first["message"]) == ("INFO", "workflow.http", "GET /x 200")
    assert (first["request_id"], first["client"], first["actor"], first["status"]) == ("r1", "10.0.0.9",
                                                                                       "key:admin", 200)
    assert (second["level"], second["logger"]) == ("ERROR", "uvicorn.error")


def test_text_lines_by_the_setting(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("text")
    logs.configure("text")  # idempotent: one line per record, not two
    logging.getLogger("workflow.scheduler").warning("late", extra=logs.fields(timers=3))
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith("WARNING workflow.scheduler: late timers=3")
