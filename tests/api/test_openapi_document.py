"""The API's document (`/openapi.json`) is `docs/openapi.json`, byte for byte: a change to a route, a body or an
answer (or to the framework's rendering of them) shows as a diff of that file, made on purpose. Issue 30's
rewrite of the hot routes (async handlers, the writer thread) left it unchanged.

To accept a deliberate change: `python -m tests.api.test_openapi_document > docs/openapi.json`."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from service.asgi import create_app
from service.context import App
from service.settings import Settings

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def served(folder: str) -> str:
    api = create_app(App(Settings(database_url=f"sqlite:///{folder}/openapi.db")))
    return json.dumps(api.openapi(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_served_document_is_the_published_one(tmp_path: Path) -> None:
    now = served(str(tmp_path))
    if now != DOCUMENT.read_text(encoding="utf-8"):
        (Path("test-artifacts")).mkdir(exist_ok=True)
        Path("test-artifacts/openapi.json").write_text(now, encoding="utf-8")
        raise AssertionError("/openapi.json differs from docs/openapi.json (the served one is in "
                             "test-artifacts/openapi.json: diff them; accept a deliberate change as the module says)")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        sys.stdout.write(served(tmp))
