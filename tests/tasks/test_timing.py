"""Quiet hours and rest days (issue 12): non-urgent messages are held on the push channels outside
the working day and go when the next one starts; 特急 and items due today go at once. Times are
explicit (Monday 2026-12-07 is a working day, Saturday 2026-12-05 a rest day); nothing sleeps."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from supervision.choices import ItemStatus, Urgency
from supervision.models import Item
from supervision.services import overdue_explanations_open
from tasks.choices import Channel, DeliveryStatus
from tasks.models import Delivery
from tasks.outbox import notifications
from tasks.outbox.timing import release_time
from tests.factories import make_item
from tests.tasks.conftest import reachable_user

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 12, 7)
SATURDAY = datetime.date(2026, 12, 5)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture(autouse=True)
def quiet_hours(settings):
    settings.DUBAN_QUIET_HOURS = True
    settings.DUBAN_REMINDER_DAY_STARTS = datetime.time(8, 30)
    settings.DUBAN_REMINDER_DAY_ENDS = datetime.time(18, 0)


def send(user, *, now, key="notice:1", **kwargs):
    kwargs.setdefault("title", "关于县教育局事项的通报")
    kwargs.setdefault("kind", "notice")
    return notifications.notification_send(recipients=[user], dedup_key=key, now=now, **kwargs)


def pushed(user):
    return (
        Delivery.objects.exclude(notification__dedup_key__startswith="handoff:")
        .filter(notification__recipient=user)
        .exclude(channel=Channel.INBOX)
        .order_by("channel")
    )


def test_release_time_follows_the_working_day():
    assert release_time(at(MONDAY, 10)) is None
    assert release_time(at(MONDAY, 7, 59)) == at(MONDAY, 8, 30)
    assert release_time(at(MONDAY, 18, 0)) == at(MONDAY + datetime.timedelta(days=1), 8, 30)
    assert release_time(at(SATURDAY, 11)) == at(MONDAY, 8, 30)
    assert release_time(at(SATURDAY - datetime.timedelta(days=1), 23)) == at(MONDAY, 8, 30)  # Friday night


def test_a_message_at_night_is_held_until_the_working_day_starts(world, queued, django_capture_on_commit_callbacks):
    alice = reachable_user("alice", unit=world.edu)
    with django_capture_on_commit_callbacks(execute=True):
        send(alice, now=at(MONDAY, 20))
    rows = list(pushed(alice))
    assert [r.channel for r in rows] == ["email", "sms"]
    assert all(
        r.status == DeliveryStatus.PENDING and r.held_until == at(MONDAY + datetime.timedelta(days=1), 8, 30) for r in rows
    )
    assert queued == []  # nothing reaches a worker overnight
    inbox = Delivery.objects.get(notification__recipient=alice, channel=Channel.INBOX)
    assert inbox.status == DeliveryStatus.SENT  # the inbox disturbs no one


def test_a_message_on_saturday_waits_for_monday(world, queued, sms, monkeypatch, django_capture_on_commit_callbacks):
    alice = reachable_user("alice", unit=world.edu)
    send(alice, now=at(SATURDAY, 10))
    assert {r.held_until for r in pushed(alice)} == {at(MONDAY, 8, 30)}
    # A worker that picks a held row up early (a resend, a stray task) leaves it alone.
    row = pushed(alice).get(channel=Channel.SMS)
    monkeypatch.setattr(timezone, "now", lambda: at(SATURDAY, 10, 5))
    notifications.delivery_attempt(delivery_id=row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts, sms.sent) == (DeliveryStatus.PENDING, 0, [])
    # The stuck-row sweep does not take held rows either; the release sweep does, at the time, once.
    assert notifications.delivery_requeue_due(now=at(MONDAY, 12)) == []
    assert notifications.delivery_release_held(now=at(MONDAY, 8, 29)) == []
    with django_capture_on_commit_callbacks(execute=True):
        released = notifications.delivery_release_held(now=at(MONDAY, 8, 30))
    assert sorted(released) == sorted(pushed(alice).values_list("pk", flat=True))
    assert notifications.delivery_release_held(now=at(MONDAY, 8, 31)) == []
    assert sorted(queued) == sorted(released)
    assert not pushed(alice).filter(held_until__isnull=False).exists()


def test_urgent_messages_are_never_held(world, queued, django_capture_on_commit_callbacks):
    alice = reachable_user("alice", unit=world.edu)
    with django_capture_on_commit_callbacks(execute=True):
        send(alice, now=at(SATURDAY, 23), key="urgent:1", urgent=True)
    rows = list(pushed(alice))
    assert len(rows) == 2 and all(r.held_until is None for r in rows)
    assert sorted(queued) == sorted(r.pk for r in rows)


def test_extra_urgent_items_and_items_due_today_are_not_held(world, queued, django_capture_on_commit_callbacks):
    alice = reachable_user("alice", unit=world.edu)
    saturday_night = at(SATURDAY, 22)
    urgent_item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    Item.objects.filter(pk=urgent_item.pk).update(urgency=Urgency.EXTRA_URGENT)
    urgent_item.refresh_from_db()
    due_today = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    Item.objects.filter(pk=due_today.pk).update(deadline=SATURDAY)
    due_today.refresh_from_db()
    later = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    send(alice, now=saturday_night, key="a", item=urgent_item)
    send(alice, now=saturday_night, key="b", item=due_today)
    send(alice, now=saturday_night, key="c", item=later)
    held = {d.notification.dedup_key: d.held_until for d in pushed(alice).select_related("notification")}
    assert held == {"a": None, "b": None, "c": at(MONDAY, 8, 30)}


def test_explanation_notices_no_longer_go_out_on_saturday_night(world, queued, monkeypatch, django_capture_on_commit_callbacks):
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    past = SATURDAY - datetime.timedelta(days=7)
    Item.objects.filter(pk=item.pk).update(deadline=past, original_deadline=past)
    item.refresh_from_db()
    for user in (world.edu_handler, world.edu_head):
        user.email = f"{user.username}@example.gov.cn"
        user.save(update_fields=["email"])
    queued.clear()
    monkeypatch.setattr(timezone, "now", lambda: at(SATURDAY, 22, 30))
    with django_capture_on_commit_callbacks(execute=True):
        assert len(overdue_explanations_open(item=item)) == 1
    rows = Delivery.objects.filter(notification__kind="explanation", channel=Channel.EMAIL)
    assert rows.count() == 2
    assert {r.held_until for r in rows} == {at(MONDAY, 8, 30)}
    assert queued == []


def test_the_delivery_admin_shows_when_a_held_message_goes(world, client):
    alice = reachable_user("alice", unit=world.edu)
    send(alice, now=at(SATURDAY, 10))
    row = pushed(alice).first()
    client.force_login(world.admin)
    assert client.get("/admin/tasks/delivery/").status_code == 200
    html = client.get(f"/admin/tasks/delivery/{row.pk}/change/").content.decode()
    assert "暂缓至" in html
