"""Files attached to an act (a signed document: PDF, DOCX or XLSX), checked by their content, not their name:
a PDF begins with ``%PDF-``; a DOCX or XLSX is a ZIP holding ``word/document.xml`` or ``xl/workbook.xml``. At most
``WORKFLOW_MAX_FILE_MB`` (10) each. Stored content-addressed by ``store.files``; what the history records of each
is its SHA-256, name, size and type."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import io
import shutil
import threading
import unicodedata
import zipfile
from pathlib import Path

from typing_extensions import TypedDict

from definitions import Role, WorkflowError
from store.files import FileStore
from workflow import Actor
from workflow.errors import PayloadInvalid

from .access import require
from .ports import Services

TYPES = {"pdf": "application/pdf",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
MB = 1024 * 1024


class Attached(TypedDict):
    sha256: str
    name: str
    size: int
    type: str  # pdf, docx, xlsx


def kind_of(data: bytes) -> str | None:
    """pdf, docx or xlsx from the content itself, or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return None
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    return None


def clean_name(name: str) -> str:
    """The file's own name as people gave it, without a folder or control characters (at most 200 characters)."""
    base = Path(name.replace("\\", "/")).name
    base = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C")
    return base[:200] or "van-ban"


def uploader_of(actor: Actor) -> str:
    """Whose quota an upload counts against: the account acting (directly or through a key it owns), else the key."""
    return _account_part(actor.id)


def _account_part(actor_id: str) -> str:
    acting = actor_id.split("|", 1)[-1]  # "key:x|account:1:Name" → "account:1:Name"
    parts = acting.split(":")
    return ":".join(parts[:2]) if len(parts) >= 2 else acting


class FilesFull(WorkflowError):
    """No room for the file: the attached files' budget (``WORKFLOW_FILES_BUDGET_MB``) is spent, or the disk they are
    on is nearly full (``WORKFLOW_FILES_RESERVE_MB`` kept free for the database beside them). 503: try later."""


class QuotaExceeded(WorkflowError):
    """An account's files uploaded but never attached to an act are over ``WORKFLOW_UPLOAD_QUOTA_MB``."""


class Attachments:
    def __init__(self, app: Services) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._stored_bytes: int | None = None  # the files folder's size, counted once, then kept up to date

    @property
    def files(self) -> FileStore:
        return self.app.files

    def download_name(self, sha256: str, kind: str) -> str:
        """The name a file is downloaded under: the one recorded with the act that attached it (never one a link
        supplies), its extension the one its content is (a PDF is never served as .html)."""
        name = clean_name(self.app.store.file_name(sha256) or "van-ban")
        return f"{Path(name).stem or 'van-ban'}.{kind}"

    @property
    def limit(self) -> int:
        return int(self.app.settings.max_file_mb * 1024 * 1024)

    def stored(self, sha256: str, name: str, field: str = "attachments") -> Attached:
        """A file uploaded before (``POST /api/v1/files``), named for this act: its size and type read again from
        what is stored, so a caller cannot misstate them."""
        try:
            path = self.files.path(sha256)
        except ValueError:
            raise PayloadInvalid([(field, f"{sha256[:80]!r} is not a SHA-256 in hex")]) from None
        if not path.is_file():
            raise PayloadInvalid([(field, f"no file {sha256[:12]}… was uploaded (POST /api/v1/files first)")])
        data = path.read_bytes()
        kind = kind_of(data)
        if kind is None or hashlib.sha256(data).hexdigest() != sha256:  # the bytes just read, not a second read
            raise PayloadInvalid([(field, f"the stored file {sha256[:12]}… is not as uploaded")])
        return {"sha256": sha256, "name": clean_name(name), "size": len(data), "type": kind}

    def accept(self, name: str, data: bytes, field: str = "file", uploader: str | None = None) -> Attached:
        """Check a file and store it; refused (nothing stored) if too large, empty or not a PDF, DOCX or XLSX, if
        ``uploader``'s files never attached are over its quota (``QuotaExceeded``), or if there is no room
        (``FilesFull``). Recorded as ``uploader``'s upload, so that it is removed if never attached."""
        if not data:
            raise PayloadInvalid([(field, "the file is empty")])
        if len(data) > self.limit:
            raise PayloadInvalid([(field, f"larger than {self.app.settings.max_file_mb:g} MB")])
        kind = kind_of(data)
        if kind is None:
            raise PayloadInvalid([(field, "not a PDF, DOCX or XLSX file (by its content)")])
        settings, store = self.app.settings, self.app.store
        if uploader is not None:
            quota = int(settings.upload_quota_mb * MB)
            if store.unattached_bytes(uploader) + len(data) > quota:
                raise QuotaExceeded(f"{uploader}: files uploaded and never attached to an act would pass the quota "
                                    f"of {settings.upload_quota_mb:g} MB; attach them, or wait until the unattached "
                                    f"ones are removed after {settings.unattached_file_days} days")
        self._room_for(len(data))
        try:
            sha256 = self.files.put(data)
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise FilesFull("the disk of the attached files is full") from None
            raise
        with self._lock:
            if self._stored_bytes is not None:
                self._stored_bytes += len(data)
        if uploader is not None:
            store.record_upload(sha256, uploader, len(data), self.app.clock.now())
        return {"sha256": sha256, "name": clean_name(name), "size": len(data), "type": kind}

    def _room_for(self, size: int) -> None:
        settings = self.app.settings
        folder = self.files.folder
        with self._lock:
            if self._stored_bytes is None:
                self._stored_bytes = sum(p.stat().st_size for p in folder.glob("*/*") if p.is_file()) \
                    if folder.is_dir() else 0
            stored = self._stored_bytes
        if stored + size > settings.files_budget_mb * MB:
            raise FilesFull(f"the attached files' budget of {settings.files_budget_mb:g} MB is spent")
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if shutil.disk_usage(existing).free - size < settings.files_reserve_mb * MB:
            raise FilesFull(f"the disk of the attached files has less than {settings.files_reserve_mb:g} MB free")

    def clean(self, actor: Actor | None = None) -> list[str]:
        """Remove the files uploaded more than ``WORKFLOW_UNATTACHED_FILE_DAYS`` ago that no act attached; what was
        removed, a line each (run by serve's pass once a day, and by an administrator: ``workflow files clean``)."""
        if actor is not None:
            require(actor, Role.ADMIN, what="removing files never attached")
        days = self.app.settings.unattached_file_days
        stale = self.app.store.stale_uploads(self.app.clock.now() - dt.timedelta(days=days))
        removed = 0
        for sha256 in stale:
            removed += self.files.remove(sha256)
        self.app.store.forget_uploads(stale)
        with self._lock:
            self._stored_bytes = None  # counted again at the next upload
        return [f"removed {len(stale)} file(s) uploaded over {days} days ago and never attached ({removed} bytes)"] \
            if stale else []


class Cleaning:
    """The clean-up of files never attached as work of serve's pass (``scheduler.ticker.Periodic``): once a day."""

    def __init__(self, attachments: Attachments) -> None:
        self.attachments = attachments
        self.last: dt.datetime | None = None

    def due_at(self) -> dt.datetime | None:
        now = self.attachments.app.clock.now()
        return now if self.last is None else self.last + dt.timedelta(days=1)

    def run_due(self) -> list[str]:
        now = self.attachments.app.clock.now()
        if self.last is not None and now < self.last + dt.timedelta(days=1):
            return []
        self.last = now
        return self.attachments.clean()
