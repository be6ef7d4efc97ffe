"""Reading an uploaded workbook: the sheet that holds a ledger, its header row (titles, notes and
merged cells above it are skipped; merged cells carry their value down), and its rows as text."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from supervision.errors import InvalidInput
from supervision.exchange.columns import LEDGER_COLUMNS, LedgerColumn

# How many rows above the data may hold titles, notes and the header itself.
HEADER_SEARCH_ROWS = 30


# A row is the header when it names at least this many known columns.
HEADER_MIN_MATCHES = 3


MAX_IMPORT_BYTES = getattr(settings, "DUBAN_MAX_IMPORT_BYTES", 20 * 1024 * 1024)


MAX_IMPORT_ROWS = getattr(settings, "DUBAN_MAX_IMPORT_ROWS", 50_000)


COLUMNS_BY_KEY = {c.key: c for c in LEDGER_COLUMNS}


@dataclass
class SheetRow:
    number: int  # as Excel shows it
    cells: dict[str, Any]  # column key → raw value


@dataclass
class Sheet:
    headers: dict[str, str]  # column key → header text as written in the file
    rows: list[SheetRow]
    header_row: int
    title: str


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_bytes(file) -> tuple[bytes, str]:
    """The file's bytes and a display name, from a path, bytes, or an (uploaded / stored) file."""
    if isinstance(file, (bytes, bytearray)):
        return bytes(file), "workbook.xlsx"
    if isinstance(file, str) or hasattr(file, "__fspath__"):
        with open(file, "rb") as handle:
            return handle.read(), str(file).rsplit("/", 1)[-1]
    name = (getattr(file, "name", "") or "workbook.xlsx").rsplit("/", 1)[-1]
    opened_here = hasattr(file, "open") and getattr(file, "closed", False)
    if opened_here:  # a stored FieldFile: open it for this read only
        file.open("rb")
    try:
        if hasattr(file, "seek"):
            file.seek(0)
        return file.read(), name
    finally:
        if opened_here:
            file.close()


def bad_file(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_workbook", fields={"file": [message]})


def match_header(text: str) -> LedgerColumn | None:
    for column in LEDGER_COLUMNS:
        if column.matches(text):
            return column
    return None


def read_sheet(data: bytes) -> Sheet:
    """Find the header row and read every data row, keyed by column. Raises InvalidInput (field
    `file`) for a file that is not a workbook or has no recognisable header."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not data.startswith(b"PK"):
        raise bad_file(_("文件不是 Excel 工作簿（.xlsx），请另存为 .xlsx 后重新上传。"))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError):
        raise bad_file(_("无法读取该 Excel 文件，文件可能已损坏或不是 .xlsx 格式。")) from None
    try:
        for sheet in workbook.worksheets:
            found = _read_worksheet(sheet)
            if found is not None:
                return found
    finally:
        workbook.close()
    names = "、".join(c.header for c in LEDGER_COLUMNS if c.required)
    raise bad_file(
        _("未找到表头行：前 %(n)s 行中没有同时包含至少 %(m)s 个台账列名（如 %(names)s）的行。")
        % {"n": HEADER_SEARCH_ROWS, "m": HEADER_MIN_MATCHES, "names": names}
    )


def _merged_anchors(worksheet) -> dict[tuple[int, int], tuple[int, int]]:
    """(row, column) → the top-left cell of its merged range, for every covered cell but the top-left.

    Hand-kept ledgers merge 文号 / 来源 / 牵头单位 down the rows of one instruction; Excel stores the
    value in the top-left cell only, so each row below must read it from there. Read-only worksheets
    do not expose merged ranges, so the <mergeCell ref="C3:C6"/> elements are read from the sheet's
    XML with a streaming parser (constant memory whatever the file size)."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import range_boundaries

    anchors: dict[tuple[int, int], tuple[int, int]] = {}
    with worksheet.parent._archive.open(worksheet._worksheet_path) as xml:
        for _event, element in iterparse(xml):
            if element.tag.endswith("}mergeCell") and element.get("ref"):
                min_col, min_row, max_col, max_row = range_boundaries(element.get("ref"))
                for row in range(min_row, max_row + 1):
                    for col in range(min_col, max_col + 1):
                        if (row, col) != (min_row, min_col):
                            anchors[(row, col - 1)] = (min_row, min_col - 1)
            elif element.tag.endswith("}row"):
                element.clear()  # cell data is read by iter_rows; keep memory flat here
    return anchors


def _filled_down(rows, anchors: dict[tuple[int, int], tuple[int, int]]):
    """The rows with each merged cell carrying its range's value."""
    if not anchors:
        yield from rows
        return
    wanted = set(anchors.values())
    covered: dict[int, list[int]] = {}
    for row, col in anchors:
        covered.setdefault(row, []).append(col)
    values_at: dict[tuple[int, int], Any] = {}
    for number, values in enumerate(rows, start=1):
        values = list(values or ())
        for col, value in enumerate(values):
            if (number, col) in wanted:
                values_at[(number, col)] = value
        cols = covered.get(number, ())
        if cols:
            values += [None] * (max(cols) + 1 - len(values))
            for col in cols:
                if values[col] is None:
                    values[col] = values_at.get(anchors[(number, col)])
        yield tuple(values)


def _read_worksheet(worksheet) -> Sheet | None:
    rows = _filled_down(worksheet.iter_rows(values_only=True), _merged_anchors(worksheet))
    for number, values in enumerate(rows, start=1):
        if number > HEADER_SEARCH_ROWS:
            return None
        mapping: dict[int, LedgerColumn] = {}
        headers: dict[str, str] = {}
        duplicates: list[str] = []
        for index, value in enumerate(values or ()):
            text = cell_text(value)
            column = match_header(text) if text else None
            if column is None:
                continue
            if column.key in headers:
                duplicates.append(text)
                continue
            mapping[index] = column
            headers[column.key] = text
        if len(mapping) < HEADER_MIN_MATCHES:
            continue
        if duplicates:
            raise bad_file(_("表头中有重复的列：%(cols)s。") % {"cols": "、".join(duplicates)})
        missing = [c.header for c in LEDGER_COLUMNS if c.required and c.key not in headers]
        if missing:
            raise bad_file(_("第 %(row)s 行是表头，但缺少必需的列：%(cols)s。") % {"row": number, "cols": "、".join(missing)})
        data_rows = []
        for row_number, values in enumerate(rows, start=number + 1):
            cells = {column.key: (values[index] if index < len(values) else None) for index, column in mapping.items()}
            # Empty rows, and footers such as "填表人：…" written in the 序号 column, are not data.
            if all(cell_text(v) == "" for k, v in cells.items() if k != "seq"):
                continue
            data_rows.append(SheetRow(row_number, cells))
            if len(data_rows) > MAX_IMPORT_ROWS:
                raise bad_file(_("数据行超过 %(n)s 行，请分批导入。") % {"n": MAX_IMPORT_ROWS})
        return Sheet(headers=headers, rows=data_rows, header_row=number, title=worksheet.title)
    return None
