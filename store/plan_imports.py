"""Plan imports (migration 0012), mixed into ``SqlStore``: one row per Word document read, its proposal, the
reviewer's decisions and where it stands. Each change names the version it read: a second reviewer's stale page
cannot overwrite the first one's decisions (``version`` checked in the UPDATE's WHERE)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from definitions import NotFound

from .connections import Connections
from .tables import plan_imports


@dataclass(frozen=True)
class PlanImportRow:
    id: int
    sha256: str
    file_name: str
    proposal: dict[str, Any]
    decisions: dict[str, Any]
    settings: dict[str, Any]
    status: str
    version: int
    imported_by: str
    imported_at: dt.datetime
    submitted_by: str | None
    submitted_at: dt.datetime | None
    approved_by: str | None
    approved_at: dt.datetime | None
    loaded_at: dt.datetime | None
    plan_id: str | None


JSON_COLUMNS = ("proposal", "decisions", "settings")


def _row(r: Any) -> PlanImportRow:
    values = dict(r._mapping)
    for column in JSON_COLUMNS:
        values[column] = json.loads(values[column])
    return PlanImportRow(**values)


class PlanImportQueries(Connections):
    def add_plan_import(self, sha256: str, file_name: str, proposal: dict[str, Any], settings: dict[str, Any],
                        actor_id: str, now: dt.datetime) -> int:
        with self._begin() as c:
            result = c.execute(insert(plan_imports).values(
                sha256=sha256, file_name=file_name[:200], proposal=json.dumps(proposal, ensure_ascii=False),
                decisions="{}", settings=json.dumps(settings, ensure_ascii=False), status="review", version=1,
                imported_by=actor_id[:200], imported_at=now))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def plan_import(self, import_id: int) -> PlanImportRow:
        with self._read() as c:
            found = c.execute(select(plan_imports).where(plan_imports.c.id == import_id)).first()
        if found is None:
            raise NotFound("plan_import", import_id)
        return _row(found)

    def plan_import_list(self, limit: int = 100) -> list[PlanImportRow]:
        with self._read() as c:
            return [_row(r) for r in c.execute(select(plan_imports).order_by(plan_imports.c.id.desc()).limit(limit))]

    def change_plan_import(self, import_id: int, version: int, **values: Any) -> bool:
        """Write ``values`` if the row is still at ``version`` (then at ``version + 1``); False if it moved on."""
        for column in JSON_COLUMNS:
            if column in values:
                values[column] = json.dumps(values[column], ensure_ascii=False)
        with self._begin() as c:
            done = c.execute(update(plan_imports).where(plan_imports.c.id == import_id,
                                                        plan_imports.c.version == version)
                             .values(version=version + 1, **values))
            return done.rowcount == 1
