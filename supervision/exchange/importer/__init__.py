"""Excel ledger import (台账导入): a workbook offices already keep becomes instructions and items.

Rules (issue 5, "loses nothing"):

- Office staff only. The columns are those of `ledger_columns.LEDGER_COLUMNS`, found by header text
  or alias in the first row that names at least three of them (title rows above it are skipped).
- Every row is validated before anything is written. Any error — named by the row number Excel
  shows, the column header as written in the file, and a Chinese message — means nothing is written.
  A clean file is written in one transaction, with bulk inserts: the number of queries does not grow
  with the number of rows.
- Import creates, it never updates. A row whose 台账编号 is already in the ledger, or which matches
  an existing item by 事项名称 + 牵头单位 + 文号, is *skipped as already imported* and listed in the
  summary, so importing an exported file (or the same file twice) creates nothing twice. Codes in the
  file are never reused for new items: a new item always gets the next DB-YYYY-NNNN from
  the ledger series of YearlyCounter (a foreign code is kept in the audit event as `source_code`).
- Rows are grouped into instructions by 文号 + 来源/批示领导 (rows without 文号 by 批示件 title + source;
  a row with neither becomes its own instruction). An instruction the importer can see with the same
  文号 is reused. A new instruction takes the lowest classification of its items (an item may not be
  classified below its instruction) and, without a 批示日期, the earlier of today and its first deadline.
- 状态: each item is imported in the state the ledger gives (草稿 when the cell is empty), without
  fabricating the transitions: there is one audit event per created item (`item_imported`, with file
  name, sha256 and row) and one per created instruction. Non-draft items are assigned at the import
  time (assigned_at, original_deadline, warning date and next reminder computed by the functions the
  services use, so historic reminder steps are not replayed); items past 已交办 have their units
  marked as signed at import time with no signer (the ledger says they signed, not who); closed
  items (已销号/回访通过) carry closed_at = 办结日期 (or the import time) and progress 100. 待审核 cannot be imported: the
  review needs the unit's completion request and evidence, which a ledger row does not hold.
- 进展情况 becomes one stage report (阶段性报告) from the lead unit, filed by the importer; it is
  refused on items that cannot have reports yet (草稿, 已交办, 已签收).
- Dry run: the same validation, and a summary of what would be created; nothing is written.

Modules: reading.py (the workbook's sheet, header and rows), cells.py (labels, dates, reference
data), validation.py (every row checked before anything is written), results.py, writing.py (the
service, one transaction), jobs.py (background jobs), error_report.py (the rows with their errors)."""

from supervision.exchange.importer.cells import parse_date
from supervision.exchange.importer.error_report import error_report_workbook
from supervision.exchange.importer.jobs import import_job_create, import_job_run, validate_upload
from supervision.exchange.importer.reading import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, read_sheet
from supervision.exchange.importer.results import ImportResult, RowError
from supervision.exchange.importer.writing import ledger_import

__all__ = [
    "MAX_IMPORT_BYTES",
    "MAX_IMPORT_ROWS",
    "ImportResult",
    "RowError",
    "error_report_workbook",
    "import_job_create",
    "import_job_run",
    "ledger_import",
    "parse_date",
    "read_sheet",
    "validate_upload",
]
