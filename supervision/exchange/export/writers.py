"""Writing an export: .xlsx in openpyxl's write-only mode (title area, header, autofilter) and CSV
with a BOM, chunk by chunk; every cell through the one guarded
cell writer (supervision/exchange/safe_cells.py) against formula injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.worksheet import Worksheet

from supervision.exchange.columns import LEDGER_COLUMNS
from supervision.exchange.export.rows import TITLE, ExportScope, export_rows, filters_text, omitted_note, user_text
from supervision.exchange.safe_cells import csv_value, xlsx_append, xlsx_cell

# CSV rows per piece handed to the response (a piece is a few hundred KB at most).
CSV_PIECE_ROWS = 500


UTF8_BOM = "\ufeff"


FONT_NAME = "宋体"


TITLE_FONT = Font(name=FONT_NAME, size=16, bold=True)


NOTE_FONT = Font(name=FONT_NAME, size=10, color="555555")


WARNING_FONT = Font(name=FONT_NAME, size=10, bold=True, color="9C0006")


HEADER_FONT = Font(name=FONT_NAME, size=11, bold=True)


HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")


HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)


# Title, date/user line, filters line, omitted note, then the header row.
HEADER_ROW = 5


def write_xlsx(scope: ExportScope, out: IO[bytes]) -> int:
    """Write the workbook to `out` in write-only mode; returns the number of item rows written."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(TITLE)
    last_column = get_column_letter(len(LEDGER_COLUMNS))
    for index, column in enumerate(LEDGER_COLUMNS, 1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    # Keep 序号/台账编号 and the header in view while scrolling.
    ws.freeze_panes = f"C{HEADER_ROW + 1}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    for row in range(1, HEADER_ROW - 1):
        ws.merged_cells.add(f"A{row}:{last_column}{row}")

    def styled(value, font, alignment=None, fill=None) -> Cell:
        cell = xlsx_cell(ws, value)
        cell.font = font
        if alignment is not None:
            cell.alignment = alignment
        if fill is not None:
            cell.fill = fill
        return cell

    exported_at = timezone.localtime(scope.now).strftime("%Y-%m-%d %H:%M")
    ws.append([styled(TITLE, TITLE_FONT)])
    ws.append(
        [
            styled(
                _("导出时间：%(when)s　导出人：%(who)s　共 %(n)s 项")
                % {"when": exported_at, "who": user_text(scope.user), "n": scope.rows},
                NOTE_FONT,
            )
        ]
    )
    ws.append([styled(filters_text(scope.filters), NOTE_FONT)])
    ws.append([styled(omitted_note(scope.omitted), WARNING_FONT)] if scope.omitted else [])
    ws.append([styled(column.header, HEADER_FONT, HEADER_ALIGNMENT, HEADER_FILL) for column in LEDGER_COLUMNS])

    written = 0
    for values in export_rows(user=scope.user, items=scope.items):
        xlsx_append(ws, values)
        written += 1
    ws.auto_filter = AutoFilter(ref=f"A{HEADER_ROW}:{last_column}{HEADER_ROW + max(written, 1)}")
    wb.save(out)
    return written


def csv_stream(scope: ExportScope) -> Iterator[bytes]:
    """The CSV body: BOM and header line, then one piece per chunk of rows (never the whole file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.header for column in LEDGER_COLUMNS])
    yield (UTF8_BOM + buffer.getvalue()).encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for values in export_rows(user=scope.user, items=scope.items):
        writer.writerow([csv_value(v) for v in values])
        pending += 1
        if pending >= CSV_PIECE_ROWS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue().encode("utf-8")
