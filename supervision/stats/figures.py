"""The headline figures and the rankings (units, leaders, kinds, categories), by the definitions in
the package's docstring (supervision/stats/__init__.py), each with its drill-down link."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

from django.db import connections
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from accounts.models import Unit, User
from supervision.choices import (
    COUNTED_STATUSES,
    DONE_STATUSES,
    OPEN_STATUSES,
    REPORTING_STATUSES,
    WORKING_STATUSES,
    AssignmentRole,
    InstructionKind,
    ItemStatus,
    Light,
)
from supervision.conditions import LocalDate, closed_on_time_q, failed_visits, relapsed_q, undone_closures
from supervision.lights import RUNNING_LIGHTS, running_light_q
from supervision.models import Category
from supervision.stats import columns
from supervision.stats.scope import Date, Period, Scope, rate
from supervision.workcalendar import workdays_in_range


def _average_workdays_to_close(scope: Scope) -> float | None:
    """Working days are counted as index(closed) - index(assigned), index(d) = the working days up to
    d, so the sum over items splits into a sum over closed dates and one over assigned dates: one scan
    with GROUPING SETS ((assigned date), (closed date)) gives at most a few thousand rows (rather than
    one row per (assigned, closed) pair, hundreds of thousands at province scale); then one query for
    the calendar exceptions. The inner query is the scope's own, so visibility is unchanged."""
    if scope.columns is not None:
        per_assigned, per_closed = columns.close_days(scope.columns, scope)
    else:
        per_assigned, per_closed = _close_days_sql(scope)
    total = sum(n for _day, n in per_closed)
    if not total:
        return None
    days = [day for day, _n in per_assigned + per_closed]
    workdays = workdays_in_range(min(days), max(days))  # sorted; one query

    def index(day: Date) -> int:  # working days up to `day`; workdays_between(a, b) = index(b) - index(a)
        return bisect.bisect_right(workdays, day)

    worked = sum(index(day) * n for day, n in per_closed) - sum(index(day) * n for day, n in per_assigned)
    return round(worked / total, 2)


def _close_days_sql(scope: Scope) -> tuple[list, list]:
    closed = scope.items.filter(scope.closed_now_in_period_q(), assigned_at__isnull=False)
    inner = closed.annotate(assigned_on=LocalDate("assigned_at"), closed_on=LocalDate("closed_at")).values(
        "assigned_on", "closed_on"
    )
    connection = connections[inner.db]
    if connection.vendor == "postgresql":
        sql, params = inner.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT assigned_on, closed_on, COUNT(*) FROM (" + sql + ") AS closed_items "
                "GROUP BY GROUPING SETS ((assigned_on), (closed_on))",
                params,
            )
            rows = cursor.fetchall()
        per_assigned = [(day, n) for day, _closed, n in rows if day is not None]
        per_closed = [(day, n) for _assigned, day, n in rows if day is not None]
    else:  # SQLite (the demo without servers) has no GROUPING SETS: one GROUP BY per side
        per_assigned, per_closed = (
            list(inner.values_list(side).annotate(n=Count("pk")).order_by()) for side in ("assigned_on", "closed_on")
        )
    return per_assigned, per_closed


def _return_visit_counts(scope: Scope) -> dict[str, int]:
    """The figures that read the return visits, over the few items with a failed return visit dated
    in the period or undoing a closure made in it (a semi-join driven from the return visits): 反弹
    (`relapsed`), and the closures in the period a failed return visit undid of items whose current
    closure is not in the period (`undone`; closed_in_period = current closures in the period + these,
    as `was_closed_q` reads it). The per-row EXISTS run on those few items only, so the status scan of
    `summary` tests no subquery per item (and can run in parallel)."""
    start, end = scope.period.start, scope.period.end
    touched = (failed_visits(start, end) | undone_closures(start, end)).values("item_id")
    undone = Exists(undone_closures(start, end).filter(item=OuterRef("pk")))
    return scope.items.filter(pk__in=touched).aggregate(
        relapsed=Count("pk", filter=relapsed_q(start, end)),
        undone=Count("pk", filter=~scope.closed_now_in_period_q() & Q(undone)),
    )


