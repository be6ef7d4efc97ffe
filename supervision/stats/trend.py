"""The monthly trend: items created and closed per month, and overdue at each month end."""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Sequence

from django.db.models import Count, DateField, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from supervision.choices import Light
from supervision.conditions import LocalDate
from supervision.errors import InvalidInput
from supervision.lights import light_q
from supervision.stats.scope import COUNTED_STATUSES, MAX_TREND_MONTHS, Date, Period, Scope, as_local_date, local_start


def _month_add(month: Date, n: int) -> Date:
    index = month.year * 12 + month.month - 1 + n
    return Date(index // 12, index % 12 + 1, 1)


def month_last_day(month: Date) -> Date:
    return Date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])


def trend_months(*, period: Period, months: int, today: Date) -> list[Date]:
    """First days of the months the trend covers (see DEFINITIONS["trend"])."""
    this_month = today.replace(day=1)
    if period.explicit and period.start is not None:
        first = period.start.replace(day=1)
        last = (period.end or today).replace(day=1)
    elif period.explicit:
        last = period.end.replace(day=1)
        first = _month_add(last, -(months - 1))
    else:
        last = this_month
        first = _month_add(last, -(months - 1))
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    if count < 1:
        raise InvalidInput(fields={"period_end": [_("统计截止日不能早于起始日。")]})
    if count > MAX_TREND_MONTHS:
        raise InvalidInput(fields={"period_start": [_("月度趋势最多 %(n)s 个月，请缩小统计期。") % {"n": MAX_TREND_MONTHS}]})
    return [_month_add(first, i) for i in range(count)]


def overdue_at_q(day: Date) -> Q:
    """Overdue at the end of `day`, reconstructed from the stored dates (see DEFINITIONS["trend"])."""
    next_day = local_start(day + datetime.timedelta(days=1))
    return Q(status__in=COUNTED_STATUSES, assigned_at__lt=next_day, deadline__lt=day) & (
        Q(closed_at__isnull=True) | Q(closed_at__gte=next_day)
    )


def trend(scope: Scope, months: Sequence[Date]) -> list[dict]:
    """Three queries: created per month, closed per month (GROUP BY TruncMonth), and one row of
    conditional counts for overdue at each month end."""
    items, today = scope.items, scope.today
    first, last = months[0], month_last_day(months[-1])
    window_start, window_end = local_start(first), local_start(last + datetime.timedelta(days=1))

    def per_month(field: str) -> dict[Date, int]:
        rows = (
            items.filter(**{f"{field}__gte": window_start, f"{field}__lt": window_end})
            .annotate(month=TruncMonth(LocalDate(field), output_field=DateField()))
            .values_list("month")
            .annotate(n=Count("pk"))
            .order_by()
        )
        return {as_local_date(month): n for month, n in rows}

    created, closed = per_month("created_at"), per_month("closed_at")
    this_month = today.replace(day=1)
    overdue_counts: dict[str, Count] = {}
    past = [month_last_day(month) for month in months if month < this_month]
    for i, month in enumerate(months):
        if month < this_month:
            overdue_counts[f"m{i}"] = Count("pk", filter=overdue_at_q(month_last_day(month)))
        elif month == this_month:
            overdue_counts[f"m{i}"] = Count("pk", filter=light_q(Light.OVERDUE, scope.now))
    # Only rows that can count somewhere: overdue now, or meeting the weakest form of every month-end
    # condition (assigned by the last month end, due before it, not closed before the first one). The
    # counts are unchanged; most of the closed history is skipped before the per-month conditions run.
    candidates = light_q(Light.OVERDUE, scope.now)
    if past:
        first_next = local_start(past[0] + datetime.timedelta(days=1))
        last_next = local_start(past[-1] + datetime.timedelta(days=1))
        candidates |= Q(status__in=COUNTED_STATUSES, assigned_at__lt=last_next, deadline__lt=past[-1]) & (
            Q(closed_at__isnull=True) | Q(closed_at__gte=first_next)
        )
    overdue = items.filter(candidates).aggregate(**overdue_counts) if overdue_counts else {}

    results = []
    for i, month in enumerate(months):
        month_range = (month, month_last_day(month))
        if month < this_month:
            overdue_figure = {"count": overdue[f"m{i}"], "drilldown": None}
        elif month == this_month:
            overdue_figure = scope.figure(overdue[f"m{i}"], overdue=True)
        else:
            overdue_figure = {"count": None, "drilldown": None}
        results.append(
            {
                "month": f"{month:%Y-%m}",
                "created": scope.figure(created.get(month, 0), created=month_range),
                "closed": scope.figure(closed.get(month, 0), closed=month_range),
                "overdue_at_month_end": overdue_figure,
            }
        )
    return results
