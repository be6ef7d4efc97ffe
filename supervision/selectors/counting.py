"""Counting long lists only as far as anyone reads: exact up to a cap, "more than N" beyond.

At a million items the office's to-do lists hold hundreds of thousands of entries (every closed
item awaiting its return visit) and its ledger the whole million; counting them exactly, through
the visibility rule, was most of the time of the 工作台 and the 台账 page (bench/README.md,
"Pages"). Nobody reads "495,703" differently from "more than 1,000", so the pages count with a
LIMIT — `SELECT count(*) FROM (… LIMIT cap + 1)`, which stops after cap + 1 rows — as GitLab and
others do. The exact number stays one request away (the ledger's "显示确切数目"), and the API's
`count` stays exact."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet, Window
from django.db.models.functions import RowNumber

# Lists count exactly up to this many entries; beyond, they say "more than COUNT_CAP".
COUNT_CAP = 1000
# A requested page number is trusted this far when deciding how many rows to count.
_MAX_PAGE = 10**6


def _count_up_to(qs: QuerySet, limit: int) -> int:
    # Without the order (any rows will do) and without the annotations (a list's red/yellow/green
    # CASE would be computed for every row counted): only the primary keys, LIMIT rows at most.
    # Wrapped in COUNT(*) here rather than by QuerySet.count(): that builds and compiles an
    # aggregate query around the same SQL, ~1.5 ms a list (a 工作台 counts six).
    try:
        sql, params = qs.order_by().values("pk")[:limit].query.get_compiler(using=qs.db).as_sql()
    except EmptyResultSet:  # qs.none(), or a filter on an empty list
        return 0
    with connections[qs.db].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) capped", params)
        return cursor.fetchone()[0]


def first_rows_and_capped_count(qs: QuerySet, limit: int, cap: int | None = None) -> tuple[list, CappedCount]:
    """The first `limit` rows of `qs` in its order, and its size up to the cap: one query for a list
    of its own rows, two for a list that joins its records.

    The rows query of a to-do list sorts every matching row to find the first few, and a separate
    capped count read the same matches again: for a township handler's 工作台 the counts were about
    half of the page's reads. Here the matches are read once, numbered in the list's order and
    capped (`ROW_NUMBER() OVER (ORDER BY …) … LIMIT cap + 1`, or `limit` if more); the outer query
    keeps the first `limit` by their number and the last one, whose number is the count. Without a
    cap (a count over the whole list) the office's lists of hundreds of thousands would be read whole.

    A list that joins its records (select_related) is numbered on its own rows' keys, and only the
    first `limit` are then read with their records. Joined inside the numbering, every match was:
    for a thousand leader comments PostgreSQL read the whole item table to join them (bench/README.md,
    "Pages", 2026-12-07 (4))."""
    cap = COUNT_CAP if cap is None else cap
    # A slice would cap the matches before they are numbered; a row number makes every row distinct,
    # so DISTINCT would no longer fold the duplicates a join makes: both keep two queries.
    if qs.query.is_sliced or qs.query.distinct:
        return list(qs[:limit]), capped_count(qs, cap)
    joins = bool(qs.query.select_related)
    order = qs.query.order_by or (qs.model._meta.ordering if qs.query.default_ordering else ()) or ["pk"]
    numbered = qs.select_related(None).only("pk") if joins else qs
    numbered = numbered.annotate(_row_number=Window(RowNumber(), order_by=list(order)))[: max(cap + 1, limit)]
    _wrap_in_count(numbered.query, limit)
    rows = list(numbered)
    n = rows[-1]._row_number if rows else 0
    rows = [r for r in rows if r._row_number <= limit]
    if joins and rows:
        rows = _with_records(qs, rows)
    return rows, CappedCount(min(n, cap), n > cap)


def _with_records(qs: QuerySet, rows: list) -> list:
    """`rows` (read through `qs`'s rules, with its annotations) read again by key with the records
    `qs` joins. By key alone: the rules were applied, and applying them again cost as much as the
    numbering (a unit's comments gather its visible items first)."""
    related = qs.query.select_related
    base = qs.model._base_manager.using(qs.db)
    joined = base.select_related() if related is True else base.select_related(*_paths(related))
    read = joined.in_bulk([r.pk for r in rows])
    shown = [(row, read[row.pk]) for row in rows if row.pk in read]  # not one deleted in between
    for row, full in shown:
        for name in qs.query.annotations:
            setattr(full, name, getattr(row, name))
    return [full for _, full in shown]


def _paths(tree: dict, prefix: str = "") -> list[str]:
    """select_related's tree ({"item": {"instruction": {}}, "unit": {}}) as lookups."""
    paths = []
    for name, below in tree.items():
        paths += _paths(below, f"{prefix}{name}__") if below else [f"{prefix}{name}"]
    return paths


def _wrap_in_count(query, limit: int) -> None:
    """Have `query` compile to its own SQL wrapped so that it returns its first `limit` rows and the
    last (whose `_row_number` is how many matched, up to the LIMIT). Django's compiler still builds
    the model instances and their annotations from the columns, which stay where they were; the
    window's column comes last, where nothing reads it."""
    get_compiler = query.get_compiler

    def wrapping_compiler(*args, **kwargs):
        compiler = get_compiler(*args, **kwargs)
        as_sql = compiler.as_sql

        def wrapped_sql(*args, **kwargs):
            sql, params = as_sql(*args, **kwargs)
            return (
                f'SELECT * FROM (SELECT capped.*, MAX("_row_number") OVER () AS "_last" FROM ({sql}) capped) counted '
                f'WHERE "_row_number" <= %s OR "_row_number" = "_last" ORDER BY "_row_number"',
                (*params, limit),
            )

        compiler.as_sql = wrapped_sql
        return compiler

    query.get_compiler = wrapping_compiler


@dataclass(frozen=True)
class CappedCount:
    """`n` entries exactly, or, when `over`, more than `n`."""

    n: int
    over: bool = False

    def __str__(self) -> str:
        return f"{self.n}+" if self.over else str(self.n)

    def __add__(self, other: CappedCount) -> CappedCount:
        return CappedCount(self.n + other.n, self.over or other.over)

    def __radd__(self, other: int) -> CappedCount:  # sum() starts from 0
        return CappedCount(self.n + other, self.over)


def capped_count(qs: QuerySet, cap: int | None = None) -> CappedCount:
    """The size of `qs` read no further than cap + 1 rows."""
    cap = COUNT_CAP if cap is None else cap
    n = _count_up_to(qs, cap + 1)
    return CappedCount(min(n, cap), n > cap)


class CappedPaginator(Paginator):
    """A Paginator that counts no further than the cap, or than one row past the requested page:
    page n of a huge list costs a read of n pages plus one row, never the whole list. Within what
    it counted it is exact (page links, the last page of a short list); beyond, `total` says
    "more than"."""

    def __init__(self, object_list, per_page, *, page_number=1, cap: int | None = None):
        super().__init__(object_list, per_page)
        cap = COUNT_CAP if cap is None else cap
        try:
            wanted = min(max(int(page_number), 1), _MAX_PAGE)
        except (TypeError, ValueError):
            wanted = 1
        # One row past the page asked for: the page is whole and "next page" is known.
        self.limit = max(cap, wanted * self.per_page) + 1

    @cached_property
    def count(self) -> int:
        return _count_up_to(self.object_list, self.limit)

    @property
    def total(self) -> CappedCount:
        if self.count >= self.limit:
            return CappedCount(self.limit - 1, over=True)
        return CappedCount(self.count)
