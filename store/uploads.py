"""Who uploaded which file when (migration 0011), mixed into ``SqlStore``: what an account has uploaded but never
attached to an act (its quota) and the uploads old enough to be removed (the clean-up). Whether a file is attached
is what the history says (a row's ``@files``), never this table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, insert, select

from .connections import Connections
from .tables import uploads


class UploadQueries(Connections):
    def record_upload(self, sha256: str, uploader: str, size: int, now: dt.datetime) -> None:
        with self._begin() as c:
            c.execute(insert(uploads).values(sha256=sha256, uploader=uploader[:200], size=size, uploaded_at=now))

    def file_name(self, sha256: str) -> str | None:  # SqlStore's: the name a history row gave the file, if any
        raise NotImplementedError

    def _attached(self, shas: set[str]) -> set[str]:
        """Which of these files a history row names (``file_name``: the store's one query for that)."""
        return {sha for sha in shas if self.file_name(sha) is not None}

    def unattached_bytes(self, uploader: str) -> int:
        """The bytes of the distinct files ``uploader`` uploaded that no act has attached (its quota's use)."""
        with self._read() as c:
            sizes: dict[str, int] = {str(sha): int(size) for sha, size in c.execute(
                select(uploads.c.sha256, func.max(uploads.c.size))
                .where(uploads.c.uploader == uploader[:200]).group_by(uploads.c.sha256))}
        attached = self._attached(set(sizes))
        return sum(size for sha, size in sizes.items() if sha not in attached)

    def stale_uploads(self, before: dt.datetime) -> list[str]:
        """Files whose every upload is older than ``before`` and that no act attached: to be removed."""
        with self._read() as c:
            old = {sha for (sha,) in c.execute(select(uploads.c.sha256).group_by(uploads.c.sha256)
                                               .having(func.max(uploads.c.uploaded_at) < before))}
        return sorted(old - self._attached(old))

    def forget_uploads(self, shas: list[str]) -> None:
        with self._begin() as c:
            for sha in shas:
                c.execute(delete(uploads).where(uploads.c.sha256 == sha))
