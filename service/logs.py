"""One log format for the whole process: the ``workflow`` loggers (requests, authentication, the scheduler),
uvicorn's and APScheduler's all go through the standard ``logging`` module to standard error, as JSON lines
(``WORKFLOW_LOG_FORMAT=json``, the default: time in ISO 8601 UTC, level, logger, message and the record's fields,
e.g. a request's id, client address, actor, method, path, status and milliseconds) or as text lines
(``WORKFLOW_LOG_FORMAT=text``). API keys are never among the fields."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Any, Literal

LogFormat = Literal["json", "text"]
LOGGERS = ("workflow", "uvicorn", "uvicorn.error", "apscheduler")


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a record whose fields should appear in the line: ``log.info("...", extra=fields(a=1))``."""
    return {"fields": values}


def _time(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": _time(record), "level": record.levelname, "logger": record.name,
                                "message": record.getMessage(), **getattr(record, "fields", {})}
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in getattr(record, "fields", {}).items())
        text = f"{_time(record)} {record.levelname:<7} {record.name}: {record.getMessage()}" + (f" {extra}" if extra
                                                                                                else "")
        return text + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record is logged (tests replace it), not when made."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def configure(fmt: LogFormat = "json") -> None:
    """Route every logger of the process to one handler in one format (idempotent)."""
    handler = _Stderr()
    handler.setFormatter(JsonLines() if fmt == "json" else TextLines())
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, _Stderr)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        # ours propagate too (to nothing in serve, where the root logger has no handler; to pytest's capture in
        # the tests); the libraries' do not, so a root handler someone adds does not print them twice
        logger.propagate = name == "workflow"
        if logger.level == logging.NOTSET or name == "workflow":
            logger.setLevel(logging.INFO if name in ("workflow", "uvicorn.error") else logging.WARNING)


def records(lines: Iterable[str], logger: str = "workflow.serve") -> Iterator[dict[str, Any]]:
    """The JSON records of ``logger`` among log lines (other lines skipped), as they come: how a program follows
    ``workflow serve`` (``WORKFLOW_LOG_FORMAT=json``), e.g. waiting for its ``ready`` record and ``url``."""
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("logger") == logger:
            yield record
