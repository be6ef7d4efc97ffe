"""Official documents generated from the ledger: a notice (通报) as .docx, in the usual layout
of a party-committee office document (党政机关公文格式, GB/T 9704 in outline):

    red masthead (发文机关标志) — document number — red rule — title — body — table of items —
    issuing office and date, bottom right.

Built with python-docx from scratch (no template file). Fonts are named the way Chinese Office
installs name them (方正小标宋简体, 仿宋_GB2312, 黑体) and declared in the font table with an
altName (宋体 / 仿宋 / SimHei) that Word and WPS use where they are missing; the layout stays."""

from __future__ import annotations

import datetime
import io
from collections.abc import Sequence

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from accounts.choices import UnitKind
from accounts.models import Unit

RED = RGBColor(0xE0, 0x00, 0x00)
TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"
SIZE_2 = Pt(22)  # 二号: title
SIZE_3 = Pt(16)  # 三号: body
SIZE_SMALL_4 = Pt(12)  # 小四: table
SIZE_MASTHEAD = Pt(36)

# Each Chinese font named above, with the font Word should use where it is not installed.
ALT_FONTS = {TITLE_FONT: "宋体", BODY_FONT: "仿宋", HEADING_FONT: "SimHei"}


def _cn_date(day: datetime.date) -> str:
    """2026年3月5日, as official documents write it (Arabic numerals, GB/T 9704-2012)."""
    return f"{day.year}年{day.month}月{day.day}日"


def _set_rfonts(rpr, name: str) -> None:
    """Word takes CJK glyphs from the eastAsia slot (python-docx's font.name sets only ascii/hAnsi);
    Latin letters and digits go to Times New Roman, as the standard asks."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), name)
    fonts.set(qn("w:ascii"), "Times New Roman")
    fonts.set(qn("w:hAnsi"), "Times New Roman")


def _declare_font_fallbacks(document) -> None:
    """Add the Chinese fonts to the font table with an altName (宋体 / 仿宋 / 黑体), so Word and WPS
    substitute a close font instead of a Latin default where 方正小标宋 or 仿宋_GB2312 is missing."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from lxml import etree

    part = document.part.part_related_by(RT.FONT_TABLE)
    element = part._element if hasattr(part, "_element") else etree.fromstring(part.blob)
    present = {f.get(qn("w:name")) for f in element.findall(qn("w:font"))}
    for name, alt in ALT_FONTS.items():
        if name in present:
            continue
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        alt_name = OxmlElement("w:altName")
        alt_name.set(qn("w:val"), alt)
        charset = OxmlElement("w:charset")
        charset.set(qn("w:val"), "86")  # GB2312
        font.append(alt_name)
        font.append(charset)
        element.append(font)
    if not hasattr(part, "_element"):
        part._blob = etree.tostring(element, xml_declaration=True, encoding="UTF-8", standalone=True)


def _set_font(run, name: str, size=None, bold: bool | None = None, color: RGBColor | None = None) -> None:
    _set_rfonts(run._element.get_or_add_rPr(), name)
    if size is not None:
        run.font.size = size
    if bold is not None:
        run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color


def _paragraph(
    document,
    text: str = "",
    *,
    font=BODY_FONT,
    size=SIZE_3,
    bold=False,
    color=None,
    align=None,
    first_line_chars: int = 0,
    space_after=Pt(0),
    line_spacing=Pt(28),
):
    paragraph = document.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = space_after
    if line_spacing is not None:
        fmt.line_spacing = line_spacing  # 固定值 28 磅: 22 lines a page, as the standard asks
    if align is not None:
        paragraph.alignment = align
    if first_line_chars:
        # Two characters of the body size; also set in character units for Word's own indent box.
        fmt.first_line_indent = Pt(size.pt * first_line_chars)
        ppr = paragraph._p.get_or_add_pPr()
        ind = ppr.find(qn("w:ind"))
        if ind is None:
            ind = OxmlElement("w:ind")
            ppr.append(ind)
        ind.set(qn("w:firstLineChars"), str(first_line_chars * 100))
    if text:
        _set_font(paragraph.add_run(text), font, size, bold, color)
    return paragraph


