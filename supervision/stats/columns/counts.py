"""The figures' counts over a Selection: stats/figures.py and trend.py take these instead of their
SQL, the same keys and numbers."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

import numpy as np

from supervision.choices import COUNTED_STATUSES, DONE_STATUSES, OPEN_STATUSES, WORKING_STATUSES, AssignmentRole, Light
from supervision.lights import RUNNING_LIGHTS
from supervision.models import FigureRules
from supervision.stats.columns.selection import Selection, day_number
from supervision.stats.columns.store import EPOCH, KINDS, NULL, ROLES, STATUSES


def _as_bits(conditions: Sequence[np.ndarray], mask: np.ndarray) -> np.ndarray:
    """Per item, which conditions it meets, as bits (bit i: conditions[i]); 0 outside `mask`."""
    bits = np.zeros(len(mask), dtype=np.int64)
    for index, condition in enumerate(conditions):
        bits |= (condition & mask).astype(np.int64) << index
    return bits


def _count_by(keys: np.ndarray, bits: np.ndarray, width: int) -> np.ndarray:
    """counts[k, i]: the items with key k whose bit i is set (keys >= 0). Items fall into few
    distinct patterns of bits, so one count per (key, pattern) and a small product with the
    patterns' bits give every condition of every key in one pass over the items."""
    if not len(keys):
        return np.zeros((1, width), dtype=np.int64)
    patterns = np.flatnonzero(np.bincount(bits))
    lookup = np.zeros(int(patterns[-1]) + 1, dtype=np.int64)
    lookup[patterns] = np.arange(len(patterns))
    size = int(keys.max()) + 1
    table = np.bincount(keys * len(patterns) + lookup[bits], minlength=size * len(patterns)).reshape(size, len(patterns))
    return table @ ((patterns[:, None] >> np.arange(width)[None, :]) & 1)


def _per_status(sel: Selection, conditions: Mapping[str, np.ndarray]) -> list[dict]:
    """`summary`'s rows: per status, the items in scope and those meeting each condition."""
    names = ["n", *conditions]
    bits = _as_bits([sel.mask, *conditions.values()], sel.mask)
    chosen = bits != 0
    counts = _count_by(sel.col("status")[chosen].astype(np.int64), bits[chosen], len(names))
    return [
        {"status": STATUSES[code - 1].value, **dict(zip(names, counts[code].tolist(), strict=True))}
        for code in range(1, min(len(STATUSES) + 1, len(counts)))
        if counts[code][0]
    ]


def _conditions(sel: Selection, scope) -> dict[str, np.ndarray]:
    """Per item, the conditions the figures test, the status left out (the summary adds up the
    statuses each figure takes, a ranking applies them itself); once per Selection, which the
    summary and the rankings of one scope share."""
    if "conditions" in sel.memo:
        return sel.memo["conditions"]
    start, end = scope.period.start, scope.period.end
    in_period, in_period_current = sel.in_range("original_deadline", start, end), sel.in_range("deadline", start, end)
    with_deadline, assigned = sel.has("deadline"), sel.in_range("assigned_day", start, end)
    original = sel.col("original_deadline")
    conditions = sel.memo["conditions"] = {
        "in_period": in_period,
        "in_period_current": in_period_current,
        "on_time_original": in_period & sel.closed_on_time("original"),
        "on_time_extended": in_period_current & sel.closed_on_time("extended"),
        "with_deadline": with_deadline,
        "overdue_original": (original != NULL) & (original < day_number(scope.today)),
        "closed_now_in_period": sel.in_range("closed_day", start, end),
        "reopened": sel.col("reopen_count") > 0,
        "assigned": assigned,
        "stale": assigned & sel.stale(scope.now, FigureRules.current()),
        **{f"light_{light.value}": with_deadline & sel.running_light(light, scope.now) for light in RUNNING_LIGHTS},
    }
    return conditions


def summary_rows(sel: Selection, scope) -> list[dict]:
    """What `figures.summary` reads from its status scan, the same keys and numbers."""
    return _per_status(sel, _conditions(sel, scope))


def _items_with_visit(sel: Selection, rows: np.ndarray) -> np.ndarray:
    found = np.zeros(len(sel.mask), dtype=bool)
    found[sel.child("visits")[1][rows]] = True
    return found


def relapsed(sel: Selection, start: datetime.date | None, end: datetime.date | None) -> np.ndarray:
    """conditions.relapsed_q: a failed return visit dated within [start, end]."""
    visited = sel.child("visits")[0]["visited_on"]
    rows = np.ones(len(visited), dtype=bool)
    if start is not None:
        rows &= visited >= day_number(start)
    if end is not None:
        rows &= visited <= day_number(end)
    return _items_with_visit(sel, rows)


