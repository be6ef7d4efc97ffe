"""Requests and their decisions: extension (延期), completion (办结/销号), suspension, cancellation,
withdrawal and resumption. A unit's request is signed by its approver before the office decides
(rule 14; tests/supervision/services/test_signoff.py covers the signature itself): `endorsed(...)`
stands for that signature where a test is about the office's decision."""

import datetime

import pytest

from supervision import services
from supervision.choices import OPEN_REQUEST_STATUSES, InstructionNature, ItemStatus, RequestKind, RequestStatus
from supervision.errors import InvalidInput, NotPermitted, NotVisible, StaleVersion, TransitionNotAllowed
from supervision.models import ItemRequest
from tests.factories import assert_one_event, audit_mark, endorsed, make_instruction, make_item, new_events, refused, upload

pytestmark = pytest.mark.django_db

EXT, DONE, SUSP, CANCEL = RequestKind.EXTENSION, RequestKind.COMPLETION, RequestKind.SUSPENSION, RequestKind.CANCELLATION


def item_in(world, state=ItemStatus.IN_PROGRESS, **kw):
    kw.setdefault("supporting_units", [world.env])
    return make_item(state, office=world.office, lead_unit=world.edu, owner=world.edu_handler, **kw)


def ask(world, item, kind, actor=None, **kw):
    kw.setdefault("reason", "申请理由")
    return services.item_request_create(actor=actor or world.edu_handler, item=item, kind=kind, **kw)


def ask_completion(world, item, actor=None):
    actor = actor or world.edu_handler
    evidence = upload(actor)
    return ask(world, item, DONE, actor=actor, outcome="隐患全部整改", attachment_ids=[evidence.pk])


def later(item, days=15):
    return item.deadline + datetime.timedelta(days=days)


# --- extension --------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [ItemStatus.ASSIGNED, ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS])
def test_lead_unit_requests_extension(world, state):
    item = item_in(world, state)
    if state == ItemStatus.ASSIGNED:
        services.item_acknowledge(actor=world.edu_handler, item=item)
        item.refresh_from_db()
    mark = audit_mark()
    request = ask(world, item, EXT, requested_deadline=later(item), reason="汛期施工受阻")
    refreshed = type(item).objects.get(pk=item.pk)
    # A handler's request waits for the unit head's signature before the office sees it.
    assert request.status == RequestStatus.AWAITING_ENDORSEMENT and refreshed.status == state
    assert (request.unit, request.needs_endorsement, request.endorsed_at) == (world.edu, True, None)
    assert refreshed.version == item.version + 1 and refreshed.deadline == item.deadline
    event = assert_one_event(
        mark, action="extension_requested", actor=world.edu_handler, item=item, from_status=state, to_status=state
    )
    assert event.comment == "汛期施工受阻" and event.data == {"requested_deadline": later(item).isoformat()}


def test_approved_extension_moves_deadline_and_keeps_original(world):
    item = item_in(world)
    original = item.deadline
    request = endorsed(ask(world, item, EXT, requested_deadline=later(item)))
    mark = audit_mark()
    services.item_request_decide(actor=world.office, request=request, approve=True, comment="同意延期")
    item.refresh_from_db()
    request.refresh_from_db()
    assert item.deadline == original + datetime.timedelta(days=15)
    assert item.original_deadline == original and request.previous_deadline == original
    assert item.extension_count == 1 and item.status == ItemStatus.IN_PROGRESS
    assert (request.status, request.decided_by, request.decision_comment) == (RequestStatus.APPROVED, world.office, "同意延期")
    event = assert_one_event(
        mark, action="extension_approved", actor=world.office, item=item, from_status="in_progress", to_status="in_progress"
    )
    assert event.data["previous_deadline"] == original.isoformat() and event.data["new_deadline"] == item.deadline.isoformat()

    # A second extension: the original deadline still shows the first promise.
    second = endorsed(ask(world, item, EXT, requested_deadline=later(item, 10)))
    services.item_request_decide(actor=world.office, request=second, approve=True)
    item.refresh_from_db()
    assert item.extension_count == 2 and item.original_deadline == original


