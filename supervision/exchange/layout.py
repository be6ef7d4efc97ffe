"""Printable Excel sheets with openpyxl: a title and a subtitle over tables with styled headers,
notes wrapped within the table's width, column widths and row heights from the content, A4
landscape fit to the page width, and chart helpers. The layout of supervision/quarterly_review.py;
nothing here knows the ledger."""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from supervision.exchange.safe_cells import xlsx_put

Date = datetime.date

# Formats: Chinese office documents are printed in 宋体; rates as percentages.
FONT_NAME = "宋体"
PERCENT = "0.00%"
DECIMAL_2 = "0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
TITLE_FONT = Font(name=FONT_NAME, size=16, bold=True)
SUBTITLE_FONT = Font(name=FONT_NAME, size=10, color="555555")
HEADER_FONT = Font(name=FONT_NAME, size=11, bold=True)
BODY_FONT = Font(name=FONT_NAME, size=10)
NOTE_FONT = Font(name=FONT_NAME, size=10, italic=True, color="7F0000")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def display_width(value) -> int:
    if value is None:
        return 0
    if isinstance(value, float):
        return 8
    if isinstance(value, datetime.datetime):
        return 16
    if isinstance(value, Date):
        return 10
    text = str(value)
    longest = max((line for line in text.splitlines() or [""]), key=len)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in longest)


def _local(value: datetime.datetime | None) -> datetime.datetime | None:
    """Excel has no time zones: write local (Asia/Shanghai) wall time, to the minute."""
    if value is None:
        return None
    return timezone.localtime(value).replace(tzinfo=None, second=0, microsecond=0)


@dataclass
class Column:
    header: str
    width: int | None = None  # None: fit to the content
    number_format: str | None = None
    wrap: bool = False