def _undone_in(sel: Selection, start: datetime.date | None, end: datetime.date | None) -> np.ndarray:
    """A failed return visit undid a closure made on a local date within [start, end]."""
    day = sel.child("visits")[0]["reopened_closure_day"]
    rows = day != NULL
    if start is not None:
        rows &= day >= day_number(start)
    if end is not None:
        rows &= day <= day_number(end)
    return _items_with_visit(sel, rows)


def return_visit_counts(sel: Selection, scope) -> dict[str, int]:
    """`figures._return_visit_counts`."""
    start, end = scope.period.start, scope.period.end
    closed_now = sel.in_range("closed_day", start, end)
    return {
        "relapsed": int((sel.mask & relapsed(sel, start, end)).sum()),
        "undone": int((sel.mask & ~closed_now & _undone_in(sel, start, end)).sum()),
    }


def _days(values: np.ndarray) -> list[tuple[datetime.date, int]]:
    days, counts = np.unique(values, return_counts=True)
    return [(EPOCH + datetime.timedelta(days=int(d)), int(n)) for d, n in zip(days, counts, strict=True)]


def close_days(sel: Selection, scope) -> tuple[list, list]:
    """`figures._average_workdays_to_close`'s two sides: items closed in the period (and assigned),
    counted per assigned date and per closed date."""
    closed = sel.mask & sel.in_range("closed_day", scope.period.start, scope.period.end) & sel.has("assigned_day")
    return _days(sel.col("assigned_day")[closed]), _days(sel.col("closed_day")[closed])


GROUPED_KEYS = (
    "total",
    "due",
    "closed",
    "on_time_original",
    "due_current",
    "on_time_extended",
    "overdue",
    "assigned",
    "completed",
    "in_progress",
    "stale",
    "relapsed",
)


def group_bits(sel: Selection, scope) -> np.ndarray:
    """Per item, which of a ranking's figures it counts in (`figures._grouped`, the status
    included), as bits (bit i: GROUPED_KEYS[i]; 0 outside the scope); once per Selection, then
    grouped by each ranking."""
    if "group_bits" in sel.memo:
        return sel.memo["group_bits"]
    c = _conditions(sel, scope)
    counted, done = sel.status_in(COUNTED_STATUSES), sel.status_in(DONE_STATUSES)
    conditions = {
        "total": sel.mask,
        "due": counted & c["in_period"],
        "closed": done & c["in_period"],
        "on_time_original": done & c["on_time_original"],
        "due_current": counted & c["in_period_current"],
        "on_time_extended": done & c["on_time_extended"],
        "overdue": sel.status_in(OPEN_STATUSES) & c[f"light_{Light.OVERDUE.value}"],
        "assigned": counted & c["assigned"],
        "completed": done & c["assigned"],
        "in_progress": sel.status_in(WORKING_STATUSES) & c["assigned"],
        "stale": c["stale"],
        "relapsed": c["reopened"] & relapsed(sel, scope.period.start, scope.period.end),
    }
    sel.memo["group_bits"] = _as_bits([conditions[key] for key in GROUPED_KEYS], sel.mask)
    return sel.memo["group_bits"]


def grouped(sel: Selection, scope, by: str) -> dict[int | str | None, dict[str, int]]:
    """A ranking's counts per group, keyed by the group's value (None: items without one; for
    "kind" the kind's value): by "lead_unit", "supporting_unit" (per SUPPORTING assignment),
    "leader", "category" or "kind". Only groups with an item in scope, as a GROUP BY gives."""
    bits = group_bits(sel, scope)
    if by == "supporting_unit":
        child, positions = sel.child("assignments")
        rows = child["role"] == ROLES.index(AssignmentRole.SUPPORTING) + 1
        bits, keys = bits[positions[rows]], child["unit"][rows]
    else:
        column = {"lead_unit": "lead_unit", "leader": "leader", "category": "category", "kind": "kind"}[by]
        keys = sel.col(column)
    counted = bits != 0
    if by == "lead_unit":
        counted &= keys != NULL  # items without a lead unit are not in the lead ranking
    keys, bits = keys[counted].astype(np.int64), bits[counted]
    keys[keys == NULL] = 0  # ids and codes start at 1: 0 is "none"
    counts = _count_by(keys, bits, len(GROUPED_KEYS))  # (group, figure)
    result = {}
    for key in np.flatnonzero(counts[:, 0]):
        value = None if key == 0 else int(key)
        if by == "kind" and value is not None:
            value = KINDS[value - 1].value
        result[value] = {f"n_{name}": int(n) for name, n in zip(GROUPED_KEYS, counts[key].tolist(), strict=True)}
    return result