@pytest.mark.parametrize("who", ["env_handler", "office", "town_handler"])
def test_extension_only_by_lead_unit(world, who):
    item = item_in(world)
    # 黄庄乡 has nothing to do with this item, so for it the item does not exist.
    expected = {"error": NotVisible} if who == "town_handler" else {"error": NotPermitted, "code": "lead_unit_only"}
    with refused(expected.pop("error"), item=item, **expected):
        ask(world, item, EXT, actor=getattr(world, who), requested_deadline=later(item))


def test_extension_requires_signature_first(world):
    item = item_in(world, ItemStatus.ASSIGNED)
    with refused(TransitionNotAllowed, item=item, code="not_acknowledged"):
        ask(world, item, EXT, requested_deadline=later(item))


@pytest.mark.parametrize("days", [0, -1])
def test_requested_date_must_be_later(world, days):
    item = item_in(world)
    with refused(InvalidInput, item=item, fields=["requested_deadline"]):
        ask(world, item, EXT, requested_deadline=item.deadline + datetime.timedelta(days=days))
    with refused(InvalidInput, item=item, fields=["requested_deadline"]):
        ask(world, item, EXT, requested_deadline=None)


def test_second_pending_extension_is_409(world):
    item = item_in(world)
    ask(world, item, EXT, requested_deadline=later(item))
    with refused(TransitionNotAllowed, item=item, code="request_pending") as info:
        ask(world, item, EXT, actor=world.edu_head, requested_deadline=later(item, 20))
    assert info.value.status_code == 409
    assert ItemRequest.objects.filter(item=item, kind=EXT).count() == 1


def test_reference_item_without_deadline_needs_no_extension(world):
    reference = make_instruction(office=world.office, nature=InstructionNature.REFERENCE)
    item = item_in(world, instruction=reference)
    assert item.deadline is None
    with refused(TransitionNotAllowed, item=item, code="no_deadline"):
        ask(world, item, EXT, requested_deadline=datetime.date(2099, 1, 1))


def test_extension_refused_when_pending_review(world):
    item = item_in(world, ItemStatus.PENDING_REVIEW)
    with refused(TransitionNotAllowed, item=item):
        ask(world, item, EXT, requested_deadline=later(item))


def test_rejection_needs_a_comment(world):
    item = item_in(world)
    request = endorsed(ask(world, item, EXT, requested_deadline=later(item)))
    with refused(InvalidInput, item=item, fields=["comment"]):
        services.item_request_decide(actor=world.office, request=request, approve=False, comment=" ")
    assert ItemRequest.objects.get(pk=request.pk).status == RequestStatus.PENDING

    mark = audit_mark()
    services.item_request_decide(actor=world.office, request=request, approve=False, comment="理由不充分")
    item_after = type(item).objects.get(pk=item.pk)
    assert ItemRequest.objects.get(pk=request.pk).status == RequestStatus.REJECTED
    assert item_after.deadline == item.deadline and item_after.extension_count == 0
    assert_one_event(
        mark, action="extension_rejected", actor=world.office, item=item, from_status="in_progress", to_status="in_progress"
    )


def test_decided_request_cannot_be_decided_again(world):
    item = item_in(world)
    request = endorsed(ask(world, item, EXT, requested_deadline=later(item)))
    services.item_request_decide(actor=world.office, request=request, approve=True)
    with refused(TransitionNotAllowed, item=item, code="request_decided"):
        services.item_request_decide(actor=world.office, request=request, approve=False, comment="反悔")


@pytest.mark.parametrize("who", ["edu_head", "leader", "env_head"])
def test_only_office_decides(world, who):
    item = item_in(world)
    request = endorsed(ask(world, item, EXT, requested_deadline=later(item)))
    with refused(NotPermitted, item=item):
        services.item_request_decide(actor=getattr(world, who), request=request, approve=True)
    assert ItemRequest.objects.get(pk=request.pk).status == RequestStatus.PENDING


def test_decide_with_stale_version(world):
    item = item_in(world)
    request = ask(world, item, EXT, requested_deadline=later(item))
    with refused(StaleVersion, item=item):
        services.item_request_decide(actor=world.office, request=request, approve=True, expected_version=1)


