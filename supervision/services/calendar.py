"""Writes to the working-day calendar (工作日历): a year's announcement, a re-seed from the
chinese-calendar package, and single-day edits from the admin.

Every change is recorded in the audit chain (a changed calendar moves deadlines, and with them
who is overdue and who is held to account). `AuditEvent.object_id` is an integer, so a calendar
day is recorded under its date written as YYYYMMDD (e.g. 20270101). Afterwards the open items'
yellow-light dates are recomputed (in the workers)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import User
from supervision import outbox
from supervision.audit import audit_record
from supervision.choices import (
    CalendarDayKind,
    CalendarDaySource,
)
from supervision.errors import InvalidInput
from supervision.models import (
    WEEKDAY_NAMES,
    CalendarDay,
)
from supervision.services.rules import warning_dates_refresh_later
from supervision.workcalendar import calendar_holds_year

Date = datetime.date
MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass
class CalendarYearResult:
    """What `calendar_year_set` did, for the command's summary."""

    year: int
    source: str
    holidays: int = 0
    workdays: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    warnings: list[str] = field(default_factory=list)


class _AuditedDay:
    """`audit_record` needs `_meta` and an integer `pk`; a calendar day is keyed by YYYYMMDD."""

    _meta = CalendarDay._meta

    def __init__(self, day: Date):
        self.pk = int(day.strftime("%Y%m%d"))


def _snapshot(row: CalendarDay | None) -> dict | None:
    if row is None:
        return None
    return {"is_workday": row.is_workday, "kind": str(row.kind), "name": row.name, "source": str(row.source)}


def _audit_day(*, actor, day: Date, before: dict | None, after: dict | None) -> None:
    action = "calendar_day_delete" if after is None else "calendar_day_set"
    audit_record(actor=actor, action=action, obj=_AuditedDay(day), data={"date": day, "before": before, "after": after})


def _weekday(day: Date) -> str:
    return WEEKDAY_NAMES[day.weekday()]


@transaction.atomic
def calendar_year_set(
    *,
    actor,
    year: int,
    holidays: Mapping[Date, str],
    workdays: Mapping[Date, str],
    source: str = CalendarDaySource.ANNOUNCEMENT,
    replace: bool = False,
) -> CalendarYearResult:
    """Write a year's holidays (法定节假日, each date → name) and make-up working days (调休上班日).

    Idempotent: a date already stored is updated in place, never duplicated, and a run that
    changes nothing writes nothing. With `replace`, the year's other rows are removed too, except
    those entered by hand in the admin (source "manual"). A make-up working day on a weekday is
    allowed but warned about: it changes nothing in the arithmetic.
    """
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(
            _("年份 %(year)s 超出范围（%(min)s–%(max)s）。") % {"year": year, "min": MIN_YEAR, "max": MAX_YEAR},
            fields={"year": [_("年份超出范围")]},
        )
    if not holidays and not workdays:
        raise InvalidInput(_("没有提供任何法定节假日或调休上班日。"), fields={"holidays": [_("不能为空")]})
    errors: dict[str, list[str]] = {}
    for label, entries in (("holidays", holidays), ("workdays", workdays)):
        for day, name in entries.items():
            if day.year != year:
                errors.setdefault(label, []).append(_("%(day)s 不在 %(year)s 年内") % {"day": day.isoformat(), "year": year})
            if not (name or "").strip():
                errors.setdefault(label, []).append(_("%(day)s 缺少名称") % {"day": day.isoformat()})
    for day in sorted(set(holidays) & set(workdays)):
        errors.setdefault("workdays", []).append(_("%(day)s 不能既是法定节假日又是调休上班日") % {"day": day.isoformat()})
    if errors:
        details = "；".join("；".join(messages) for messages in errors.values())
        raise InvalidInput(_("%(year)s 年日历有误：%(details)s。") % {"year": year, "details": details}, fields=errors)

    result = CalendarYearResult(year=year, source=source, holidays=len(holidays), workdays=len(workdays))
    for day in sorted(workdays):
        if day.weekday() < 5:
            result.warnings.append(
                _("%(day)s（%(weekday)s）本来就是工作日，登记为调休上班日不影响计算。")
                % {"day": day.isoformat(), "weekday": _weekday(day)}
            )

    wanted = {day: (False, CalendarDayKind.HOLIDAY, name.strip()) for day, name in holidays.items()}
    wanted |= {day: (True, CalendarDayKind.MAKEUP_WORKDAY, name.strip()) for day, name in workdays.items()}
    existing = {
        row.date: row
        for row in CalendarDay.objects.select_for_update().filter(date__range=(Date(year, 1, 1), Date(year, 12, 31)))
    }
    to_write: list[CalendarDay] = []
    for day, (is_workday, kind, name) in sorted(wanted.items()):
        row = CalendarDay(date=day, is_workday=is_workday, kind=kind, name=name, source=source)
        before = existing.get(day)
        if _snapshot(before) == _snapshot(row):
            result.unchanged += 1
            continue
        if before is None:
            result.created += 1
        else:
            result.updated += 1
        to_write.append(row)
        _audit_day(actor=actor, day=day, before=_snapshot(before), after=_snapshot(row))
    if to_write:
        CalendarDay.objects.bulk_create(
            to_write,
            update_conflicts=True,
            unique_fields=["date"],
            update_fields=["is_workday", "kind", "name", "source", "updated_at"],
        )
    if replace:
        stale = [row for day, row in existing.items() if day not in wanted and row.source != CalendarDaySource.MANUAL]
        for row in stale:
            _audit_day(actor=actor, day=row.date, before=_snapshot(row), after=None)
        CalendarDay.objects.filter(date__in=[row.date for row in stale]).delete()
        result.removed = len(stale)
    _calendar_changed()
    return result


