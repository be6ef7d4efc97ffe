"""Sign-off at every level (rule 14, 签字就是责任): a unit's requests and overdue explanations are
signed by the unit's approver (head or named deputy) before the office sees them; the office's
own level makes a 督查员's items wait for the 督查室主任. Order, refusals (403 / 404 / 409), who
and when, and the stage durations the figures count."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.choices import Role
from supervision import selectors, services
from supervision.choices import ExplanationStatus, ItemStatus, ReasonKind, RequestKind, RequestStatus
from supervision.errors import InvalidInput, NotPermitted, NotVisible, TransitionNotAllowed
from supervision.models import AuditEvent, Item, ItemRequest, OfficeSettings, OverdueExplanation, UnitApprover
from tests.api_helpers import assert_error, client_for
from tests.factories import (
    UserFactory,
    audit_mark,
    make_item,
    new_events,
    office_director,
    refused,
    upload,
)

pytestmark = pytest.mark.django_db


def item_in(world, state=ItemStatus.IN_PROGRESS, **kw):
    kw.setdefault("supporting_units", [world.env])
    return make_item(state, office=world.office, lead_unit=world.edu, owner=world.edu_handler, **kw)


def ask_extension(world, item, actor=None) -> ItemRequest:
    return services.item_request_create(
        actor=actor or world.edu_handler,
        item=item,
        kind=RequestKind.EXTENSION,
        reason="汛期施工受阻",
        requested_deadline=item.deadline + datetime.timedelta(days=15),
    )


# --- a unit's requests ---------------------------------------------------------------------------


def test_request_goes_to_the_unit_head_first_and_only_then_to_the_office(world):
    item = item_in(world)
    request = ask_extension(world, item)
    assert request.status == RequestStatus.AWAITING_ENDORSEMENT

    office = client_for(world.office)
    queue = office.get("/api/v1/requests/", {"status": "awaiting_endorsement"}).json()
    assert queue["count"] == 0  # the office does not see what the unit has not signed
    assert office.get("/api/v1/requests/").json()["count"] == 0
    # Deciding it anyway: 409 with a Chinese message, nothing written.
    body = assert_error(
        office.post(f"/api/v1/requests/{request.pk}/decide/", {"approve": True}, format="json"), 409, code="request_not_endorsed"
    )
    assert "单位负责人签字" in body["detail"]

    # The handler sees it but may not sign (403); the head of a supporting unit does not see it (404).
    assert_error(client_for(world.edu_handler).post(f"/api/v1/requests/{request.pk}/endorse/", {}, format="json"), 403)
    assert_error(client_for(world.env_head).post(f"/api/v1/requests/{request.pk}/endorse/", {}, format="json"), 404)
    assert client_for(world.env_head).get(f"/api/v1/requests/{request.pk}/").status_code == 404
    assert client_for(world.edu_handler).get(f"/api/v1/requests/{request.pk}/").status_code == 200

    mark = audit_mark()
    r = client_for(world.edu_head).post(f"/api/v1/requests/{request.pk}/endorse/", {"comment": "情况属实"}, format="json")
    assert r.status_code == 200, r.json()
    assert (r.json()["status"], r.json()["status_label"]) == ("pending", "待督查室审批")
    assert r.json()["endorsed_by"]["id"] == world.edu_head.pk and r.json()["endorsed_at"]
    (event,) = new_events(mark)
    assert (event.action, event.actor_id, event.comment) == ("extension_endorsed", world.edu_head.pk, "情况属实")
    assert event.data["self_endorsed"] is False

    # Signed once only; now the office sees and decides it.
    assert_error(client_for(world.edu_head).post(f"/api/v1/requests/{request.pk}/endorse/", {}, format="json"), 409)
    assert [row["id"] for row in office.get("/api/v1/requests/", {"status": "pending"}).json()["results"]] == [request.pk]
    assert office.post(f"/api/v1/requests/{request.pk}/decide/", {"approve": True}, format="json").status_code == 200
    request.refresh_from_db()
    assert request.requested_at <= request.endorsed_at <= request.decided_at


def test_the_head_returns_a_request_with_a_reason(world):
    item = item_in(world)
    evidence = upload(world.edu_handler)
    request = services.item_request_create(
        actor=world.edu_handler,
        item=item,
        kind=RequestKind.COMPLETION,
        reason="已办结",
        outcome="整改完成",
        attachment_ids=[evidence.pk],
    )
    assert Item.objects.get(pk=item.pk).status == ItemStatus.PENDING_REVIEW
    with refused(InvalidInput, item=item, fields=["reason"]):
        services.item_request_return(actor=world.edu_head, request=request, reason="  ")
    with refused(NotPermitted, item=item, code="unit_approver_only"):
        services.item_request_return(actor=world.edu_handler, request=request, reason="自己退回")
    with refused(NotVisible, item=item):
        services.item_request_return(actor=world.env_head, request=request, reason="越权")

    mark = audit_mark()
    services.item_request_return(actor=world.edu_head, request=request, reason="佐证材料不足，请补充现场照片")
    request.refresh_from_db()
    assert (request.status, request.endorsed_at, request.endorsement_comment) == (
        RequestStatus.RETURNED,
        None,
        "佐证材料不足，请补充现场照片",
    )
    assert request.returned_at is not None
    assert Item.objects.get(pk=item.pk).status == ItemStatus.IN_PROGRESS  # the unit keeps working
    (event,) = new_events(mark)
    assert (event.action, event.actor_id, event.from_status, event.to_status) == (
        "completion_returned_by_unit",
        world.edu_head.pk,
        "pending_review",
        "in_progress",
    )
    # It never reached the office, and a returned request cannot be decided.
    assert client_for(world.office).get("/api/v1/requests/").json()["count"] == 0
    with refused(TransitionNotAllowed, code="request_decided"):
        services.item_request_decide(actor=world.office, request=request, approve=True)


def test_the_head_signs_their_own_request_in_the_same_step(world):
    item = item_in(world)
    mark = audit_mark()
    request = ask_extension(world, item, actor=world.edu_head)
    assert request.status == RequestStatus.PENDING and request.self_endorsed
    assert request.endorsed_by == world.edu_head and request.endorsed_at == request.requested_at
    asked, signed = new_events(mark)
    assert (asked.action, signed.action) == ("extension_requested", "extension_endorsed")
    assert signed.data["self_endorsed"] is True


def test_a_named_deputy_signs_for_the_unit(world):
    item = item_in(world)
    deputy = UserFactory(username="edu_deputy", unit=world.edu, roles=[Role.UNIT_HANDLER])
    request = ask_extension(world, item)
    with refused(NotPermitted, item=item, code="unit_approver_only"):
        services.item_request_endorse(actor=deputy, request=request)
    UnitApprover.objects.create(unit=world.edu, user=deputy, note="分管副局长")
    services.item_request_endorse(actor=deputy, request=request)
    assert ItemRequest.objects.get(pk=request.pk).endorsed_by == deputy
    # A deputy signs only for their own unit.
    with pytest.raises(ValidationError):
        UnitApprover(unit=world.env, user=deputy).full_clean()


def test_office_requests_need_no_signature(world):
    item = item_in(world)
    request = services.item_request_create(actor=world.office, item=item, kind=RequestKind.SUSPENSION, reason="政策调整")
    assert request.status == RequestStatus.PENDING and not request.needs_endorsement and request.unit is None


# --- overdue explanations ------------------------------------------------------------------------


def owed(world) -> OverdueExplanation:
    item = item_in(world)
    past = timezone.localdate() - datetime.timedelta(days=5)
    Item.objects.filter(pk=item.pk).update(deadline=past, original_deadline=past)
    services.overdue_explanations_open(item=Item.objects.get(pk=item.pk))
    return OverdueExplanation.objects.get(item=item, unit=world.edu)


def test_explanation_is_signed_before_the_office_rules(world):
    row = owed(world)
    row = services.overdue_explanation_submit(actor=world.edu_handler, explanation=row, reason_kind="objective", text="台风")
    assert row.status == ExplanationStatus.AWAITING_ENDORSEMENT
    with refused(TransitionNotAllowed, code="explanation_not_endorsed"):
        services.overdue_explanation_rule(actor=world.office, explanation=row, ruling="exemption")
    url = f"/api/v1/explanations/{row.pk}/"
    assert_error(client_for(world.edu_handler).post(url + "endorse/", {}, format="json"), 403, code="unit_approver_only")
    assert_error(client_for(world.env_head).post(url + "endorse/", {}, format="json"), 404)

    # Sent back: owed again, rewritten, signed, then ruled.
    r = client_for(world.edu_head).post(url + "send-back/", {"reason": "原因写得不具体"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "awaiting"
    assert_error(client_for(world.edu_head).post(url + "send-back/", {"reason": "再退"}, format="json"), 409)
    row = services.overdue_explanation_submit(
        actor=world.edu_handler, explanation=row, reason_kind="objective", text="受台风影响，施工中断 12 天"
    )
    r = client_for(world.edu_head).post(url + "endorse/", {}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "submitted" and r.json()["endorsed_by"]["id"] == world.edu_head.pk
    row = services.overdue_explanation_rule(actor=world.office, explanation=row, ruling="exemption", comment="确属客观原因")
    actions = list(AuditEvent.objects.filter(object_type="overdueexplanation", object_id=row.pk).values_list("action", flat=True))
    assert actions == [
        "overdue_explanation_opened",
        "overdue_explanation_submitted",
        "overdue_explanation_returned_by_unit",
        "overdue_explanation_submitted",
        "overdue_explanation_endorsed",
        "overdue_explanation_exemption",
    ]


def test_head_files_and_signs_an_explanation_at_once(world):
    row = owed(world)
    row = services.overdue_explanation_submit(
        actor=world.edu_head, explanation=row, reason_kind=ReasonKind.SUBJECTIVE, text="重视不够"
    )
    assert row.status == ExplanationStatus.SUBMITTED and row.self_endorsed and row.endorsed_by == world.edu_head


# --- stage durations -----------------------------------------------------------------------------


def test_stage_durations_are_medians_per_unit(world):
    item = item_in(world)
    hours = [(2, 5), (4, 9), (30, 1)]  # (filed → signed, signed → decided)
    now = timezone.now()
    for signed_after, decided_after in hours:
        request = ask_extension(world, item)
        services.item_request_endorse(actor=world.edu_head, request=request)
        services.item_request_decide(
            actor=world.office, request=ItemRequest.objects.get(pk=request.pk), approve=False, comment="否"
        )
        ItemRequest.objects.filter(pk=request.pk).update(
            requested_at=now - datetime.timedelta(hours=signed_after),
            endorsed_at=now,
            decided_at=now + datetime.timedelta(hours=decided_after),
        )
    (row,) = selectors.signoff_stage_durations(user=world.office)
    assert row["unit_id"] == world.edu.pk
    assert row["request_endorsement"] == {"median_hours": 4.0, "count": 3}
    assert row["request_decision"] == {"median_hours": 5.0, "count": 3}
    assert row["explanation_endorsement"] == {"median_hours": None, "count": 0}
    r = client_for(world.office).get("/api/v1/requests/stage-durations/")
    assert r.status_code == 200 and r.json()[0]["request_decision"]["median_hours"] == 5.0
    # What a user may not see is not counted.
    assert selectors.signoff_stage_durations(user=world.town_handler) == []


# --- the office's own level ----------------------------------------------------------------------


@pytest.fixture
def director_required(world):
    OfficeSettings.objects.update_or_create(pk=1, defaults={"director_approval_required": True})
    return office_director()


def test_staff_item_waits_for_the_director(world, director_required):
    director = director_required
    item = item_in(world, ItemStatus.DRAFT)
    mark = audit_mark()
    services.item_assign(actor=world.office, item=item, comment="拟交办")
    item.refresh_from_db()
    assert item.status == ItemStatus.AWAITING_APPROVAL and item.assigned_at is None
    (event,) = new_events(mark)
    assert (event.action, event.from_status, event.to_status) == ("item_submitted_for_approval", "draft", "awaiting_approval")
    # Not yet in the ledger for anyone outside the office; unchanged while it waits.
    assert client_for(world.leader).get(f"/api/v1/items/{item.pk}/").status_code == 404
    assert client_for(world.edu_handler).get(f"/api/v1/items/{item.pk}/").status_code == 404
    with refused(TransitionNotAllowed, item=item):
        services.item_update(actor=world.office, item=item, title="改名")

    url = f"/api/v1/items/{item.pk}/"
    assert_error(client_for(world.office).post(url + "approve/", {}, format="json"), 403, code="office_director_only")
    mark = audit_mark()
    r = client_for(director).post(url + "approve/", {"comment": "同意交办"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "assigned"
    item.refresh_from_db()
    assert item.approved_by == director and item.approved_at is not None and item.assigned_at is not None
    assert [e.action for e in new_events(mark)] == ["item_approved", "item_assigned"]
    assert_error(client_for(director).post(url + "approve/", {}, format="json"), 409)


def test_director_returns_an_item_with_a_reason(world, director_required):
    director = director_required
    item = item_in(world, ItemStatus.DRAFT)
    services.item_assign(actor=world.office, item=item)
    url = f"/api/v1/items/{item.pk}/send-back/"
    assert_error(client_for(director).post(url, {"reason": ""}, format="json"), 400, field="reason")
    r = client_for(director).post(url, {"reason": "办理时限过紧，请与牵头单位商定"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "draft"
    event = AuditEvent.objects.filter(item=item).order_by("-seq").first()
    assert (event.action, event.actor_id, event.comment) == (
        "item_approval_returned",
        director.pk,
        "办理时限过紧，请与牵头单位商定",
    )


def test_the_director_assigns_directly_and_the_setting_off_changes_nothing(world, director_required):
    director = director_required
    item = item_in(world, ItemStatus.DRAFT)
    services.item_assign(actor=director, item=item)
    item.refresh_from_db()
    assert item.status == ItemStatus.ASSIGNED and item.approved_by == director
    OfficeSettings.objects.filter(pk=1).update(director_approval_required=False)
    other = item_in(world, ItemStatus.DRAFT)
    services.item_assign(actor=world.office, item=other)
    assert Item.objects.get(pk=other.pk).status == ItemStatus.ASSIGNED