def test_request_with_stale_version_and_bad_kind(world):
    item = item_in(world)
    with refused(StaleVersion, item=item):
        ask(world, item, EXT, requested_deadline=later(item), expected_version=1)
    with refused(InvalidInput, item=item, fields=["kind"]):
        ask(world, item, "promotion")
    with refused(InvalidInput, item=item, fields=["reason"]):
        ask(world, item, EXT, requested_deadline=later(item), reason="")


# --- completion -------------------------------------------------------------------------------


def test_completion_request_moves_to_pending_review(world):
    item = item_in(world)
    evidence = upload(world.edu_handler)
    mark = audit_mark()
    request = ask(world, item, DONE, outcome="隐患全部整改", attachment_ids=[evidence.pk])
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING_REVIEW
    assert list(request.attachments.all()) == [evidence]
    assert_one_event(
        mark,
        action="completion_requested",
        actor=world.edu_handler,
        item=item,
        from_status="in_progress",
        to_status="pending_review",
    )


def test_completion_from_acknowledged_is_allowed(world):
    item = item_in(world, ItemStatus.ACKNOWLEDGED)
    ask_completion(world, item)
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING_REVIEW


def test_completion_needs_outcome_and_evidence(world):
    item = item_in(world)
    evidence = upload(world.edu_handler)
    with refused(InvalidInput, item=item, fields=["outcome"]):
        ask(world, item, DONE, outcome="  ", attachment_ids=[evidence.pk])
    with refused(InvalidInput, item=item, fields=["attachment_ids"]):
        ask(world, item, DONE, outcome="已完成")
    foreign = upload(world.env_handler)
    with refused(InvalidInput, item=item, fields=["attachment_ids"]):
        ask(world, item, DONE, outcome="已完成", attachment_ids=[foreign.pk])
    assert not ItemRequest.objects.filter(item=item).exists()


@pytest.mark.parametrize("state", [ItemStatus.ASSIGNED, ItemStatus.CLOSED])
def test_completion_refused_in_wrong_state(world, state):
    item = item_in(world, state)
    if state == ItemStatus.ASSIGNED:  # signed, but the item as a whole is not yet acknowledged
        services.item_acknowledge(actor=world.edu_handler, item=item)
    evidence = upload(world.edu_handler)
    with refused(TransitionNotAllowed, item=item):
        ask(world, item, DONE, outcome="已完成", attachment_ids=[evidence.pk])


def test_completion_only_by_lead_unit(world):
    item = item_in(world)
    evidence = upload(world.env_handler)
    with refused(NotPermitted, item=item, code="lead_unit_only"):
        ask(world, item, DONE, actor=world.env_handler, outcome="已完成", attachment_ids=[evidence.pk])


def test_approved_completion_closes_item(world):
    item = item_in(world)
    extension = ask(world, item, EXT, actor=world.edu_head, requested_deadline=later(item))
    assert extension.status == RequestStatus.PENDING and extension.self_endorsed  # the head signs as they ask
    request = endorsed(ask_completion(world, item))
    mark = audit_mark()
    services.item_request_decide(actor=world.office, request=request, approve=True, comment="准予销号")
    item.refresh_from_db()
    assert item.status == ItemStatus.CLOSED and item.closed_at is not None and item.progress == 100
    extension.refresh_from_db()
    assert extension.status == RequestStatus.WITHDRAWN  # the item no longer waits on it
    event = assert_one_event(
        mark, action="completion_approved", actor=world.office, item=item, from_status="pending_review", to_status="closed"
    )
    assert event.data["withdrawn_request_ids"] == [extension.pk]


def test_rejected_completion_returns_to_work(world):
    item = item_in(world)
    request = endorsed(ask_completion(world, item))
    mark = audit_mark()
    services.item_request_decide(actor=world.office, request=request, approve=False, comment="佐证材料不足")
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_PROGRESS and item.closed_at is None
    assert_one_event(
        mark, action="completion_rejected", actor=world.office, item=item, from_status="pending_review", to_status="in_progress"
    )
    # The unit can report again and ask again.
    services.progress_report_create(actor=world.edu_handler, item=item, progress_text="补充材料")
    ask_completion(world, item)


