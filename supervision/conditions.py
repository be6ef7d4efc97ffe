"""Conditions on items that both the lists' filters and the figures use, defined once so a
figure and its drill-down list agree: the local date of a timestamp, closed on time, supporting
unit, relapsed (反弹), closed at some time in a range (also a closure later undone by a failed
return visit), overdue by the original deadline, stale (停滞)."""

from __future__ import annotations

import datetime
import functools
import zoneinfo

from django.db.models import DateField, Exists, F, Func, OuterRef, Q
from django.db.models.functions import TruncDate
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from supervision.choices import (
    DONE_STATUSES,
    OPEN_STATUSES,
    REPORTING_STATUSES,
    AssignmentRole,
    ReportingCycle,
    ReturnVisitResult,
)
from supervision.models import FigureRules, ItemAssignment, ReturnVisit


def supporting_unit_q(unit_id: int) -> Q:
    return Q(Exists(ItemAssignment.objects.filter(item=OuterRef("pk"), unit_id=unit_id, role=AssignmentRole.SUPPORTING)))


@functools.lru_cache(maxsize=8)
def _fixed_offset_since(tzname: str) -> tuple[datetime.datetime, datetime.timedelta] | None:
    """(since, offset) if the zone's UTC offset is `offset` at every instant from `since` to 2100
    (Asia/Shanghai: +08:00 since the last daylight-saving change in 1991); None if it keeps changing."""
    zone = zoneinfo.ZoneInfo(tzname)
    utc = datetime.UTC

    def offset_at(moment: datetime.datetime) -> datetime.timedelta:
        return moment.astimezone(zone).utcoffset()

    end = datetime.datetime(2100, 1, 1, tzinfo=utc)
    offset = offset_at(end)
    # Backwards in steps of a month (shorter than any daylight-saving season) while the offset holds…
    good, step = end, datetime.timedelta(days=28)
    while good.year > 1900 and offset_at(good - step) == offset:
        good -= step
    if good > datetime.datetime(2000, 1, 1, tzinfo=utc):
        return None  # daylight saving or a recent change: no fixed offset worth using
    # …then to the second: the offset differs at `bad` and holds from `good` on.
    bad = good - step
    while good - bad > datetime.timedelta(seconds=1):
        middle = bad + (good - bad) / 2
        if offset_at(middle) == offset:
            good = middle
        else:
            bad = middle
    return good, offset


class LocalDate(Func):
    """The local date of a datetime column, like TruncDate in the current time zone. On PostgreSQL,
    where the zone has kept one UTC offset since some date, rows after it are converted with that
    fixed offset (`AT TIME ZONE INTERVAL`), a few times cheaper per row than the named zone's rules,
    which only older rows still go through; the date is the same either way."""

    output_field = DateField()

    def __init__(self, field: str):
        super().__init__(F(field))

    def as_sql(self, compiler, connection, **extra_context):
        return compiler.compile(TruncDate(self.source_expressions[0]))

    def as_postgresql(self, compiler, connection, **extra_context):
        tzname = timezone.get_current_timezone_name()
        fixed = _fixed_offset_since(tzname)
        named_sql, named_params = compiler.compile(TruncDate(self.source_expressions[0]))
        if fixed is None:
            return named_sql, named_params
        since, offset = fixed
        column_sql, column_params = compiler.compile(self.source_expressions[0])
        total = int(offset.total_seconds())
        interval = f"{'-' if total < 0 else '+'}{abs(total) // 3600:02d}:{abs(total) % 3600 // 60:02d}"
        return (
            f"(CASE WHEN {column_sql} >= %s THEN ({column_sql} AT TIME ZONE INTERVAL %s)::date ELSE {named_sql} END)",
            (*column_params, since, *column_params, interval, *named_params),
        )


def closed_on_time_q(basis: str, *, statuses: bool = True) -> Q:
    """Closed (CLOSED/VERIFIED) on a local date no later than the original or the current deadline.
    `statuses=False` leaves out the status test, for counts grouped by status that add up the
    CLOSED and VERIFIED groups themselves."""
    deadline = {"original": "original_deadline", "extended": "deadline"}[basis]
    on_time = Q(LessThanOrEqual(LocalDate("closed_at"), F(deadline)))
    return Q(status__in=DONE_STATUSES) & on_time if statuses else on_time


def local_day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _datetime_range(field: str, start: datetime.date | None, end: datetime.date | None) -> Q:
    """A datetime field read as a local date, within [start, end] (either end open when None)."""
    q = Q(**{f"{field}__isnull": False})
    if start is not None:
        q &= Q(**{f"{field}__gte": local_day_start(start)})
    if end is not None:
        q &= Q(**{f"{field}__lt": local_day_start(end + datetime.timedelta(days=1))})
    return q


def failed_visits(start: datetime.date | None, end: datetime.date | None):
    """The failed return visits dated within [start, end]: each makes its item relapsed (反弹)."""
    visits = ReturnVisit.objects.filter(result=ReturnVisitResult.FAILED)
    if start is not None:
        visits = visits.filter(visited_on__gte=start)
    if end is not None:
        visits = visits.filter(visited_on__lte=end)
    return visits


def undone_closures(start: datetime.date | None, end: datetime.date | None):
    """The failed return visits that undid a closure made on a local date within [start, end]."""
    return ReturnVisit.objects.filter(result=ReturnVisitResult.FAILED).filter(_datetime_range("reopened_closure_at", start, end))


def relapsed_q(start: datetime.date | None, end: datetime.date | None) -> Q:
    """反弹: a return visit on a date within [start, end] failed (the item was found not fixed).
    Per row (EXISTS), for the lists; the figures count `failed_visits` as a set (stats/figures.py)."""
    return Q(Exists(failed_visits(start, end).filter(item=OuterRef("pk"))))


def was_closed_q(start: datetime.date | None, end: datetime.date | None) -> Q:
    """Closed at least once on a local date within [start, end]: its current closure, or one a
    failed return visit undid later (reopening does not erase the closure from history)."""
    return _datetime_range("closed_at", start, end) | Q(Exists(undone_closures(start, end).filter(item=OuterRef("pk"))))


def overdue_original_q(today: datetime.date) -> Q:
    """Open and past the original deadline (the day it was first due), whatever extensions came later."""
    return Q(status__in=OPEN_STATUSES, original_deadline__lt=today)


# The days a reporting cycle gives a unit before its next report is owed.
CYCLE_DAYS = {
    ReportingCycle.WEEKLY: 7,
    ReportingCycle.BIWEEKLY: 14,
    ReportingCycle.MONTHLY: 31,
    ReportingCycle.QUARTERLY: 92,
}


def stale_q(now: datetime.datetime, rules: FigureRules | None = None) -> Q:
    """停滞: signed for or in progress (not awaiting the office's review), and either silent — no
    report from any unit (none since assignment) for its reporting cycle plus the grace days; 不定期
    items by the office's default cycle — or the lead unit's last N reports all gave the same percent.
    N, the grace and the default cycle are the office's (FigureRules, in the admin)."""
    rules = rules or FigureRules.current()
    silent = Q()
    for cycle in ReportingCycle:
        days = CYCLE_DAYS.get(cycle, rules.stale_default_cycle_days) + rules.stale_grace_days
        cutoff = now - datetime.timedelta(days=days)
        silent |= Q(reporting_cycle=cycle) & (
            Q(last_report_at__lt=cutoff) | Q(last_report_at__isnull=True, assigned_at__lt=cutoff)
        )
    return Q(status__in=REPORTING_STATUSES) & (silent | Q(progress_streak__gte=rules.stale_unchanged_reports))
