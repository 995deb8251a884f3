"""Word documents for the importer's tests, made with python-docx: real Word automatic numbering (numbering.xml:
"I.", "1." and "-" come from list levels, as a secretary's template does), letters "a)" typed by hand (Word has no
"đ)"), the two-column header table of an administrative document, and optional appendix tables.

``python -m tests.plan_import.make_docx`` writes the seed plan's Word form to ``fixtures/ke-hoach-seed.docx``."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentType
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

SEED = Path(__file__).resolve().parent / "fixtures" / "ke-hoach-khcn-ninh-thuan.md"  # the seed plan's text, as given
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "ke-hoach-seed.docx"
LEVELS = (("upperRoman", "%1."), ("decimal", "%2."), ("bullet", "-"))


def _numbering(document: DocumentType) -> int:
    """One abstract numbering (I. / 1. / -) and its instance; returns the numId."""
    numbering = document.part.numbering_part.element
    abstract = OxmlElement("w:abstractNum")
    abstract.set(qn("w:abstractNumId"), "90")
    for level, (fmt, text) in enumerate(LEVELS):
        lvl = OxmlElement("w:lvl")
        lvl.set(qn("w:ilvl"), str(level))
        for tag, value in (("w:start", "1"), ("w:numFmt", fmt), ("w:lvlText", text), ("w:lvlJc", "left")):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            lvl.append(child)
        abstract.append(lvl)
    numbering.insert(0, abstract)
    num = OxmlElement("w:num")
    num.set(qn("w:numId"), "90")
    ref = OxmlElement("w:abstractNumId")
    ref.set(qn("w:val"), "90")
    num.append(ref)
    numbering.append(num)
    return 90


def _numbered(document: DocumentType, text: str, num_id: int, level: int) -> None:
    paragraph = document.add_paragraph(text)
    ppr = paragraph._p.get_or_add_pPr()
    numpr = OxmlElement("w:numPr")
    ilvl = OxmlElement("w:ilvl")
    ilvl.set(qn("w:val"), str(level))
    nid = OxmlElement("w:numId")
    nid.set(qn("w:val"), str(num_id))
    numpr.append(ilvl)
    numpr.append(nid)
    ppr.append(numpr)


def header(document: DocumentType, issuer: str, province: str, number: str, dated: str) -> None:
    """The administrative header (Nghị định 30/2020/NĐ-CP): a borderless two-column table."""
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = f"ỦY BAN NHÂN DÂN\n{issuer}"
    table.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    table.cell(1, 0).text = f"Số: {number}"
    table.cell(1, 1).text = f"{province}, {dated}"


def appendix(document: DocumentType, title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    document.add_paragraph(title)
    table = document.add_table(rows=1, cols=len(columns))
    for cell, text in zip(table.rows[0].cells, columns, strict=False):
        cell.text = text
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=False):
            cell.text = text


def write_prose(document: DocumentType, lines: Iterable[str]) -> None:
    """Markdown-ish lines as Word paragraphs: "I. …" and "1. …" and "- …" numbered by Word, the rest typed."""
    num_id = _numbering(document)  # one list: Word restarts "1." under each Roman section by itself
    for raw in lines:
        line = raw.strip().replace("**", "")
        if not line:
            continue
        if m := re.match(r"^(?:[IVX]+)\.\s+(.*)$", line):
            _numbered(document, m.group(1), num_id, 0)
        elif m := re.match(r"^\d+\.\s+(.*)$", line):
            _numbered(document, m.group(1), num_id, 1)
        elif m := re.match(r"^-\s+(.*)$", line):
            _numbered(document, m.group(1), num_id, 2)
        else:
            document.add_paragraph(line)


def seed_document(path: Path = FIXTURE) -> Path:
    text = SEED.read_text(encoding="utf-8")
    body, _, signature = text.partition("Nơi nhận:")
    document = Document()
    header(document, "TỈNH NINH THUẬN", "Ninh Thuận", "        /KH-UBND", "ngày      tháng 11 năm 2022")
    write_prose(document, body.splitlines())
    document.add_paragraph("Nơi nhận:")
    for line in signature.splitlines():
        if line.strip():
            document.add_paragraph(line.strip().replace("**", ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


if __name__ == "__main__":
    print(seed_document(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURE))


OTHER_PROVINCE = (  # one paragraph a line
    "I. MỤC ĐÍCH, YÊU CẦU\n"
    "1. Mục đích\n"
    "- Cụ thể hóa các nhiệm vụ chuyển đổi số của tỉnh năm 2024, định hướng đến năm 2025.\n"
    "2. Yêu cầu\n"
    "- Xác định rõ nhiệm vụ, cơ quan chủ trì và thời hạn hoàn thành; báo cáo đúng hạn.\n"
    "II. NHIỆM VỤ VÀ GIẢI PHÁP\n"
    "1. Hoàn thiện thể chế\n"
    "1.1. Sở Thông tin và Truyền thông chủ trì, phối hợp với Sở Tư pháp, Văn phòng UBND tỉnh rà soát các "
    "quy định về chuyển đổi số của tỉnh. Thời gian hoàn thành: Quý II/2024.\n"
    "1.2. Sở Nội vụ tham mưu UBND tỉnh ban hành Quy chế quản lý cán bộ chuyên trách chuyển đổi số, hoàn "
    "thành trước ngày 30/6/2024.\n"
    "2. Phát triển hạ tầng số\n"
    "a) Sở Thông tin và Truyền thông:\n"
    "- Xây dựng Kiến trúc chính quyền số tỉnh phiên bản 3.0, trình UBND tỉnh trong tháng 9/2024.\n"
    "- Định kỳ 6 tháng báo cáo UBND tỉnh tình hình triển khai hạ tầng số.\n"
    "b) UBND các huyện, thị xã, thành phố: Bố trí kinh phí bảo đảm hạ tầng số cấp xã hằng năm.\n"
    "c) Giao Sở Kế hoạch và Đầu tư chủ trì thẩm định các dự án đầu tư hạ tầng số trong vòng 15 ngày làm "
    "việc kể từ ngày nhận đủ hồ sơ hợp lệ.\n"
    "III. TỔ CHỨC THỰC HIỆN\n"
    "1. Sở Thông tin và Truyền thông là cơ quan thường trực, có trách nhiệm theo dõi, đôn đốc các cơ quan"
    " triển khai Kế hoạch; tổng hợp báo cáo UBND tỉnh trước ngày 15/12 hằng năm.\n"
    "2. Sở Tài chính cân đối, bố trí kinh phí thực hiện Kế hoạch theo phân cấp ngân sách hiện hành.\n"
    "3. Các sở, ban, ngành, UBND các huyện, thị xã, thành phố căn cứ chức năng, nhiệm vụ được giao, báo "
    "cáo kết quả thực hiện định kỳ hằng quý gửi Sở Thông tin và Truyền thông để tổng hợp.\n"
    "4. Trong quá trình thực hiện, nếu có vướng mắc, các cơ quan, đơn vị phản ánh về Sở Thông tin và "
    "Truyền thông để tổng hợp, báo cáo UBND tỉnh xem xét, quyết định./.\n"
)
APPENDIX_ROWS = [
    ("I", "Nhóm nhiệm vụ về dữ liệu số", "", "", "", ""),
    ("1", "Xây dựng cơ sở dữ liệu đất đai", "Sở Tài nguyên và Môi trường",
     "Sở Thông tin và Truyền thông; UBND các huyện", "2024-2025", "Cơ sở dữ liệu"),
    ("2", "Số hóa hồ sơ, kết quả giải quyết thủ tục hành chính", "Văn phòng UBND tỉnh", "Các sở, ban, ngành",
     "Tháng 10/2024", "Hồ sơ được số hóa"),
    ("3", "Cập nhật dữ liệu y tế trên nền tảng số", "Sở Y tế", "", "Thường xuyên", "Dữ liệu được cập nhật"),
    ("II", "Nhóm nhiệm vụ về nhân lực số", "", "", "", ""),
    ("1", "Đào tạo kỹ năng số cho cán bộ, công chức", "Sở Nội vụ", "Sở Thông tin và Truyền thông", "Quý III/2024",
     "Lớp đào tạo"),
    ("2", "Tổ chức hội thi tin học trẻ", "Tỉnh đoàn", "Sở Giáo dục và Đào tạo", "Trước 30/11/2024", "Hội thi"),
]


def typed_document(path: Path) -> Path:
    """Another province's plan: numbers typed by hand ("1.1.", "a)", "-"), a dated header, an appendix table."""
    document = Document()
    header(document, "TỈNH BÌNH MINH", "Bình Minh", "215/KH-UBND", "ngày 14 tháng 3 năm 2024")
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph("Chuyển đổi số tỉnh Bình Minh năm 2024")
    for line in OTHER_PROVINCE.splitlines():
        if line.strip():
            document.add_paragraph(line.strip())
    document.add_paragraph("Nơi nhận:")
    document.add_paragraph("- Như trên;")
    document.add_paragraph("- Lưu: VT.")
    document.add_paragraph("PHỤ LỤC")
    appendix(document, "DANH MỤC NHIỆM VỤ CHUYỂN ĐỔI SỐ NĂM 2024 (Kèm theo Kế hoạch số 215/KH-UBND ngày 14/3/2024)",
             ("STT", "Nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp", "Thời gian hoàn thành", "Sản phẩm"),
             APPENDIX_ROWS)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def table_plan(path: Path, number: str, dated: str, rows: Iterable[Sequence[str]]) -> Path:
    """A plan that is only its appendix table (STT | Nhiệm vụ | Cơ quan chủ trì | Cơ quan phối hợp | Thời gian
    hoàn thành): the shape of a plan and of the revised plan that amends it."""
    document = Document()
    header(document, "TỈNH BÌNH MINH", "Bình Minh", number, dated)
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph("Triển khai nhiệm vụ khoa học và công nghệ năm 2023")
    document.add_paragraph("Nơi nhận:")
    document.add_paragraph("- Lưu: VT.")
    document.add_paragraph("PHỤ LỤC")
    appendix(document, "DANH MỤC NHIỆM VỤ", ("STT", "Nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp",
                                            "Thời gian hoàn thành"), rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path