def summary(scope: Scope) -> dict:
    """Headline figures: one scan grouped by status carries every count but those of the return
    visits (`_return_visit_counts`, one query over the few items concerned), then the close-time
    sums (one scan, grouped by date) and the calendar: 4 queries. Grouped by status, a figure's own
    status condition (due: not draft or cancelled; closed: CLOSED/VERIFIED; the lights: open) is
    applied by adding up the right status groups instead of being tested on every row."""
    items, now = scope.items, scope.now
    in_period, in_period_current = scope.in_period_q(), scope.in_period_current_q()
    assigned = scope.assigned_q()
    with_deadline = Q(deadline__isnull=False)
    rows = (
        columns.summary_rows(scope.columns, scope)
        if scope.columns is not None
        else list(
            items.values("status")
            .annotate(
                n=Count("pk"),
                in_period=Count("pk", filter=in_period),
                in_period_current=Count("pk", filter=in_period_current),
                on_time_original=Count("pk", filter=in_period & closed_on_time_q("original", statuses=False)),
                on_time_extended=Count("pk", filter=in_period_current & closed_on_time_q("extended", statuses=False)),
                with_deadline=Count("pk", filter=with_deadline),
                overdue_original=Count("pk", filter=Q(original_deadline__lt=scope.today)),
                closed_now_in_period=Count("pk", filter=scope.closed_now_in_period_q()),
                reopened=Count("pk", filter=Q(reopen_count__gt=0)),
                assigned=Count("pk", filter=assigned),
                stale=Count("pk", filter=assigned & scope.stale_q()),
                **{
                    f"light_{light.value}": Count("pk", filter=with_deadline & running_light_q(light, now))
                    for light in RUNNING_LIGHTS
                },
            )
            .order_by()
        )
    )

    def total(key: str, statuses: Sequence[str] | None = None) -> int:
        return sum(row[key] for row in rows if statuses is None or row["status"] in statuses)

    by_status = {row["status"]: row["n"] for row in rows}
    visits = columns.return_visit_counts(scope.columns, scope) if scope.columns is not None else _return_visit_counts(scope)
    counts = {
        "total": total("n"),
        "due": total("in_period", COUNTED_STATUSES),
        "closed": total("in_period", DONE_STATUSES),
        "on_time_original": total("on_time_original", DONE_STATUSES),
        "due_current": total("in_period_current", COUNTED_STATUSES),
        "closed_current": total("in_period_current", DONE_STATUSES),
        "on_time_extended": total("on_time_extended", DONE_STATUSES),
        "open_with_deadline": total("with_deadline", OPEN_STATUSES),
        "overdue_original": total("overdue_original", OPEN_STATUSES),
        "closed_in_period": total("closed_now_in_period") + visits["undone"],
        "relapsed": visits["relapsed"],
        "reopened": total("reopened"),
        "assigned": total("assigned", COUNTED_STATUSES),
        "completed": total("assigned", DONE_STATUSES),
        "in_progress": total("assigned", WORKING_STATUSES),
        "stale": total("stale", REPORTING_STATUSES),
    }
    by_light = {light.value: total(f"light_{light.value}", OPEN_STATUSES) for light in RUNNING_LIGHTS}
    # NONE is "no running deadline" (lights.py), the complement of open_with_deadline.
    by_light[Light.NONE.value] = counts["total"] - counts["open_with_deadline"]
    counts["overdue"] = by_light[Light.OVERDUE.value]
    due_drill, closed_drill = scope.due_drill(), scope.closed_drill()
    due_current_drill, closed_current_drill = scope.due_current_drill(), scope.closed_current_drill()
    period_range = (scope.period.start, scope.period.end)
    return {
        "period": period_out(scope.period),
        "total": scope.figure(counts["total"]),
        "by_status": [
            {"status": s.value, "label": str(s.label), **scope.figure(by_status.get(s.value, 0), status=[s.value])}
            for s in ItemStatus
        ],
        "by_light": [
            {"light": light.value, "label": str(light.label), **scope.figure(by_light.get(light.value, 0), light=[light.value])}
            for light in Light
        ],
        "due": scope.figure(counts["due"], **due_drill),
        "closed": scope.figure(counts["closed"], **closed_drill),
        "closed_on_time_original": scope.figure(counts["on_time_original"], **closed_drill, closed_on_time="original"),
        "implementation_rate": rate(counts["closed"], counts["due"]),
        "on_time_rate_original": rate(counts["on_time_original"], counts["due"]),
        # By the current deadline: shown beside the figures above, never instead of them.
        "due_current": scope.figure(counts["due_current"], **due_current_drill),
        "closed_current": scope.figure(counts["closed_current"], **closed_current_drill),
        "closed_on_time_extended": scope.figure(counts["on_time_extended"], **closed_current_drill, closed_on_time="extended"),
        "implementation_rate_current": rate(counts["closed_current"], counts["due_current"]),
        "on_time_rate_extended": rate(counts["on_time_extended"], counts["due_current"]),
        "overdue": scope.figure(counts["overdue"], overdue=True),
        "overdue_original": scope.figure(counts["overdue_original"], overdue_original=True),
        "open_with_deadline": scope.figure(counts["open_with_deadline"], light=RUNNING_LIGHTS),
        "overdue_rate": rate(counts["overdue"], counts["open_with_deadline"]),
        "closed_in_period": scope.figure(counts["closed_in_period"], was_closed=period_range),
        "average_workdays_to_close": _average_workdays_to_close(scope) if counts["closed_in_period"] else None,
        "relapsed": scope.figure(counts["relapsed"], relapsed=period_range),
        "reopened": scope.figure(counts["reopened"], reopened=True),
        **progress_figures(scope, counts),
    }


