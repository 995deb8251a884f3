"""Attached files (the signed documents an act comes with), stored content-addressed outside the database rows:
``<folder>/<first two hex digits>/<SHA-256>``. A file is written to a temporary name, fsynced, renamed into place
and its folder fsynced, so a power cut leaves it whole or absent; the same content is stored once. The history row
of the act records each file's SHA-256 (``@files``), so the row's hash covers the file's, and ``audit verify``
re-hashes every file a history row names (``missing`` and ``altered`` below).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

HEX = re.compile(r"^[0-9a-f]{64}$")


class FileStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, sha256: str) -> Path:
        if not HEX.match(sha256):
            raise ValueError(f"not a SHA-256 in hex: {sha256!r}")
        return self.folder / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` (once per content) and return its SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists() and self.digest(digest) == digest:
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        return digest

    def remove(self, sha256: str) -> int:
        """Remove a stored file (one no act attached); the bytes freed."""
        path = self.path(sha256)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def digest(self, sha256: str) -> str | None:
        """The SHA-256 of what is stored under that name now (None: nothing is)."""
        path = self.path(sha256)
        if not path.is_file():
            return None
        hashed = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hashed.update(block)
        return hashed.hexdigest()

    def problems(self, named: list[tuple[int, int, str]]) -> list[str]:
        """For each (instance, history row, SHA-256) a history row names: missing or altered files."""
        out = []
        for instance_id, seq, sha256 in named:
            found = self.digest(sha256) if HEX.match(sha256) else None
            if found is None:
                out.append(f"instance {instance_id} row {seq}: attached file {sha256[:12]}… is missing")
            elif found != sha256:
                out.append(f"instance {instance_id} row {seq}: attached file {sha256[:12]}… was altered")
        return out