def chinese_calendar_year(year: int) -> tuple[dict[Date, str], dict[Date, str]]:
    """The package's holidays and make-up working days for one year, with Chinese names.

    Raises InvalidInput when the package has no data for the year (it covers 2004 to the last
    year the State Council had announced when the installed version was released)."""
    import chinese_calendar
    from chinese_calendar import Holiday

    # The package's dicts map a date to Holiday.<x>.value (the English name), not to the enum.
    holidays = {day: Holiday(value).chinese for day, value in chinese_calendar.holidays.items() if day.year == year}
    workdays = {day: f"{Holiday(value).chinese}调休" for day, value in chinese_calendar.workdays.items() if day.year == year}
    if not holidays and not workdays:
        years = sorted({day.year for day in chinese_calendar.holidays})
        raise InvalidInput(
            _(
                "chinese-calendar 软件包（%(version)s 版）没有 %(year)s 年的数据（仅有 %(first)s–%(last)s 年）。"
                "请按国务院办公厅的放假安排通知，用 --holiday / --workday 或 --file 录入。"
            )
            % {"version": chinese_calendar.__version__, "year": year, "first": years[0], "last": years[-1]},
            code="no_package_data",
            fields={"year": [_("软件包无此年份数据")]},
        )
    return holidays, workdays


def calendar_year_seed_from_package(*, actor, year: int) -> CalendarYearResult:
    """(Re)seed one year from the chinese-calendar package: the package's days are written and
    the year's other non-manual rows removed, so a corrected package release is taken over whole."""
    holidays, workdays = chinese_calendar_year(year)
    return calendar_year_set(
        actor=actor, year=year, holidays=holidays, workdays=workdays, source=CalendarDaySource.CHINESE_CALENDAR, replace=True
    )


@transaction.atomic
def calendar_day_save(*, actor, day: CalendarDay) -> CalendarDay:
    """Add or correct one day by hand (the admin); the row's source becomes "manual"."""
    before = CalendarDay.objects.select_for_update().filter(date=day.date).first()
    day.source = CalendarDaySource.MANUAL
    day.full_clean(validate_unique=False)
    day.save()
    _audit_day(actor=actor, day=day.date, before=_snapshot(before), after=_snapshot(day))
    _calendar_changed()
    return day


@transaction.atomic
def calendar_day_delete(*, actor, day: CalendarDay) -> None:
    """Remove one exception: the date falls back to the ordinary week (Mon–Fri work, weekends rest)."""
    row = CalendarDay.objects.select_for_update().filter(date=day.date).first()
    if row is None:
        return
    _audit_day(actor=actor, day=row.date, before=_snapshot(row), after=None)
    row.delete()
    _calendar_changed()


def _calendar_changed() -> None:
    """Open items' yellow-light dates are counted in working days: recompute them after commit."""
    warning_dates_refresh_later()


# From 1 November the office must enter next year's announcement (the State Council publishes it
# in the autumn); until it does, working-day deadlines into next year are refused.
NEXT_YEAR_REMINDER_FROM_MONTH = 11


def calendar_next_year_remind(*, today: Date | None = None) -> list:
    """Tell office staff and administrators, in their inbox, that next year's calendar is missing:
    from 1 November until it is entered, once a day each. The day is in the de-duplication key, so
    the (recipient, dedup_key) unique constraint makes a second run the same day write nothing."""
    today = today or timezone.localdate()
    year = today.year + 1
    if today.month < NEXT_YEAR_REMINDER_FROM_MONTH or calendar_holds_year(year):
        return []
    recipients = (
        User.objects.filter(is_active=True, role_assignments__role__in=[Role.OFFICE_STAFF, Role.ADMINISTRATOR])
        .distinct()
        .order_by("pk")
    )
    return outbox.notify(
        recipients=recipients,
        title=_("请录入 %(year)s 年工作日历") % {"year": year},
        body=_(
            "系统尚未录入 %(year)s 年的法定节假日和调休上班日。录入前，按工作日计算、进入 %(year)s 年的办理时限"
            "将被拒绝。请按国务院办公厅关于 %(year)s 年部分节假日安排的通知，在后台“工作日历”录入或运行 "
            "manage.py calendar_add_year %(year)s。"
        )
        % {"year": year},
        kind="calendar",
        dedup_key=f"calendar-missing:{year}:{today.isoformat()}",
    )
