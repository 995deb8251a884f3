"""Layouts other than the seed's: another province's plan with numbers typed by hand ("1.1.", "a)", "-"), a dated
header, bodies the registry does not know, and an appendix table with group rows; and documents that are not
plans at all. The answer key below was written from the document's words, not from the importer's output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from docx import Document

from definitions import load_data
from definitions.agencies import Registry as RegistryFile
from definitions.plan_import import DocumentUnreadable, import_document, registry_from_files
from definitions.shipped_files import REGISTRY, shipped

from .make_docx import typed_document

# III.4 "nếu có vướng mắc, các cơ quan, đơn vị phản ánh về Sở …" names no body of its own and no date: a standing
# instruction, not a duty (a difficulty is started when one is raised: the `difficulty` workflow)

# ref: (lead as written or code, deadline kind, a field of the deadline, recurring)
KEY: dict[str, tuple[str, str | None, dict[str, Any], bool]] = {
    "II.1.1": ("STTTT", "end_of_quarter", {"quarter": "2024-Q2"}, False),
    "II.1.2": ("SNV", "date", {"date": "2024-06-30", "before": True}, False),
    "II.2.a-1": ("STTTT", "end_of_month", {"month": "2024-09"}, False),
    "II.2.a-2": ("STTTT", "periodic", {"every": "6 months"}, True),
    "II.2.b": ("UBND các huyện, thị xã, thành phố", "ongoing", {}, True),
    "II.2.c": ("SKHDT", "relative", {"days": 15, "working": True}, False),
    "III.1": ("STTTT", "yearly", {"month_day": "12-15"}, True),
    "III.2": ("STC", None, {}, False),
    "III.3": ("Các sở, ban, ngành, UBND các huyện, thị xã, thành phố", "periodic", {"every": "3 months"}, True),
    "PL1.I.1": ("STNMT", "range", {"from": "2024", "to": "2025"}, False),
    "PL1.I.2": ("Văn phòng UBND tỉnh", "end_of_month", {"month": "2024-10"}, False),
    "PL1.I.3": ("SYT", "ongoing", {}, False),
    "PL1.II.1": ("SNV", "end_of_quarter", {"quarter": "2024-Q3"}, False),
    "PL1.II.2": ("Tỉnh đoàn", "date", {"date": "2024-11-30"}, False),
}


@pytest.fixture(scope="module")
def proposal(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = typed_document(tmp_path_factory.mktemp("typed") / "binh-minh.docx")
    return import_document(path, registry_from_files(load_data(shipped(*REGISTRY), RegistryFile)))


def test_the_document_s_number_date_and_title(proposal: dict[str, Any]) -> None:
    assert proposal["document"] == {"number": "215/KH-UBND", "issued_on": "2024-03-14",
                                    "title": "KẾ HOẠCH Chuyển đổi số tỉnh Bình Minh năm 2024"}


def test_every_duty_and_nothing_else(proposal: dict[str, Any]) -> None:
    assert [d["ref"] for d in proposal["duties"]] == list(KEY)


@pytest.mark.parametrize("ref", list(KEY))
def test_each_duty_against_the_key(proposal: dict[str, Any], ref: str) -> None:
    duty = next(d for d in proposal["duties"] if d["ref"] == ref)
    lead, kind, fields, recurring = KEY[ref]
    got = duty["lead"]
    if not lead:
        assert got is None
        assert "lead_not_found" in duty["flags"]
    else:
        assert got is not None
        assert lead in (got["code"], got["as_written"]), got
    if kind is None:
        assert duty["deadline"] is None
        assert "no_deadline" in duty["flags"]
    else:
        assert duty["deadline"]["kind"] == kind, duty["deadline"]
        for key, value in fields.items():
            assert duty["deadline"][key] == value
    assert duty["recurring"] is recurring


def test_bodies_not_in_the_registry_are_proposed_and_flagged(proposal: dict[str, Any]) -> None:
    contest = next(d for d in proposal["duties"] if d["ref"] == "PL1.II.2")
    assert contest["lead"] == {"as_written": "Tỉnh đoàn", "code": None}
    assert "lead_not_in_registry" in contest["flags"]
    assert contest["cooperating"] == [{"as_written": "Sở Giáo dục và Đào tạo", "code": "SGDDT"}]
    assert contest["product"] == "Hội thi"
    assert contest["source"]["table"] == 2
    review = next(d for d in proposal["duties"] if d["ref"] == "II.1.1")
    assert [c["as_written"] for c in review["cooperating"]] == ["Sở Tư pháp", "Văn phòng UBND tỉnh"]


def test_a_group_is_expanded_on_the_registry(proposal: dict[str, Any]) -> None:
    districts = next(d for d in proposal["duties"] if d["ref"] == "II.2.b")
    assert districts["lead"]["group"] == "UBND các huyện, thành phố"
    assert set(districts["lead"]["expands_to"]) == {"PRTC", "BACAI", "NINHHAI", "NINHPHUOC", "NINHSON", "THUANBAC",
                                                    "THUANNAM"}
    assert "lead_group_expanded" in districts["flags"]


def test_every_uncertain_field_carries_a_flag(proposal: dict[str, Any]) -> None:
    for duty in proposal["duties"]:
        if duty["lead"] is None:
            assert "lead_not_found" in duty["flags"]
        if duty["deadline"] is None:
            assert {"no_deadline", "deadline_unreadable"} & set(duty["flags"])
        if duty["deadline"] and duty["deadline"].get("before"):
            assert {"before_date_reading", "before_month", "before_year"} & set(duty["flags"])


def test_the_highlighted_words_are_in_the_source(proposal: dict[str, Any]) -> None:
    for duty in proposal["duties"]:
        if duty.get("evidence", {}).get("deadline"):
            a, b = duty["evidence"]["deadline"]
            assert duty["text"][a:b] == duty["deadline"]["as_written"]


def test_not_a_docx_is_refused_with_its_name(tmp_path: Path) -> None:
    fake = tmp_path / "ke-hoach.docx"
    fake.write_bytes(b"%PDF-1.4 not a word document")
    with pytest.raises(DocumentUnreadable, match=r"ke-hoach\.docx"):
        import_document(fake, registry_from_files(load_data(shipped(*REGISTRY), RegistryFile)))


def test_an_empty_document_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "trong.docx"
    Document().save(str(empty))
    with pytest.raises(DocumentUnreadable, match="không có nội dung"):
        import_document(empty, registry_from_files(load_data(shipped(*REGISTRY), RegistryFile)))


def test_a_document_without_duties_proposes_none(tmp_path: Path) -> None:
    letter = tmp_path / "cong-van.docx"
    document = Document()
    document.add_paragraph("Kính gửi: Sở Khoa học và Công nghệ")
    document.add_paragraph("Ủy ban nhân dân tỉnh nhận được văn bản số 12/SKHCN ngày 3/4/2024. Trân trọng.")
    document.save(str(letter))
    assert import_document(letter, registry_from_files(load_data(shipped(*REGISTRY), RegistryFile)))["duties"] == []


def _typed(tmp_path: Path, lines: list[str], name: str = "plan.docx") -> dict[str, Any]:
    document = Document()
    document.add_paragraph("Số: 12/KH-UBND")
    document.add_paragraph("Bình Minh, ngày 2 tháng 1 năm 2025")
    document.add_paragraph("KẾ HOẠCH")
    for line in lines:
        document.add_paragraph(line)
    path = tmp_path / name
    document.save(str(path))
    return import_document(path, registry_from_files(load_data(shipped(*REGISTRY), RegistryFile)))


def test_fields_written_as_labels_belong_to_their_item(tmp_path: Path) -> None:
    """ "- Cơ quan chủ trì: …", "- Thời gian thực hiện: …" under an item are its fields, not duties of their own."""
    proposal = _typed(tmp_path, [
        "I. NHIỆM VỤ CỤ THỂ",
        "1. Xây dựng cơ sở dữ liệu khoa học và công nghệ của tỉnh",
        "- Cơ quan chủ trì: Sở Khoa học và Công nghệ",
        "- Cơ quan phối hợp: Sở Tài chính, Sở Nội vụ",
        "- Thời gian thực hiện: Quý III/2025",
        "- Sản phẩm: Cơ sở dữ liệu được đưa vào vận hành",
        "2. Tổ chức hội chợ công nghệ và thiết bị (Cơ quan chủ trì: Sở Công Thương; thời gian: tháng 10/2025)",
        "3. Đề nghị Liên hiệp các Hội khoa học kỹ thuật tỉnh tổ chức hội thi sáng tạo kỹ thuật hằng năm.",
        "II. KINH PHÍ THỰC HIỆN",
        "Kinh phí thực hiện Kế hoạch từ nguồn ngân sách nhà nước và các nguồn hợp pháp khác.",
    ])
    duties = {d["ref"]: d for d in proposal["duties"]}
    assert list(duties) == ["I.1", "I.2", "I.3"]
    database = duties["I.1"]
    assert database["lead"]["code"] == "SKHCN"
    assert [c["code"] for c in database["cooperating"]] == ["STC", "SNV"]
    assert database["deadline"]["kind"] == "end_of_quarter"
    assert database["deadline"]["quarter"] == "2025-Q3"
    fair = duties["I.2"]
    assert fair["lead"]["code"] == "SCT"
    assert fair["deadline"]["kind"] == "end_of_month"
    assert fair["deadline"]["month"] == "2025-10"
    contest = duties["I.3"]
    assert contest["lead"]["code"] == "LHH"
    assert contest["recurring"] is True


def test_one_column_for_who_acts_and_a_year_alone(tmp_path: Path) -> None:
    """ "Cơ quan thực hiện: Sở Y tế (chủ trì); Sở Tài chính" is a lead and a co-operator; "2024" is the year's end;
    a subject after an opening clause ("Căn cứ …, Sở Nội vụ chủ trì …") leads."""
    document = Document()
    document.add_paragraph("Bình Minh, ngày 2 tháng 1 năm 2024")
    document.add_paragraph("I. NHIỆM VỤ")
    document.add_paragraph("1. Căn cứ chức năng, nhiệm vụ được giao, Sở Nội vụ chủ trì tổ chức kiểm tra công vụ "
                           "hằng năm.")
    table = document.add_table(rows=2, cols=4)
    for cell, text in zip(table.rows[0].cells, ("TT", "Nội dung", "Cơ quan thực hiện", "Thời gian"), strict=True):
        cell.text = text
    for cell, text in zip(table.rows[1].cells, ("1", "Khám sức khỏe định kỳ cho cán bộ",
                                                "Sở Y tế (chủ trì); Sở Tài chính", "2024"), strict=True):
        cell.text = text
    path = tmp_path / "bang.docx"
    document.save(str(path))
    duties = {d["ref"]: d for d in import_document(path, registry_from_files(load_data(shipped(*REGISTRY),
                                                                                        RegistryFile)))["duties"]}
    assert duties["I.1"]["lead"]["code"] == "SNV"
    row = duties["PL1.1"]
    assert row["lead"] == {"as_written": "Sở Y tế", "code": "SYT"}
    assert row["cooperating"] == [{"as_written": "Sở Tài chính", "code": "STC"}]
    assert row["deadline"]["kind"] == "end_of_year"
    assert row["deadline"]["year"] == 2024


def test_a_header_over_two_rows_and_points_under_a_lead_s_bullet(tmp_path: Path) -> None:
    """ "Cơ quan thực hiện" above "Chủ trì | Phối hợp" is one header; "+" points under "- Sở X chủ trì thực hiện các
    nội dung sau:" are led by Sở X."""
    document = Document()
    document.add_paragraph("I. NHIỆM VỤ")
    document.add_paragraph("- Sở Công Thương chủ trì thực hiện các nội dung sau:")
    document.add_paragraph("+ Tổ chức hội chợ hàng Việt trong tháng 9/2024;")
    document.add_paragraph("+ Xây dựng cơ sở dữ liệu doanh nghiệp trong năm 2025.")
    table = document.add_table(rows=3, cols=5)
    for r, texts in enumerate((("STT", "Nội dung", "Cơ quan thực hiện", "Cơ quan thực hiện", "Thời gian"),
                               ("", "", "Chủ trì", "Phối hợp", ""),
                               ("1", "Đề án phát triển du lịch", "Sở Văn hóa, Thể thao và Du lịch", "Sở Tài chính",
                                "Quý IV/2024"))):
        for cell, text in zip(table.rows[r].cells, texts, strict=True):
            cell.text = text
    path = tmp_path / "hai-dong.docx"
    document.save(str(path))
    duties = {d["ref"]: d for d in import_document(path, registry_from_files(load_data(shipped(*REGISTRY),
                                                                                        RegistryFile)))["duties"]}
    assert [duties[r]["lead"]["code"] for r in ("I-1+1", "I-1+2")] == ["SCT", "SCT"]
    assert duties["I-1+1"]["deadline"]["month"] == "2024-09"
    row = duties["PL1.1"]
    assert row["lead"]["code"] == "SVHTTDL"
    assert row["cooperating"] == [{"as_written": "Sở Tài chính", "code": "STC"}]
    assert row["deadline"]["quarter"] == "2024-Q4"


