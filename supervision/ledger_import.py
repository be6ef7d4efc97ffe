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
  file are never reused for new items: a new item always gets the next DB-YYYY-NNNN from the
  LedgerCounter (a foreign code is kept in the audit event as `source_code`).
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
- Dry run: the same validation, and a summary of what would be created; nothing is written."""

from __future__ import annotations

import datetime
import difflib
import hashlib
import io
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Classification, Role
from accounts.models import Unit, User
from supervision import workcalendar
from supervision.audit import PendingEvent, audit_record, audit_record_many
from supervision.choices import (
    OPEN_STATUSES,
    AssignmentRole,
    ImportJobStatus,
    ImportPhase,
    InstructionKind,
    InstructionNature,
    ItemStatus,
    ReportKind,
    Urgency,
)
from supervision.errors import DomainError, InvalidInput, NotPermitted
from supervision.jobs import job_claim
from supervision.ledger_columns import LEDGER_COLUMNS, LIST_SEPARATORS, LedgerColumn
from supervision.models import Category, ImportJob, Instruction, Item, ItemAssignment, LedgerCounter, ProgressReport
from supervision.stored_files import deleted_if_not_kept
from supervision.warning_dates import thresholds, warning_date_for

# How many rows above the data may hold titles, notes and the header itself.
HEADER_SEARCH_ROWS = 30
# A row is the header when it names at least this many known columns.
HEADER_MIN_MATCHES = 3
MAX_IMPORT_BYTES = getattr(settings, "DUBAN_MAX_IMPORT_BYTES", 20 * 1024 * 1024)
MAX_IMPORT_ROWS = getattr(settings, "DUBAN_MAX_IMPORT_ROWS", 50_000)
# How often (in rows) validation reports progress.
PROGRESS_EVERY = 200

COLUMNS_BY_KEY = {c.key: c for c in LEDGER_COLUMNS}

# ---------------------------------------------------------------------------------------------
# Labels accepted in cells: the choices' own Chinese labels, plus words common in hand-kept ledgers.

URGENCY_LABELS = {str(label): value for value, label in Urgency.choices} | {
    "普通": Urgency.NORMAL,
    "紧急": Urgency.URGENT,
    "加急": Urgency.URGENT,
    "特别紧急": Urgency.EXTRA_URGENT,
}
CLASSIFICATION_LABELS = {str(label): value for value, label in Classification.choices} | {
    "非密": Classification.PUBLIC,
    "不涉密": Classification.PUBLIC,
    "无": Classification.PUBLIC,
}
NATURE_LABELS = {str(label): value for value, label in InstructionNature.choices} | {
    "批办": InstructionNature.ACTIONABLE,
    "指导": InstructionNature.DIRECTIVE,
    "参阅": InstructionNature.REFERENCE,
}
STATUS_LABELS = {str(label): value for value, label in ItemStatus.choices} | {
    "未交办": ItemStatus.DRAFT,
    "待交办": ItemStatus.DRAFT,
    "交办": ItemStatus.ASSIGNED,
    "签收": ItemStatus.ACKNOWLEDGED,
    "正在办理": ItemStatus.IN_PROGRESS,
    "推进中": ItemStatus.IN_PROGRESS,
    "序时推进": ItemStatus.IN_PROGRESS,
    "已办结": ItemStatus.CLOSED,
    "办结": ItemStatus.CLOSED,
    "已完成": ItemStatus.CLOSED,
    "完成": ItemStatus.CLOSED,
    "销号": ItemStatus.CLOSED,
    "暂停": ItemStatus.SUSPENDED,
    "撤销": ItemStatus.CANCELLED,
    "已取消": ItemStatus.CANCELLED,
}
KIND_LABELS = {str(label): value for value, label in InstructionKind.choices}
# Read in this order from the 来源 text when it names no kind outright.
KIND_KEYWORDS = (
    (InstructionKind.MEETING_DECISION, ("会议", "常委会", "议定", "专题会")),
    (InstructionKind.DEPUTIES_SUGGESTION, ("人大", "政协", "建议", "提案")),
    (InstructionKind.PUBLIC_REPORT, ("群众", "媒体", "网络", "舆情", "信访", "12345", "热线")),
    (InstructionKind.INSPECTION_FINDING, ("督查", "暗访", "巡查", "检查发现")),
    (InstructionKind.ASSIGNED_FROM_ABOVE, ("上级", "交办", "省委", "市委", "省政府", "市政府")),
)
# States in which a unit has reported, so a 进展情况 cell may stand for a stage report.
REPORTED_STATUSES = (
    ItemStatus.IN_PROGRESS,
    ItemStatus.CLOSED,
    ItemStatus.VERIFIED,
    ItemStatus.SUSPENDED,
    ItemStatus.CANCELLED,
)
# States in which the ledger says the units have signed for the item.
SIGNED_STATUSES = (
    ItemStatus.ACKNOWLEDGED,
    ItemStatus.IN_PROGRESS,
    ItemStatus.CLOSED,
    ItemStatus.VERIFIED,
    ItemStatus.SUSPENDED,
)
DONE = (ItemStatus.CLOSED, ItemStatus.VERIFIED)
# States that need what 交办 needs (owner, deadline for 批办性 items).
NEEDS_ASSIGNMENT_DATA = (*OPEN_STATUSES, ItemStatus.SUSPENDED)

CODE_PATTERN = re.compile(r"^DB-\d{4}-\d{4,}$")


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class RowError:
    """One problem: the row number as Excel shows it (None: the whole file), the column header as
    written in the file, and what is wrong, in Chinese."""

    row: int | None
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = _("第 %(row)s 行") % {"row": self.row} if self.row else _("文件")
        column = f"「{self.column}」" if self.column else ""
        return f"{where}{column}：{self.message}"


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do)."""

    dry_run: bool
    file_name: str
    sha256: str
    rows_total: int = 0
    errors: list[RowError] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    written: bool = False
    item_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_dicts(self) -> list[dict]:
        return [e.as_dict() for e in self.errors]