def _red_rule(paragraph) -> None:
    """The red line under the document number (版头中的分隔线)."""
    ppr = paragraph._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), "18")  # eighths of a point: 2.25 pt
    bottom.set(qn("w:space"), "4")
    bottom.set(qn("w:color"), "E00000")
    border.append(bottom)
    ppr.append(border)


def _cell_text(cell, text: str, *, bold: bool = False, align=WD_ALIGN_PARAGRAPH.CENTER) -> None:
    cell.text = ""
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    _set_font(paragraph.add_run(text), HEADING_FONT if bold else BODY_FONT, SIZE_SMALL_4, bold)


def issuer_name() -> str:
    """The issuing office of notices and sheets: DUBAN_NOTICE_ISSUER when set, else the unit tree's
    supervision office, named under its county committee the way a masthead reads it (the office
    "县委督查室" under "中共云溪县委" → "中共云溪县委督查室")."""
    configured = (getattr(settings, "DUBAN_NOTICE_ISSUER", "") or "").strip()
    if configured:
        return configured
    office = Unit.objects.filter(kind=UnitKind.SUPERVISION_OFFICE, is_active=True).order_by("sort_order", "pk").first()
    if office is None:
        return str(_("督查室"))
    root = office
    while root.parent_id:
        root = root.parent
    for level in ("县委", "市委", "区委", "州委", "省委"):
        if office.name.startswith(level) and root.name.endswith(level) and root.pk != office.pk:
            return root.name + office.name[len(level) :]
    return office.name


def _new_document(issuer: str, number: str):
    """An A4 document with the standard's margins and fonts, opened with the red masthead (版头):
    the issuing office, the document number and the red rule."""
    document = Document()
    section = document.sections[0]
    # A4 with the standard's margins (天头 37 mm, 订口 28 mm).
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = document.styles["Normal"]
    normal.font.size = SIZE_3
    _set_rfonts(normal.element.get_or_add_rPr(), BODY_FONT)
    _declare_font_fallbacks(document)

    # 版头: masthead in red, then the number, then the red rule.
    _paragraph(
        document,
        issuer,
        font=TITLE_FONT,
        size=SIZE_MASTHEAD,
        color=RED,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        space_after=Pt(24),
        line_spacing=None,
    )
    number_line = _paragraph(document, number, size=SIZE_3, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=Pt(6))
    _red_rule(number_line)
    _paragraph(document, "", line_spacing=Pt(28))
    return document


def _title(document, text: str) -> None:
    _paragraph(
        document,
        text,
        font=TITLE_FONT,
        size=SIZE_2,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        space_after=Pt(16),
        line_spacing=Pt(36),
    )