def test_requester_withdraws_completion(world):
    item = item_in(world)
    request = ask_completion(world, item)
    with refused(NotPermitted, item=item, code="not_requester"):
        services.item_request_withdraw(actor=world.edu_head, request=request)
    with refused(NotPermitted, item=item, code="not_requester"):
        services.item_request_withdraw(actor=world.office, request=request)
    mark = audit_mark()
    services.item_request_withdraw(actor=world.edu_handler, request=request)
    item.refresh_from_db()
    request.refresh_from_db()
    assert item.status == ItemStatus.IN_PROGRESS and request.status == RequestStatus.WITHDRAWN
    assert_one_event(
        mark,
        action="completion_withdrawn",
        actor=world.edu_handler,
        item=item,
        from_status="pending_review",
        to_status="in_progress",
    )
    with refused(TransitionNotAllowed, item=item, code="request_decided"):
        services.item_request_withdraw(actor=world.edu_handler, request=request)


def test_withdrawn_extension_leaves_status(world):
    item = item_in(world)
    request = ask(world, item, EXT, requested_deadline=later(item))
    mark = audit_mark()
    services.item_request_withdraw(actor=world.edu_handler, request=request)
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_PROGRESS
    assert_one_event(mark, action="extension_withdrawn", actor=world.edu_handler, item=item)
    ask(world, item, EXT, requested_deadline=later(item))  # a new one may be filed


# --- suspension and resumption ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["edu_handler", "office"])
def test_suspension_requested_by_lead_unit_or_office(world, who):
    item = item_in(world, ItemStatus.ACKNOWLEDGED)
    actor = getattr(world, who)
    mark = audit_mark()
    request = ask(world, item, SUSP, actor=actor, reason="上级政策调整")
    assert_one_event(
        mark, action="suspension_requested", actor=actor, item=item, from_status="acknowledged", to_status="acknowledged"
    )
    request = endorsed(request)  # the unit's request is signed first; the office's own needs no signature
    mark = audit_mark()
    services.item_request_decide(actor=world.office, request=request, approve=True)
    item.refresh_from_db()
    assert item.status == ItemStatus.SUSPENDED and item.status_before_suspension == ItemStatus.ACKNOWLEDGED
    assert_one_event(
        mark, action="suspension_approved", actor=world.office, item=item, from_status="acknowledged", to_status="suspended"
    )


def test_supporting_unit_cannot_request_suspension(world):
    item = item_in(world)
    with refused(NotPermitted, item=item, code="lead_unit_only"):
        ask(world, item, SUSP, actor=world.env_handler)


@pytest.mark.parametrize("state", [ItemStatus.DRAFT, ItemStatus.SUSPENDED, ItemStatus.CLOSED])
def test_suspension_refused_outside_open_states(world, state):
    item = item_in(world, state)
    with refused(TransitionNotAllowed, item=item):
        ask(world, item, SUSP, actor=world.office)


@pytest.mark.parametrize("via", [ItemStatus.ASSIGNED, ItemStatus.IN_PROGRESS])
def test_resume_restores_previous_status(world, via):
    item = item_in(world, ItemStatus.SUSPENDED, via=via)
    with refused(InvalidInput, item=item, fields=["comment"]):
        services.item_resume(actor=world.office, item=item, comment="")
    with refused(NotPermitted, item=item):
        services.item_resume(actor=world.edu_head, item=item, comment="我们要继续")
    mark = audit_mark()
    services.item_resume(actor=world.office, item=item, comment="条件已具备")
    item.refresh_from_db()
    assert item.status == via and item.status_before_suspension == ""
    event = assert_one_event(mark, action="item_resumed", actor=world.office, item=item, from_status="suspended", to_status=via)
    assert event.comment == "条件已具备"


def test_resume_only_suspended(world):
    item = item_in(world)
    with refused(TransitionNotAllowed, item=item):
        services.item_resume(actor=world.office, item=item, comment="恢复")


def test_resume_stale_version(world):
    item = item_in(world, ItemStatus.SUSPENDED)
    with refused(StaleVersion, item=item):
        services.item_resume(actor=world.office, item=item, comment="恢复", expected_version=1)


def test_suspension_during_review_does_not_strand_the_item(world):
    """Approving a suspension withdraws the pending completion request; on resumption the item
    must be workable again, not left in PENDING_REVIEW with nothing to review."""
    item = item_in(world, ItemStatus.PENDING_REVIEW)
    completion = ItemRequest.objects.get(item=item, kind=DONE)
    suspension = ask(world, item, SUSP, actor=world.office)
    services.item_request_decide(actor=world.office, request=suspension, approve=True)
    completion.refresh_from_db()
    assert completion.status == RequestStatus.WITHDRAWN
    services.item_resume(actor=world.office, item=item, comment="恢复办理")
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_PROGRESS
    ask_completion(world, item)  # the unit can ask for closure again
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING_REVIEW