Progress = Callable[[str, int, int], None]


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


# ---------------------------------------------------------------------------------------------
# Reading the workbook


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


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _read_bytes(file) -> tuple[bytes, str]:
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


def _bad_file(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_workbook", fields={"file": [message]})


def _match_header(text: str) -> LedgerColumn | None:
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
        raise _bad_file(_("文件不是 Excel 工作簿（.xlsx），请另存为 .xlsx 后重新上传。"))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError):
        raise _bad_file(_("无法读取该 Excel 文件，文件可能已损坏或不是 .xlsx 格式。")) from None
    try:
        for sheet in workbook.worksheets:
            found = _read_worksheet(sheet)
            if found is not None:
                return found
    finally:
        workbook.close()
    names = "、".join(c.header for c in LEDGER_COLUMNS if c.required)
    raise _bad_file(
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
            text = _text(value)
            column = _match_header(text) if text else None
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
            raise _bad_file(_("表头中有重复的列：%(cols)s。") % {"cols": "、".join(duplicates)})
        missing = [c.header for c in LEDGER_COLUMNS if c.required and c.key not in headers]
        if missing:
            raise _bad_file(_("第 %(row)s 行是表头，但缺少必需的列：%(cols)s。") % {"row": number, "cols": "、".join(missing)})
        data_rows = []
        for row_number, values in enumerate(rows, start=number + 1):
            cells = {column.key: (values[index] if index < len(values) else None) for index, column in mapping.items()}
            # Empty rows, and footers such as "填表人：…" written in the 序号 column, are not data.
            if all(_text(v) == "" for k, v in cells.items() if k != "seq"):
                continue
            data_rows.append(SheetRow(row_number, cells))
            if len(data_rows) > MAX_IMPORT_ROWS:
                raise _bad_file(_("数据行超过 %(n)s 行，请分批导入。") % {"n": MAX_IMPORT_ROWS})
        return Sheet(headers=headers, rows=data_rows, header_row=number, title=worksheet.title)
    return None


# ---------------------------------------------------------------------------------------------
# Cell parsers: each returns (value, error message or None)

_DATE_FULL = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATE_NO_YEAR = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_BEFORE = re.compile(r"(之前|以前|前|止)$")


def parse_date(value: Any) -> tuple[datetime.date | None, str | None]:
    """Excel dates, 2026-12-31, 2026/12/31, 2026.12.31, 2026年12月31日, 20261231; "…前" is read as
    the date itself. A date without a year (12月31日前) or words (长期) are errors, not guesses."""
    if value is None or _text(value) == "":
        return None, None
    if isinstance(value, datetime.datetime):
        return value.date(), None
    if isinstance(value, datetime.date):
        return value, None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # A date typed into a cell without date format arrives as Excel's day number.
        if 20000 < value < 80000:
            from openpyxl.utils.datetime import from_excel

            return from_excel(value).date(), None
        return None, _("“%(v)s”不是日期，请写成 2026-12-31 或 2026年12月31日。") % {"v": _text(value)}
    text = _BEFORE.sub("", _text(value).replace(" ", ""))
    match = _DATE_FULL.match(text) or _DATE_COMPACT.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            day = datetime.date(year, month, day)
        except ValueError:
            return None, _("日期“%(v)s”不存在。") % {"v": _text(value)}
        if not workcalendar.EARLIEST_DATE <= day <= workcalendar.LATEST_DATE:
            return None, _("日期“%(v)s”须在 1900 年至 2999 年之间。") % {"v": _text(value)}
        return day, None
    if _DATE_NO_YEAR.match(text):
        return None, _("日期“%(v)s”缺少年份，请写成 2026-12-31 或 2026年12月31日。") % {"v": _text(value)}
    return None, _("无法识别日期“%(v)s”，请写成 2026-12-31 或 2026年12月31日。") % {"v": _text(value)}


def _parse_label(value: Any, labels: dict, what: str) -> tuple[Any, str | None]:
    text = "".join(_text(value).split())
    if not text:
        return None, None
    if text in labels:
        return labels[text], None
    return None, _("未知的%(what)s“%(v)s”，可填：%(choices)s。") % {"what": what, "v": text, "choices": "、".join(labels)}


# ---------------------------------------------------------------------------------------------
# Reference data, read once per import (the query count must not grow with the rows)


def _norm(text: str) -> str:
    return "".join((text or "").split())


@dataclass
class Directory:
    units_by_name: dict[str, list[dict]]
    unit_names: list[str]
    members: dict[tuple[int, str], list[dict]]  # (unit id, full name or username) → users
    leaders: dict[str, list[int]]  # full name → leader ids
    categories: dict[str, int]

    @classmethod
    def load(cls) -> Directory:
        units_by_name: dict[str, list[dict]] = defaultdict(list)
        for unit in Unit.objects.values("pk", "name", "short_name", "is_active"):
            units_by_name[_norm(unit["name"])].append(unit)
            if unit["short_name"] and _norm(unit["short_name"]) != _norm(unit["name"]):
                units_by_name[_norm(unit["short_name"])].append(unit)
        members: dict[tuple[int, str], list[dict]] = defaultdict(list)
        for user in User.objects.filter(unit__isnull=False).values("pk", "unit_id", "full_name", "username", "is_active"):
            members[(user["unit_id"], _norm(user["full_name"]))].append(user)
            if _norm(user["username"]) != _norm(user["full_name"]):
                members[(user["unit_id"], _norm(user["username"]))].append(user)
        leaders: dict[str, list[int]] = defaultdict(list)
        for pk, name, username in User.objects.filter(role_assignments__role=Role.LEADER, is_active=True).values_list(
            "pk", "full_name", "username"
        ):
            for key in {_norm(name), _norm(username)} - {""}:
                leaders[key].append(pk)
        categories = {_norm(name): pk for pk, name in Category.objects.filter(is_active=True).values_list("pk", "name")}
        return cls(units_by_name, sorted(units_by_name), members, leaders, categories)

    def unit(self, text: str) -> tuple[dict | None, str | None]:
        key = _norm(text)
        found = self.units_by_name.get(key, [])
        if len(found) == 1 or (found and all(u["pk"] == found[0]["pk"] for u in found)):
            unit = found[0]
            if not unit["is_active"]:
                return None, _("单位“%(name)s”已停用。") % {"name": text}
            return unit, None
        if found:
            names = "、".join(u["name"] for u in found)
            return None, _("单位简称“%(name)s”对应多个单位（%(names)s），请填写全称。") % {"name": text, "names": names}
        close = difflib.get_close_matches(key, self.unit_names, n=3, cutoff=0.6)
        if close:
            return None, _("单位“%(name)s”不存在，是否为：%(close)s？") % {"name": text, "close": "、".join(close)}
        return None, _("单位“%(name)s”不存在。") % {"name": text}


_PAREN = re.compile(r"[（(][^）)]*[）)]")
_PHONE = re.compile(r"[\s:：]*1\d{10}$|[\s:：]*\d{3,4}-?\d{7,8}$")


def _person_name(text: str) -> str:
    """ "张三（局长）13800000000" → "张三": ledgers add titles and phone numbers to the name."""
    return _norm(_PHONE.sub("", _PAREN.sub("", text)))


# ---------------------------------------------------------------------------------------------
# Validation


@dataclass
class Planned:
    """One valid row, ready to be written."""

    row: int
    group: tuple
    item: Item
    supporting_ids: list[int]
    progress_text: str
    source_code: str
    lead_name: str


@dataclass
class PlannedInstruction:
    key: tuple
    instruction: Instruction
    existing: bool
    rows: list[int] = field(default_factory=list)
    first_row: int = 0
    issued_given: bool = False


class _Validator:
    def __init__(self, *, actor: User, sheet: Sheet, progress: Progress, now: datetime.datetime):
        self.actor = actor
        self.sheet = sheet
        self.progress = progress
        self.now = now
        self.today = timezone.localdate(now)
        self.errors: list[RowError] = []
        self.skipped: list[dict] = []
        self.planned: list[Planned] = []
        self.instructions: dict[tuple, PlannedInstruction] = {}

    def error(self, row: int | None, key: str, message: str) -> None:
        self.errors.append(RowError(row, self.sheet.headers.get(key, COLUMNS_BY_KEY[key].header if key else ""), message))

    def run(self) -> None:
        rows = self.sheet.rows
        total = len(rows)
        directory = Directory.load()
        texts = [{k: _text(v) for k, v in r.cells.items()} for r in rows]
        existing_codes, existing_keys, instructions_by_doc = self._existing(texts)
        table = thresholds()
        policy_cache: dict = {}
        seen_codes: dict[str, int] = {}
        seen_keys: dict[tuple, int] = {}
        self.progress(ImportPhase.VALIDATING, 0, total)
        for index, (row, cells) in enumerate(zip(rows, texts, strict=True), start=1):
            self._row(row, cells, directory, existing_codes, existing_keys, instructions_by_doc, seen_codes, seen_keys)
            if index % PROGRESS_EVERY == 0:
                self.progress(ImportPhase.VALIDATING, index, total)
        self._check_groups()
        if not self.errors:
            memo: dict = {}
            for planned in self.planned:
                self._schedule(planned.item, table, policy_cache, bool(planned.progress_text), memo)
        self.progress(ImportPhase.VALIDATING, total, total)

    def _existing(self, texts: list[dict]) -> tuple[set[str], set[tuple], dict[str, Instruction]]:
        codes = {c["code"] for c in texts if c.get("code")}
        titles = {c["title"] for c in texts if c.get("title")}
        docs = {c["document_number"] for c in texts if c.get("document_number")}
        visible = Item.objects.visible_to(self.actor)
        existing_codes = set(visible.filter(code__in=codes).values_list("code", flat=True)) if codes else set()
        existing_keys = {
            (title, lead_id, doc or "")
            for title, lead_id, doc in visible.filter(title__in=titles).values_list(
                "title", "lead_unit_id", "instruction__document_number"
            )
        }
        instructions_by_doc: dict[str, Instruction] = {}
        if docs:
            # The newest visible instruction with that 文号 is the one rows attach to.
            for instruction in Instruction.objects.visible_to(self.actor).filter(document_number__in=docs).order_by("pk"):
                instructions_by_doc[instruction.document_number] = instruction
        return existing_codes, existing_keys, instructions_by_doc

    def _row(self, row, cells, directory, existing_codes, existing_keys, instructions_by_doc, seen_codes, seen_keys):
        n = row.number
        errors_before = len(self.errors)

        code = cells.get("code", "")
        if code:
            if code in seen_codes:
                self.error(n, "code", _("台账编号“%(code)s”与第 %(row)s 行重复。") % {"code": code, "row": seen_codes[code]})
                return
            seen_codes[code] = n
            if code in existing_codes:
                self.skipped.append({"row": n, "code": code, "reason": _("台账编号已存在，视为已导入，跳过。")})
                return

        title = cells.get("title", "")
        if not title:
            self.error(n, "title", _("事项名称不能为空。"))
        elif len(title) > 200:
            self.error(n, "title", _("事项名称不能超过 200 个字。"))
        source = cells.get("source", "")
        if not source:
            self.error(n, "source", _("来源/批示领导不能为空。"))
        elif len(source) > 100:
            self.error(n, "source", _("来源/批示领导不能超过 100 个字。"))
        document_number = cells.get("document_number", "")
        if len(document_number) > 100:
            self.error(n, "document_number", _("文号不能超过 100 个字。"))
        instruction_title = cells.get("instruction_title", "")
        if len(instruction_title) > 200:
            self.error(n, "instruction_title", _("批示件标题不能超过 200 个字。"))
        issued_on, message = parse_date(row.cells.get("issued_on"))
        if message:
            self.error(n, "issued_on", message)
        if issued_on and issued_on > self.today:
            self.error(n, "issued_on", _("批示日期不能晚于今天。"))

        lead_text = cells.get("lead_unit", "")
        lead = None
        if not lead_text:
            self.error(n, "lead_unit", _("牵头单位不能为空。"))
        else:
            lead, message = directory.unit(lead_text)
            if message:
                self.error(n, "lead_unit", message)
        supporting_ids: list[int] = []
        for name in filter(
            None, (p.strip() for p in re.split(f"[{re.escape(LIST_SEPARATORS)}]", cells.get("supporting_units", "")))
        ):
            unit, message = directory.unit(name)
            if message:
                self.error(n, "supporting_units", message)
            elif lead and unit["pk"] == lead["pk"]:
                self.error(n, "supporting_units", _("配合单位“%(name)s”与牵头单位相同。") % {"name": name})
            elif unit["pk"] in supporting_ids:
                self.error(n, "supporting_units", _("配合单位“%(name)s”重复。") % {"name": name})
            else:
                supporting_ids.append(unit["pk"])

        owner_id = None
        owner_text = cells.get("owner", "")
        if owner_text and lead:
            people = directory.members.get((lead["pk"], _person_name(owner_text)), [])
            people = list({p["pk"]: p for p in people}.values())
            if not people:
                self.error(
                    n, "owner", _("在牵头单位“%(unit)s”中找不到责任人“%(name)s”。") % {"unit": lead["name"], "name": owner_text}
                )
            elif len(people) > 1:
                self.error(
                    n,
                    "owner",
                    _("牵头单位“%(unit)s”中有 %(count)s 人名为“%(name)s”，请填写用户名以区分。")
                    % {"unit": lead["name"], "count": len(people), "name": owner_text},
                )
            elif not people[0]["is_active"]:
                self.error(n, "owner", _("责任人“%(name)s”的账号已停用。") % {"name": owner_text})
            else:
                owner_id = people[0]["pk"]

        deadline, deadline_error = parse_date(row.cells.get("deadline"))
        if deadline_error:
            self.error(n, "deadline", deadline_error)
        urgency, message = _parse_label(cells.get("urgency"), URGENCY_LABELS, _("紧急程度"))
        if message:
            self.error(n, "urgency", message)
        classification, message = _parse_label(cells.get("classification"), CLASSIFICATION_LABELS, _("密级"))
        if message:
            self.error(n, "classification", message)
        elif classification is not None and classification > self.actor.clearance:
            self.error(
                n,
                "classification",
                _("密级“%(level)s”高于您的密级权限（%(mine)s），不能导入。")
                % {"level": Classification(classification).label, "mine": Classification(self.actor.clearance).label},
            )
        category_id = None
        category_text = cells.get("category", "")
        if category_text:
            category_id = directory.categories.get(_norm(category_text))
            if category_id is None:
                choices = "、".join(directory.categories) or _("（系统中尚无类别）")
                self.error(n, "category", _("未知的类别“%(v)s”，可填：%(choices)s。") % {"v": category_text, "choices": choices})
        status, message = _parse_label(cells.get("status"), STATUS_LABELS, _("状态"))
        if message:
            self.error(n, "status", message)
        status = status or ItemStatus.DRAFT
        progress_text = cells.get("progress", "")
        label = ItemStatus(status).label
        if status == ItemStatus.PENDING_REVIEW:
            self.error(
                n,
                "status",
                _("“待审核”须有责任单位的办结申请和佐证材料，不能由台账导入；请按“办理中”导入，再由责任单位在系统中申请办结。"),
            )
        nature, message = _parse_label(cells.get("nature"), NATURE_LABELS, _("批示性质"))
        if message:
            self.error(n, "nature", message)
        nature = nature or InstructionNature.ACTIONABLE
        if status in NEEDS_ASSIGNMENT_DATA:
            if not owner_text:
                self.error(n, "owner", _("状态为“%(s)s”的事项须填写责任人。") % {"s": label})
            # 参阅性: no deadline-bound item is required (DOMAIN.md rule 2).
            if deadline is None and not deadline_error and nature != InstructionNature.REFERENCE:
                self.error(n, "deadline", _("状态为“%(s)s”的事项须填写办理时限。") % {"s": label})
        if progress_text and status not in REPORTED_STATUSES and status != ItemStatus.PENDING_REVIEW:
            self.error(
                n,
                "progress",
                _("状态为“%(s)s”的事项还不能有进展情况（责任单位反馈进展后即为“办理中”）；请核对状态。") % {"s": label},
            )
        if issued_on and deadline and deadline < issued_on:
            self.error(n, "deadline", _("办理时限不能早于批示日期（%(d)s）。") % {"d": issued_on})
        closed_on, message = parse_date(row.cells.get("closed_on"))
        if message:
            self.error(n, "closed_on", message)
        elif closed_on is not None:
            if status not in DONE:
                self.error(n, "closed_on", _("只有已销号或回访通过的事项才有办结日期（本行状态为“%(s)s”）。") % {"s": label})
            elif closed_on > self.today:
                self.error(n, "closed_on", _("办结日期不能晚于今天。"))
            elif issued_on and closed_on < issued_on:
                self.error(n, "closed_on", _("办结日期不能早于批示日期（%(d)s）。") % {"d": issued_on})

        if len(self.errors) > errors_before:
            return

        # Duplicates: within the file, then against the ledger (already imported).
        key = (title, lead["pk"], document_number)
        if key in seen_keys:
            self.error(
                n,
                "title",
                _("与第 %(row)s 行重复（事项名称、牵头单位、文号均相同）。") % {"row": seen_keys[key]},
            )
            return
        seen_keys[key] = n
        if key in existing_keys:
            self.skipped.append(
                {"row": n, "code": code, "reason": _("台账中已有相同事项名称、牵头单位和文号的事项，视为已导入，跳过。")}
            )
            return

        group = self._group(
            n, cells, document_number, instruction_title, source, issued_on, instructions_by_doc, directory, nature=nature
        )
        planned_instruction = self.instructions[group]
        instruction = planned_instruction.instruction
        if planned_instruction.existing:
            if classification is not None and classification < instruction.classification:
                self.error(
                    n,
                    "classification",
                    _("事项密级不能低于所属批示件（文号 %(doc)s）的密级（%(level)s）。")
                    % {"doc": document_number, "level": instruction.get_classification_display()},
                )
                return
            if deadline and deadline < instruction.issued_on:
                self.error(n, "deadline", _("办理时限不能早于批示件的批示日期（%(d)s）。") % {"d": instruction.issued_on})
                return

        item = Item(
            code="",
            title=title,
            category_id=category_id,
            lead_unit_id=lead["pk"],
            owner_id=owner_id,
            deadline=deadline,
            urgency=urgency or Urgency.NORMAL,
            classification=classification,  # None: the instruction's, once the group is complete
            status=status,
            created_by=self.actor,
            created_at=self.now,
        )
        if status != ItemStatus.DRAFT:
            item.assigned_at = self.now
            item.original_deadline = deadline
        if status in DONE:
            # Closed late in the afternoon of the day the ledger says; the import time if it does not say.
            item.closed_at = (
                timezone.make_aware(datetime.datetime.combine(closed_on, datetime.time(17, 0))) if closed_on else self.now
            )
            item.progress = 100
            if closed_on:
                # Assigned no later than it was closed: on the 批示日期 if the ledger gives one.
                assigned_on = issued_on if issued_on and issued_on <= closed_on else closed_on
                item.assigned_at = timezone.make_aware(datetime.datetime.combine(assigned_on, datetime.time(9, 0)))
        if status == ItemStatus.SUSPENDED:
            item.status_before_suspension = ItemStatus.IN_PROGRESS if progress_text else ItemStatus.ACKNOWLEDGED
        planned_instruction.rows.append(n)
        self.planned.append(Planned(n, group, item, supporting_ids, progress_text, code, lead["name"]))

    def _group(
        self, n, cells, document_number, instruction_title, source, issued_on, instructions_by_doc, directory, *, nature
    ) -> tuple:
        if document_number:
            key = ("doc", document_number, source)
        elif instruction_title:
            key = ("title", instruction_title, source)
        else:
            key = ("row", n)
        planned = self.instructions.get(key)
        if planned is None:
            existing = instructions_by_doc.get(document_number) if document_number else None
            if existing is not None:
                planned = PlannedInstruction(key, existing, existing=True, first_row=n)
            else:
                kind, leader_id, issuer_name = self._source(source, directory)
                title = instruction_title or (f"{document_number} {cells.get('title', '')}".strip())[:200]
                planned = PlannedInstruction(
                    key,
                    Instruction(
                        title=title,
                        kind=kind,
                        nature=nature,
                        issuing_leader_id=leader_id,
                        issuer_name=issuer_name,
                        document_number=document_number,
                        issued_on=issued_on,
                        text=title,
                        created_by=self.actor,
                        created_at=self.now,
                    ),
                    existing=False,
                    first_row=n,
                    issued_given=issued_on is not None,
                )
            self.instructions[key] = planned
        elif not planned.existing and issued_on:
            if planned.issued_given and planned.instruction.issued_on != issued_on:
                self.error(
                    n,
                    "issued_on",
                    _("同一批示件（第 %(row)s 行起）的批示日期不一致：%(a)s 与 %(b)s。")
                    % {"row": planned.first_row, "a": planned.instruction.issued_on, "b": issued_on},
                )
            elif not planned.issued_given:
                planned.instruction.issued_on, planned.issued_given = issued_on, True
        return key

    def _source(self, source: str, directory: Directory) -> tuple[str, int | None, str]:
        """来源/批示领导 → (kind, issuing leader id, external issuer name)."""
        parts = [p for p in re.split(r"[/／、，,（）()\s：:]+", source) if p]
        kind, rest = None, source
        for label, value in KIND_LABELS.items():
            # "上级交办/市委书记" (as the export writes it): the name is what follows the kind.
            match = re.match(rf"^{re.escape(label)}\s*(?:[/／：:]\s*(.*))?$", source)
            if match:
                kind, rest = value, (match.group(1) or "").strip() or source
                break
        if kind is None:
            kind = next((KIND_LABELS[p] for p in parts if p in KIND_LABELS), None)
        if kind is None:
            kind = next((k for k, words in KIND_KEYWORDS if any(w in source for w in words)), InstructionKind.LEADER_INSTRUCTION)
        leader_id = None
        for part in parts:
            # "县委书记张建国" ends with the leader's name; only an unambiguous match counts.
            hits = {
                pk
                for name, pks in directory.leaders.items()
                if part == name or part.endswith(name) and len(name) >= 2
                for pk in pks
            }
            if len(hits) == 1:
                leader_id = hits.pop()
                break
        issuer = "" if leader_id else rest[:100]
        return kind, leader_id, issuer

    def _check_groups(self) -> None:
        """Per new instruction: its date and classification, once all its rows are known."""
        by_group: dict[tuple, list[Planned]] = defaultdict(list)
        for planned in self.planned:
            by_group[planned.group].append(planned)
        for key, items in by_group.items():
            planned_instruction = self.instructions[key]
            instruction = planned_instruction.instruction
            if planned_instruction.existing:
                for p in items:
                    if p.item.classification is None:
                        p.item.classification = instruction.classification
                continue
            given = [p.item.classification for p in items if p.item.classification is not None]
            instruction.classification = min(given) if len(given) == len(items) else Classification.PUBLIC
            for p in items:
                if p.item.classification is None:
                    p.item.classification = instruction.classification
            if instruction.issued_on is None:
                deadlines = [p.item.deadline for p in items if p.item.deadline]
                instruction.issued_on = min([self.today, *deadlines])
            else:
                # A row without its own 批示日期 still may not be due before the instruction was issued.
                for p in items:
                    if p.item.deadline and p.item.deadline < instruction.issued_on:
                        self.error(p.row, "deadline", _("办理时限不能早于批示日期（%(d)s）。") % {"d": instruction.issued_on})

    def _schedule(self, item: Item, table: dict, policy_cache: dict, reported: bool, memo: dict) -> None:
        """The yellow-light date and the first reminder time, by the services' own functions.

        Both depend only on the fields in the memo keys (all items start today), and ledgers share
        a few deadlines among many rows (end of a month, a quarter), so each is computed once per key."""
        from supervision.reminders import policy_for, schedule

        if item.status == ItemStatus.DRAFT:
            return
        key = ("warning", item.deadline, item.urgency)
        if key not in memo:
            memo[key] = warning_date_for(start=self.today, deadline=item.deadline, urgency=item.urgency, table=table)
        item.warning_date = memo[key]
        if item.status not in OPEN_STATUSES:
            return
        signed = item.status in SIGNED_STATUSES
        key = (
            "reminder",
            item.deadline,
            item.deadline_time,
            item.urgency,
            item.category_id,
            item.reporting_cycle,
            signed,
            reported,
        )
        if key not in memo:
            # Only the lead's signature matters for the acknowledgement reminder's timing: all units
            # share the item's state, so one stand-in assignment gives the same schedule.
            stand_in = [
                ItemAssignment(unit_id=item.lead_unit_id, role=AssignmentRole.LEAD, acknowledged_at=self.now if signed else None)
            ]
            plan = schedule(
                item, policy=policy_for(item, policy_cache), assignments=stand_in, last_report_at=self.now if reported else None
            )
            # As `reminders.next_reminder_at` for an item with no reminder sent yet (it is new): look
            # at it now if a step is already due, else at the next step.
            due_now = any(r.fire_at <= self.now for r in plan)
            memo[key] = self.now if due_now else min((r.fire_at for r in plan), default=None)
        item.next_reminder_at = memo[key]


# ---------------------------------------------------------------------------------------------
# The service


def _require_office(actor: User) -> None:
    if not getattr(actor, "is_office", False) or not actor.is_active:
        raise NotPermitted(_("只有督查室工作人员可以导入台账。"), code="office_only")


def ledger_import(
    *,
    actor: User,
    file,
    dry_run: bool,
    progress: Progress | None = None,
    file_name: str | None = None,
) -> ImportResult:
    """Import a ledger workbook: validate every row, then (unless `dry_run`, and only when no row has
    an error) write everything in one transaction. `progress(phase, done, total)` is called while it
    works. Raises NotPermitted for non-office users and InvalidInput (field `file`) for a file that is
    not a readable ledger; row problems are returned in `ImportResult.errors`, not raised."""
    _require_office(actor)
    progress = progress or _no_progress
    data, name = _read_bytes(file)
    name = file_name or name
    sha256 = hashlib.sha256(data).hexdigest()
    result = ImportResult(dry_run=dry_run, file_name=name, sha256=sha256)
    progress(ImportPhase.READING, 0, 0)
    sheet = read_sheet(data)
    result.rows_total = len(sheet.rows)
    now = timezone.now()
    validator = _Validator(actor=actor, sheet=sheet, progress=progress, now=now)
    # Warning dates and reminder schedules do calendar arithmetic for every row: read the calendar once.
    with workcalendar.calendar_preloaded():
        validator.run()
    result.errors = sorted(validator.errors, key=lambda e: e.row or 0)
    result.summary = _summary(validator, sheet)
    if result.errors or dry_run or not validator.planned:
        return result
    progress(ImportPhase.WRITING, 0, len(validator.planned))
    result.item_ids = _write(actor=actor, validator=validator, file_name=name, sha256=sha256, now=now)
    result.written = True
    result.summary["codes"] = _code_range(validator)
    progress(ImportPhase.DONE, len(validator.planned), len(validator.planned))
    return result


def _summary(validator: _Validator, sheet: Sheet) -> dict:
    used = {p.group for p in validator.planned}
    instructions = [validator.instructions[k] for k in validator.instructions if k in used]
    return {
        "sheet": sheet.title,
        "header_row": sheet.header_row,
        "rows": len(sheet.rows),
        "items": len(validator.planned),
        "instructions_new": sum(1 for i in instructions if not i.existing),
        "instructions_reused": sum(1 for i in instructions if i.existing),
        "reports": sum(1 for p in validator.planned if p.progress_text),
        "by_status": dict(Counter(str(ItemStatus(p.item.status).label) for p in validator.planned)),
        "by_lead_unit": dict(Counter(p.lead_name for p in validator.planned)),
        "skipped": validator.skipped,
    }


def _code_range(validator: _Validator) -> list[str]:
    codes = [p.item.code for p in validator.planned]
    return [codes[0], codes[-1]] if codes else []


@transaction.atomic
def _write(*, actor: User, validator: _Validator, file_name: str, sha256: str, now: datetime.datetime) -> list[int]:
    planned = validator.planned
    # Codes in one block: the counter row is locked for the rest of the transaction, so concurrent
    # item_create calls wait and then continue after the block.
    year = timezone.localdate(now).year
    LedgerCounter.objects.bulk_create([LedgerCounter(year=year)], ignore_conflicts=True)
    counter = LedgerCounter.objects.select_for_update().get(year=year)
    first = counter.last_number + 1
    for offset, p in enumerate(planned):
        p.item.code = f"DB-{year}-{first + offset:04d}"
    LedgerCounter.objects.filter(year=year).update(last_number=counter.last_number + len(planned))

    used = list(dict.fromkeys(p.group for p in planned))
    new_instructions = [validator.instructions[k].instruction for k in used if not validator.instructions[k].existing]
    Instruction.objects.bulk_create(new_instructions)
    for p in planned:
        p.item.instruction = validator.instructions[p.group].instruction
    Item.objects.bulk_create([p.item for p in planned])

    assignments = []
    reports = []
    for p in planned:
        signed = now if p.item.status in SIGNED_STATUSES else None
        assignments.append(
            ItemAssignment(item=p.item, unit_id=p.item.lead_unit_id, role=AssignmentRole.LEAD, acknowledged_at=signed)
        )
        assignments.extend(
            ItemAssignment(item=p.item, unit_id=unit_id, role=AssignmentRole.SUPPORTING, acknowledged_at=signed)
            for unit_id in p.supporting_ids
        )
        if p.progress_text:
            reports.append(
                ProgressReport(
                    item=p.item,
                    unit_id=p.item.lead_unit_id,
                    kind=ReportKind.STAGE,
                    progress_text=p.progress_text,
                    submitted_by=actor,
                    submitted_at=now,
                )
            )
    ItemAssignment.objects.bulk_create(assignments)
    ProgressReport.objects.bulk_create(reports)
    report_ids = {r.item_id: r.pk for r in reports}

    source = {"file": file_name, "sha256": sha256}
    events = [
        PendingEvent(
            action="instruction_imported",
            object_type="instruction",
            object_id=instruction.pk,
            data={**source, "title": instruction.title, "row": validator.instructions[k].first_row},
        )
        for k, instruction in zip([k for k in used if not validator.instructions[k].existing], new_instructions, strict=True)
    ]
    for p in planned:
        item = p.item
        data = {**source, "row": p.row, "code": item.code, "instruction_id": item.instruction_id}
        if p.source_code and p.source_code != item.code:
            data["source_code"] = p.source_code
        if item.status in SIGNED_STATUSES:
            data["signed_per_ledger"] = True  # the units' sign-off comes from the ledger, not from a signature here
        if item.pk in report_ids:
            data["report_id"] = report_ids[item.pk]
        events.append(
            PendingEvent(
                action="item_imported",
                object_type="item",
                object_id=item.pk,
                item_id=item.pk,
                to_status=item.status,
                comment=_("由 Excel 台账导入（%(file)s 第 %(row)s 行）") % {"file": file_name, "row": p.row},
                data=data,
            )
        )
    audit_record_many(actor=actor, events=events)
    return [p.item.pk for p in planned]


# ---------------------------------------------------------------------------------------------
# Background jobs (ImportJob): created by the API or the admin, run by tasks/imports.py


def _validate_upload(uploaded_file) -> bytes:
    if uploaded_file is None:
        raise InvalidInput(fields={"file": [_("请选择要导入的 Excel 文件（.xlsx）。")]})
    name = (getattr(uploaded_file, "name", "") or "").lower()
    if not name.endswith(".xlsx"):
        raise InvalidInput(fields={"file": [_("只能导入 .xlsx 格式的 Excel 文件（旧版 .xls 请先另存为 .xlsx）。")]})
    if uploaded_file.size > MAX_IMPORT_BYTES:
        raise InvalidInput(fields={"file": [_("文件过大，不能超过 %(mb)s MB。") % {"mb": MAX_IMPORT_BYTES // (1024 * 1024)}]})
    if uploaded_file.size == 0:
        raise InvalidInput(fields={"file": [_("文件为空。")]})
    uploaded_file.seek(0)
    data = uploaded_file.read()
    uploaded_file.seek(0)
    if not data.startswith(b"PK"):
        raise InvalidInput(fields={"file": [_("文件内容不是 Excel 工作簿（.xlsx）。")]})
    return data


@transaction.atomic
def import_job_create(*, actor: User, uploaded_file, dry_run: bool) -> ImportJob:
    """Store an uploaded ledger workbook and queue its import (after commit)."""
    _require_office(actor)
    data = _validate_upload(uploaded_file)
    name = uploaded_file.name.rsplit("/", 1)[-1][:200]
    job = ImportJob(
        original_name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest(), dry_run=bool(dry_run), created_by=actor
    )
    job.file.save(name, uploaded_file, save=False)
    with deleted_if_not_kept(job.file):
        job.save()
        audit_record(
            actor=actor, action="ledger_import_queued", obj=job, data={"file": name, "sha256": job.sha256, "dry_run": job.dry_run}
        )
    from tasks.imports import run_import_job

    transaction.on_commit(lambda: run_import_job.delay(job.pk))
    return job


class _ProgressWriter:
    """Writes a job's progress on a connection of its own, in autocommit, so it is visible while the
    import's transaction is still open. Best effort: progress must never fail or block the import,
    hence a short lock timeout (the import's own connection may hold the job row) and, on SQLite
    (one writer at a time), progress only between phases."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.connection = None
        self.usable = connection.vendor == "postgresql"

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.usable:
            return
        column = {
            ImportPhase.VALIDATING: "rows_validated",
            ImportPhase.WRITING: "rows_written",
            ImportPhase.DONE: "rows_written",
        }.get(phase)
        sets, params = ["phase = %s"], [str(phase)]
        if column:
            sets.append(f"{column} = %s")
            params.append(done)
        if phase == ImportPhase.VALIDATING:
            sets.append("rows_total = %s")
            params.append(total)
        try:
            if self.connection is None:
                self.connection = connections.create_connection("default")
                with self.connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '1s'")
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportJob._meta.db_table} SET {', '.join(sets)} WHERE id = %s AND status = %s",  # noqa: S608
                    [*params, self.job_id, ImportJobStatus.RUNNING],
                )
        except OperationalError:
            self.usable = False  # locked or unreachable: the final save still records the outcome

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run a queued job once. The claim (queued → running) is made under a row lock, so a repeated
    or concurrent task finds the job no longer queued and does nothing. For a real import the
    outcome is saved in the same transaction as the ledger rows: either both or neither, which is
    also why a job left "running" by a dead worker may be claimed again once it is stale."""
    job, claimed = job_claim(ImportJob, job_id, stale_after=STALE_RUNNING_AFTER, phase=ImportPhase.READING)
    if not claimed:
        return job
    writer = _ProgressWriter(job.pk)
    try:
        with transaction.atomic():
            result = ledger_import(
                actor=job.created_by, file=job.file, dry_run=job.dry_run, progress=writer, file_name=job.original_name
            )
            job.rows_total = result.rows_total
            job.rows_validated = result.rows_total
            job.rows_written = len(result.item_ids)
            job.errors = result.error_dicts()
            job.summary = result.summary
            job.status = ImportJobStatus.SUCCEEDED if result.ok else ImportJobStatus.FAILED
            _finish(job)
    except DomainError as exc:
        messages = [str(m) for values in exc.fields.values() for m in values] or [str(exc.message)]
        job.errors = [RowError(None, "", m).as_dict() for m in messages]
        job.status = ImportJobStatus.FAILED
        _finish(job)
    except BaseException:
        # A fault (or the task's time limit): nothing was written; say so and let the worker log it.
        job.errors = [RowError(None, "", _("导入时发生内部错误，台账未作任何改动，请联系管理员。")).as_dict()]
        job.status = ImportJobStatus.FAILED
        _finish(job)
        raise
    finally:
        writer.close()
    return job


# Longer than the task's hard time limit (tasks/imports.py): a job still "running" after this lost
# its worker (killed, machine restarted) before its transaction committed, so nothing of it was
# written and the redelivered task may run it again.
STALE_RUNNING_AFTER = datetime.timedelta(seconds=1900)


def _finish(job: ImportJob) -> None:
    job.phase = ImportPhase.DONE
    job.finished_at = timezone.now()
    job.save()


# ---------------------------------------------------------------------------------------------
# Error report as a workbook: the file's own rows with an extra 错误说明 column


def error_report_workbook(job: ImportJob) -> bytes:
    """The rows that have errors, as the file had them, each with an added 错误说明 column."""
    import openpyxl

    data, _name = _read_bytes(job.file)
    by_row: dict[int | None, list[str]] = defaultdict(list)
    for error in job.errors:
        column = f"「{error['column']}」" if error.get("column") else ""
        by_row[error.get("row")].append(f"{column}{error['message']}")
    out = openpyxl.Workbook()
    sheet = out.active
    sheet.title = _("错误报告")
    if None in by_row:
        sheet.append([_("文件"), "；".join(by_row.pop(None))])
    source = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        found = None
        for ws in source.worksheets:
            rows = list(ws.iter_rows(values_only=True))
            header_row = None
            for number, values in enumerate(rows[:HEADER_SEARCH_ROWS], start=1):
                if sum(1 for v in values if _text(v) and _match_header(_text(v))) >= HEADER_MIN_MATCHES:
                    header_row = number
                    break
            if header_row is not None:
                found = (rows, header_row)
                break
        if found is not None:
            rows, header_row = found
            header = list(rows[header_row - 1])
            sheet.append([_("行号"), *header, _("错误说明")])
            for number in sorted(n for n in by_row if n is not None):
                values = list(rows[number - 1]) if 0 < number <= len(rows) else []
                sheet.append([number, *[_text(v) if isinstance(v, str) else v for v in values], "；".join(by_row[number])])
    finally:
        source.close()
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()
