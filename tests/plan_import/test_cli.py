"""`workflow plan import`: the JSON shape the issue fixes, the text a person reads, and a clear refusal of a file that
is not a Word document (its name, why, exit 1). No database is needed: nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from service.cli import cli

from .make_docx import FIXTURE

DUTY_KEYS = {"ref", "text", "lead", "cooperating", "deadline", "recurring", "definition", "source", "flags"}


def test_json_has_the_fixed_shape() -> None:
    result = CliRunner().invoke(cli, ["plan", "import", str(FIXTURE), "--json"])
    assert result.exit_code == 0, result.output
    proposal = json.loads(result.output)
    assert set(proposal) == {"document", "duties"}
    assert {"number", "issued_on", "title"} <= set(proposal["document"])
    for duty in proposal["duties"]:
        assert set(duty) >= DUTY_KEYS, duty["ref"]
        assert duty["lead"] is None or {"as_written", "code"} <= set(duty["lead"])
        assert all({"as_written", "code"} <= set(c) for c in duty["cooperating"])
        assert duty["deadline"] is None or {"as_written", "kind"} <= set(duty["deadline"])
        assert {"paragraph", "text"} <= set(duty["source"])
    first = proposal["duties"][0]
    assert first["ref"] == "II.1.a"
    assert first["lead"]["bodies"][0] == {"as_written": "Sở Thông tin và Truyền thông", "code": "STTTT"}


def test_the_text_says_each_duty_and_its_flags_in_vietnamese() -> None:
    result = CliRunner().invoke(cli, ["plan", "import", str(FIXTURE)])
    assert result.exit_code == 0, result.output
    assert "III.1  Các Sở, ban, ngành cấp tỉnh" in result.output
    assert "Thời hạn: hằng năm, trước ngày 05/11 (\"trước ngày 05/11\"); lặp lại" in result.output
    assert "! \"Trước ngày X\": hạn là hết ngày liền trước X hay hết ngày X, cần chọn" in result.output
    assert result.output.rstrip().endswith("cần xem lại.")


def test_a_file_that_is_not_a_docx_is_refused_by_name(tmp_path: Path) -> None:
    fake = tmp_path / "ke-hoach.doc"
    fake.write_bytes(b"\xd0\xcf\x11\xe0 an old Word 97 file")
    result = CliRunner().invoke(cli, ["plan", "import", str(fake)])
    assert result.exit_code == 1
    assert "ke-hoach.doc: không đọc được văn bản Word (.docx): không phải tệp .docx" in result.output
