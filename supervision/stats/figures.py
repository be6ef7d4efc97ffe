"""The headline figures and the rankings (units, leaders, kinds, categories), by the definitions in
the package's docstring (supervision/stats/__init__.py), each with its drill-down link."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

from django.db import connections
from django.db.models import Count, F, Q, QuerySet

from accounts.models import Unit
from supervision.choices import DONE_STATUSES, OPEN_STATUSES, AssignmentRole, InstructionKind, ItemStatus, Light
from supervision.conditions import LocalDate, closed_on_time_q
from supervision.lights import light_q, running_light_q
from supervision.stats.scope import COUNTED_STATUSES, RUNNING_LIGHTS, Date, Period, Scope, date_range_q, rate
from supervision.workcalendar import workdays_in_range

# The definitions in Chinese, for the OpenAPI descriptions and the README.
DEFINITIONS = {
    "scope": "统计范围：当前用户可见的事项（与事项列表相同的可见性规则：不超过本人密级、不超出本人职责范围），"
    "再按请求中与事项列表相同的筛选参数缩小。",
    "period": "统计期：period_start / period_end（含首尾两日）或 quarter=2026Q3（7月1日至9月30日），二者不可同时使用。"
    "都不填时为“截至今日”（无起始日，截止日为今天）；只填起始日则无截止日，只填截止日则无起始日。"
    "统计期决定哪些事项“应办结”、哪些“在统计期内销号”；状态、红黄绿灯、超期、重新办理是当前时点的数字，不受统计期影响"
    "（可用 deadline_after / deadline_before 缩小）。",
    "due": "应办结：状态不是草稿或已撤销，且现办理时限（含延期）在统计期内的事项；无办理时限的（参阅性）不计；暂停的计入。",
    "closed": "已办结：应办结事项中当前状态为已销号或回访通过的（回访未通过重新办理的，在再次销号前不计）。",
    "implementation_rate": "落实率 = 已办结 ÷ 应办结。",
    "on_time_rate_original": "按原定时限按时办结率 = 应办结事项中已办结且销号日期（北京时间）不晚于原定时限的 ÷ 应办结。",
    "on_time_rate_extended": "按延期后时限按时办结率 = 应办结事项中已办结且销号日期不晚于现办理时限（含延期）的 ÷ 应办结。",
    "overdue": "超期：当前在办（已交办、已签收、办理中、待审核）且已过办理时限的事项，与红黄绿灯规则一致。",
    "open_with_deadline": "在办有时限：当前在办且有办理时限的事项（亮灯的事项）。",
    "overdue_rate": "超期率 = 超期 ÷ 在办有时限。",
    "closed_in_period": "统计期内销号：销号日期（北京时间）在统计期内的事项。",
    "average_workdays_to_close": "平均办结工作日：统计期内销号的事项，从交办日到销号日之间的工作日数（不含交办当日，含销号当日，"
    "按法定节假日和调休日历）的平均值。",
    "reopened": "回访后重新办理：回访复核未通过、重新办理过至少一次的事项（reopen_count > 0）。",
    "null_rates": "分母为 0 时比率为 null（不是 0）：“没有应办结事项”不等于“一件也没办”。比率为 0 到 1 之间的小数，保留 4 位；平均值保留 2 位。",
    "drilldown": "每个数字附 drilldown：/api/v1/items/?<本次请求的筛选条件>&<该数字自身的条件>，列表的 count 与数字相等。"
    "该数字自身的条件与请求中同一参数矛盾（如 overdue=false 时的超期数）、分组无法用列表筛选表示（无类别、系统外批示人）"
    "或为过去月份月末的超期数时，drilldown 为 null。",
    "units": "按单位排名：牵头单位（事项的牵头单位）与配合单位分别统计；每组给出合计、应办结、已办结、按时办结、超期及三项比率。"
    "使用 unit 筛选时只列出该单位及其下级单位。order：implementation_rate（落实率由低到高，默认）、on_time_rate"
    "（按原定时限按时办结率由低到高）、overdue（超期数由多到少）、due（应办结数由多到少）、name（名称）；比率为 null 的排在最后。",
    "trend": "月度趋势（按北京时间自然月）：新立项 = 立项时间在该月的事项；销号 = 销号时间在该月的事项；"
    "月末超期 = 该月最后一天时已交办、未销号（销号时间为空或晚于月末）、不是草稿或已撤销、且现办理时限早于月末的事项。"
    "台账只保存当前日期而非状态历史，之后的延期或暂停按当时已生效计算。当月为当前超期数（与汇总中的超期相同），以后的月份为 null。"
    "范围：给出统计期时为统计期覆盖的各月（只给截止日时向前 months 个月），否则为截至本月的最近 months 个月（默认 12，最多 60）。",
}


def describe(*keys: str) -> str:
    return "\n\n".join(DEFINITIONS[k] for k in keys)


def _average_workdays_to_close(scope: Scope) -> float | None:
    """Working days are counted as index(closed) - index(assigned), index(d) = the working days up to
    d, so the sum over items splits into a sum over closed dates and one over assigned dates: one scan
    with GROUPING SETS ((assigned date), (closed date)) gives at most a few thousand rows (rather than
    one row per (assigned, closed) pair, hundreds of thousands at province scale); then one query for
    the calendar exceptions. The inner query is the scope's own, so visibility is unchanged."""
    closed = scope.items.filter(scope.closed_in_period_q(), assigned_at__isnull=False)
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
    total = sum(n for _day, n in per_closed)
    if not total:
        return None
    days = [day for day, _n in per_assigned + per_closed]
    workdays = workdays_in_range(min(days), max(days))  # sorted; one query

    def index(day: Date) -> int:  # working days up to `day`; workdays_between(a, b) = index(b) - index(a)
        return bisect.bisect_right(workdays, day)

    worked = sum(index(day) * n for day, n in per_closed) - sum(index(day) * n for day, n in per_assigned)
    return round(worked / total, 2)


