"""Statistics over the ledger (DOMAIN.md rule 15: honest rates, by unit, by leader, by source,
per quarter). Pure reads: every figure is counted over `Item.objects.visible_to(user)` narrowed by
the items list's own `ItemFilterSet`, so nothing above the viewer's clearance or outside their
scope is counted, and every count links to the items list that shows exactly those items. On
PostgreSQL the counts come from the columns each process keeps (stats/columns/), in SQL where those
cannot answer: the same definitions, the same numbers (tests/supervision/stats/test_recount.py
runs every case both ways).

Definitions (the API schema and the README repeat them in Chinese, from `figures.DEFINITIONS`)
----------------------------------------------------------------------------------------------

Scope. The items the viewer may see (`visible_to`), narrowed by any items-list filter given
(status, unit subtree, lead_unit, owner, category, instruction_kind, issuing_leader, urgency,
deadline range, …). Every figure below is over this scope.

Period. `period_start` / `period_end` (dates, both ends included) or `quarter=2026Q3` (07-01 to
09-30). With neither, the period is "as of today": no start, end = today. With only a start, no
end; with only an end, no start. The period decides which items are *due* and which count as
*closed in the period*; it does not touch the snapshot figures (status, lights, overdue, reopened),
which describe the ledger now — narrow those with `deadline_after` / `deadline_before`.

Figures that cannot be laundered (issue 14). Extending an overdue item, or failing its return
visit with a new deadline, used to move it out of 应办结 and out of 超期; so:
- by the ORIGINAL deadline: an item is due in the period of its original deadline whatever
  extensions or rectification deadlines came later; closed after it is late, whenever the extension
  was approved;
- by the CURRENT deadline: as before, shown beside the original figures (`*_current`,
  `on_time_rate_extended`), never instead of them;
- a failed return visit counts the item as relapsed (反弹) in the period of the visit and keeps it
  due where it was due; its reopening does not erase the earlier closure (ReturnVisit keeps the
  closure it undid: `reopened_closure_at`), which still counts in its own period and month;
- a past month end is counted with the deadline in force then (the deadline history, trend.py).

- total: every item in scope.
- due (应办结): status is not draft or cancelled, and the ORIGINAL deadline falls within the period.
  Items without a deadline (参阅性) are never due. Suspended items stay due: a paused item has not
  been implemented.
- closed (已办结): due items now CLOSED or VERIFIED (an item reopened by a failed return visit is
  not closed until it is closed again).
- implementation rate (落实率) = closed ÷ due.
- on-time rate by the original deadline = due items closed (CLOSED/VERIFIED) on a local date
  (Asia/Shanghai) ≤ original_deadline ÷ due.
- due_current, closed_current, implementation_rate_current: the same with the current (possibly
  extended) deadline in the period; on-time rate by the current deadline = those closed on a date
  ≤ the current deadline ÷ due_current.
- overdue (超期): open items past their current deadline now — the warning-light rule, `.overdue()`;
  overdue_original: open items past their original deadline.
- open with a deadline (在办有时限): open items with a deadline, i.e. any light but "none".
- overdue rate = overdue ÷ open with a deadline.
- closed in the period: items closed at least once on a local date within the period — their
  current closed_at, or a closure a failed return visit undid later.
- average working days to close = the mean of workdays_between(assigned date, closed date) over the
  items whose current closed_at falls within the period (working days in (assigned, closed], the
  official calendar; an item closed on the day it was assigned took 0 days).
- relapsed (反弹): items with a failed return visit dated within the period.
- reopened (回访后重新办理): items with reopen_count > 0 (a return visit failed at least once).
- by status, by light: one count per status / light, now.

A rate is null (not 0) when its denominator is 0: "no item was due" is not "none was done".
Rates are fractions in [0, 1] rounded to 4 decimal places; the average to 2.

Rankings (units, leaders, kinds, categories) give, per group: total, due, closed, closed on time
(both bases), overdue, and the three rates, with the definitions above. A unit's items as lead
(牵头, Item.lead_unit) and as supporting unit (配合) are counted apart.

Trend, per calendar month M (local time): created = items whose created_at falls in M; closed =
items closed at least once in M (a closure later undone by a failed return visit included); overdue
at month end = items that at the end of M (last day L) had been assigned (assigned_at ≤ L), were
not in a closed state then (closed_at after L or empty, and no closure before L undone only after
it), are not draft or cancelled, and whose deadline in force at L was before L. A suspension is
still read back from the current status. For the current month the figure is the overdue count now
(the light rule), so it equals the summary's `overdue`; later months are null.

Drill-down. Each count carries `drilldown`: `/api/v1/items/?<the request's filters>&<the figure's
own filters>`; the list's `count` equals the figure. When the figure's own condition contradicts a
filter of the request on the same parameter (e.g. `overdue=false` and the overdue figure), the
drill-down is null; so is it for a group no list filter can select (no category, an issuing
leader outside the system) and for overdue at the end of a past month.

Cost: a fixed number of queries per endpoint whatever the ledger size.

Modules: definitions.py (the Chinese definitions and the 口径说明, written once), scope.py (what is counted), figures.py (summary and rankings), trend.py (per month),
cache.py (figures shared between viewers who see the same items), params.py (the query's period,
order and months, parsed for the API and the pages alike), presenter.py (the leaders' dashboard),
quarterly.py and workbook.py (the quarterly review workbook)."""

from supervision.stats.definitions import DEFINITIONS, PRINCIPLES, describe
from supervision.stats.figures import (
    ORDERS,
    by_category,
    by_kind,
    by_leader,
    by_unit,
    period_out,
    summary,
)
from supervision.stats.scope import (
    COUNTED_STATUSES,
    MAX_TREND_MONTHS,
    Period,
    Scope,
    item_filterset,
    period_from,
    quarter_bounds,
    rate,
    stats_scope,
)
from supervision.stats.trend import month_last_day, trend, trend_months

__all__ = [
    "COUNTED_STATUSES",
    "DEFINITIONS",
    "MAX_TREND_MONTHS",
    "ORDERS",
    "PRINCIPLES",
    "Period",
    "Scope",
    "by_category",
    "by_kind",
    "by_leader",
    "by_unit",
    "describe",
    "item_filterset",
    "month_last_day",
    "period_from",
    "period_out",
    "quarter_bounds",
    "rate",
    "stats_scope",
    "summary",
    "trend",
    "trend_months",
]
