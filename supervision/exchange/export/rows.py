"""What an export holds: the items list's view for the user (visibility, the list's own filters),
less what the export policy keeps in the building, read as rows in the ledger workbook's columns
from one server-side cursor (constant memory, constant queries)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Classification
from accounts.models import User
from supervision.choices import AssignmentRole, InstructionKind, InstructionNature, ItemStatus, Urgency
from supervision.errors import InvalidInput
from supervision.exchange.columns import LEDGER_COLUMNS
from supervision.exchange.export.policy import ExportRights, export_rights
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


TITLE = "督查台账"


# Query parameters that are not filters (the format, and the list's paging).
NOT_FILTERS = ("format", "page", "page_size")


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


def param_lists(params: Mapping) -> dict[str, list[str]]:
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
        filters=param_lists(params),
        now=now or timezone.now(),
    )


def omitted_note(omitted: int) -> str:
    return _("另有 %(n)s 项涉密事项因未经批准未导出") % {"n": omitted}


def filters_text(filters: Mapping[str, list[str]]) -> str:
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


def user_text(user: User) -> str:
    unit = getattr(user, "unit", None)
    return f"{user}（{unit}）" if unit else str(user)