def summary(scope: Scope) -> dict:
    """Headline figures: one scan grouped by status carries every count, then the close-time sums
    (one scan, grouped by date) and the calendar: 3 queries. Grouped by status, a figure's own status
    condition (due: not draft or cancelled; closed: CLOSED/VERIFIED; the lights: open) is applied
    by adding up the right status groups instead of being tested on every row."""
    items, now = scope.items, scope.now
    in_period = date_range_q("deadline", scope.period.start, scope.period.end)
    with_deadline = Q(deadline__isnull=False)
    rows = list(
        items.values("status")
        .annotate(
            n=Count("pk"),
            in_period=Count("pk", filter=in_period),
            on_time_original=Count("pk", filter=in_period & closed_on_time_q("original", statuses=False)),
            on_time_extended=Count("pk", filter=in_period & closed_on_time_q("extended", statuses=False)),
            with_deadline=Count("pk", filter=with_deadline),
            closed_in_period=Count("pk", filter=scope.closed_in_period_q()),
            reopened=Count("pk", filter=Q(reopen_count__gt=0)),
            **{
                f"light_{light.value}": Count("pk", filter=with_deadline & running_light_q(light, now))
                for light in RUNNING_LIGHTS
            },
        )
        .order_by()
    )

    def total(key: str, statuses: Sequence[str] | None = None) -> int:
        return sum(row[key] for row in rows if statuses is None or row["status"] in statuses)

    by_status = {row["status"]: row["n"] for row in rows}
    counts = {
        "total": total("n"),
        "due": total("in_period", COUNTED_STATUSES),
        "closed": total("in_period", DONE_STATUSES),
        "on_time_original": total("on_time_original", DONE_STATUSES),
        "on_time_extended": total("on_time_extended", DONE_STATUSES),
        "open_with_deadline": total("with_deadline", OPEN_STATUSES),
        "closed_in_period": total("closed_in_period"),
        "reopened": total("reopened"),
    }
    by_light = {light.value: total(f"light_{light.value}", OPEN_STATUSES) for light in RUNNING_LIGHTS}
    # NONE is "no running deadline" (lights.py), the complement of open_with_deadline.
    by_light[Light.NONE.value] = counts["total"] - counts["open_with_deadline"]
    counts["overdue"] = by_light[Light.OVERDUE.value]
    due_drill, closed_drill = scope.due_drill(), scope.closed_drill()
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
        "closed_on_time_extended": scope.figure(counts["on_time_extended"], **closed_drill, closed_on_time="extended"),
        "implementation_rate": rate(counts["closed"], counts["due"]),
        "on_time_rate_original": rate(counts["on_time_original"], counts["due"]),
        "on_time_rate_extended": rate(counts["on_time_extended"], counts["due"]),
        "overdue": scope.figure(counts["overdue"], overdue=True),
        "open_with_deadline": scope.figure(counts["open_with_deadline"], light=RUNNING_LIGHTS),
        "overdue_rate": rate(counts["overdue"], counts["open_with_deadline"]),
        "closed_in_period": scope.figure(counts["closed_in_period"], closed=(scope.period.start, scope.period.end)),
        "average_workdays_to_close": _average_workdays_to_close(scope) if counts["closed_in_period"] else None,
        "reopened": scope.figure(counts["reopened"], reopened=True),
    }