def progress_figures(scope: Scope, n: Mapping) -> dict:
    """办结率, 在办率, 停滞率 over the items assigned in the period (`n`: assigned, completed,
    in_progress, stale), each count with its drill-down."""
    return {
        "assigned": scope.figure(n["assigned"], **scope.assigned_drill()),
        "completed": scope.figure(n["completed"], **scope.assigned_drill(DONE_STATUSES)),
        "in_progress": scope.figure(n["in_progress"], **scope.assigned_drill(WORKING_STATUSES)),
        "stale": scope.figure(n["stale"], **scope.assigned_drill(REPORTING_STATUSES), stale=True),
        "completion_rate": rate(n["completed"], n["assigned"]),
        "in_progress_rate": rate(n["in_progress"], n["assigned"]),
        "stale_rate": rate(n["stale"], n["in_progress"]),
    }


def period_out(period: Period) -> dict:
    return {"start": period.start, "end": period.end, "quarter": period.quarter}


ORDERS = ("implementation_rate", "on_time_rate", "overdue", "due", "name")


GROUP_COUNTS = tuple(f"n_{key}" for key in columns.GROUPED_KEYS)


def _grouped(scope: Scope, qs: QuerySet, **groups) -> list[dict]:
    """The counts `_group_figures` reads, per group: one GROUP BY (groups…, status) with conditions
    that leave the status out, added up in Python over the statuses each figure takes (as in
    `summary`). Returns one row per group with the `groups` values and the GROUP_COUNTS.

    反弹 is tested on reopened items only (a failed return visit is what reopens an item:
    reopen_count > 0), written first so the EXISTS runs for those few rows; PostgreSQL then reads
    the failed visits once into a hash (or probes the index for those rows). Measured at 1M items,
    this beat a separate GROUP BY over a semi-join with the failed visits (as `summary` does): that
    re-read the scope's items, +0.3–0.6 s per grouping, more than the scan it spared."""
    in_period, in_period_current = scope.in_period_q(), scope.in_period_current_q()
    rows = (
        qs.values(**groups, g_status=F("status"))
        .annotate(
            c_total=Count("pk"),
            c_in_period=Count("pk", filter=in_period),
            c_in_period_current=Count("pk", filter=in_period_current),
            c_on_time_original=Count("pk", filter=in_period & closed_on_time_q("original", statuses=False)),
            c_on_time_extended=Count("pk", filter=in_period_current & closed_on_time_q("extended", statuses=False)),
            c_overdue=Count("pk", filter=Q(deadline__isnull=False) & running_light_q(Light.OVERDUE, scope.now)),
            c_assigned=Count("pk", filter=scope.assigned_q()),
            c_stale=Count("pk", filter=scope.assigned_q() & scope.stale_q()),
            c_relapsed=Count("pk", filter=Q(reopen_count__gt=0) & relapsed_q(scope.period.start, scope.period.end)),
        )
        .order_by()
    )
    merged: dict[tuple, dict] = {}

    def entry_of(row: Mapping) -> dict:
        return merged.setdefault(
            tuple(row[key] for key in groups), {**{key: row[key] for key in groups}, **dict.fromkeys(GROUP_COUNTS, 0)}
        )

    for row in rows:
        entry = entry_of(row)
        status = row["g_status"]
        entry["n_total"] += row["c_total"]
        if status in COUNTED_STATUSES:
            entry["n_due"] += row["c_in_period"]
            entry["n_due_current"] += row["c_in_period_current"]
        if status in DONE_STATUSES:
            entry["n_closed"] += row["c_in_period"]
            entry["n_on_time_original"] += row["c_on_time_original"]
            entry["n_on_time_extended"] += row["c_on_time_extended"]
        if status in OPEN_STATUSES:
            entry["n_overdue"] += row["c_overdue"]
        if status in COUNTED_STATUSES:
            entry["n_assigned"] += row["c_assigned"]
        if status in DONE_STATUSES:
            entry["n_completed"] += row["c_assigned"]
        if status in WORKING_STATUSES:
            entry["n_in_progress"] += row["c_assigned"]
        if status in REPORTING_STATUSES:
            entry["n_stale"] += row["c_stale"]
        entry["n_relapsed"] += row["c_relapsed"]
    return list(merged.values())


