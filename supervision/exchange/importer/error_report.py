"""The error report as a workbook: the file's own rows with an extra 错误说明 column, written through
the one guarded cell writer (supervision/exchange/safe_cells.py)."""

from __future__ import annotations

import io
from collections import defaultdict

from django.utils.translation import gettext as _

from supervision.exchange.importer.reading import HEADER_MIN_MATCHES, HEADER_SEARCH_ROWS, cell_text, match_header, read_bytes
from supervision.exchange.safe_cells import xlsx_append
from supervision.models import ImportJob


def error_report_workbook(job: ImportJob) -> bytes:
    """The rows that have errors, as the file had them, each with an added 错误说明 column."""
    import openpyxl

    data, _name = read_bytes(job.file)
    by_row: dict[int | None, list[str]] = defaultdict(list)
    for error in job.errors:
        column = f"「{error['column']}」" if error.get("column") else ""
        by_row[error.get("row")].append(f"{column}{error['message']}")
    out = openpyxl.Workbook()
    sheet = out.active
    sheet.title = _("错误报告")
    if None in by_row:
        xlsx_append(sheet, [_("文件"), "；".join(by_row.pop(None))])
    source = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        found = None
        for ws in source.worksheets:
            rows = list(ws.iter_rows(values_only=True))
            header_row = None
            for number, values in enumerate(rows[:HEADER_SEARCH_ROWS], start=1):
                if sum(1 for v in values if cell_text(v) and match_header(cell_text(v))) >= HEADER_MIN_MATCHES:
                    header_row = number
                    break
            if header_row is not None:
                found = (rows, header_row)
                break
        if found is not None:
            rows, header_row = found
            header = list(rows[header_row - 1])
            xlsx_append(sheet, [_("行号"), *header, _("错误说明")])
            for number in sorted(n for n in by_row if n is not None):
                values = list(rows[number - 1]) if 0 < number <= len(rows) else []
                # The file's own cells, guarded: a cell that reads like a formula stays text.
                xlsx_append(
                    sheet, [number, *[cell_text(v) if isinstance(v, str) else v for v in values], "；".join(by_row[number])]
                )
    finally:
        source.close()
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()
