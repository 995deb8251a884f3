"""The plan importer on a long plan: a document of about 66 pages (the seed's text and another province's, twelve
times over, and twenty appendix tables), read by docx2python alone (the floor: unzipping and parsing Word's XML)
and by the whole importer (reading, the tree, bodies, the deadline grammar). Reported as seconds and as the ratio
importer / docx2python; the issue's bound is 5 s for a 50-page plan."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from docx import Document
from docx2python import docx2python

from definitions import load_data
from definitions.agencies import Registry as RegistryFile
from definitions.plan_import import import_document, registry_from_files
from definitions.shipped_files import REGISTRY, shipped
from tests.plan_import.make_docx import APPENDIX_ROWS, OTHER_PROVINCE, SEED, appendix, write_prose

COLUMNS = ("STT", "Nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp", "Thời gian hoàn thành", "Sản phẩm")


def long_plan(path: Path, copies: int = 12, tables: int = 20) -> int:
    """Write the long plan; its word count."""
    document = Document()
    seed = SEED.read_text(encoding="utf-8").partition("Nơi nhận:")[0]
    write_prose(document, seed.splitlines())
    for _ in range(copies - 1):
        for line in (seed + OTHER_PROVINCE).splitlines():
            if line.strip():
                document.add_paragraph(line.strip().replace("**", ""))
    for n in range(tables):
        appendix(document, f"PHỤ LỤC {n + 1}", COLUMNS, APPENDIX_ROWS)
    document.save(str(path))
    return sum(len(p.text.split()) for p in document.paragraphs)


def run(repeats: int = 5) -> dict[str, Any]:
    registry = registry_from_files(load_data(shipped(*REGISTRY), RegistryFile))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.docx"
        words = long_plan(path)
        floor, ours = [], []
        duties = 0
        for _ in range(repeats):
            start = time.perf_counter()
            with docx2python(path) as content:
                _ = content.body
            floor.append(time.perf_counter() - start)
            start = time.perf_counter()
            duties = len(import_document(path, registry)["duties"])
            ours.append(time.perf_counter() - start)
    return {"pages": round(words / 500), "duties": duties, "docx2python_s": floor, "import_s": ours,
            "ratio": [o / f for o, f in zip(ours, floor, strict=True)],
            "median_import_s": statistics.median(ours)}