def _group_constraints(scope: Scope) -> dict[str, dict]:
    """Each figure of a ranking's group with the constraints of its drill-down (the group's own
    filter comes on top), the same for every group of the scope."""
    period = (scope.period.start, scope.period.end)
    due_drill, closed_drill = scope.due_drill(), scope.closed_drill()
    return {
        "total": {},
        "due": due_drill,
        "closed": closed_drill,
        "closed_on_time_original": {**closed_drill, "closed_on_time": "original"},
        "due_current": scope.due_current_drill(),
        "closed_on_time_extended": {**scope.closed_current_drill(), "closed_on_time": "extended"},
        "overdue": {"overdue": True},
        "relapsed": {"relapsed": period},
        "assigned": scope.assigned_drill(),
        "completed": scope.assigned_drill(DONE_STATUSES),
        "in_progress": scope.assigned_drill(WORKING_STATUSES),
        "stale": {**scope.assigned_drill(REPORTING_STATUSES), "stale": True},
    }


# The count a group's figure shows, where its name is not the count's (GROUP_COUNTS without "n_").
_COUNT_OF = {"closed_on_time_original": "on_time_original", "closed_on_time_extended": "on_time_extended"}


# A group's figures in the order the API gives them: a count with its drill-down, or (rate, numerator,
# denominator).
_GROUP_LAYOUT = (
    "total",
    "due",
    "closed",
    "closed_on_time_original",
    "due_current",
    "closed_on_time_extended",
    "overdue",
    ("implementation_rate", "closed", "due"),
    ("on_time_rate_original", "on_time_original", "due"),
    ("on_time_rate_extended", "on_time_extended", "due_current"),
    "relapsed",
    "assigned",
    "completed",
    "in_progress",
    "stale",
    ("completion_rate", "completed", "assigned"),
    ("in_progress_rate", "in_progress", "assigned"),
    ("stale_rate", "stale", "in_progress"),
)


def _group_figures(scope: Scope, row: Mapping | None, group: Mapping | None) -> dict:
    """The figures of one group; `group` holds the list filters that select it (None: none can)."""
    row = row or {}
    n = {key[2:]: row.get(key, 0) for key in GROUP_COUNTS}
    if group is None:
        links = {}
    else:
        if "group_constraints" not in scope.memo:
            scope.memo["group_constraints"] = _group_constraints(scope)
        links = scope.group_links(group, scope.memo["group_constraints"])
    result: dict = {}
    for entry in _GROUP_LAYOUT:
        if isinstance(entry, tuple):
            name, numerator, denominator = entry
            result[name] = rate(n[numerator], n[denominator])
        else:
            result[entry] = {"count": n[_COUNT_OF.get(entry, entry)], "drilldown": links.get(entry)}
    return result


def _sort(rows: list[dict], order: str, figures_of=lambda row: row) -> list[dict]:
    """Worst first: rates ascending, counts descending; null rates last; then by name."""

    def key(row):
        f = figures_of(row)
        name = row.get("sort_name") or ""
        if order == "name":
            return (name,)
        if order in ("implementation_rate", "on_time_rate"):
            value = f["implementation_rate" if order == "implementation_rate" else "on_time_rate_original"]
            return (value is None, value or 0, -f["overdue"]["count"], name)
        return (-f[order]["count"], name)

    rows.sort(key=key)
    for row in rows:
        row.pop("sort_name", None)
    return rows


def _subtree_path(scope: Scope) -> str | None:
    unit_id = scope.cleaned.get("unit")
    if unit_id in (None, ""):
        return None
    return Unit.objects.filter(pk=int(unit_id)).values_list("path", flat=True).first() or ""


