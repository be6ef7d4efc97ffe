"""return_visit_create (回访复核) and referral_create (移交纪检、组织部门); plus one full life."""

import datetime

import pytest
from django.utils import timezone

from supervision import services
from supervision.audit import audit_verify
from supervision.choices import ItemStatus, ReferralDepartment, ReturnVisitResult
from supervision.errors import InvalidInput, NotPermitted, StaleVersion, TransitionNotAllowed
from supervision.models import AuditEvent, Referral, ReturnVisit
from tests.factories import advance_item, assert_one_event, audit_mark, make_item, refused

pytestmark = pytest.mark.django_db


def item_in(world, state):
    return make_item(state, office=world.office, lead_unit=world.edu, owner=world.edu_handler, supporting_units=[world.env])


# --- return visits ------------------------------------------------------------------------------


def test_passed_visit_verifies_closed_item(world):
    item = item_in(world, ItemStatus.CLOSED)
    mark = audit_mark()
    visit = services.return_visit_create(
        actor=world.office, item=item, result=ReturnVisitResult.PASSED, findings="实地查看，整改到位"
    )
    item.refresh_from_db()
    assert item.status == ItemStatus.VERIFIED and item.reopen_count == 0 and item.closed_at is not None
    assert (visit.visited_by, visit.visited_on) == (world.office, timezone.localdate())
    event = assert_one_event(
        mark, action="return_visit_passed", actor=world.office, item=item, from_status="closed", to_status="verified"
    )
    assert event.comment == "实地查看，整改到位"


def test_failed_visit_reopens_item(world):
    item = item_in(world, ItemStatus.CLOSED)
    mark = audit_mark()
    services.return_visit_create(
        actor=world.office,
        item=item,
        result=ReturnVisitResult.FAILED,
        findings="问题反弹",
        visited_on=timezone.localdate() - datetime.timedelta(days=1),
    )
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_PROGRESS and item.reopen_count == 1 and item.closed_at is None
    assert_one_event(
        mark, action="return_visit_failed", actor=world.office, item=item, from_status="closed", to_status="in_progress"
    )
    # The reopened item goes round again and can be closed and verified.
    item = advance_item(item, ItemStatus.VERIFIED, office=world.office)
    assert item.reopen_count == 1 and ReturnVisit.objects.filter(item=item).count() == 2


@pytest.mark.parametrize(
    "state", [ItemStatus.ASSIGNED, ItemStatus.IN_PROGRESS, ItemStatus.PENDING_REVIEW, ItemStatus.VERIFIED, ItemStatus.CANCELLED]
)
def test_visit_only_on_closed_items(world, state):
    item = item_in(world, state)
    visits = ReturnVisit.objects.filter(item=item).count()
    with refused(TransitionNotAllowed, item=item):
        services.return_visit_create(actor=world.office, item=item, result=ReturnVisitResult.PASSED, findings="复核")
    assert ReturnVisit.objects.filter(item=item).count() == visits


def test_visit_input_checks(world):
    item = item_in(world, ItemStatus.CLOSED)
    with refused(InvalidInput, item=item, fields=["result"]):
        services.return_visit_create(actor=world.office, item=item, result="so-so", findings="复核")
    with refused(InvalidInput, item=item, fields=["visited_on"]):
        services.return_visit_create(
            actor=world.office,
            item=item,
            result=ReturnVisitResult.PASSED,
            findings="复核",
            visited_on=timezone.localdate() + datetime.timedelta(days=1),
        )
    with refused(InvalidInput, item=item, fields=["findings"]):
        services.return_visit_create(actor=world.office, item=item, result=ReturnVisitResult.PASSED, findings=" ")
    with refused(StaleVersion, item=item):
        services.return_visit_create(
            actor=world.office, item=item, result=ReturnVisitResult.PASSED, findings="x", expected_version=1
        )
    assert not ReturnVisit.objects.exists()


@pytest.mark.parametrize("who", ["edu_head", "leader", "discipline"])
def test_visit_office_only(world, who):
    item = item_in(world, ItemStatus.CLOSED)
    with refused(NotPermitted, item=item, code="office_only"):
        services.return_visit_create(actor=getattr(world, who), item=item, result=ReturnVisitResult.PASSED, findings="复核")


# --- referrals ----------------------------------------------------------------------------------


