"""The one guarded cell writer for every .xlsx and .csv the service writes (the ledger export, the
quarterly workbook, the import error report).

A spreadsheet program runs a cell that starts with = + - @ (or a tab or carriage return before
one) as a formula, so text a unit typed (an overdue explanation, a title, a cell of an uploaded
file) could become a live `=HYPERLINK(...)` that sends the sheet's data away (formula / CSV
injection). In .xlsx every text is stored as a string cell, and formula-leading text also gets
Excel's quote prefix (as if typed with a leading apostrophe: shown as text, still text after an
edit); control characters an .xlsx cannot hold are dropped. A .csv has no types: such text gets
a leading apostrophe. Nothing the service writes is meant to be a formula."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def xlsx_text(value):
    """A value an .xlsx cell can store: control characters (other than tab and line breaks) removed."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def guard(cell: Cell) -> Cell:
    """Make a cell that holds text a string cell (never a formula), quote-prefixed when it reads
    like one. Every cell the service writes passes through here."""
    if isinstance(cell.value, str):
        text = xlsx_text(cell.value)
        cell.value = text
        cell.data_type = "s"
        if formula_like(text):
            cell.quotePrefix = True
    return cell


def xlsx_put(ws, *, row: int, column: int, value) -> Cell:
    """`ws.cell(row, column, value)`, guarded."""
    cell = ws.cell(row=row, column=column)
    cell.value = xlsx_text(value)
    return guard(cell)


def xlsx_cell(ws, value) -> Cell:
    """A cell for `ws.append` on a write-only sheet, guarded (style it before appending)."""
    return guard(WriteOnlyCell(ws, value=xlsx_text(value)))


def xlsx_append(ws, values: Iterable) -> None:
    """`ws.append(values)`, guarded; works on write-only and ordinary sheets alike. A value that is
    already a cell (styled by the caller) is guarded as it is."""
    cells = [guard(v) if isinstance(v, Cell) else xlsx_cell(ws, v) for v in values]
    ws.append(cells)


def csv_value(value) -> str:
    """One CSV field: dates in ISO form, formula-leading text behind an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    text = str(value)
    if formula_like(value):
        return "'" + text
    return text