def test_an_appendix_in_prose_is_read_under_its_own_reference(tmp_path: Path) -> None:
    """After "Nơi nhận" and the signature, "PHỤ LỤC II" with numbered duties in prose: read, referenced "PLII.…";
    the appendix's title (with its year) is not a duty."""
    document = Document()
    document.add_paragraph("I. NHIỆM VỤ")
    document.add_paragraph("1. Sở Y tế chủ trì kiểm tra an toàn thực phẩm trong Quý I/2025.")
    document.add_paragraph("Nơi nhận:")
    document.add_paragraph("- Như trên;")
    document.add_paragraph("PHỤ LỤC II")
    document.add_paragraph("NHIỆM VỤ CHUYỂN ĐỔI SỐ NĂM 2025")
    document.add_paragraph("I. Dữ liệu")
    document.add_paragraph("1. Sở Tài chính chủ trì số hóa hồ sơ ngân sách, hoàn thành trong tháng 6/2025.")
    path = tmp_path / "phu-luc.docx"
    document.save(str(path))
    duties = import_document(path, registry_from_files(load_data(shipped(*REGISTRY), RegistryFile)))["duties"]
    assert [(d["ref"], d["lead"]["code"]) for d in duties] == [("I.1", "SYT"), ("PLII.I.1", "STC")]


def test_a_damaged_docx_is_refused_not_a_crash(tmp_path: Path) -> None:
    """A ZIP that holds word/document.xml with broken XML: refused with the file's name, like any unreadable one."""
    import zipfile

    damaged = tmp_path / "hong.docx"
    with zipfile.ZipFile(damaged, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")
        archive.writestr("word/document.xml", "<w:document><w:body><w:p>")
    with pytest.raises(DocumentUnreadable, match=r"hong\.docx"):
        import_document(damaged, registry_from_files(load_data(shipped(*REGISTRY), RegistryFile)))
