"""Conditions on items that both the lists' filters and the figures use, defined once so a
figure and its drill-down list agree: the local date of a timestamp, closed on time, supporting
unit."""

from __future__ import annotations

import datetime
import functools
import zoneinfo

from django.db.models import DateField, Exists, F, Func, OuterRef, Q
from django.db.models.functions import TruncDate
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from supervision.choices import DONE_STATUSES, AssignmentRole
from supervision.models import ItemAssignment


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