def by_unit(scope: Scope, *, order: str = "implementation_rate") -> list[dict]:
    """Per unit, its items as lead and as supporting unit apart. As lead: one GROUP BY over the items
    by Item.lead_unit (the definition; the service keeps the LEAD assignment equal to it), no join.
    As supporting: one GROUP BY over the SUPPORTING assignments joined to the items. Then the names."""
    subtree = _subtree_path(scope)
    if scope.columns is not None:
        grouped = {
            role: [{"g_unit": unit_id, **n} for unit_id, n in columns.grouped(scope.columns, scope, by).items()]
            for role, by in ((AssignmentRole.LEAD, "lead_unit"), (AssignmentRole.SUPPORTING, "supporting_unit"))
        }
    else:
        grouped = {
            AssignmentRole.LEAD: _grouped(scope, scope.items.filter(lead_unit__isnull=False), g_unit=F("lead_unit_id")),
            AssignmentRole.SUPPORTING: _grouped(
                scope, scope.items.filter(assignments__role=AssignmentRole.SUPPORTING), g_unit=F("assignments__unit_id")
            ),
        }
    rows: dict[int, dict] = {}
    for role, group_rows in grouped.items():
        for row in group_rows:
            rows.setdefault(row["g_unit"], {})[role] = row
    names = {pk: (name, path) for pk, name, path in Unit.objects.filter(pk__in=rows).values_list("pk", "name", "path")}
    results = []
    for unit_id, entry in rows.items():
        name, path = names[unit_id]
        if subtree is not None and not path.startswith(subtree):
            continue
        results.append(
            {
                "unit": {"id": unit_id, "name": name},
                "sort_name": name,
                "lead": _group_figures(scope, entry.get(AssignmentRole.LEAD), {"lead_unit": unit_id}),
                "supporting": _group_figures(scope, entry.get(AssignmentRole.SUPPORTING), {"supporting_unit": unit_id}),
            }
        )
    return _sort(results, order, figures_of=lambda row: row["lead"])


def by_leader(scope: Scope, *, order: str = "implementation_rate") -> list[dict]:
    """Per issuing leader (instruction.issuing_leader); leaders outside the system form one group."""
    if scope.columns is not None:
        counts = columns.grouped(scope.columns, scope, "leader")
        people = {
            pk: (full, user) for pk, full, user in User.objects.filter(pk__in=counts).values_list("pk", "full_name", "username")
        }
        grouped = [
            {"g_leader": pk, "g_full_name": people.get(pk, ("", ""))[0], "g_username": people.get(pk, ("", ""))[1], **n}
            for pk, n in counts.items()
        ]
    else:
        grouped = _grouped(
            scope,
            scope.items,
            g_leader=F("instruction__issuing_leader_id"),
            g_full_name=F("instruction__issuing_leader__full_name"),
            g_username=F("instruction__issuing_leader__username"),
        )
    results = []
    for row in grouped:
        leader_id = row["g_leader"]
        leader = None if leader_id is None else {"id": leader_id, "name": row["g_full_name"] or row["g_username"]}
        results.append(
            {
                "leader": leader,
                "sort_name": leader["name"] if leader else "\uffff",
                **_group_figures(scope, row, None if leader_id is None else {"issuing_leader": leader_id}),
            }
        )
    return _sort(results, order)


def by_kind(scope: Scope, *, order: str = "implementation_rate") -> list[dict]:
    """Per instruction kind (来源类型), every kind listed (zeros included)."""
    if scope.columns is not None:
        grouped = columns.grouped(scope.columns, scope, "kind")
    else:
        grouped = {row["g_kind"]: row for row in _grouped(scope, scope.items, g_kind=F("instruction__kind"))}
    results = [
        {
            "kind": kind.value,
            "label": str(kind.label),
            "sort_name": f"{index:02d}",
            **_group_figures(scope, grouped.get(kind.value), {"instruction_kind": [kind.value]}),
        }
        for index, kind in enumerate(InstructionKind)
    ]
    return _sort(results, order)


def by_category(scope: Scope, *, order: str = "implementation_rate") -> list[dict]:
    """Per category; items without a category form one group."""
    if scope.columns is not None:
        counts = columns.grouped(scope.columns, scope, "category")
        names = dict(Category.objects.filter(pk__in=counts).values_list("pk", "name"))
        grouped = [{"g_category": pk, "g_name": names.get(pk), **n} for pk, n in counts.items()]
    else:
        grouped = _grouped(scope, scope.items, g_category=F("category_id"), g_name=F("category__name"))
    results = []
    for row in grouped:
        category_id = row["g_category"]
        category = None if category_id is None else {"id": category_id, "name": row["g_name"]}
        results.append(
            {
                "category": category,
                "sort_name": category["name"] if category else "\uffff",
                **_group_figures(scope, row, None if category_id is None else {"category": category_id}),
            }
        )
    return _sort(results, order)
