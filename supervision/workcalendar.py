"""Working-day arithmetic (工作日计算) for deadlines counted in working days (DOMAIN.md rule 5).

The rule: a date is a working day if a `CalendarDay` row says so (a make-up working day, 调休上班日)
and a rest day if a row says so (a public holiday, 法定节假日); a date without a row is a working day
Monday to Friday and a rest day on Saturday and Sunday. Years without data (2027 and later until
the announcement is entered) therefore count weekends only.

Each call reads the exceptions for the date range it needs in one query (rarely a second one, when
a long run of holidays outgrows the first window); there is no cache, so an edit in the admin or by
`calendar_add_year` counts at once, in every process. A bulk job that does date arithmetic for
thousands of rows (the Excel import) wraps itself in `calendar_preloaded()`: the whole table is read
once for the block and no query is made per row.

Conventions, so that `add_workdays(a, workdays_between(a, b)) == b` for a working day `b` after `a`:
- `add_workdays(start, n)`: the n-th working day after `start`; `start` itself does not count.
- `workdays_between(a, b)`: the number of working days in (a, b]; `-workdays_between(b, a)` if b < a.
- `workdays_in_range(a, b)`: the working days in [a, b], both ends included.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from supervision.choices import CalendarDayKind
from supervision.errors import InvalidInput
from supervision.models import CalendarDay

Date = datetime.date
ONE_DAY = datetime.timedelta(days=1)
# Dates the ledger accepts anywhere (deadlines, issue dates, periods): wide enough for any real
# ledger, and far enough from Python's date limits that working-day arithmetic cannot overflow.
EARLIEST_DATE = Date(1900, 1, 1)
LATEST_DATE = Date(2999, 12, 31)

__all__ = [
    "add_workdays",
    "calendar_holds_year",
    "require_calendar_years",
    "rest_day_warning",
    "within_supported_years",
    "calendar_preloaded",
    "is_workday",
    "next_workday",
    "previous_workday",
    "workdays_between",
    "workdays_in_range",
]


def _as_date(value: Date) -> Date:
    """Accept a datetime too: an aware one is read in local time (Asia/Shanghai)."""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


_preloaded = threading.local()


@contextmanager
def calendar_preloaded() -> Iterator[None]:
    """Within the block (in this thread), read every stored exception once instead of per call.
    The table is small (a few hundred rows a year); edits made meanwhile are not seen."""
    previous = getattr(_preloaded, "table", None)
    _preloaded.table = dict(CalendarDay.objects.values_list("date", "is_workday"))
    try:
        yield
    finally:
        _preloaded.table = previous


def _exceptions(first: Date, last: Date) -> dict[Date, bool]:
    """The stored exceptions in [first, last]: date → is_workday (a superset inside
    `calendar_preloaded`, which lookups by date do not mind)."""
    table = getattr(_preloaded, "table", None)
    if table is not None:
        return table
    return dict(CalendarDay.objects.filter(date__range=(first, last)).values_list("date", "is_workday"))


def _is_workday(day: Date, exceptions: dict[Date, bool]) -> bool:
    stored = exceptions.get(day)
    return day.weekday() < 5 if stored is None else stored


def _days(first: Date, last: Date) -> Iterator[Date]:
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


def _window(n: int) -> datetime.timedelta:
    # n working days fit in about 7/5 · n calendar days; the slack covers a Spring Festival week.
    return datetime.timedelta(days=n * 7 // 5 + 21)


def is_workday(day: Date) -> bool:
    """Is this date a working day (工作日)?"""
    day = _as_date(day)
    return _is_workday(day, _exceptions(day, day))


def add_workdays(start: Date, n: int) -> Date:
    """The n-th working day after `start` (n > 0) or before it (n < 0); `start` does not count.
    n == 0 gives `start` if it is a working day, else the next working day."""
    start = _as_date(start)
    if n == 0:
        return start if is_workday(start) else add_workdays(start, 1)
    step = ONE_DAY if n > 0 else -ONE_DAY
    remaining = abs(n)
    day = start
    while True:
        # Load the exceptions for a window long enough for the remaining days (one query, normally).
        window_end = day + (_window(remaining) if n > 0 else -_window(remaining))
        exceptions = _exceptions(min(day, window_end), max(day, window_end))
        while day != window_end:
            day += step
            if _is_workday(day, exceptions):
                remaining -= 1
                if remaining == 0:
                    return day


def next_workday(day: Date) -> Date:
    """The first working day after `day` (not `day` itself)."""
    return add_workdays(day, 1)


def previous_workday(day: Date) -> Date:
    """The last working day before `day` (not `day` itself)."""
    return add_workdays(day, -1)


def workdays_in_range(first: Date, last: Date) -> list[Date]:
    """The working days from `first` to `last`, both included; empty if `last` is before `first`."""
    first, last = _as_date(first), _as_date(last)
    if last < first:
        return []
    exceptions = _exceptions(first, last)
    return [day for day in _days(first, last) if _is_workday(day, exceptions)]


def workdays_between(a: Date, b: Date) -> int:
    """The number of working days in (a, b]; negative (−count in (b, a]) if b is before a."""
    a, b = _as_date(a), _as_date(b)
    if b < a:
        return -workdays_between(b, a)
    return len(workdays_in_range(a + ONE_DAY, b))


def within_supported_years(day: Date | None) -> None:
    """A validator for dates the ledger's calendar arithmetic can take (EARLIEST_DATE … LATEST_DATE):
    at the ends of Python's calendar (year 1, year 9999) working days up to a deadline overflow."""
    if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(_("日期须在 1900 年至 2999 年之间。"))


# --- Calendar honesty (issue 12): a year without the State Council's announcement is never guessed ---


def calendar_holds_year(year: int) -> bool:
    """Has the year's holiday arrangement been entered? Every year has public holidays (元旦 at
    least), so a year without a single holiday row is one nobody has entered yet."""
    table = getattr(_preloaded, "table", None)
    if table is not None:
        return any(day.year == year and not is_work for day, is_work in table.items())
    return CalendarDay.objects.filter(date__year=year, kind=CalendarDayKind.HOLIDAY).exists()


def require_calendar_years(first: Date, last: Date, *, field: str) -> None:
    """400 naming the year to enter when a working-day count from `first` reaches `last` in a year
    the calendar does not hold: counting weekends only there would be a guess."""
    first, last = _as_date(first), _as_date(last)
    for year in range(first.year, last.year + 1):
        if not calendar_holds_year(year):
            raise InvalidInput(
                _("尚未录入 %(year)s 年工作日历。") % {"year": year},
                code="calendar_year_missing",
                fields={
                    field: [
                        _(
                            "按工作日计算的办理时限将进入 %(year)s 年，但系统尚未录入 %(year)s 年的节假日和调休安排。"
                            "请管理员按国务院办公厅通知录入 %(year)s 年工作日历（后台“工作日历”或 "
                            "manage.py calendar_add_year %(year)s）后再办理，或改按日期填写办理时限。"
                        )
                        % {"year": year}
                    ]
                },
            )


def rest_day_warning(day: Date | None) -> str | None:
    """ "2026-12-12 为休息日" when a date deadline falls on a rest day: accepted, but said."""
    if day is None or not LATEST_DATE >= day >= EARLIEST_DATE or is_workday(day):
        return None
    return _("%(date)s 为休息日") % {"date": day.isoformat()}
