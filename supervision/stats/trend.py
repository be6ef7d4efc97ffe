"""The monthly trend: items created and closed per month, and overdue at each month end."""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Sequence

from django.db.models import Count, DateField, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from supervision.choices import Light, ReturnVisitResult
from supervision.conditions import LocalDate
from supervision.errors import InvalidInput
from supervision.lights import light_q
from supervision.models import DeadlineSpan, Item, ReturnVisit
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


def closed_at_end_of_q(day: Date) -> Q:
    """In a closed state at the end of `day`: its current closure came before, or a closure made
    before was undone by a failed return visit only after (the return visit keeps that closure)."""
    next_day = local_start(day + datetime.timedelta(days=1))
    undone_later = ReturnVisit.objects.filter(
        item=OuterRef("pk"),
        result=ReturnVisitResult.FAILED,
        reopened_closure_at__lt=next_day,
        created_at__gte=next_day,
    )
    return Q(closed_at__lt=next_day) | Q(Exists(undone_later))


def deadline_then_before_q(day: Date) -> Q:
    """The deadline in force at the end of `day` (the deadline history) was before `day`."""
    next_day = local_start(day + datetime.timedelta(days=1))
    in_force = DeadlineSpan.objects.filter(item=OuterRef("pk"), valid_from__lt=next_day, deadline__lt=day).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=next_day)
    )
    return Q(Exists(in_force))


def overdue_at_q(day: Date) -> Q:
    """Overdue at the end of `day`, with the deadline then in force (see DEFINITIONS["trend"])."""
    next_day = local_start(day + datetime.timedelta(days=1))
    return Q(status__in=COUNTED_STATUSES, assigned_at__lt=next_day) & deadline_then_before_q(day) & ~closed_at_end_of_q(day)


def _undone_closures_per_month(items, window_start, window_end) -> dict[Date, int]:
    """Closures a failed return visit undid, per month, for items not closed again in that same
    month (those the current closed_at already counts): each item once per month, as the
    `was_closed` drill-down lists it. Failed visits are few; two small queries."""
    visits = (
        ReturnVisit.objects.filter(
            result=ReturnVisitResult.FAILED,
            reopened_closure_at__gte=window_start,
            reopened_closure_at__lt=window_end,
            item__in=items.values("pk"),
        )
        .annotate(month=TruncMonth(LocalDate("reopened_closure_at"), output_field=DateField()))
        .values_list("item_id", "month")
        .distinct()
    )
    pairs = {(item_id, as_local_date(month)) for item_id, month in visits}
    if not pairs:
        return {}
    current = {
        pk: as_local_date(month)
        for pk, month in Item.objects.filter(pk__in={pk for pk, _m in pairs}, closed_at__isnull=False)
        .annotate(month=TruncMonth(LocalDate("closed_at"), output_field=DateField()))
        .values_list("pk", "month")
    }
    extra: dict[Date, int] = {}
    for pk, month in pairs:
        if current.get(pk) != month:
            extra[month] = extra.get(month, 0) + 1
    return extra


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
    for month, extra in _undone_closures_per_month(items, window_start, window_end).items():
        closed[month] = closed.get(month, 0) + extra
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
        # Extensions only move a deadline later; only a rectification deadline (after a failed return
        # visit, reopen_count > 0) can be earlier than the original one.
        candidates |= (
            Q(status__in=COUNTED_STATUSES, assigned_at__lt=last_next)
            & (Q(original_deadline__lt=past[-1]) | Q(reopen_count__gt=0))
            & (Q(closed_at__isnull=True) | Q(closed_at__gte=first_next))
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
                "closed": scope.figure(closed.get(month, 0), was_closed=month_range),
                "overdue_at_month_end": overdue_figure,
            }
        )
    return results
