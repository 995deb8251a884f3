"""Files attached to an act (a signed document: PDF, DOCX or XLSX), checked by their content, not their name:
a PDF begins with ``%PDF-``; a DOCX or XLSX is a ZIP holding ``word/document.xml`` or ``xl/workbook.xml``. At most
``WORKFLOW_MAX_FILE_MB`` (10) each. Stored content-addressed by ``store.files``; what the history records of each
is its SHA-256, name, size and type."""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from pathlib import Path

from typing_extensions import TypedDict

from store.files import FileStore
from workflow.errors import PayloadInvalid

from ..context import App

TYPES = {"pdf": "application/pdf",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


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


class Attachments:
    def __init__(self, app: App) -> None:
        self.app = app

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

    def accept(self, name: str, data: bytes, field: str = "file") -> Attached:
        """Check a file and store it; refused (nothing stored) if too large, empty or not a PDF, DOCX or XLSX."""
        if not data:
            raise PayloadInvalid([(field, "the file is empty")])
        if len(data) > self.limit:
            raise PayloadInvalid([(field, f"larger than {self.app.settings.max_file_mb:g} MB")])
        kind = kind_of(data)
        if kind is None:
            raise PayloadInvalid([(field, "not a PDF, DOCX or XLSX file (by its content)")])
        return {"sha256": self.files.put(data), "name": clean_name(name), "size": len(data), "type": kind}
