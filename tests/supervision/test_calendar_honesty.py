"""Calendar honesty (issue 12 E): a working-day count into a year the calendar does not hold is
refused, naming the year; the office is told from 1 November; a rest-day date deadline is said."""

import datetime

import pytest
from django.utils import timezone

from supervision import services
from supervision.choices import CalendarDayKind, ItemStatus
from supervision.errors import InvalidInput
from supervision.models import CalendarDay, Item
from supervision.workcalendar import add_workdays, is_workday, workdays_between
from tasks import housekeeping
from tasks.models import Notification
from tests.api_helpers import assert_error, client_for
from tests.factories import make_instruction

pytestmark = pytest.mark.django_db


@pytest.fixture
def next_year():
    """Next year, with nothing entered for it (as chinese-calendar's data ends with 2026)."""
    year = timezone.localdate().year + 1
    CalendarDay.objects.filter(date__year__gte=year).delete()
    return year


def enter(year: int) -> None:
    CalendarDay.objects.create(date=datetime.date(year, 1, 1), is_workday=False, kind=CalendarDayKind.HOLIDAY, name="元旦")


def workdays_into(year: int) -> int:
    """A working-day count from today that ends in the middle of `year`."""
    return workdays_between(timezone.localdate(), datetime.date(year, 6, 30))


def test_a_workday_count_into_an_unentered_year_is_refused_naming_it(world, next_year):
    instruction = make_instruction(office=world.office)
    with pytest.raises(InvalidInput) as info:
        services.item_create(
            actor=world.office,
            instruction=instruction,
            title="跨年事项",
            lead_unit=world.edu,
            owner=world.edu_handler,
            deadline_workdays=workdays_into(next_year),
        )
    assert info.value.code == "calendar_year_missing"
    assert f"{next_year} 年" in info.value.fields["deadline_workdays"][0]
    assert not Item.objects.exists()
    # Entered: the same count is accepted, and the deadline counts the entered holiday.
    enter(next_year)
    item = services.item_create(
        actor=world.office,
        instruction=instruction,
        title="跨年事项",
        lead_unit=world.edu,
        owner=world.edu_handler,
        deadline_workdays=workdays_into(next_year),
    )
    item = services.item_assign(actor=world.office, item=item)
    assert item.deadline.year == next_year and is_workday(item.deadline)


def test_assign_refuses_when_the_calendar_was_removed_after_registration(world, next_year):
    enter(next_year)
    item = services.item_create(
        actor=world.office,
        instruction=make_instruction(office=world.office),
        title="跨年事项",
        lead_unit=world.edu,
        owner=world.edu_handler,
        deadline_workdays=workdays_into(next_year),
    )
    CalendarDay.objects.filter(date__year=next_year).delete()
    with pytest.raises(InvalidInput) as info:
        services.item_assign(actor=world.office, item=item)
    assert str(next_year) in info.value.fields["deadline_workdays"][0]
    assert Item.objects.get(pk=item.pk).status == ItemStatus.DRAFT


def test_api_answers_400_with_the_year_to_enter(world, next_year):
    instruction = make_instruction(office=world.office)
    response = client_for(world.office).post(
        "/api/v1/items/",
        {
            "instruction_id": instruction.pk,
            "title": "跨年事项",
            "lead_unit_id": world.edu.pk,
            "deadline_workdays": workdays_into(next_year),
        },
        format="json",
    )
    body = assert_error(response, 400, code="calendar_year_missing", field="deadline_workdays")
    assert f"录入 {next_year} 年工作日历" in body["fields"]["deadline_workdays"][0]


def test_a_date_deadline_on_a_rest_day_is_accepted_with_a_warning(world):
    instruction = make_instruction(office=world.office)
    day = timezone.localdate() + datetime.timedelta(days=1)
    while is_workday(day):
        day += datetime.timedelta(days=1)
    workday = add_workdays(day, 1)
    office = client_for(world.office)
    common = {"instruction_id": instruction.pk, "title": "周末到期", "lead_unit_id": world.edu.pk}
    response = office.post("/api/v1/items/", {**common, "deadline": day.isoformat()}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["warnings"] == [f"{day.isoformat()} 为休息日"]
    item_id = response.json()["id"]
    assert office.get(f"/api/v1/items/{item_id}/").json()["warnings"] == [f"{day.isoformat()} 为休息日"]
    response = office.patch(f"/api/v1/items/{item_id}/", {"deadline": workday.isoformat()}, format="json")
    assert response.status_code == 200 and response.json()["warnings"] == []


def test_from_november_the_office_is_told_once_a_day_until_next_year_is_entered(world, next_year):
    year = next_year - 1
    told = {world.office, world.office_low, world.admin}
    assert services.calendar_next_year_remind(today=datetime.date(year, 10, 31)) == []
    first = services.calendar_next_year_remind(today=datetime.date(year, 11, 1))
    assert {n.recipient for n in first} == told
    assert services.calendar_next_year_remind(today=datetime.date(year, 11, 1)) == []  # the same day again
    assert len(services.calendar_next_year_remind(today=datetime.date(year, 11, 2))) == len(told)
    notes = Notification.objects.filter(recipient=world.office, kind="calendar")
    assert notes.count() == 2 and all(str(next_year) in n.title for n in notes)
    assert not Notification.objects.filter(recipient__in=[world.edu_handler, world.leader], kind="calendar").exists()
    enter(next_year)
    assert services.calendar_next_year_remind(today=datetime.date(year, 11, 3)) == []


def test_the_beat_task_runs_the_reminder(world, next_year):
    from config.celery import app

    assert app.conf.beat_schedule["remind-missing-calendar-year"]["task"] == "tasks.housekeeping.remind_missing_calendar_year"
    sent = housekeeping.remind_missing_calendar_year()
    expected = 3 if timezone.localdate().month >= 11 else 0
    assert sent == expected
    assert housekeeping.remind_missing_calendar_year() == 0  # twice the same day: nothing more
