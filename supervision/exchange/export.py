"""Ledger export (督查台账导出): any filtered ledger view as .xlsx or CSV, in the shared column
layout of supervision/ledger_columns.py, so an exported workbook imports back unchanged.

What is written (DOMAIN.md rule 13):
- The items are exactly the items list's: `Item.objects.visible_to(user)` narrowed by the list's
  own ItemFilterSet with the same query parameters (ordering included), so "export this view"
  exports what the list shows; bad parameters are the same 400 as the list's.
- Of those, items classified above what `export_policy` allows this user (内部, or the level of an
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
export in the audit chain (who, filters, format, rows, omitted, approval used) and returns the body."""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from django.db import transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.worksheet import Worksheet

from accounts.choices import Classification
from accounts.models import User
from supervision.audit import audit_record
from supervision.choices import AssignmentRole, InstructionKind, InstructionNature, ItemStatus, Urgency
from supervision.errors import InvalidInput, require_signed_in
from supervision.exchange.columns import LEDGER_COLUMNS
from supervision.exchange.policy import ExportRights, export_rights
from supervision.filtersets import ItemFilterSet
from supervision.models import Item, ItemAssignment, ProgressReport
from supervision.querysets import reports_visible_to

XLSX = "xlsx"
CSV = "csv"
FORMATS = (XLSX, CSV)
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
CONTENT_TYPES = {XLSX: XLSX_CONTENT_TYPE, CSV: CSV_CONTENT_TYPE}
OMITTED_HEADER = "X-Duban-Omitted-Classified"
ROWS_HEADER = "X-Duban-Rows"

# Rows fetched per round trip of the server-side cursor; supporting units are read once per chunk.
CHUNK_SIZE = 2000
# CSV rows per piece handed to the response (a piece is a few hundred KB at most).
CSV_PIECE_ROWS = 500
TITLE = "督查台账"
UTF8_BOM = "\ufeff"
# Query parameters that are not filters (the format, and the list's paging).
NOT_FILTERS = ("format", "page", "page_size")
# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

FONT_NAME = "宋体"
TITLE_FONT = Font(name=FONT_NAME, size=16, bold=True)
NOTE_FONT = Font(name=FONT_NAME, size=10, color="555555")
WARNING_FONT = Font(name=FONT_NAME, size=10, bold=True, color="9C0006")
HEADER_FONT = Font(name=FONT_NAME, size=11, bold=True)
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
# Title, date/user line, filters line, omitted note, then the header row.
HEADER_ROW = 5


# ---------------------------------------------------------------------------------------------
# Rows


# Columns read from the database, in this order, for every exported item.
_FIELDS = (
    "pk",
    "code",
    "title",
    "instruction__title",
    "instruction__kind",
    "instruction__issuing_leader__full_name",
    "instruction__issuing_leader__username",
    "instruction__issuer_name",
    "instruction__document_number",
    "instruction__issued_on",
    "lead_unit__name",
    "owner__full_name",
    "owner__username",
    "deadline",
    "urgency",
    "classification",
    "category__name",
    "latest_progress",
    "status",
    "closed_at",
    "instruction__nature",
)
_I = {name: index for index, name in enumerate(_FIELDS)}


def _labels(choices) -> dict:
    return {value: str(label) for value, label in choices}


def _source_text(row: tuple, kinds: dict) -> str:
    kind = kinds.get(row[_I["instruction__kind"]], "")
    leader = (
        row[_I["instruction__issuing_leader__full_name"]]
        or row[_I["instruction__issuing_leader__username"]]
        or row[_I["instruction__issuer_name"]]
        or ""
    )
    return f"{kind}/{leader}" if leader else kind