def period_out(period: Period) -> dict:
    return {"start": period.start, "end": period.end, "quarter": period.quarter}


ORDERS = ("implementation_rate", "on_time_rate", "overdue", "due", "name")


def _group_aggregates(scope: Scope) -> dict:
    """The group counts as conditional aggregates (the reference form of what `_grouped` computes)."""
    due_q = scope.due_q()
    return {
        "n_total": Count("pk"),
        "n_due": Count("pk", filter=due_q),
        "n_closed": Count("pk", filter=due_q & Q(status__in=DONE_STATUSES)),
        "n_on_time_original": Count("pk", filter=due_q & closed_on_time_q("original")),
        "n_on_time_extended": Count("pk", filter=due_q & closed_on_time_q("extended")),
        "n_overdue": Count("pk", filter=light_q(Light.OVERDUE, scope.now)),
    }


def _grouped(scope: Scope, qs: QuerySet, **groups) -> list[dict]:
    """The counts `_group_figures` reads, per group: one GROUP BY (groups…, status) with conditions
    that leave the status out, added up in Python over the statuses each figure takes (as in
    `summary`). Returns one row per group with the `groups` values and n_total, n_due, n_closed,
    n_on_time_original, n_on_time_extended, n_overdue — the same as `_group_aggregates` gives."""
    in_period = date_range_q("deadline", scope.period.start, scope.period.end)
    rows = (
        qs.values(**groups, g_status=F("status"))
        .annotate(
            c_total=Count("pk"),
            c_in_period=Count("pk", filter=in_period),
            c_on_time_original=Count("pk", filter=in_period & closed_on_time_q("original", statuses=False)),
            c_on_time_extended=Count("pk", filter=in_period & closed_on_time_q("extended", statuses=False)),
            c_overdue=Count("pk", filter=Q(deadline__isnull=False) & running_light_q(Light.OVERDUE, scope.now)),
        )
        .order_by()
    )
    merged: dict[tuple, dict] = {}
    for row in rows:
        entry = merged.setdefault(
            tuple(row[key] for key in groups),
            {
                **{key: row[key] for key in groups},
                **dict.fromkeys(("n_total", "n_due", "n_closed", "n_on_time_original", "n_on_time_extended", "n_overdue"), 0),
            },
        )
        status = row["g_status"]
        entry["n_total"] += row["c_total"]
        if status in COUNTED_STATUSES:
            entry["n_due"] += row["c_in_period"]
        if status in DONE_STATUSES:
            entry["n_closed"] += row["c_in_period"]
            entry["n_on_time_original"] += row["c_on_time_original"]
            entry["n_on_time_extended"] += row["c_on_time_extended"]
        if status in OPEN_STATUSES:
            entry["n_overdue"] += row["c_overdue"]
    return list(merged.values())


def _group_figures(scope: Scope, row: Mapping | None, group: Mapping | None) -> dict:
    """The figures of one group; `group` holds the list filters that select it (None: none can)."""
    row = row or {}
    n = {key: row.get(f"n_{key}", 0) for key in ("total", "due", "closed", "on_time_original", "on_time_extended", "overdue")}

    def fig(count: int, **constraints) -> dict:
        if group is None:
            return {"count": count, "drilldown": None}
        return scope.figure(count, **group, **constraints)

    due_drill, closed_drill = scope.due_drill(), scope.closed_drill()
    return {
        "total": fig(n["total"]),
        "due": fig(n["due"], **due_drill),
        "closed": fig(n["closed"], **closed_drill),
        "closed_on_time_original": fig(n["on_time_original"], **closed_drill, closed_on_time="original"),
        "closed_on_time_extended": fig(n["on_time_extended"], **closed_drill, closed_on_time="extended"),
        "overdue": fig(n["overdue"], overdue=True),
        "implementation_rate": rate(n["closed"], n["due"]),
        "on_time_rate_original": rate(n["on_time_original"], n["due"]),
        "on_time_rate_extended": rate(n["on_time_extended"], n["due"]),
    }


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