def per_month(sel: Selection, column: str, first: datetime.date, last: datetime.date) -> dict[datetime.date, int]:
    """Items in scope whose day column falls within [first, last], per month (first days)."""
    days = sel.col(column)[sel.mask & sel.in_range(column, first, last)]
    start = np.datetime64(first, "M").astype(np.int64)
    counts = np.bincount(days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) - start)
    return {
        np.datetime64(int(start + offset), "M").astype("datetime64[D]").astype(datetime.date): int(counts[offset])
        for offset in np.flatnonzero(counts)
    }


def undone_closures_per_month(sel: Selection, first: datetime.date, last: datetime.date) -> dict[datetime.date, int]:
    """`trend._undone_closures_per_month`: per month, items in scope a failed return visit reopened of
    a closure made that month, unless their current closure is in the same month."""
    visits, positions = sel.child("visits")
    day = visits["reopened_closure_day"]
    rows = (day != NULL) & (day >= day_number(first)) & (day <= day_number(last)) & sel.mask[positions]
    month = day[rows].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    items = positions[rows]
    closed = sel.col("closed_day")[items]
    closed_month = np.where(closed == NULL, -1, closed.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64))
    pairs = np.unique(np.stack([items, month])[:, closed_month != month], axis=1) if len(items) else np.empty((2, 0), np.int64)
    months, counts = np.unique(pairs[1], return_counts=True)
    return {
        np.datetime64(int(m), "M").astype("datetime64[D]").astype(datetime.date): int(n)
        for m, n in zip(months, counts, strict=True)
    }


def overdue_at_month_ends(sel: Selection, month_ends: Sequence[datetime.date]) -> list[int]:
    """`trend._overdue_at_month_ends` for past month ends: per month end D, the items in scope (not
    draft or cancelled) assigned by D, not closed by D by their current closure, whose deadline span
    in force at the end of D had a deadline before D; less those a failed return visit reopened after
    D of a closure made by D. Each span counts over a run of month ends, so one pass: the run's first
    and last index by binary search, added up with a difference array."""
    if not month_ends:
        return []
    ends = np.array([day_number(d) for d in month_ends], dtype=np.int64)
    order = np.argsort(ends)
    sorted_ends = ends[order]
    spans, positions = sel.child("spans")
    counted = sel.mask & sel.status_in(COUNTED_STATUSES) & sel.has("assigned_day")
    rows = counted[positions]
    pos = positions[rows]
    big = np.int64(2**40)
    closed = sel.col("closed_day")[pos]
    until = spans["valid_until_day"][rows]
    # D counts when: D >= valid_from, D >= assigned, D > deadline; D < valid_until, D < closed.
    low = np.maximum.reduce([spans["valid_from_day"][rows], sel.col("assigned_day")[pos], spans["deadline"][rows] + 1])
    high = np.minimum(np.where(until == NULL, big, until), np.where(closed == NULL, big, closed))
    total = _runs(sorted_ends, low, high)
    # Closed at D by a closure a failed visit undid later: reopened_closure_day <= D < visit's day.
    visits, visit_pos = sel.child("visits")
    vrows = (visits["reopened_closure_day"] != NULL) & counted[visit_pos]
    if vrows.any():
        # Pair each such visit with its item's spans (few items: a failed visit's); the spans are
        # sorted by item (Ledger._place_children), so an item's spans are one run of `pos`.
        vitems = visit_pos[vrows]
        left = np.searchsorted(pos, vitems, "left")
        right = np.searchsorted(pos, vitems, "right")
        repeat = right - left
        visit_of_pair = np.repeat(np.arange(len(vitems)), repeat)
        # left[v], left[v] + 1, …, right[v] - 1 for each visit v, in one pass
        offsets = np.arange(len(visit_of_pair)) - np.repeat(np.cumsum(repeat) - repeat, repeat)
        span_of_pair = np.repeat(left, repeat) + offsets
        lo = np.maximum(low[span_of_pair], visits["reopened_closure_day"][vrows][visit_of_pair])
        hi = np.minimum(high[span_of_pair], visits["created_day"][vrows][visit_of_pair])
        total -= _runs(sorted_ends, lo, hi)
    result = np.empty(len(ends), dtype=np.int64)
    result[order] = total
    return [int(n) for n in result]


def _runs(sorted_ends: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """For each month end, how many of the intervals [low, high) hold it."""
    first = np.searchsorted(sorted_ends, low, "left")
    stop = np.searchsorted(sorted_ends, high, "left")
    keep = first < stop
    diff = np.zeros(len(sorted_ends) + 1, dtype=np.int64)
    np.add.at(diff, first[keep], 1)
    np.add.at(diff, stop[keep], -1)
    return np.cumsum(diff[:-1])


def overdue_now(sel: Selection, now: datetime.datetime) -> int:
    return int((sel.mask & sel.status_in(OPEN_STATUSES) & sel.running_light(Light.OVERDUE, now)).sum())
