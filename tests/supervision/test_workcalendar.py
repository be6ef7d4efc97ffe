"""The working-day calendar (工作日历): the seed from chinese-calendar, working-day arithmetic across
holidays, make-up working days (调休) and New Year, years without data (2027), the
`calendar_add_year` command and the admin."""

from __future__ import annotations

import datetime
import importlib
import json
from io import StringIO

import chinese_calendar
import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command

from supervision.audit import audit_verify
from supervision.choices import CalendarDayKind, CalendarDaySource
from supervision.models import AuditEvent, CalendarDay
from supervision.workcalendar import (
    add_workdays,
    is_workday,
    next_workday,
    previous_workday,
    workdays_between,
    workdays_in_range,
)

D = datetime.date
seed_migration = importlib.import_module("supervision.migrations.0004_seed_calendar")


def package_days(year: int) -> set[D]:
    return {d for d in (*chinese_calendar.holidays, *chinese_calendar.workdays) if d.year == year}


def add_year(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("calendar_add_year", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def seeded(db):
    """The seed as the migration wrote it. Re-applied because tests on a transactional database
    elsewhere in the suite flush every table; the seed is idempotent, so this is a no-op otherwise."""
    seed_migration.forwards(django_apps, None)


# ---------------------------------------------------------------- the seed


def test_seed_writes_the_packages_days_for_2024(seeded):
    rows = CalendarDay.objects.filter(date__year=2024)
    assert rows.count() == len(package_days(2024)) == 36
    assert set(rows.values_list("date", flat=True)) == package_days(2024)
    assert set(rows.values_list("source", flat=True)) == {CalendarDaySource.CHINESE_CALENDAR}
    spring = CalendarDay.objects.get(date=D(2024, 2, 12))
    assert (spring.is_workday, spring.kind, spring.name) == (False, CalendarDayKind.HOLIDAY, "春节")
    makeup = CalendarDay.objects.get(date=D(2024, 2, 4))
    assert (makeup.is_workday, makeup.kind, makeup.name) == (True, CalendarDayKind.MAKEUP_WORKDAY, "春节调休")


def test_seed_covers_2004_to_2026_and_is_idempotent_without_touching_hand_edits(seeded):
    total = len(chinese_calendar.holidays) + len(chinese_calendar.workdays)
    assert CalendarDay.objects.count() == total == 771
    assert CalendarDay.objects.dates("date", "year")[0].year == 2004
    assert CalendarDay.objects.dates("date", "year", order="DESC")[0].year == 2026
    CalendarDay.objects.filter(date=D(2025, 1, 1)).update(name="元旦（已手工更正）", source=CalendarDaySource.MANUAL)
    seed_migration.forwards(django_apps, None)
    assert CalendarDay.objects.count() == total
    assert CalendarDay.objects.get(date=D(2025, 1, 1)).name == "元旦（已手工更正）"


def test_seed_removes_nothing_but_its_own_rows_on_reverse(seeded):
    CalendarDay.objects.create(
        date=D(2027, 1, 1), is_workday=False, kind=CalendarDayKind.HOLIDAY, name="元旦", source="announcement"
    )
    seed_migration.backwards(django_apps, None)
    assert list(CalendarDay.objects.values_list("date", flat=True)) == [D(2027, 1, 1)]


def test_calendar_agrees_with_the_package_on_every_day_it_knows(seeded):
    first, last = D(2004, 1, 1), D(2026, 12, 31)
    ours = set(workdays_in_range(first, last))
    theirs = {
        d for d in (first + datetime.timedelta(days=i) for i in range((last - first).days + 1)) if chinese_calendar.is_workday(d)
    }
    assert ours == theirs


# ---------------------------------------------------------------- holidays and 调休


@pytest.mark.parametrize("day", [D(2026, 10, 1) + datetime.timedelta(days=i) for i in range(7)])
def test_national_day_2026_is_a_rest_week(seeded, day):
    assert is_workday(day) is False


def test_around_national_day_2026(seeded):
    assert is_workday(D(2026, 9, 30)) is True  # Wednesday before
    assert is_workday(D(2026, 10, 8)) is True  # Thursday after
    assert is_workday(D(2026, 10, 10)) is True  # Saturday, 国庆调休
    assert is_workday(D(2026, 9, 20)) is True  # Sunday, 国庆调休
    assert is_workday(D(2026, 10, 11)) is False  # an ordinary Sunday


def test_spring_festival_2025_and_its_makeup_days(seeded):
    assert all(not is_workday(D(2025, 1, 28) + datetime.timedelta(days=i)) for i in range(8))  # 01-28 … 02-04
    assert D(2025, 1, 26).weekday() == 6 and is_workday(D(2025, 1, 26)) is True  # Sunday worked
    assert D(2025, 2, 8).weekday() == 5 and is_workday(D(2025, 2, 8)) is True  # Saturday worked
    assert chinese_calendar.workdays[D(2025, 1, 26)] == chinese_calendar.workdays[D(2025, 2, 8)] == "Spring Festival"


def test_add_workdays_across_spring_festival_2025(seeded):
    assert add_workdays(D(2025, 1, 24), 1) == D(2025, 1, 26)  # Friday → the make-up Sunday
    assert add_workdays(D(2025, 1, 27), 1) == D(2025, 2, 5)  # the day before the holiday → the first day back
    assert add_workdays(D(2025, 1, 27), 4) == D(2025, 2, 8)  # … and the make-up Saturday counts
    assert add_workdays(D(2025, 2, 5), -1) == D(2025, 1, 27)
    assert add_workdays(D(2025, 2, 1), 0) == D(2025, 2, 5)  # n=0 on a rest day: the next working day
    assert add_workdays(D(2025, 2, 8), 0) == D(2025, 2, 8)  # n=0 on a working day: that day
    assert next_workday(D(2025, 1, 27)) == D(2025, 2, 5)
    assert previous_workday(D(2025, 2, 5)) == D(2025, 1, 27)


def test_workdays_between_across_national_day_week_2025(seeded):
    # 10-01 … 10-08 off; 09-28 (Sun) and 10-11 (Sat) worked.
    assert workdays_between(D(2025, 9, 30), D(2025, 10, 10)) == 2  # 10-09, 10-10
    assert workdays_between(D(2025, 9, 26), D(2025, 10, 12)) == 6  # 09-28, 09-29, 09-30, 10-09, 10-10, 10-11
    assert workdays_between(D(2025, 10, 12), D(2025, 9, 26)) == -6
    assert workdays_between(D(2025, 10, 3), D(2025, 10, 3)) == 0
    assert workdays_in_range(D(2025, 9, 27), D(2025, 10, 11)) == [
        D(2025, 9, 28),
        D(2025, 9, 29),
        D(2025, 9, 30),
        D(2025, 10, 9),
        D(2025, 10, 10),
        D(2025, 10, 11),
    ]
    assert workdays_in_range(D(2025, 10, 11), D(2025, 9, 27)) == []


def test_add_workdays_is_the_inverse_of_workdays_between(seeded):
    start = D(2025, 12, 20)
    for target in workdays_in_range(D(2025, 12, 21), D(2027, 3, 31)):
        n = workdays_between(start, target)
        assert add_workdays(start, n) == target
        assert add_workdays(target, -n) == D(2025, 12, 19)  # the last working day up to the (Saturday) start


def test_one_query_per_call(seeded, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert add_workdays(D(2025, 1, 1), 60) == D(2025, 4, 1)
    with django_assert_num_queries(1):
        assert workdays_between(D(2025, 1, 1), D(2025, 6, 30)) == 120
    with django_assert_num_queries(1):
        is_workday(D(2025, 1, 1))


def test_datetimes_are_read_in_local_time(seeded):
    # 2025-09-30 20:00 UTC is 2025-10-01 04:00 in Beijing: National Day.
    assert is_workday(datetime.datetime(2025, 9, 30, 20, 0, tzinfo=datetime.UTC)) is False


# ---------------------------------------------------------------- 2027: no package data


def test_2027_without_data_counts_weekends_only(seeded):
    assert not CalendarDay.objects.filter(date__year=2027).exists()
    assert package_days(2027) == set()
    weekdays_2027 = [d for d in (D(2027, 1, 1) + datetime.timedelta(days=i) for i in range(365)) if d.weekday() < 5]
    assert workdays_in_range(D(2027, 1, 1), D(2027, 12, 31)) == weekdays_2027
    assert is_workday(D(2027, 1, 1)) is True  # a Friday: New Year is not known yet
    assert is_workday(D(2027, 1, 2)) is False
    assert add_workdays(D(2027, 3, 5), 1) == D(2027, 3, 8)  # Friday → Monday


def test_add_workdays_across_new_year_into_2027(seeded):
    # 2026-12-30 is a Wednesday; 2027 has no data: 12-31, 01-01 (Fri), 01-04.
    assert add_workdays(D(2026, 12, 30), 3) == D(2027, 1, 4)
    add_year("2027", "--holiday", "2027-01-01:元旦")
    assert add_workdays(D(2026, 12, 30), 3) == D(2027, 1, 5)  # 12-31, 01-04, 01-05
    assert workdays_between(D(2026, 12, 30), D(2027, 1, 5)) == 3
    assert add_workdays(D(2027, 1, 5), -3) == D(2026, 12, 30)


# ---------------------------------------------------------------- calendar_add_year


ANNOUNCEMENT_2027 = (
    "2027",
    "--holiday",
    "2027-01-01:元旦",
    "--holiday",
    "2027-02-06..2027-02-13:春节",
    "--workday",
    "2027-01-31:春节调休",
    "--workday",
    "2027-02-20:春节调休",
)


def test_command_adds_a_year(seeded):
    out, err = add_year(*ANNOUNCEMENT_2027)
    rows = {row.date: row for row in CalendarDay.objects.filter(date__year=2027)}
    assert len(rows) == 11
    assert rows[D(2027, 2, 6)].name == "春节" and rows[D(2027, 2, 6)].is_workday is False
    assert rows[D(2027, 1, 31)].kind == CalendarDayKind.MAKEUP_WORKDAY and rows[D(2027, 1, 31)].is_workday is True
    assert {row.source for row in rows.values()} == {CalendarDaySource.ANNOUNCEMENT}
    assert "2027 年工作日历已写入" in out and "法定节假日 9 天，调休上班日 2 天" in out and "新增 11 条" in out
    assert err == ""
    assert add_workdays(D(2027, 2, 5), 1) == D(2027, 2, 15)
    assert is_workday(D(2027, 2, 20)) is True


def test_command_rerun_is_idempotent_and_updates_in_place(seeded):
    add_year(*ANNOUNCEMENT_2027)
    events = AuditEvent.objects.count()
    out, _ = add_year(*ANNOUNCEMENT_2027)
    assert "新增 0 条，更新 0 条，未变 11 条" in out
    assert CalendarDay.objects.filter(date__year=2027).count() == 11
    assert AuditEvent.objects.count() == events  # nothing changed, nothing recorded

    out, _ = add_year("2027", "--holiday", "2027-01-01:元旦节")
    assert "新增 0 条，更新 1 条" in out
    assert CalendarDay.objects.get(date=D(2027, 1, 1)).name == "元旦节"
    assert CalendarDay.objects.filter(date__year=2027).count() == 11


def test_command_records_changes_in_the_audit_chain(seeded):
    add_year("2027", "--holiday", "2027-01-01:元旦")
    event = AuditEvent.objects.get(object_type="calendarday", object_id=20270101)
    assert event.action == "calendar_day_set"
    assert event.data["before"] is None and event.data["after"]["name"] == "元旦"
    assert audit_verify().ok


def test_command_replace_removes_stale_days_but_keeps_hand_entries(seeded):
    add_year(*ANNOUNCEMENT_2027)
    CalendarDay.objects.create(
        date=D(2027, 6, 1), is_workday=False, kind=CalendarDayKind.HOLIDAY, name="本地假日", source="manual"
    )
    out, _ = add_year("2027", "--replace", "--holiday", "2027-01-01:元旦", "--holiday", "2027-02-07..2027-02-13:春节")
    assert "删除 3 条" in out  # 02-06 and both make-up days
    dates = set(CalendarDay.objects.filter(date__year=2027).values_list("date", flat=True))
    assert D(2027, 2, 6) not in dates and D(2027, 1, 31) not in dates
    assert D(2027, 6, 1) in dates and len(dates) == 9


def test_command_reads_a_json_file(seeded, tmp_path):
    path = tmp_path / "2027.json"
    path.write_text(
        json.dumps(
            {
                "year": 2027,
                "holidays": ["2027-01-01:元旦", {"start": "2027-10-01", "end": "2027-10-07", "name": "国庆节"}],
                "workdays": [{"date": "2027-09-26", "name": "国庆调休"}],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    out, _ = add_year("2027", "--file", str(path))
    assert "新增 9 条" in out
    assert CalendarDay.objects.get(date=D(2027, 10, 7)).name == "国庆节"
    assert is_workday(D(2027, 9, 26)) is True


def test_command_warns_about_a_makeup_day_on_a_weekday(seeded):
    out, err = add_year("2027", "--workday", "2027-02-08:春节调休")
    assert "2027-02-08（周一）本来就是工作日" in err
    assert "新增 1 条" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (("2027", "--holiday", "2027-13-01:元旦"), "日期格式错误"),
        (("2027", "--holiday", "2027-01-01"), "缺少名称"),
        (("2027", "--holiday", "2027-01-01:  "), "缺少名称"),
        (("2027", "--holiday", "2026-12-31:元旦"), "2026-12-31 不在 2027 年内"),
        (("2027", "--holiday", "2027-02-13..2027-02-06:春节"), "结束日期早于开始日期"),
        (("2027", "--holiday", "2027-02-06..2027-02-13:春节", "--holiday", "2027-02-13:春节"), "2027-02-13 重复出现"),
        (("2027", "--holiday", "2027-01-01:元旦", "--workday", "2027-01-01:元旦调休"), "重复出现"),
        (("2027",), "请用 --holiday"),
        (("1999", "--holiday", "1999-01-01:元旦"), "超出范围"),
        (("2027", "--from-chinese-calendar"), "没有 2027 年的数据"),
        (("2025", "--from-chinese-calendar", "--holiday", "2025-01-01:元旦"), "不能与"),
    ],
)
def test_command_refuses_bad_input_in_chinese_and_writes_nothing(seeded, args, message):
    before = CalendarDay.objects.count()
    with pytest.raises(CommandError, match=message):
        add_year(*args)
    assert CalendarDay.objects.count() == before


def test_command_refuses_a_file_for_another_year(seeded, tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"year": 2028, "holidays": ["2028-01-01:元旦"]}), encoding="utf-8")
    with pytest.raises(CommandError, match="写的是 2028 年，与命令中的 2027 年不符"):
        add_year("2027", "--file", str(path))
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="无法读取文件"):
        add_year("2027", "--file", str(path))


def test_command_reseeds_a_year_from_the_package(seeded):
    CalendarDay.objects.filter(date=D(2025, 10, 1)).delete()
    CalendarDay.objects.filter(date=D(2025, 1, 1)).update(name="改错了")
    CalendarDay.objects.create(
        date=D(2025, 3, 3), is_workday=False, kind=CalendarDayKind.HOLIDAY, name="误录", source="announcement"
    )
    out, _ = add_year("2025", "--from-chinese-calendar")
    assert "来源：chinese-calendar 数据包" in out and "新增 1 条，更新 1 条" in out and "删除 1 条" in out
    assert set(CalendarDay.objects.filter(date__year=2025).values_list("date", flat=True)) == package_days(2025)
    assert CalendarDay.objects.get(date=D(2025, 1, 1)).name == "元旦"


# ---------------------------------------------------------------- admin


def test_admin_lists_a_year_in_chinese(seeded, world, client):
    client.force_login(world.admin)
    response = client.get("/admin/supervision/calendarday/", {"year": "2025", "kind": "makeup_workday"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "春节调休" in body and "调休上班日" in body and "周日" in body
    assert response.context["cl"].result_count == 5


def test_admin_adds_a_day_by_hand_and_checks_kind_against_is_workday(seeded, world, client):
    world.office.is_staff = True
    world.office.save(update_fields=["is_staff"])
    client.force_login(world.office)
    url = "/admin/supervision/calendarday/add/"
    response = client.post(url, {"date": "2027-01-01", "kind": "holiday", "is_workday": "on", "name": "元旦"})
    assert response.status_code == 200 and "不一致" in response.content.decode()
    assert not CalendarDay.objects.filter(date=D(2027, 1, 1)).exists()

    response = client.post(url, {"date": "2027-01-01", "kind": "holiday", "name": "元旦"})
    assert response.status_code == 302
    day = CalendarDay.objects.get(date=D(2027, 1, 1))
    assert (day.is_workday, day.source) == (False, CalendarDaySource.MANUAL)
    assert AuditEvent.objects.filter(object_type="calendarday", object_id=20270101, actor=world.office).exists()
    assert add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 4)


def test_admin_is_closed_to_unit_staff(seeded, world, client):
    world.edu_handler.is_staff = True
    world.edu_handler.save(update_fields=["is_staff"])
    client.force_login(world.edu_handler)
    response = client.post("/admin/supervision/calendarday/add/", {"date": "2027-01-01", "kind": "holiday", "name": "元旦"})
    assert response.status_code == 403
    assert not CalendarDay.objects.filter(date=D(2027, 1, 1)).exists()
