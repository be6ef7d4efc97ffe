"""The one guarded cell writer (issue 11 finding 3): formula-leading text stays text in .xlsx and
.csv, whatever writes the cell."""

from __future__ import annotations

import io

import openpyxl
import pytest
from openpyxl import Workbook

from supervision.exchange.safe_cells import FORMULA_PREFIXES, csv_value, xlsx_append, xlsx_put

DANGEROUS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_csv_value_neutralises_formula_leading_text(text):
    assert text.startswith(FORMULA_PREFIXES)
    assert csv_value(text) == "'" + text


def test_csv_value_leaves_plain_values():
    assert csv_value("校舍安全") == "校舍安全" and csv_value(3) == "3" and csv_value(None) == "" and csv_value(-5) == "-5"


@pytest.mark.parametrize("write_only", [False, True])
def test_xlsx_cells_stay_text(write_only):
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet("s") if write_only else wb.active
    if not write_only:
        xlsx_put(ws, row=1, column=1, value=DANGEROUS[0])
        xlsx_append(ws, ["x\x01y", *DANGEROUS[1:], 7])
    else:
        xlsx_append(ws, [DANGEROUS[0]])
        xlsx_append(ws, ["x\x01y", *DANGEROUS[1:], 7])
    buffer = io.BytesIO()
    wb.save(buffer)
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["s" if write_only else "Sheet"]
    rows = list(sheet.iter_rows())
    assert rows[0][0].value == DANGEROUS[0] and rows[0][0].data_type == "s" and rows[0][0].quotePrefix
    assert rows[1][0].value == "xy"  # control characters cannot be stored in .xlsx
    assert all(c.data_type == "s" and c.quotePrefix for c in rows[1][1:-1])
    assert rows[1][-1].value == 7
