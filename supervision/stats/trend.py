"""The monthly trend: items created and closed per month, and overdue at each month end."""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Sequence

from django.db.models import Count, DateField, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from supervision.choices import COUNTED_STATUSES, Light, ReturnVisitResult
from supervision.conditions import LocalDate
from supervision.errors import InvalidInput
from supervision.lights import light_q
from supervision.models import Item, ReturnVisit
from supervision.stats import columns
from supervision.stats.scope import MAX_TREND_MONTHS, Date, Period, Scope, as_local_date, local_start


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


def _overdue_then_q(day: Date) -> Q:
    """For a row of an item joined to one of its deadline spans: that span was in force at the end
    of `day` with a deadline before it, and the item had been assigned and was not in a closed state
    by its current closure then (a closure undone only later is taken apart: `_undone_later`)."""
    next_day = local_start(day + datetime.timedelta(days=1))
    return (
        Q(assigned_at__lt=next_day, deadline_spans__valid_from__lt=next_day, deadline_spans__deadline__lt=day)
        & (Q(closed_at__isnull=True) | Q(closed_at__gte=next_day))
        & (Q(deadline_spans__valid_until__isnull=True) | Q(deadline_spans__valid_until__gte=next_day))
    )


def _undone_later(day: Date):
    """Failed return visits that undid, after the end of `day`, a closure made before it: at the end
    of `day` the item was closed (the return visit keeps that closure)."""
    next_day = local_start(day + datetime.timedelta(days=1))
    return ReturnVisit.objects.filter(result=ReturnVisitResult.FAILED, reopened_closure_at__lt=next_day, created_at__gte=next_day)


def _overdue_at_month_ends(scope: Scope, months: Sequence[Date]) -> dict[str, int]:
    """Overdue at each past month end (the deadline then in force, see DEFINITIONS["trend"]) and now
    for the current month (the light rule), keyed m<index in `months`>. Set-based rather than a
    subquery per item and month end (each item's deadline spans follow one another, so at most one
    is in force at any instant and a join counts an item once per month end):

    1. the scope's items that can count at some past month end (not draft or cancelled, assigned by
       the last one, not closed before the first one) joined to their deadline spans that could be
       in force at one of them with an earlier deadline; each month end counts the rows whose span
       was in force then with a deadline before it. Plain counts, so PostgreSQL aggregates in
       parallel workers;
    2. the same over the few items a failed return visit reopened after a month end, of a closure
       made before it: closed at that month end, so subtracted (a per-row EXISTS on those few only);
    3. overdue now (the summary's `overdue`), for the current month."""
    this_month = scope.today.replace(day=1)
    past = {f"m{i}": month_last_day(month) for i, month in enumerate(months) if month < this_month}
    current = [f"m{i}" for i, month in enumerate(months) if month == this_month]
    counts: dict[str, int] = {}
    if scope.columns is not None:
        counts = dict(zip(past, columns.overdue_at_month_ends(scope.columns, list(past.values())), strict=True))
        counts.update(dict.fromkeys(current, columns.overdue_now(scope.columns, scope.now)))
        return counts
    if past:
        first_day, last_day = min(past.values()), max(past.values())
        first_next = local_start(first_day + datetime.timedelta(days=1))
        last_next = local_start(last_day + datetime.timedelta(days=1))
        spans = scope.items.filter(
            Q(status__in=COUNTED_STATUSES, assigned_at__lt=last_next)
            & (Q(closed_at__isnull=True) | Q(closed_at__gte=first_next))
            & Q(deadline_spans__valid_from__lt=last_next, deadline_spans__deadline__lt=last_day)
            & (Q(deadline_spans__valid_until__isnull=True) | Q(deadline_spans__valid_until__gte=first_next))
        )
        # The aggregates' conditions on deadline_spans reuse the filter's join (one row per span).
        counts = spans.aggregate(**{key: Count("pk", filter=_overdue_then_q(day)) for key, day in past.items()})
        undone = ReturnVisit.objects.filter(
            result=ReturnVisitResult.FAILED, reopened_closure_at__lt=last_next, created_at__gte=first_next
        ).values("item_id")
        closed_then = spans.filter(pk__in=undone).aggregate(
            **{
                key: Count("pk", filter=_overdue_then_q(day) & Q(Exists(_undone_later(day).filter(item=OuterRef("pk")))))
                for key, day in past.items()
            }
        )
        counts = {key: counts[key] - closed_then[key] for key in counts}
    if current:
        overdue_now = scope.items.filter(light_q(Light.OVERDUE, scope.now)).count()
        counts.update(dict.fromkeys(current, overdue_now))
    return counts


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
    """Seven queries: created per month, closed per month (GROUP BY TruncMonth), the closures a failed
    return visit undid (two small ones), and overdue at the month ends (three, `_overdue_at_month_ends`)."""
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

    if scope.columns is not None:
        created, closed = (columns.per_month(scope.columns, column, first, last) for column in ("created_day", "closed_day"))
        undone = columns.undone_closures_per_month(scope.columns, first, last)
    else:
        created, closed = per_month("created_at"), per_month("closed_at")
        undone = _undone_closures_per_month(items, window_start, window_end)
    for month, extra in undone.items():
        closed[month] = closed.get(month, 0) + extra
    this_month = today.replace(day=1)
    overdue = _overdue_at_month_ends(scope, months)

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