def _column_values() -> dict[str, Callable[[tuple, int, dict], Any]]:
    """One function per LEDGER_COLUMNS key: (row, seq, supporting names by item id) → cell value."""
    kinds = _labels(InstructionKind.choices)
    urgencies = _labels(Urgency.choices)
    classifications = _labels(Classification.choices)
    statuses = _labels(ItemStatus.choices)
    natures = _labels(InstructionNature.choices)
    return {
        "seq": lambda r, n, s: n,
        "code": lambda r, n, s: r[_I["code"]],
        "title": lambda r, n, s: r[_I["title"]],
        "instruction_title": lambda r, n, s: r[_I["instruction__title"]],
        "nature": lambda r, n, s: natures.get(r[_I["instruction__nature"]]),
        "source": lambda r, n, s: _source_text(r, kinds),
        "document_number": lambda r, n, s: r[_I["instruction__document_number"]] or None,
        "issued_on": lambda r, n, s: r[_I["instruction__issued_on"]],
        "lead_unit": lambda r, n, s: r[_I["lead_unit__name"]],
        "supporting_units": lambda r, n, s: "、".join(s.get(r[_I["pk"]], ())) or None,
        "owner": lambda r, n, s: r[_I["owner__full_name"]] or r[_I["owner__username"]],
        "deadline": lambda r, n, s: r[_I["deadline"]],
        "urgency": lambda r, n, s: urgencies.get(r[_I["urgency"]]),
        "classification": lambda r, n, s: classifications.get(r[_I["classification"]]),
        "category": lambda r, n, s: r[_I["category__name"]],
        "progress": lambda r, n, s: r[_I["latest_progress"]] or None,
        "status": lambda r, n, s: statuses.get(r[_I["status"]]),
        "closed_on": lambda r, n, s: timezone.localtime(r[_I["closed_at"]]).date() if r[_I["closed_at"]] else None,
    }


def _supporting_units(item_ids: list[int]) -> dict[int, list[str]]:
    """Supporting unit names per item for one chunk, in the order they were assigned (one query)."""
    names: dict[int, list[str]] = {}
    rows = (
        ItemAssignment.objects.filter(item_id__in=item_ids, role=AssignmentRole.SUPPORTING)
        .order_by("item_id", "id")
        .values_list("item_id", "unit__name")
    )
    for item_id, name in rows:
        names.setdefault(item_id, []).append(name)
    return names


def export_rows(*, user: User, items: QuerySet[Item], chunk_size: int | None = None) -> Iterator[list]:
    """The ledger rows of `items` in LEDGER_COLUMNS order (Python values: dates stay dates).

    `items` must already be scoped (visible, filtered, exportable); this only reads. One server-side
    cursor for the items plus one query per chunk for supporting units."""
    latest_progress = Subquery(
        reports_visible_to(user, ProgressReport.objects.filter(item_id=OuterRef("pk")))
        .order_by("-submitted_at", "-id")
        .values("progress_text")[:1]
    )
    chunk_size = chunk_size or CHUNK_SIZE
    values = _column_values()
    getters = [values[column.key] for column in LEDGER_COLUMNS]
    cursor = items.annotate(latest_progress=latest_progress).values_list(*_FIELDS).iterator(chunk_size=chunk_size)
    seq = 0
    while True:
        chunk = list(islice(cursor, chunk_size))
        if not chunk:
            return
        supporting = _supporting_units([row[_I["pk"]] for row in chunk])
        for row in chunk:
            seq += 1
            yield [get(row, seq, supporting) for get in getters]


# ---------------------------------------------------------------------------------------------
# Scope: what this user's export of this view holds


@dataclass
class ExportScope:
    """The items one export writes, and what it holds back."""

    user: User
    items: QuerySet[Item]  # visible, filtered, ordered, within what the user may export
    rows: int
    omitted: int  # visible and filtered, but above what the user may export
    classified_rows: int  # written rows above 内部: they needed the approval
    rights: ExportRights
    filters: dict[str, list[str]] = field(default_factory=dict)
    now: datetime.datetime = field(default_factory=timezone.now)


def _param_lists(params: Mapping) -> dict[str, list[str]]:
    getlist = getattr(params, "getlist", None)
    out = {}
    for key in params:
        # Only the list's own filters: anything else is ignored by the list, so by the file too.
        known = (
            key in ItemFilterSet.base_filters or key.removesuffix("_after").removesuffix("_before") in ItemFilterSet.base_filters
        )
        if key in NOT_FILTERS or not known:
            continue
        out[key] = list(getlist(key)) if getlist else [str(params[key])]
    return out


