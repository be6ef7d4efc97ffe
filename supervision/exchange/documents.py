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
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

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


def notice_docx(notice, entries: Sequence | None = None) -> bytes:
    """The notice as a .docx file. `entries` are the rows to print (the caller passes those the
    reader may see; by default all of the notice's entries)."""
    if entries is None:
        entries = list(notice.entries.select_related("item", "unit").order_by("position", "id"))
    issuer = getattr(settings, "DUBAN_NOTICE_ISSUER", "中共XX县委督查室")
    issued_on = timezone.localdate(notice.issued_at) if notice.issued_at else timezone.localdate()

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
    number = notice.number or "（未印发）"
    number_line = _paragraph(document, number, size=SIZE_3, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=Pt(6))
    _red_rule(number_line)
    _paragraph(document, "", line_spacing=Pt(28))

    # 标题
    _paragraph(
        document,
        notice.title,
        font=TITLE_FONT,
        size=SIZE_2,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        space_after=Pt(16),
        line_spacing=Pt(36),
    )

    # 正文: each line of the body is a paragraph with a two-character first-line indent.
    for line in (notice.body or "").splitlines():
        line = line.strip()
        if line:
            _paragraph(document, line, first_line_chars=2, align=WD_ALIGN_PARAGRAPH.JUSTIFY)

    if entries:
        _paragraph(document, "附：通报事项清单", font=HEADING_FONT, size=SIZE_3, space_after=Pt(6))
        headers = ("序号", "台账编号", "事项名称", "责任单位", "办理时限", "情况")
        table = document.add_table(rows=1, cols=len(headers))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, header in zip(table.rows[0].cells, headers, strict=True):
            _cell_text(cell, header, bold=True)
        for index, entry in enumerate(entries, start=1):
            item = entry.item
            deadline = item.deadline.isoformat() if item.deadline else "—"
            values = (str(index), item.code, item.title, entry.unit.name, deadline, entry.remark or "")
            cells = table.add_row().cells
            for column, (cell, value) in enumerate(zip(cells, values, strict=True)):
                _cell_text(cell, value, align=WD_ALIGN_PARAGRAPH.LEFT if column in (2, 5) else WD_ALIGN_PARAGRAPH.CENTER)
        widths = (Cm(1.2), Cm(2.8), Cm(4.6), Cm(3.0), Cm(2.4), Cm(3.6))
        for row in table.rows:
            for cell, width in zip(row.cells, widths, strict=True):
                cell.width = width

    # 落款: issuing office and date, right-aligned, with a blank line before.
    _paragraph(document, "")
    _paragraph(document, "")
    _paragraph(document, issuer, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _paragraph(document, _cn_date(issued_on), align=WD_ALIGN_PARAGRAPH.RIGHT)

    out = io.BytesIO()
    document.core_properties.title = notice.title
    document.core_properties.subject = number
    document.save(out)
    return out.getvalue()