# --- cancellation -------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [ItemStatus.ASSIGNED, ItemStatus.IN_PROGRESS, ItemStatus.PENDING_REVIEW, ItemStatus.SUSPENDED])
def test_cancellation_approved_cancels_and_withdraws_other_requests(world, state):
    item = item_in(world, state)
    extension = None
    if state == ItemStatus.IN_PROGRESS:
        extension = ask(world, item, EXT, requested_deadline=later(item))
    pending_before = list(ItemRequest.objects.filter(item=item, status__in=OPEN_REQUEST_STATUSES).values_list("pk", flat=True))
    request = ask(world, item, CANCEL, actor=world.office, reason="事项已由上级统一部署")
    mark = audit_mark()
    services.item_request_decide(actor=world.office, request=request, approve=True)
    item.refresh_from_db()
    assert item.status == ItemStatus.CANCELLED
    assert not ItemRequest.objects.filter(item=item, status__in=OPEN_REQUEST_STATUSES).exists()
    assert set(ItemRequest.objects.filter(pk__in=pending_before).values_list("status", flat=True)) <= {RequestStatus.WITHDRAWN}
    if extension:
        extension.refresh_from_db()
        assert extension.status == RequestStatus.WITHDRAWN
    event = assert_one_event(
        mark, action="cancellation_approved", actor=world.office, item=item, from_status=state, to_status="cancelled"
    )
    assert sorted(event.data["withdrawn_request_ids"]) == sorted(pending_before)


def test_rejected_cancellation_leaves_item(world):
    item = item_in(world)
    request = ask(world, item, CANCEL, actor=world.edu_head)
    services.item_request_decide(actor=world.office, request=request, approve=False, comment="仍需办理")
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_PROGRESS


@pytest.mark.parametrize("state", [ItemStatus.DRAFT, ItemStatus.CLOSED, ItemStatus.VERIFIED, ItemStatus.CANCELLED])
def test_cancellation_refused_for_finished_or_draft_items(world, state):
    item = item_in(world, state)
    with refused(TransitionNotAllowed, item=item):
        ask(world, item, CANCEL, actor=world.office)


def test_cancelled_item_accepts_nothing_more(world):
    item = item_in(world, ItemStatus.CANCELLED)
    with refused(TransitionNotAllowed, item=item):
        services.progress_report_create(actor=world.edu_handler, item=item, progress_text="继续")
    with refused(TransitionNotAllowed, item=item):
        ask(world, item, EXT, requested_deadline=later(item))


@pytest.mark.parametrize("kind", [SUSP, CANCEL])
@pytest.mark.parametrize("approve", [True, False])
def test_every_request_and_decision_is_audited_once(world, kind, approve):
    item = item_in(world, ItemStatus.ACKNOWLEDGED)
    mark = audit_mark()
    request = ask(world, item, kind, actor=world.edu_head, reason="客观原因")
    # The head is the unit's approver: asking and signing are one step, but two signatures on record.
    asked, signed = new_events(mark)
    assert (asked.action, signed.action) == (f"{kind}_requested", f"{kind}_endorsed")
    assert asked.actor_id == signed.actor_id == world.edu_head.pk and signed.data["self_endorsed"] is True
    assert (asked.from_status, asked.to_status) == ("acknowledged", "acknowledged")
    assert asked.comment == "客观原因" and (asked.object_type, asked.object_id) == ("itemrequest", request.pk)
    mark = audit_mark()
    services.item_request_decide(actor=world.office, request=request, approve=approve, comment="审批意见")
    to_status = {SUSP: "suspended", CANCEL: "cancelled"}[kind] if approve else "acknowledged"
    verdict = "approved" if approve else "rejected"
    assert_one_event(
        mark, action=f"{kind}_{verdict}", actor=world.office, item=item, from_status="acknowledged", to_status=to_status
    )
    item.refresh_from_db()
    assert item.status == to_status
