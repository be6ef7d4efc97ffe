"""Reminders and escalation: the schedule in working days, quiet hours, who is reminded, listing
for supervision, and exactly-once under repeated and concurrent sweeps. Dates are hand-checked on
the 2026 calendar (Nov 2026: Mondays 2, 9, 16, 23, 30; no holidays)."""

from __future__ import annotations

import datetime
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from accounts.choices import Classification, Role
from supervision import services
from supervision.choices import ItemStatus, RequestKind, Urgency
from supervision.models import AuditEvent, Item
from supervision.reminders import reminders_claim_due, reminders_process_item, schedule
from tasks.models import Notification
from tests.factories import UserFactory, endorsed, make_instruction, make_item

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = datetime.date


def at(y, m, d, hh=9, mm=0) -> datetime.datetime:
    return datetime.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture
def clock(monkeypatch):
    def set_to(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Deliveries and item batches are recorded, not published: these tests check the rules."""
    from tasks.delivery import deliver_notification
    from tasks.reminders import remind_items

    monkeypatch.setattr(deliver_notification, "delay", lambda *a, **k: None)
    monkeypatch.setattr(remind_items, "delay", lambda *a, **k: None)


def received(item, kind=None):
    qs = Notification.objects.filter(item=item)
    if kind:
        qs = qs.filter(kind=kind)
    return sorted(qs.values_list("recipient__username", "dedup_key"))


def recipients(item, key_part):
    return {u for u, key in received(item) if key_part in key}


@pytest.fixture
def assigned(world, clock):
    """A 一般 item assigned Mon 2026-11-02 09:30, due Mon 2026-11-30, lead 教育局 + supporting 环保局."""
    clock(at(2026, 11, 2, 9, 30))
    item = make_item(
        ItemStatus.ASSIGNED,
        office=world.office,
        lead_unit=world.edu,
        supporting_units=[world.env],
        owner=world.edu_handler,
        deadline=D(2026, 11, 30),
    )
    return item


@pytest.mark.django_db
def test_schedule_in_working_days(assigned):
    plan = {r.key.split(":")[0] + ":" + r.key.split(":")[-1]: timezone.localtime(r.fire_at) for r in schedule(assigned)}
    assert plan["ack:assigned-20261102013000"] == at(2026, 11, 3, 9, 30)  # 24 hours later, a working hour
    assert plan["deadline:step--3"] == at(2026, 11, 25)
    assert plan["deadline:step--1"] == at(2026, 11, 27)
    assert plan["deadline:step-0"] == at(2026, 11, 30)
    assert plan["deadline:step-1"] == at(2026, 12, 1)
    assert plan["deadline:step-3"] == at(2026, 12, 3)
    assert plan["deadline:step-5"] == at(2026, 12, 7)  # Fri 12-04 is the 4th; Mon 12-07 the 5th
    assert Item.objects.get(pk=assigned.pk).next_reminder_at == at(2026, 11, 3, 9, 30)


@pytest.mark.django_db
def test_each_step_reaches_its_circle_once(world, assigned, clock):
    services.item_acknowledge(actor=world.env_handler, item=assigned)  # 环保局 signs, 教育局 does not
    clock(at(2026, 11, 3, 9, 31))
    assert reminders_process_item(item_id=assigned.pk) > 0
    # Only the unit that has not signed is chased, its handlers and head.
    assert recipients(assigned, "ack:") == {"edu_handler", "edu_head"}
    assert reminders_process_item(item_id=assigned.pk) == 0  # again: nothing new
    services.item_acknowledge(actor=world.edu_handler, item=assigned)

    clock(at(2026, 11, 25, 9, 1))
    reminders_process_item(item_id=assigned.pk)
    assert recipients(assigned, "step--3") == {"edu_handler"}  # the owner is the handler; no head yet
    clock(at(2026, 11, 30, 9, 1))
    reminders_process_item(item_id=assigned.pk)
    assert recipients(assigned, "step-0") == {"edu_handler", "edu_head"}
    clock(at(2026, 12, 3, 9, 1))
    reminders_process_item(item_id=assigned.pk)
    # +1 was missed (no sweep on 12-01): only the newest step goes out, to the wider circle.
    assert recipients(assigned, "step-1") == set()
    # The office hears from +3 on (office_low, 内部 clearance, may hear of a 公开 item).
    assert recipients(assigned, "step-3") == {"edu_handler", "edu_head", "office", "office_low"}
    for _ in range(3):
        reminders_process_item(item_id=assigned.pk)
    keys = [key for _, key in received(assigned)]
    assert len(keys) == len(set(zip(keys, [u for u, _ in received(assigned)], strict=True)))


@pytest.mark.django_db
def test_classified_item_reminders_skip_uncleared_people(world, clock):
    clock(at(2026, 11, 2, 9, 30))
    cleared = UserFactory(username="edu_secret", unit=world.edu, roles=[Role.UNIT_HANDLER], clearance=Classification.SECRET)
    item = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        owner=cleared,
        deadline=D(2026, 11, 30),
        classification=Classification.SECRET,
    )
    clock(at(2026, 12, 3, 9, 1))
    reminders_process_item(item_id=item.pk)
    got = recipients(item, "step-3")
    assert "edu_secret" in got and "office" in got
    assert "edu_handler" not in got and "office_low" not in got  # 内部 clearance: never told of a 秘密 item


@pytest.mark.django_db
def test_listing_for_supervision_after_the_last_step(world, assigned, clock):
    services.item_acknowledge(actor=world.edu_handler, item=assigned)
    services.item_acknowledge(actor=world.env_handler, item=assigned)
    clock(at(2026, 12, 7, 9, 1))
    reminders_process_item(item_id=assigned.pk)
    item = Item.objects.get(pk=assigned.pk)
    assert item.listed_for_supervision_at == at(2026, 12, 7, 9, 1)
    assert {"office", "leader"} <= recipients(item, "listing:")
    assert AuditEvent.objects.filter(item=item, action="item_listed_for_supervision").count() == 1
    reminders_process_item(item_id=item.pk)
    assert AuditEvent.objects.filter(item=item, action="item_listed_for_supervision").count() == 1
    assert Item.objects.get(pk=item.pk).next_reminder_at is None
    # An approved extension starts a new episode: the listing is lifted, reminders rescheduled.
    request = services.item_request_create(
        actor=world.edu_handler, item=item, kind=RequestKind.EXTENSION, reason="客观原因", requested_deadline=D(2026, 12, 31)
    )
    services.item_request_decide(actor=world.office, request=endorsed(request), approve=True)
    item.refresh_from_db()
    assert item.listed_for_supervision_at is None and item.next_reminder_at is not None


@pytest.mark.django_db
def test_quiet_hours_except_for_extra_urgent(world, clock):
    # Assigned Friday 11-27 17:00 with 24 hours to sign: Saturday 17:00 is quiet → Monday 09:00.
    clock(at(2026, 11, 27, 17, 0))
    normal = make_item(
        ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, deadline=D(2026, 12, 30)
    )
    ack = [r for r in schedule(normal) if r.kind == "acknowledge"][0]
    assert timezone.localtime(ack.fire_at) == at(2026, 11, 30, 9, 0)
    # 特急: signed within one hour, reminded at 18:00 on a Friday evening, nights and weekends too.
    instruction = make_instruction(office=world.office)
    urgent = services.item_create(
        actor=world.office,
        instruction=instruction,
        title="特急",
        lead_unit=world.edu,
        owner=world.edu_handler,
        deadline=D(2026, 11, 28),
        urgency=Urgency.EXTRA_URGENT,
    )
    services.item_assign(actor=world.office, item=urgent)
    ack = [r for r in schedule(Item.objects.get(pk=urgent.pk)) if r.kind == "acknowledge"][0]
    assert timezone.localtime(ack.fire_at) == at(2026, 11, 27, 18, 0)
    due = [r for r in schedule(Item.objects.get(pk=urgent.pk)) if r.key.endswith("step-0")][0]
    assert timezone.localtime(due.fire_at).date() == D(2026, 11, 28)  # Saturday: 特急 is not held back


@pytest.mark.django_db
def test_report_reminder_follows_the_cycle(world, clock):
    clock(at(2026, 11, 2, 9, 30))
    item = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_handler,
        deadline=D(2026, 12, 30),
        reporting_cycle="weekly",
    )
    report = [r for r in schedule(item) if r.kind == "report"][0]
    assert timezone.localtime(report.fire_at) == at(2026, 11, 9, 9, 0)
    clock(at(2026, 11, 6, 10, 0))
    services.progress_report_create(actor=world.edu_handler, item=item, progress_text="本周进展")
    report = [r for r in schedule(Item.objects.get(pk=item.pk)) if r.kind == "report"][0]
    assert timezone.localtime(report.fire_at) == at(2026, 11, 13, 9, 0)


@pytest.mark.django_db
def test_closed_items_are_not_reminded_and_claims_use_the_lease(world, clock):
    clock(at(2026, 11, 2, 9, 30))
    done = make_item(
        ItemStatus.CLOSED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, deadline=D(2026, 11, 30)
    )
    live = make_item(
        ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler, deadline=D(2026, 11, 30)
    )
    now = at(2026, 11, 25, 9, 1)
    assert reminders_claim_due(now=now) == [live.pk]
    assert reminders_claim_due(now=now) == []  # leased
    assert Item.objects.get(pk=live.pk).next_reminder_at > now
    assert Notification.objects.filter(item=done).exclude(kind="handoff").count() == 0  # hand-offs are not reminders


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_yield_exactly_the_expected_reminders(world, clock):
    """Two sweeps (two beat schedulers) at the same moment, each processing what it claimed, then
    both again: every (item, step, recipient) exactly once."""
    clock(at(2026, 11, 2, 9, 30))
    items = [
        make_item(
            ItemStatus.IN_PROGRESS,
            office=world.office,
            lead_unit=world.edu,
            supporting_units=[world.env],
            owner=world.edu_handler,
            deadline=D(2026, 11, 25),
            title=f"事项{n}",
        )
        for n in range(12)
    ]
    # Due Wed 11-25; on Mon 11-30 10:00 the item is 3 working days overdue (26, 27, 30).
    now = at(2026, 11, 30, 10, 0)
    clock(now)
    Item.objects.filter(pk__in=[i.pk for i in items]).update(next_reminder_at=now - datetime.timedelta(minutes=1))
    claimed: list[list[int]] = []
    barrier = threading.Barrier(2)

    def sweep():
        try:
            barrier.wait()
            for _ in range(2):
                ids = reminders_claim_due(now=now, limit=5)
                claimed.append(ids)
                for item_id in ids:
                    reminders_process_item(item_id=item_id, now=now)
            # A repeat of everything (a redelivered task) must add nothing.
            for item in items:
                reminders_process_item(item_id=item.pk, now=now)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [i for ids in claimed for i in ids]
    assert len(flat) == len(set(flat)) == 12  # every item claimed, none by both sweeps
    expected = {world.edu_handler.pk, world.edu_head.pk, world.office.pk, world.office_low.pk}
    for item in items:
        keys = list(Notification.objects.filter(item=item).exclude(kind="handoff").values_list("recipient_id", "dedup_key"))
        assert len(keys) == len(set(keys))
        assert {u for u, k in keys} == expected, item.code  # only the +3 step, the newest due one
        assert {k for u, k in keys} == {f"deadline:item-{item.pk}:due-2026-11-25:step-3"}


@pytest.mark.django_db
def test_a_due_step_moved_into_the_past_is_not_missed(world, clock):
    """Reopened after a failed return visit at 10:00 with a rectification deadline of tomorrow:
    the "1 working day before" step (today 09:00) already lies in the past but was never sent."""
    clock(at(2026, 11, 2, 9, 30))
    item = make_item(
        ItemStatus.CLOSED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, deadline=D(2026, 11, 30)
    )
    now = at(2026, 11, 24, 10, 0)  # Tuesday
    clock(now)
    services.return_visit_create(
        actor=world.office, item=item, result="failed", findings="问题反弹", new_deadline=D(2026, 11, 25)
    )
    item.refresh_from_db()
    assert item.next_reminder_at == now
    assert reminders_claim_due(now=now) == [item.pk]
    reminders_process_item(item_id=item.pk, now=now)
    assert recipients(item, "due-2026-11-25:step--1") == {"edu_handler"}
    assert Item.objects.get(pk=item.pk).next_reminder_at == at(2026, 11, 25, 9, 0)  # the due-day step next