def export_scope(*, user: User, params: Mapping, now: datetime.datetime | None = None) -> ExportScope:
    """The items list's visibility and filters, split by the export rule; 400 on bad filters."""
    filterset = ItemFilterSet(params, queryset=Item.objects.visible_to(user))
    if not filterset.is_valid():
        raise InvalidInput(fields={k: list(v) for k, v in filterset.errors.items()})
    items = filterset.qs
    if items.query.order_by:
        # The list's ordering, made total so the file's order is reproducible.
        items = items.order_by(*items.query.order_by, "-pk")
    rights = export_rights(user)
    counts = items.aggregate(
        rows=Count("pk", filter=Q(classification__lte=rights.level)),
        omitted=Count("pk", filter=Q(classification__gt=rights.level)),
        classified_rows=Count("pk", filter=Q(classification__gt=Classification.INTERNAL, classification__lte=rights.level)),
    )
    return ExportScope(
        user=user,
        items=items.filter(classification__lte=rights.level),
        rows=counts["rows"],
        omitted=counts["omitted"],
        classified_rows=counts["classified_rows"],
        rights=rights,
        filters=_param_lists(params),
        now=now or timezone.now(),
    )


def omitted_note(omitted: int) -> str:
    return _("另有 %(n)s 项涉密事项因未经批准未导出") % {"n": omitted}


def _filters_text(filters: Mapping[str, list[str]]) -> str:
    """The filters in words, for the title area: the list's own labels and choice labels."""
    if not filters:
        return _("筛选条件：全部事项")
    parts = []
    for key, values in filters.items():
        base = key.removesuffix("_after").removesuffix("_before")
        flt = ItemFilterSet.base_filters.get(key) or ItemFilterSet.base_filters.get(base)
        label = str(flt.label).split("（")[0] if flt is not None and flt.label else key
        suffix = (
            _("起")
            if flt is not None and key.endswith("_after")
            else _("止")
            if flt is not None and key.endswith("_before")
            else ""
        )
        choices = {str(v): str(lbl) for v, lbl in (flt.extra.get("choices") or ())} if flt is not None else {}
        parts.append(f"{label}{suffix}={'、'.join(choices.get(v, v) for v in values)}")
    return _("筛选条件：") + "；".join(parts)


def _user_text(user: User) -> str:
    unit = getattr(user, "unit", None)
    return f"{user}（{unit}）" if unit else str(user)


# ---------------------------------------------------------------------------------------------
# Writers