def _table(document, headers: Sequence[str], rows: Sequence[Sequence[str]], widths, left_columns=()) -> None:
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, header in zip(table.rows[0].cells, headers, strict=True):
        _cell_text(cell, header, bold=True)
    for values in rows:
        cells = table.add_row().cells
        for column, (cell, value) in enumerate(zip(cells, values, strict=True)):
            _cell_text(cell, value, align=WD_ALIGN_PARAGRAPH.LEFT if column in left_columns else WD_ALIGN_PARAGRAPH.CENTER)
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def _sign_off(document, issuer: str, day: datetime.date) -> None:
    """落款: issuing office and date, right-aligned, after a blank line."""
    _paragraph(document, "")
    _paragraph(document, "")
    _paragraph(document, issuer, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _paragraph(document, _cn_date(day), align=WD_ALIGN_PARAGRAPH.RIGHT)


def _save(document, title: str, number: str) -> bytes:
    out = io.BytesIO()
    document.core_properties.title = title
    document.core_properties.subject = number
    document.save(out)
    return out.getvalue()


def notice_docx(notice, entries: Sequence | None = None) -> bytes:
    """The notice as a .docx file. `entries` are the rows to print (the caller passes those the
    reader may see; by default all of the notice's entries)."""
    if entries is None:
        entries = list(notice.entries.select_related("item", "unit").order_by("position", "id"))
    issuer = issuer_name()
    issued_on = timezone.localdate(notice.issued_at) if notice.issued_at else timezone.localdate()
    number = notice.number or "（未印发）"
    document = _new_document(issuer, number)

    _title(document, notice.title)

    # 正文: each line of the body is a paragraph with a two-character first-line indent.
    for line in (notice.body or "").splitlines():
        line = line.strip()
        if line:
            _paragraph(document, line, first_line_chars=2, align=WD_ALIGN_PARAGRAPH.JUSTIFY)

    if entries:
        _paragraph(document, "附：通报事项清单", font=HEADING_FONT, size=SIZE_3, space_after=Pt(6))
        rows = [
            (
                str(index),
                entry.item.code,
                entry.item.title,
                entry.unit.name,
                entry.item.deadline.isoformat() if entry.item.deadline else "—",
                entry.remark or "",
            )
            for index, entry in enumerate(entries, start=1)
        ]
        headers = ("序号", "台账编号", "事项名称", "责任单位", "办理时限", "情况")
        widths = (Cm(1.2), Cm(2.8), Cm(4.6), Cm(3.0), Cm(2.4), Cm(3.6))
        _table(document, headers, rows, widths, left_columns=(2, 5))

    _sign_off(document, issuer, issued_on)
    return _save(document, notice.title, number)


def assignment_sheet_docx(sheet, items: Sequence) -> bytes:
    """督办通知单 for an instruction's items (the caller passes those the reader may see): the
    instruction, then per item the units, owner, deadline, requirements and reporting cycle, the
    office's requirements, signature lines for the office and the receiving unit, the sign-off."""
    instruction = sheet.instruction
    issuer = issuer_name()
    document = _new_document(issuer, sheet.number)
    _title(document, "督办通知单")
    leader = instruction.issuing_leader.full_name if instruction.issuing_leader_id else instruction.issuer_name
    facts = [
        ("批示件", instruction.title),
        ("批示领导", leader or "—"),
        ("批示日期", _cn_date(instruction.issued_on)),
        ("来源文号", instruction.document_number or "—"),
    ]
    for label, value in facts:
        _paragraph(document, f"{label}：{value}", first_line_chars=2)
    _paragraph(document, "批示内容：", font=HEADING_FONT, first_line_chars=2)
    for line in (instruction.text or "").splitlines():
        if line.strip():
            _paragraph(document, line.strip(), first_line_chars=2, align=WD_ALIGN_PARAGRAPH.JUSTIFY)

    _paragraph(document, "督办事项：", font=HEADING_FONT, size=SIZE_3, space_after=Pt(6))
    rows = []
    for index, item in enumerate(items, start=1):
        supporting = "、".join(a.unit.name for a in item.assignment_list if a.role == "supporting") or "—"
        rows.append(
            (
                str(index),
                item.code,
                item.title,
                item.lead_unit.name if item.lead_unit_id else "—",
                supporting,
                (item.owner.full_name or item.owner.username) if item.owner_id else "—",
                _cn_date(item.deadline) if item.deadline else "—",
                item.requirement or "—",
                str(item.get_reporting_cycle_display()),
            )
        )
    headers = ("序号", "台账编号", "督办事项", "牵头单位", "配合单位", "责任人", "办理时限", "目标要求", "反馈周期")
    widths = (Cm(0.9), Cm(2.1), Cm(2.6), Cm(1.8), Cm(1.8), Cm(1.4), Cm(2.0), Cm(3.0), Cm(1.4))
    _table(document, headers, rows, widths, left_columns=(2, 7))

    _paragraph(document, "")
    _paragraph(document, "办理要求：", font=HEADING_FONT, first_line_chars=2)
    for line in (
        "一、请责任单位收到本通知单后及时签收，明确具体承办人。",
        "二、请按反馈周期报送阶段性进展，办结时附办理成效的佐证材料申请销号。",
        "三、确需延期的，须在办理时限届满前提出延期申请，经批准后方可延期。",
    ):
        _paragraph(document, line, first_line_chars=2)
    # 签字就是责任 (DOMAIN.md rule 14): lines for the office's and the unit's signatures.
    _paragraph(document, "")
    _paragraph(document, "签发人：__________    核稿人：__________    经办人：__________")
    _paragraph(document, "责任单位签收人：__________    签收时间：______年____月____日")
    _sign_off(document, issuer, timezone.localdate(sheet.issued_at))
    return _save(document, f"督办通知单 {instruction.title}", sheet.number)
