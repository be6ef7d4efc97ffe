"""The columns the figures read, held in each process as arrays (issue 14: figures at any filter, at a
million items, well under 300 ms).

Counted in SQL, a leader's summary at a million items scans the items' 274 MB of rows and tests
some twenty conditions on each: 0.6–1.8 s whatever the filter, and the rankings and the trend more
(bench/README.md). Aggregates kept beside the ledger do not shrink: the filters' dimensions (unit,
leader, category, urgency, kind, classification) take about as many combinations as there are
items. So each process keeps the two dozen narrow columns the figures read — per item its status,
units, leader, category, dates and times, per unit assignment, per deadline span, per failed return
visit — as numpy arrays (~150 MB at a million items) and counts with vectorized conditions; a scope
of part of the ledger is first gathered into arrays of its own, so its cost follows its size.

Fresh at every request: before counting, the process reads the items changed since its last read
(migration 0030 keeps `stats_xid` on the item, in the database, from triggers: a service,
QuerySet.update, import or admin edit cannot bypass it). A request counts from the committed ledger
as of its start, as a query would.

The same figures, not a second definition: `Selection` computes exactly the conditions of
supervision/conditions.py, lights.py and the `Scope`'s period, over the same scope (the visibility
rule of `ItemQuerySet.visible_to`, the items list's filters). tests/supervision/stats/
test_recount.py recounts every figure of random ledgers, filters, viewers and periods on both ways
of counting; test_columns.py checks that every kind of write reaches the columns. What the columns do not hold falls back to SQL, whole: another filter than those in
`FILTERS`, a viewer whose scope is not held here (OA clients, the referral departments), SQLite,
and a request inside a transaction that has itself written (it must count its own writes).

One thread per process reads them, as deployed (gunicorn's sync workers, Celery's prefork pool): a
refresh takes a lock, but updates the arrays in place, under a reader in another thread."""

from supervision.stats.columns.counts import (
    GROUPED_KEYS,
    close_days,
    grouped,
    overdue_at_month_ends,
    overdue_now,
    per_month,
    return_visit_counts,
    summary_rows,
    undone_closures_per_month,
)
from supervision.stats.columns.selection import Selection, selection
from supervision.stats.columns.store import Ledger, drift, forget, ledger_for, warm

__all__ = [
    "GROUPED_KEYS",
    "Ledger",
    "Selection",
    "close_days",
    "drift",
    "forget",
    "grouped",
    "ledger_for",
    "overdue_at_month_ends",
    "overdue_now",
    "per_month",
    "return_visit_counts",
    "selection",
    "summary_rows",
    "undone_closures_per_month",
    "warm",
]