def test_office_refers_item_to_both_departments(world):
    item = item_in(world, ItemStatus.IN_PROGRESS)
    version = item.version
    mark = audit_mark()
    referral = services.referral_create(actor=world.office, item=item, department=ReferralDepartment.DISCIPLINE, reason="慢作为")
    assert (referral.referred_by, referral.department) == (world.office, ReferralDepartment.DISCIPLINE)
    event = assert_one_event(mark, action="item_referred", actor=world.office, item=item, from_status="", to_status="")
    assert event.data == {"department": "discipline"} and event.comment == "慢作为"
    services.referral_create(actor=world.office, item=item, department=ReferralDepartment.ORGANIZATION, reason="典型推荐")
    assert Referral.objects.filter(item=item).count() == 2
    item.refresh_from_db()
    assert item.version == version and item.status == ItemStatus.IN_PROGRESS  # a referral does not move the item


def test_duplicate_referral_is_409(world):
    item = item_in(world, ItemStatus.CLOSED)
    services.referral_create(actor=world.office, item=item, department=ReferralDepartment.DISCIPLINE, reason="不作为")
    with refused(TransitionNotAllowed, item=item, code="already_referred") as info:
        services.referral_create(actor=world.office, item=item, department=ReferralDepartment.DISCIPLINE, reason="再次移交")
    assert info.value.status_code == 409 and Referral.objects.count() == 1


def test_draft_cannot_be_referred(world):
    item = item_in(world, ItemStatus.DRAFT)
    with refused(TransitionNotAllowed, item=item):
        services.referral_create(actor=world.office, item=item, department=ReferralDepartment.DISCIPLINE, reason="x")


@pytest.mark.parametrize("who", ["edu_head", "leader", "discipline", "organization"])
def test_referral_office_only(world, who):
    item = item_in(world, ItemStatus.IN_PROGRESS)
    with refused(NotPermitted, item=item, code="office_only"):
        services.referral_create(actor=getattr(world, who), item=item, department=ReferralDepartment.DISCIPLINE, reason="x")
    assert not Referral.objects.exists()


def test_referral_input_checks(world):
    item = item_in(world, ItemStatus.IN_PROGRESS)
    with refused(InvalidInput, item=item, fields=["department"]):
        services.referral_create(actor=world.office, item=item, department="police", reason="x")
    with refused(InvalidInput, item=item, fields=["reason"]):
        services.referral_create(actor=world.office, item=item, department=ReferralDepartment.DISCIPLINE, reason="")


# --- one whole life, audit trail in order --------------------------------------------------------


def test_full_life_audit_trail(world):
    mark = audit_mark()
    item = make_item(
        ItemStatus.VERIFIED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, supporting_units=[world.env]
    )
    events = AuditEvent.objects.for_item(item)
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("item_created", "", "draft"),
        ("item_assigned", "draft", "assigned"),
        ("item_acknowledged", "assigned", "assigned"),
        ("item_acknowledged", "assigned", "acknowledged"),
        ("report_filed", "acknowledged", "in_progress"),
        ("completion_requested", "in_progress", "pending_review"),
        ("completion_endorsed", "", ""),  # the unit head signs before the office decides (rule 14)
        ("completion_approved", "pending_review", "closed"),
        ("return_visit_passed", "closed", "verified"),
    ]
    assert [e.actor for e in events] == [
        world.office,
        world.office,
        world.edu_handler,
        world.env_handler,
        world.edu_handler,
        world.edu_handler,
        world.edu_head,
        world.office,
        world.office,
    ]
    # Item version moved once per item transition after creation.
    assert item.version == 1 + len(events) - 1
    assert AuditEvent.objects.filter(seq__gt=mark, item__isnull=True).values_list("action", flat=True).distinct().count() == 2
    assert audit_verify().ok


def test_failed_return_visit_reopens_with_the_lead_units_last_progress(world):
    item = make_item(ItemStatus.CLOSED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    assert item.progress == 100
    services.return_visit_create(actor=world.office, item=item, result=ReturnVisitResult.FAILED, findings="问题反弹")
    item.refresh_from_db()
    # make_item's lead report said 50%; the reopened item is not shown as finished.
    assert item.status == ItemStatus.IN_PROGRESS and item.progress == 50
