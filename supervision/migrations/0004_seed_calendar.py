"""Seed the working-day calendar for 2004–2026 from the chinese-calendar package (pip:
chinesecalendar), the years it has data for.

What is stored: every day the package lists as a holiday (weekend days inside a holiday block
included, so the whole block carries its name; they change nothing in the arithmetic) and every
make-up working day (调休上班日, always a Saturday or Sunday). Ordinary weekdays and weekends are
implied and not stored.

Idempotent: rows that already exist (e.g. corrected by hand in the admin) are left alone
(`ignore_conflicts`). Self-contained on purpose: a migration must not change when the app's code
does. Reverse removes only rows whose source is still the package.
"""

import datetime

from django.db import migrations

FIRST_YEAR, LAST_YEAR = 2004, 2026
SOURCE = "chinese_calendar"


def calendar_rows(years):
    """(date, is_workday, kind, name) for the given years, from the package."""
    import chinese_calendar
    from chinese_calendar import Holiday

    # The package's dicts map a date to Holiday.<x>.value (the English name), not to the enum.
    def chinese(value):
        return Holiday(value).chinese

    rows = []
    for day, value in chinese_calendar.holidays.items():
        if day.year in years:
            rows.append((day, False, "holiday", chinese(value)))
    for day, value in chinese_calendar.workdays.items():
        if day.year in years:
            rows.append((day, True, "makeup_workday", f"{chinese(value)}调休"))
    return sorted(rows)


def forwards(apps, schema_editor):
    CalendarDay = apps.get_model("supervision", "CalendarDay")
    years = range(FIRST_YEAR, LAST_YEAR + 1)
    CalendarDay.objects.bulk_create(
        [
            CalendarDay(date=day, is_workday=is_workday, kind=kind, name=name, source=SOURCE)
            for day, is_workday, kind, name in calendar_rows(years)
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )


def backwards(apps, schema_editor):
    CalendarDay = apps.get_model("supervision", "CalendarDay")
    CalendarDay.objects.filter(
        source=SOURCE, date__range=(datetime.date(FIRST_YEAR, 1, 1), datetime.date(LAST_YEAR, 12, 31))
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("supervision", "0003_calendarday")]
    operations = [migrations.RunPython(forwards, backwards)]