class SheetWriter:
    """One printable sheet: title, subtitle, tables with a styled header and borders."""

    def __init__(self, ws: Worksheet, *, title: str, subtitle: str, span: int):
        self.ws = ws
        self.row = 1
        self.span = max(span, 2)
        self.fixed_widths: dict[int, int] = {}
        self.note_rows: set[int] = set()  # notes span the table; they must not widen a column
        xlsx_put(ws, row=1, column=1, value=title).font = TITLE_FONT
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=self.span)
        ws.row_dimensions[1].height = 26
        self.row = 2
        self.note(subtitle, font=SUBTITLE_FONT)

    def header(self, columns: Sequence[Column], *, freeze: bool = False, start_column: int = 1) -> int:
        row = self.row
        for offset, col in enumerate(columns):
            cell = xlsx_put(self.ws, row=row, column=start_column + offset, value=col.header)
            cell.font, cell.fill, cell.border, cell.alignment = HEADER_FONT, HEADER_FILL, BORDER, CENTER
            if col.width:
                self.fixed_widths[start_column + offset] = col.width
        if freeze:
            self.ws.freeze_panes = self.ws.cell(row=row + 1, column=1)
            self.ws.print_title_rows = f"{row}:{row}"
        self.row += 1
        return row

    def data_row(self, columns: Sequence[Column], values: Sequence, *, start_column: int = 1) -> int:
        row = self.row
        for offset, (col, value) in enumerate(zip(columns, values, strict=True)):
            if isinstance(value, datetime.datetime):
                value = _local(value)
            cell = xlsx_put(self.ws, row=row, column=start_column + offset, value=value)
            cell.font, cell.border = BODY_FONT, BORDER
            if col.number_format and value is not None and not isinstance(value, str):
                cell.number_format = col.number_format
            elif isinstance(value, datetime.datetime):
                cell.number_format = DATETIME_FORMAT
            elif isinstance(value, Date):
                cell.number_format = DATE_FORMAT
            cell.alignment = WRAP_TOP if col.wrap else Alignment(vertical="top")
        self.row += 1
        return row

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence], *, freeze: bool = False) -> tuple[int, int]:
        """Header and rows; returns (header row, last row)."""
        header_row = self.header(columns, freeze=freeze)
        for values in rows:
            self.data_row(columns, values)
        return header_row, self.row - 1

    def note(self, text: str, *, font: Font = NOTE_FONT) -> int:
        """A line of text under (or above) a table, wrapped within the table's width."""
        row = self.row
        cell = xlsx_put(self.ws, row=row, column=1, value=text)
        cell.font = font
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        self.ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=self.span)
        self.note_rows.add(row)
        self.row += 1
        return row

    def section(self, text: str) -> int:
        row = self.row
        xlsx_put(self.ws, row=row, column=1, value=text).font = HEADER_FONT
        self.row += 1
        return row

    def skip(self, n: int = 1) -> None:
        self.row += n

    def finish(self, *, landscape: bool = True) -> None:
        """Column widths from the content (title rows excluded), A4 landscape, fit to width."""
        ws = self.ws
        widths: dict[int, int] = {}
        for row in ws.iter_rows(min_row=3):
            for cell in row:
                if cell.value is None or cell.row in self.note_rows or type(cell).__name__ == "MergedCell":
                    continue
                widths[cell.column] = max(widths.get(cell.column, 0), display_width(cell.value))
        for column, width in widths.items():
            fixed = self.fixed_widths.get(column)
            ws.column_dimensions[get_column_letter(column)].width = fixed or min(max(width + 2, 8), 40)
        for column, width in self.fixed_widths.items():
            ws.column_dimensions[get_column_letter(column)].width = width
        self._fit_row_heights()
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE if landscape else ws.ORIENTATION_PORTRAIT
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.5
        ws.page_margins.top = ws.page_margins.bottom = 0.7
        ws.oddFooter.center.text = _("第 &P 页，共 &N 页")
        ws.oddFooter.center.font = FONT_NAME

    def _fit_row_heights(self) -> None:
        """Spreadsheet programs do not grow a row for wrapped text on opening a generated file
        (LibreOffice keeps the default height), so the height is set from the text's lines."""
        ws = self.ws

        def width_of(column: int) -> float:
            return ws.column_dimensions[get_column_letter(column)].width or 8.43

        spans = {
            (r.min_row, r.min_col): sum(width_of(c) for c in range(r.min_col, r.max_col + 1)) for r in ws.merged_cells.ranges
        }
        for row in ws.iter_rows(min_row=2):
            lines = 1
            for cell in row:
                if cell.value is None or not isinstance(cell.value, str) or not cell.alignment.wrap_text:
                    continue
                width = spans.get((cell.row, cell.column), width_of(cell.column))
                per_line = max(int(width) - 1, 1)
                lines = max(lines, sum(max(1, -(-display_width(part) // per_line)) for part in cell.value.split("\n")))
            if lines > 1:
                ws.row_dimensions[row[0].row].height = 14 * lines + 2


def show_axes(chart) -> None:
    # openpyxl 3.1 writes <c:delete val="1"/> for axes unless told otherwise; Excel then hides them.
    for axis in (chart.x_axis, chart.y_axis):
        axis.delete = False


def count_axis(chart, largest: int) -> None:
    """Whole numbers on a count axis (no "0.5 items")."""
    chart.y_axis.number_format = "0"
    chart.y_axis.scaling.min = 0
    chart.y_axis.majorUnit = max(1, -(-largest // 8))


def rate_chart(ws: Worksheet, *, title: str, categories: Reference, series: Sequence[tuple[Reference, bool]], horizontal: bool):
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"
    chart.title = title
    chart.style = 10
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    chart.y_axis.majorUnit = 0.2
    if horizontal:
        # Bars are drawn bottom-up; reversed, the first (worst) unit is on top, as in the table.
        chart.x_axis.scaling.orientation = "maxMin"
    for ref, titles in series:
        chart.add_data(ref, titles_from_data=titles)
    chart.set_categories(categories)
    chart.dataLabels = DataLabelList()
    chart.dataLabels.showVal = True
    chart.dataLabels.numFmt = "0.0%"
    for flag in ("showSerName", "showCatName", "showLegendKey", "showPercent"):
        setattr(chart.dataLabels, flag, False)
    show_axes(chart)
    return chart
