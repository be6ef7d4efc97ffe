"""A message at every hand-off (issue 12), through the outbox, exactly once per recipient and
channel even when the step or its task runs twice; nobody below the item's classification is
told; 特急 items are sent as urgent. The recipient rules live in supervision/services/handoffs.py."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.choices import Classification, Role
from supervision import outbox, services
from supervision.choices import ItemStatus, RequestKind, Urgency
from supervision.models import Item, ItemRequest, OverdueExplanation
from supervision.services import handoffs
from tasks.models import Delivery, Notification
from tasks.outbox.notifications import messenger as real_messenger
from tasks.overdue import sweep_overdue_explanations
from tests.factories import UserFactory, make_item

pytestmark = pytest.mark.django_db


def told(key_part: str) -> dict[str, int]:
    """username → how many messages whose key contains `key_part`."""
    counts: dict[str, int] = {}
    for username in Notification.objects.filter(dedup_key__contains=key_part).values_list("recipient__username", flat=True):
        counts[username] = counts.get(username, 0) + 1
    return counts


def deliveries_are_unique() -> None:
    rows = list(Delivery.objects.values_list("notification__recipient_id", "notification__dedup_key", "channel"))
    assert len(rows) == len(set(rows))


def item_in(world, state=ItemStatus.IN_PROGRESS, **kw):
    kw.setdefault("supporting_units", [world.env])
    return make_item(state, office=world.office, lead_unit=world.edu, owner=world.edu_handler, **kw)


def test_assignment_tells_every_responsible_unit_once(world):
    item = item_in(world, ItemStatus.ASSIGNED)
    key = f"handoff:item-{item.pk}:assigned"
    assert told(key) == {"edu_handler": 1, "edu_head": 1, "env_handler": 1, "env_head": 1}
    before = Delivery.objects.count()
    assert handoffs.item_assigned(item=Item.objects.get(pk=item.pk)) == []  # the step retried
    assert Delivery.objects.count() == before
    deliveries_are_unique()


def test_a_request_tells_each_next_hand_once(world):
    item = item_in(world)
    request = services.item_request_create(
        actor=world.edu_handler,
        item=item,
        kind=RequestKind.EXTENSION,
        reason="需协调",
        requested_deadline=item.deadline + datetime.timedelta(days=10),
    )
    assert told(f"request-{request.pk}:awaiting-endorsement") == {"edu_head": 1}
    assert told(f"request-{request.pk}:awaiting-office") == {}
    services.item_request_endorse(actor=world.edu_head, request=request)
    assert told(f"request-{request.pk}:awaiting-office") == {"office": 1, "office_low": 1}
    services.item_request_decide(actor=world.office, request=ItemRequest.objects.get(pk=request.pk), approve=True)
    # The requester and the unit head hear the decision; the supporting unit does not.
    assert told(f"request-{request.pk}:decided") == {"edu_handler": 1, "edu_head": 1}
    request = ItemRequest.objects.select_related("item", "requested_by").get(pk=request.pk)
    for step in (handoffs.request_awaiting_endorsement, handoffs.request_awaiting_office):
        assert step(request=request) == []
    assert handoffs.request_decided(request=request, actor=world.office) == []
    deliveries_are_unique()


def test_a_request_sent_back_by_the_unit_tells_the_requester(world):
    item = item_in(world)
    request = services.item_request_create(
        actor=world.edu_handler,
        item=item,
        kind=RequestKind.EXTENSION,
        reason="需协调",
        requested_deadline=item.deadline + datetime.timedelta(days=10),
    )
    services.item_request_return(actor=world.edu_head, request=request, reason="理由不充分")
    assert told(f"request-{request.pk}:returned") == {"edu_handler": 1}  # not the head who sent it back
    assert told(f"request-{request.pk}:awaiting-office") == {}


def test_return_visits_tell_the_units(world):
    passed = item_in(world, ItemStatus.VERIFIED)
    (visit,) = passed.return_visits.all()
    assert told(f"handoff:return-visit-{visit.pk}") == {"edu_handler": 1, "edu_head": 1, "env_handler": 1, "env_head": 1}
    failed = item_in(world, ItemStatus.CLOSED)
    visit = services.return_visit_create(actor=world.office, item=failed, result="failed", findings="问题反弹")
    assert set(told(f"handoff:return-visit-{visit.pk}")) == {"edu_handler", "edu_head", "env_handler", "env_head"}


def test_explanation_owed_and_ruled_even_when_the_sweep_runs_twice(world):
    item = item_in(world, supporting_units=[])
    past = timezone.localdate() - datetime.timedelta(days=3)
    Item.objects.filter(pk=item.pk).update(deadline=past, original_deadline=past)
    sweep_overdue_explanations()
    sweep_overdue_explanations()
    row = OverdueExplanation.objects.get(item=item)
    assert told(f"explanation:{row.pk}") == {"edu_handler": 1, "edu_head": 1}
    row = services.overdue_explanation_submit(actor=world.edu_handler, explanation=row, reason_kind="subjective", text="拖延")
    assert told(f"explanation-{row.pk}:awaiting-endorsement") == {"edu_head": 1}
    services.overdue_explanation_endorse(actor=world.edu_head, explanation=row)
    assert told(f"explanation-{row.pk}:awaiting-office") == {"office": 1, "office_low": 1}
    services.overdue_explanation_rule(actor=world.office, explanation=row, ruling="accountability", comment="问责")
    assert told(f"explanation-{row.pk}:ruled") == {"edu_handler": 1, "edu_head": 1}
    # Accountability refers the item: 纪检 is told, 组织部门 is not.
    (referral,) = item.referrals.all()
    assert told(f"handoff:referral-{referral.pk}") == {"discipline": 1}
    deliveries_are_unique()


def test_referral_reaches_only_cleared_users_of_the_receiving_department(world):
    low = UserFactory(
        username="org_low", unit=world.organization_unit, roles=[Role.ORGANIZATION], clearance=Classification.PUBLIC
    )
    item = item_in(world, classification=Classification.INTERNAL)
    referral = services.referral_create(actor=world.office, item=item, department="organization", reason="典型推荐")
    assert told(f"handoff:referral-{referral.pk}") == {"organization": 1}
    assert not Notification.objects.filter(recipient=low).exists()  # cleared below the item


def test_notice_tells_the_heads_of_the_named_units(world):
    item = item_in(world)
    notice = services.notice_create(
        actor=world.office,
        kind="criticism",
        title="关于落实不力的通报",
        body="经查……",
        entries=[(item, world.edu, "推进迟缓")],
    )
    services.notice_issue(actor=world.office, notice=notice)
    assert told(f"handoff:notice-{notice.pk}:issued") == {"edu_head": 1}


def test_director_hears_of_items_awaiting_approval_and_staff_of_a_return(world):
    from supervision.models import OfficeSettings
    from tests.factories import office_director

    OfficeSettings.objects.update_or_create(pk=1, defaults={"director_approval_required": True})
    director = office_director()
    item = item_in(world, ItemStatus.DRAFT)
    services.item_assign(actor=world.office, item=item)
    assert told(f"handoff:item-{item.pk}:awaiting-approval") == {director.username: 1}
    services.item_approval_return(actor=director, item=item, reason="时限过紧")
    assert told(f"handoff:item-{item.pk}:approval-returned") == {"office": 1}
    assert told(f"handoff:item-{item.pk}:assigned") == {}


class RecordingMessenger:
    """The real messenger, also remembering what it was asked to send (urgent or not)."""

    def __init__(self):
        self.messages = []

    def send(self, message):
        self.messages.append(message)
        return real_messenger.send(message)

    def sent_keys(self, *, item_id, keys):
        return real_messenger.sent_keys(item_id=item_id, keys=keys)


def test_extra_urgent_items_are_sent_as_urgent(world):
    recording = RecordingMessenger()
    outbox.register_messenger(recording)
    try:
        urgent = item_in(world, ItemStatus.ASSIGNED, urgency=Urgency.EXTRA_URGENT)
        normal = item_in(world, ItemStatus.ASSIGNED)
    finally:
        outbox.register_messenger(real_messenger)
    flags = {m.dedup_key: m.urgent for m in recording.messages if m.kind == "handoff"}
    assert flags[f"handoff:item-{urgent.pk}:assigned"] is True
    assert flags[f"handoff:item-{normal.pk}:assigned"] is False