def _xlsx_safe(value):
    """Control characters (other than tab and line breaks) cannot be stored in an .xlsx cell; a title
    pasted from another system may carry one, and must not fail the whole export."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _text_cell(ws, value: str) -> WriteOnlyCell:
    """A string cell that stays a string: openpyxl would store "=…" as a formula."""
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


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

    def styled(value, font, alignment=None, fill=None) -> WriteOnlyCell:
        cell = WriteOnlyCell(ws, value=_xlsx_safe(value))
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
                % {"when": exported_at, "who": _user_text(scope.user), "n": scope.rows},
                NOTE_FONT,
            )
        ]
    )
    ws.append([styled(_filters_text(scope.filters), NOTE_FONT)])
    ws.append([styled(omitted_note(scope.omitted), WARNING_FONT)] if scope.omitted else [])
    ws.append([styled(column.header, HEADER_FONT, HEADER_ALIGNMENT, HEADER_FILL) for column in LEDGER_COLUMNS])

    written = 0
    for values in export_rows(user=scope.user, items=scope.items):
        values = [_xlsx_safe(v) for v in values]
        ws.append([_text_cell(ws, v) if isinstance(v, str) and v.startswith("=") else v for v in values])
        written += 1
    ws.auto_filter = AutoFilter(ref=f"A{HEADER_ROW}:{last_column}{HEADER_ROW + max(written, 1)}")
    wb.save(out)
    return written


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_PREFIXES):
        # A leading apostrophe makes Excel show the text instead of running it (CSV injection).
        return "'" + text
    return text


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
        writer.writerow([_csv_cell(v) for v in values])
        pending += 1
        if pending >= CSV_PIECE_ROWS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------------------------
# The service


@dataclass
class LedgerExport:
    """A finished export: the body to send and what it holds."""

    file_format: str
    content_type: str
    filename: str  # Chinese, for Content-Disposition's filename*
    ascii_filename: str
    rows: int
    omitted: int
    approval_id: int | None
    body: IO[bytes] | Iterator[bytes]  # xlsx: a temporary file at position 0; csv: a generator
    audit_seq: int | None = None


def export_filenames(scope: ExportScope, file_format: str) -> tuple[str, str]:
    """(督查台账_<time>.<format>, its ASCII stand-in) for Content-Disposition and storage."""
    stamp = timezone.localtime(scope.now).strftime("%Y%m%d-%H%M")
    return f"{TITLE}_{stamp}.{file_format}", f"duban-ledger-{stamp}.{file_format}"


def file_sha256(out: IO[bytes]) -> str:
    """The SHA-256 of a file just written, read from the start; left at the start for sending."""
    out.seek(0)
    digest = hashlib.sha256()
    for block in iter(lambda: out.read(1 << 20), b""):
        digest.update(block)
    out.seek(0)
    return digest.hexdigest()


def check_format(file_format: str | None) -> str:
    file_format = (file_format or XLSX).strip().lower()
    if file_format not in FORMATS:
        raise InvalidInput(fields={"format": [_("导出格式只能是 xlsx 或 csv。")]})
    return file_format


@transaction.atomic
def _record(scope: ExportScope, *, file_format: str, filename: str, rows: int, sha256: str | None) -> int:
    approval_used = scope.rights.approval_id if scope.classified_rows else None
    event = audit_record(
        actor=scope.user,
        action="ledger_exported",
        obj=scope.user,
        data={
            "format": file_format,
            "filters": scope.filters,
            "filename": filename,
            "rows": rows,
            "omitted_classified": scope.omitted,
            "classified_rows": scope.classified_rows,
            "exportable_classification": scope.rights.level,
            # The approval is named when it let classified rows out, so the trail shows on whose word.
            "approval": approval_used,
            "sha256": sha256,
        },
    )
    return event.seq


def ledger_export(
    *, actor: User, params: Mapping, file_format: str | None = None, now: datetime.datetime | None = None
) -> LedgerExport:
    """Export the items list's view for `params` as .xlsx or CSV and record it in the audit chain.

    .xlsx is written whole to a temporary file first (constant memory), then audited with the
    rows written and the file's SHA-256. CSV is audited before its first byte is sent, with the
    rows counted in the same query as the omitted ones (it is generated while it is sent)."""
    require_signed_in(actor)
    file_format = check_format(file_format)
    scope = export_scope(user=actor, params=params, now=now)
    filename, ascii_filename = export_filenames(scope, file_format)
    if file_format == XLSX:
        out = tempfile.TemporaryFile(prefix="duban-export-", suffix=".xlsx")
        try:
            rows = write_xlsx(scope, out)
            seq = _record(scope, file_format=file_format, filename=filename, rows=rows, sha256=file_sha256(out))
        except BaseException:
            out.close()
            raise
        body: IO[bytes] | Iterator[bytes] = out
    else:
        rows = scope.rows
        seq = _record(scope, file_format=file_format, filename=filename, rows=rows, sha256=None)
        body = csv_stream(scope)
    return LedgerExport(
        file_format=file_format,
        content_type=CONTENT_TYPES[file_format],
        filename=filename,
        ascii_filename=ascii_filename,
        rows=rows,
        omitted=scope.omitted,
        approval_id=scope.rights.approval_id if scope.classified_rows else None,
        body=body,
        audit_seq=seq,
    )
