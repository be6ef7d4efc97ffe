"""Deadlines in working days, same-day 特急 limits and the warning lights (红黄绿灯), with dates
checked by hand against the State Council's 2026 arrangement (国庆 10-01..10-07 off, 10-10 Saturday on)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from supervision import services
from supervision.choices import ItemStatus, Light, RequestKind, ReturnVisitResult, Urgency
from supervision.errors import InvalidInput, NotPermitted, TransitionNotAllowed
from supervision.models import Item, WarningThreshold
from supervision.warning_dates import warning_date_for
from tests.api_helpers import client_for
from tests.factories import endorsed, make_instruction, make_item

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = datetime.date


def at(y, m, d, hh=10, mm=0) -> datetime.datetime:
    return datetime.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture
def clock(monkeypatch):
    """Set the service clock (timezone.now) to a given Shanghai time."""

    def set_to(moment: datetime.datetime):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


def light_of(item, now):
    return Item.objects.filter(pk=item.pk).with_light(now).values_list("light", flat=True).get()


def test_deadline_in_working_days_skips_the_national_day_holiday(world, clock):
    clock(at(2026, 9, 28))  # Monday before 国庆
    instruction = make_instruction(office=world.office)
    item = services.item_create(
        actor=world.office,
        instruction=instruction,
        title="五个工作日内报送",
        lead_unit=world.edu,
        owner=world.edu_handler,
        deadline_workdays=5,
    )
    assert item.deadline is None
    services.item_assign(actor=world.office, item=item)
    item.refresh_from_db()
    # 9-29, 9-30, (10-01..10-07 off), 10-08, 10-09, 10-10 (调休 Saturday): calendar days would say 10-03.
    assert item.deadline == D(2026, 10, 10) and item.original_deadline == D(2026, 10, 10)


def test_deadline_date_and_workdays_are_exclusive_and_time_only_for_extra_urgent(world):
    instruction = make_instruction(office=world.office)
    common = {"actor": world.office, "instruction": instruction, "title": "t", "lead_unit": world.edu, "owner": world.edu_handler}
    with pytest.raises(InvalidInput) as info:
        services.item_create(**common, deadline=timezone.localdate() + datetime.timedelta(days=5), deadline_workdays=3)
    assert "deadline_workdays" in info.value.fields
    with pytest.raises(InvalidInput) as info:
        services.item_create(**common, deadline=timezone.localdate(), deadline_time=datetime.time(17, 30), urgency=Urgency.URGENT)
    assert "deadline_time" in info.value.fields
    assert not Item.objects.exists()


def test_warning_date_from_share_or_remaining_days(world):
    # Assigned Mon 11-02, due Mon 11-30: 20 working days in (11-02, 11-30].
    # 一般 (67%, 3 days): 14th working day = 11-20; 3 days before = 11-25 → 11-20.
    assert warning_date_for(start=D(2026, 11, 2), deadline=D(2026, 11, 30), urgency=Urgency.NORMAL) == D(2026, 11, 20)
    # 急 (50%, 2 days): 10th working day = 11-16; 2 days before = 11-26 → 11-16.
    assert warning_date_for(start=D(2026, 11, 2), deadline=D(2026, 11, 30), urgency=Urgency.URGENT) == D(2026, 11, 16)
    # A short limit: assigned 11-26 due 11-30: 2 working days, 3 days before 11-30 is 11-25 → clamp to start 11-26.
    assert warning_date_for(start=D(2026, 11, 26), deadline=D(2026, 11, 30), urgency=Urgency.NORMAL) == D(2026, 11, 26)
    # Across 国庆: assigned 9-28, due 10-12: working days 9-29, 9-30, 10-08, 10-09, 10-10, 10-12 (6).
    # 一般: 67% → 5th = 10-10; 3 days before 10-12 = 10-08 → 10-08 (not a date inside the holiday).
    assert warning_date_for(start=D(2026, 9, 28), deadline=D(2026, 10, 12), urgency=Urgency.NORMAL) == D(2026, 10, 8)
    # The admin's threshold is used when set.
    WarningThreshold.objects.update_or_create(
        urgency=Urgency.NORMAL, defaults={"yellow_share": Decimal("0.25"), "yellow_workdays": 1}
    )
    assert warning_date_for(start=D(2026, 11, 2), deadline=D(2026, 11, 30), urgency=Urgency.NORMAL) == D(2026, 11, 9)


def test_lights_through_an_items_life(world, clock):
    clock(at(2026, 11, 2))
    item = make_item(
        ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler, deadline=D(2026, 11, 30)
    )
    assert item.warning_date == D(2026, 11, 20)
    assert light_of(item, at(2026, 11, 19)) == Light.GREEN
    assert light_of(item, at(2026, 11, 20)) == Light.YELLOW
    assert light_of(item, at(2026, 11, 30, 23, 59)) == Light.RED
    assert light_of(item, at(2026, 12, 1, 0, 1)) == Light.OVERDUE
    # Extension moves the deadline and the yellow date; the original stays.
    request = services.item_request_create(
        actor=world.edu_handler, item=item, kind=RequestKind.EXTENSION, reason="等待批复", requested_deadline=D(2026, 12, 31)
    )
    services.item_request_decide(actor=world.office, request=endorsed(request), approve=True)
    item.refresh_from_db()
    assert item.original_deadline == D(2026, 11, 30) and item.deadline == D(2026, 12, 31)
    assert light_of(item, at(2026, 12, 1)) == Light.GREEN
    # Done items have no light.
    for moment in (at(2026, 11, 19), at(2027, 3, 1)):
        draft = make_item(
            ItemStatus.DRAFT, office=world.office, lead_unit=world.edu, owner=world.edu_handler, deadline=D(2026, 11, 30)
        )
        assert light_of(draft, moment) == Light.NONE


def test_extra_urgent_same_day_limit_is_overdue_after_the_hour(world, clock):
    clock(at(2026, 11, 23, 9, 0))
    instruction = make_instruction(office=world.office)
    item = services.item_create(
        actor=world.office,
        instruction=instruction,
        title="当天反馈",
        lead_unit=world.edu,
        owner=world.edu_handler,
        deadline=D(2026, 11, 23),
        deadline_time=datetime.time(17, 30),
        urgency=Urgency.EXTRA_URGENT,
    )
    services.item_assign(actor=world.office, item=item)
    assert light_of(item, at(2026, 11, 23, 17, 29)) == Light.RED
    assert light_of(item, at(2026, 11, 23, 17, 31)) == Light.OVERDUE  # 需要当天反馈的绝不能过夜
    assert Item.objects.overdue(at(2026, 11, 23, 17, 31)).filter(pk=item.pk).exists()
    # Assigning after the hour has passed is refused.
    clock(at(2026, 11, 23, 18, 0))
    late = services.item_create(
        actor=world.office,
        instruction=instruction,
        title="已过时",
        lead_unit=world.edu,
        owner=world.edu_handler,
        deadline=D(2026, 11, 23),
        deadline_time=datetime.time(17, 30),
        urgency=Urgency.EXTRA_URGENT,
    )
    with pytest.raises(InvalidInput) as info:
        services.item_assign(actor=world.office, item=late)
    assert "deadline_time" in info.value.fields


def test_deadline_fields_fixed_after_assignment(world):
    item = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    with pytest.raises(TransitionNotAllowed) as info:
        services.item_update(actor=world.office, item=item, deadline_workdays=3)
    assert info.value.code == "deadline_fixed_after_assignment"


def test_failed_return_visit_can_set_a_rectification_deadline(world):
    item = make_item(ItemStatus.CLOSED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    original = item.original_deadline
    new = timezone.localdate() + datetime.timedelta(days=15)
    services.return_visit_create(
        actor=world.office, item=item, result=ReturnVisitResult.FAILED, findings="反弹", new_deadline=new
    )
    item.refresh_from_db()
    assert item.deadline == new and item.original_deadline == original and item.light in (Light.GREEN, Light.YELLOW)
    with pytest.raises(InvalidInput):
        closed = make_item(ItemStatus.CLOSED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
        services.return_visit_create(
            actor=world.office, item=closed, result=ReturnVisitResult.PASSED, findings="好", new_deadline=new
        )


def test_api_light_field_and_filter_agree(world):
    office = world.office
    today = timezone.localdate()
    soon = make_item(
        ItemStatus.IN_PROGRESS,
        office=office,
        lead_unit=world.edu,
        owner=world.edu_handler,
        deadline=today + datetime.timedelta(days=1),
        title="明天到期",
    )
    far = make_item(
        ItemStatus.IN_PROGRESS,
        office=office,
        lead_unit=world.edu,
        owner=world.edu_handler,
        deadline=today + datetime.timedelta(days=90),
        title="远期",
    )
    late = make_item(ItemStatus.IN_PROGRESS, office=office, lead_unit=world.edu, owner=world.edu_handler, title="已超期")
    Item.objects.filter(pk=late.pk).update(deadline=today - datetime.timedelta(days=2))
    due = make_item(
        ItemStatus.ACKNOWLEDGED,
        office=office,
        lead_unit=world.edu,
        owner=world.edu_handler,
        deadline=today + datetime.timedelta(days=3),
        title="今天到期",
    )
    Item.objects.filter(pk=due.pk).update(deadline=today)
    client = client_for(office)
    rows = {r["title"]: r for r in client.get("/api/v1/items/", {"page_size": 100}).json()["results"]}
    assert rows["明天到期"]["light"] == "yellow" and rows["远期"]["light"] == "green"
    assert (
        rows["已超期"]["light"] == "overdue"
        and rows["已超期"]["is_overdue"] is True
        and rows["已超期"]["light_display"] == "超期"
    )
    assert rows["今天到期"]["light"] == "red"
    for light in ("green", "yellow", "red", "overdue"):
        filtered = {r["title"] for r in client.get("/api/v1/items/", {"light": light}).json()["results"]}
        assert filtered == {t for t, r in rows.items() if r["light"] == light}, light
    overdue = {r["title"] for r in client.get("/api/v1/items/", {"overdue": "true"}).json()["results"]}
    assert overdue == {"已超期"}
    assert client.get(f"/api/v1/items/{far.pk}/").json()["light"] == "green"
    assert soon.pk  # created through the services with a warning date


def test_threshold_change_reschedules_open_items(world, django_capture_on_commit_callbacks):
    item = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_handler,
        deadline=timezone.localdate() + datetime.timedelta(days=60),
    )
    before = item.warning_date
    threshold = WarningThreshold.objects.get(urgency=Urgency.NORMAL)
    threshold.yellow_share = Decimal("0.10")
    from tasks.lights import refresh_warning_dates

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.warning_threshold_save(actor=world.office, threshold=threshold)
    assert callbacks, "the refresh must be queued after commit"
    assert refresh_warning_dates() >= 1  # what the queued task runs
    item.refresh_from_db()
    assert item.warning_date < before
    with pytest.raises(NotPermitted):
        services.warning_threshold_save(actor=world.edu_handler, threshold=threshold)


def test_row_light_is_the_one_light_whose_filter_matches(world):
    """`light_case` (the light on every list row) takes the conditions in order; `light_q` (the
    filters and counts) states each one whole. They must give every item exactly the same light,
    at the edges too: due today before and after the hour, no time of day, warning date today."""
    from supervision.lights import light_case, light_q

    now = at(2026, 11, 26, 10, 0)
    today = now.date()
    template = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    fields = {f.attname: getattr(template, f.attname) for f in Item._meta.concrete_fields if f.attname not in ("id", "code")}
    grid = []
    deadlines = [
        None,
        today - datetime.timedelta(days=3),
        today,
        today + datetime.timedelta(days=1),
        today + datetime.timedelta(days=9),
    ]
    times = [None, datetime.time(9, 59), datetime.time(10, 1)]
    warnings = [None, today - datetime.timedelta(days=1), today, today + datetime.timedelta(days=2)]
    for status in ItemStatus.values:
        for deadline in deadlines:
            for deadline_time in times:
                for warning_date in warnings:
                    grid.append(
                        Item(
                            **{
                                **fields,
                                "code": f"L{len(grid):05d}",
                                "status": status,
                                "deadline": deadline,
                                "deadline_time": deadline_time,
                                "warning_date": warning_date,
                            }
                        )
                    )
    Item.objects.bulk_create(grid)
    rows = dict(Item.objects.filter(code__startswith="L").annotate(row_light=light_case(now)).values_list("code", "row_light"))
    matches = {code: [] for code in rows}
    for light in Light.values:
        for code in Item.objects.filter(code__startswith="L").filter(light_q(light, now)).values_list("code", flat=True):
            matches[code].append(light)
    assert len(rows) == len(grid) == len(ItemStatus.values) * 60
    assert {code: [light] for code, light in rows.items()} == matches
    # Every light occurs in the grid, so the comparison covers each branch.
    assert set(rows.values()) == set(Light.values)
