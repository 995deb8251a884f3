"""The status report's categories, its formats, and the whole-plan simulation's determinism."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from docx import Document
from openpyxl import load_workbook

from service.context import App
from service.report import status_report, to_csv, to_table, to_xlsx
from service.report_docx import Issuing, to_docx
from service.settings import Settings
from store import SqlStore
from tests.conftest import ADMIN
from tests.plan.test_authority import officer
from workflow import Deadlines, Engine, SimulatedClock
from workflow.calendar import PROVINCE_TZ
from workflow.obligations import end_of


def at(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(9), PROVINCE_TZ)


def test_the_four_categories(registered: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    engine = registered
    clock.set(at("2022-12-01"))
    due = {"end_of_month": "2022-12"}  # 24:00 on 03/01/2023
    ids = {code: engine.start("implementation_plan", f"p/{code}", code, ADMIN, data={"due": due}).id
           for code in ("SYT", "SNV", "SCT", "SGDDT")}
    engine.fire(ids["SYT"], "issue", officer("SYT"), payload={"document": "1/KH-SYT"})  # on time
    clock.set(at("2023-01-10"))
    Deadlines(engine).fire_due()
    engine.fire(ids["SNV"], "issue", officer("SNV"), payload={"document": "2/KH-SNV"})  # late
    other = engine.start("implementation_plan", "p2/SCT", "SCT", ADMIN, data={"due": {"end_of_month": "2023-02"}})
    report = status_report(engine, store, clock.now())
    got = {(r.agency, r.done_on_time, r.done_late, r.within_deadline, r.overdue) for r in report.rows}
    assert got == {("SYT", 1, 0, 0, 0), ("SNV", 0, 1, 0, 0), ("SCT", 0, 0, 1, 1), ("SGDDT", 0, 0, 0, 1)}
    assert report.totals["escalations_open"] == 2  # SCT, SGDDT (SNV's closed when it answered late, saying so)
    assert {r.agency_name for r in report.rows} >= {"Sở Y tế", "Sở Nội vụ"}
    assert other.id > 0
    earlier = status_report(engine, store, clock.now(), dt.date(2022, 12, 15))
    assert sum(r.overdue for r in earlier.rows) == 0  # judged as of 15/12/2022, nothing was overdue yet
    assert sum(r.done_on_time for r in earlier.rows) == 1  # SYT issued on 01/12/2022
    assert earlier.totals["escalations_open"] == 0


def test_formats_carry_vietnamese_headers(registered: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    clock.set(at("2022-12-01"))
    registered.start("implementation_plan", "p/SYT", "SYT", ADMIN, data={"due": {"end_of_month": "2022-12"}})
    report = status_report(registered, store, clock.now())
    text = to_csv(report)
    assert text.startswith("\ufeff")  # the BOM: Excel on Vietnamese Windows reads the file as UTF-8
    assert text[1:].splitlines()[0].startswith("Mã cơ quan,Cơ quan,Mục,Nhiệm vụ,Hoàn thành đúng hạn")
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    sheet = book["Tình hình thực hiện"]
    assert sheet["A1"].value == "Tình hình thực hiện Kế hoạch đến hết ngày 01/12/2022"
    assert sheet["A1"].font.bold
    assert [c.value for c in sheet[2]][:8] == ["Mã cơ quan", "Cơ quan", "Mục", "Nhiệm vụ", "Hoàn thành đúng hạn",
                                               "Hoàn thành quá hạn", "Chưa hoàn thành, trong hạn",
                                               "Chưa hoàn thành, quá hạn"]
    assert all(c.font.bold for c in sheet[2])
    assert sheet["B3"].value == "Sở Y tế"
    assert sheet["G3"].value == 1  # a count is a number, not text
    assert sheet.freeze_panes == "A3"  # the header stays in view
    assert sheet.auto_filter.ref == "A2:I3"
    assert sheet.column_dimensions["D"].width >= 40  # the duty's text fits
    assert sheet[sheet.max_row][1].value == "Tổng cộng"
    document = Document(io.BytesIO(to_docx(report, Issuing(number="12", signer="Nguyễn Văn An"),
                                           dt.date(2022, 12, 2))))
    header = document.tables[0].rows[0].cells
    assert [p.text for p in header[0].paragraphs] == ["ỦY BAN NHÂN DÂN TỈNH NINH THUẬN", "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
                                                      "Số: 12/BC-SKHCN"]
    assert [p.text for p in header[1].paragraphs] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                                                      "Độc lập - Tự do - Hạnh phúc",
                                                      "Ninh Thuận, ngày 02 tháng 12 năm 2022"]
    texts = [p.text for p in document.paragraphs]
    assert "BÁO CÁO" in texts
    assert "Tình hình thực hiện Kế hoạch khoa học và công nghệ đến hết ngày 01/12/2022" in texts
    assert "- Chưa hoàn thành, trong hạn: 1 (100,0%);" in texts
    counts = document.tables[1]
    assert [c.text for c in counts.rows[0].cells][:3] == ["STT", "Cơ quan, đơn vị", "Hoàn thành đúng hạn"]
    assert [c.text for c in counts.rows[1].cells] == ["1", "Sở Y tế", "0", "0", "1", "0"]
    assert [c.text for c in counts.rows[-1].cells][1:] == ["Tổng cộng", "0", "0", "1", "0"]
    signature = document.tables[2].rows[0].cells
    assert signature[0].paragraphs[0].text == "Nơi nhận:"
    assert signature[0].paragraphs[-1].text == "- Lưu: VT, QLKH."
    assert [p.text for p in signature[1].paragraphs if p.text] == ["GIÁM ĐỐC", "Nguyễn Văn An"]
    assert round(document.sections[0].left_margin.mm) == 30  # NĐ 30/2020: 30-35 mm on the left
    assert all(r.font.name == "Times New Roman" for p in document.paragraphs for r in p.runs)
    table = to_table(report)
    assert table.splitlines()[0] == "Tình hình thực hiện Kế hoạch đến hết ngày 01/12/2022"
    assert "Chưa hoàn thành, trong hạn" in table.splitlines()[1]


def simulate(tmp: Path, seed: int) -> dict[str, object]:
    db = tmp / f"sim-{seed}-{len(list(tmp.iterdir()))}.db"
    env = {**os.environ, "WORKFLOW_DATABASE_URL": f"sqlite:///{db}"}
    done = subprocess.run([str(Path(sys.executable).parent / "workflow"), "--json", "simulate", "--from", "2022-11-01",
                           "--to", "2026-12-31", "--seed", str(seed)], env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    verified = subprocess.run([str(Path(sys.executable).parent / "workflow"), "--json", "audit", "checkpoint"],
                              env=env, capture_output=True, text=True, check=True)
    result["root"] = json.loads(verified.stdout)["root"]
    return result


def test_the_simulation_is_deterministic(tmp_path: Path) -> None:
    first, again, other = simulate(tmp_path, 11), simulate(tmp_path, 11), simulate(tmp_path, 12)
    for key in ("timeline", "report", "root", "actions"):
        assert first[key] == again[key], key
    assert first["root"] != other["root"]
    report = first["report"]
    assert isinstance(report, dict)
    totals = report["totals"]
    assert totals["done_on_time"] > totals["done_late"] > 0
    assert totals["overdue"] > 0  # some agencies never act
    timeline = "\n".join(first["timeline"])  # type: ignore[arg-type]
    assert "split STTTT (fact)" in timeline
    assert "retire PRTC (fact)" in timeline


def test_the_aggregate_report_equals_the_replay_of_history(tmp_path: Path) -> None:
    """Today's figures come from one aggregate query over the obligation rows; the same day's figures replayed
    from history must be the same (the rows are a cache of the history)."""
    simulate(tmp_path, 5)
    app = App(Settings(database_url=f"sqlite:///{tmp_path / 'sim-5-0.db'}"))
    try:
        now = end_of(dt.date(2026, 12, 31))
        aggregate = status_report(app.engine, app.store, now)
        replayed = status_report(app.engine, app.store, now, dt.date(2026, 12, 31))
        assert [dataclasses.astuple(r) for r in aggregate.rows] == [dataclasses.astuple(r) for r in replayed.rows]
        assert sum(aggregate.totals.values()) > 0
    finally:
        app.sql_engine.dispose()
