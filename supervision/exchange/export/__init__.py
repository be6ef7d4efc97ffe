"""Ledger export (督查台账导出): any filtered ledger view as .xlsx or CSV, in the shared column
layout of supervision/exchange/columns.py, so an exported workbook imports back unchanged.

What is written (DOMAIN.md rule 13):
- The items are exactly the items list's: `Item.objects.visible_to(user)` narrowed by the list's
  own ItemFilterSet with the same query parameters (ordering included), so "export this view"
  exports what the list shows; bad parameters are the same 400 as the list's.
- Of those, items classified above what `export/policy.py` allows this user (内部, or the level of an
  active recorded approval) are left out and counted: the workbook says so under its title
  ("另有 N 项涉密事项因未经批准未导出"); for CSV the count goes in the response header
  X-Duban-Omitted-Classified (a trailing note line would break CSV readers). Both go in the audit event.
- 进展情况 is the latest progress report the user may read on the item (`reports_visible_to`: a
  supporting unit does not get the lead unit's reports sideways).

How (constant memory, constant queries):
- One aggregate query counts the rows and the omitted items up front (the title area and the CSV
  header need the numbers before the first row).
- The rows come from one server-side cursor (`values_list(...).iterator(chunk_size=CHUNK_SIZE)`), with
  the instruction, leader, units, owner and category joined and the latest progress text as a
  correlated subquery; supporting units are read once per chunk. Queries do not grow with rows.
- .xlsx: openpyxl write-only mode into a temporary file, served by FileResponse; CSV: UTF-8 with a
  BOM (so Excel opens Chinese correctly), generated row chunk by row chunk for a StreamingHttpResponse.

Cell values: dates as Excel dates (yyyy-mm-dd), choice fields by their Chinese labels (the
importer reads the same labels), supporting units joined with 、, 来源/批示领导 as
"<来源类型>/<批示领导>" (the kind label alone when no leader is named).

`ledger_export` is the service the API calls: it checks the parameters, counts, records the
export in the audit chain (who, filters, format, rows, omitted, approval used) and returns the body.

Modules: rows.py (what the export holds), writers.py (.xlsx and CSV), service.py (`ledger_export`),
jobs.py (background exports, run by the worker), policy.py (who may take classified rows out)."""

from supervision.exchange.export.rows import (
    CONTENT_TYPES,
    CSV,
    CSV_CONTENT_TYPE,
    FORMATS,
    OMITTED_HEADER,
    ROWS_HEADER,
    XLSX,
    XLSX_CONTENT_TYPE,
    ExportScope,
    export_rows,
    export_scope,
)
from supervision.exchange.export.service import LedgerExport, check_format, export_filenames, file_sha256, ledger_export
from supervision.exchange.export.writers import csv_stream, write_xlsx

__all__ = [
    "CONTENT_TYPES",
    "CSV",
    "CSV_CONTENT_TYPE",
    "FORMATS",
    "OMITTED_HEADER",
    "ROWS_HEADER",
    "XLSX",
    "XLSX_CONTENT_TYPE",
    "ExportScope",
    "LedgerExport",
    "check_format",
    "csv_stream",
    "export_filenames",
    "export_rows",
    "export_scope",
    "file_sha256",
    "ledger_export",
    "write_xlsx",
]
