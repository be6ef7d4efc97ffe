"""Sign-off inside a unit (DOMAIN.md rule 14, 签字就是责任，画圈就要负责).

A unit's extension and completion requests (and its suspension and cancellation requests) and its
overdue explanations go first to the unit's approver — its head, or a deputy named in the admin
(UnitApprover) — who signs (endorse) or sends them back with a reason; only what the unit signed
reaches the office. Each signature is an audit event with who and when, and the record keeps
`endorsed_by` / `endorsed_at` so statistics can time each stage (selectors.signoff_stage_durations).

Refusals: someone who cannot see the record gets 404 (the head of another unit does not see a
unit's requests); a handler who sees it but may not sign gets 403; a record no longer waiting for
a signature gets 409.

The office's own level: where the office requires it, a 督查员's item waits for the 督查室主任
(Role.OFFICE_DIRECTOR) before assignment; `item_approve` assigns it, `item_approval_return`
sends it back to draft with a reason."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.choices import ExplanationStatus, ItemStatus, RequestKind, RequestStatus
from supervision.errors import NotVisible, TransitionNotAllowed
from supervision.models import AuditEvent, Item, ItemRequest, OfficeSettings, OverdueExplanation, UnitApprover
from supervision.querysets import explanations_visible_to, requests_visible_to
from supervision.services import handoffs
from supervision.services.guards import (
    bump,
    check_version,
    lock_item,
    require_office,
    require_office_director,
    require_text,
    require_unit_approver,
    status_conflict,
)
from supervision.services.items import assign_now, assignment_errors


def _lock_for_signature(actor: User, record, *, visible, related: tuple[str, ...], awaiting: str, refusal: str, code: str):
    """Lock the item, then the record (a request or an overdue explanation) the unit's approver signs:
    404 when the actor cannot see it, 403 when they may not sign for its unit, 409 when it no longer
    waits for a signature."""
    item = lock_item(record.item, actor)
    model = type(record)
    if not visible(actor, model.objects.filter(pk=record.pk)).exists():
        raise NotVisible()
    record = model.objects.select_for_update(of=("self",)).select_related("item", *related).get(pk=record.pk)
    require_unit_approver(actor, record.unit_id)
    if record.status != awaiting:
        raise TransitionNotAllowed(refusal % {"status": record.get_status_display()}, code=code)
    return item, record


def _lock_request(actor: User, request: ItemRequest) -> tuple:
    return _lock_for_signature(
        actor,
        request,
        visible=lambda user, qs: requests_visible_to(user, qs, unsigned=True),
        related=("requested_by",),
        awaiting=RequestStatus.AWAITING_ENDORSEMENT,
        refusal=_("该申请当前状态为“%(status)s”，不在待单位签字环节。"),
        code="request_not_awaiting_endorsement",
    )


@transaction.atomic
def item_request_endorse(*, actor: User, request: ItemRequest, comment: str = "") -> ItemRequest:
    """The unit's approver signs a request; it goes on to the office (status pending)."""
    item, request = _lock_request(actor, request)
    request.status = RequestStatus.PENDING
    request.endorsed_by = actor
    request.endorsed_at = timezone.now()
    request.endorsement_comment = (comment or "").strip()
    request.save(update_fields=["status", "endorsed_by", "endorsed_at", "endorsement_comment"])
    bump(item)
    item.save(update_fields=["version", "updated_at"])
    audit_record(
        actor=actor,
        action=f"{request.kind}_endorsed",
        obj=request,
        item=item,
        comment=request.endorsement_comment,
        data={
            "request_id": request.pk,
            "self_endorsed": False,
            "request_status": [RequestStatus.AWAITING_ENDORSEMENT, RequestStatus.PENDING],
        },
    )
    handoffs.request_awaiting_office(request=request)
    return request


@transaction.atomic
def item_request_return(*, actor: User, request: ItemRequest, reason: str) -> ItemRequest:
    """The unit's approver sends a request back to the requester with a reason; it never reaches
    the office. A completion request sent back leaves the item in progress."""
    item, request = _lock_request(actor, request)
    reason = require_text(reason, "reason", _("退回申请须说明理由。"))
    from_status = item.status
    request.status = RequestStatus.RETURNED
    request.returned_at = timezone.now()
    request.endorsement_comment = reason
    request.save(update_fields=["status", "returned_at", "endorsement_comment"])
    if request.kind == RequestKind.COMPLETION and item.status == ItemStatus.PENDING_REVIEW:
        item.status = ItemStatus.IN_PROGRESS
    bump(item)
    item.save()
    audit_record(
        actor=actor,
        action=f"{request.kind}_returned_by_unit",
        obj=request,
        item=item,
        from_status=from_status,
        to_status=item.status,
        comment=reason,
        data={"request_id": request.pk, "request_status": [RequestStatus.AWAITING_ENDORSEMENT, RequestStatus.RETURNED]},
    )
    handoffs.request_returned_by_unit(request=request, actor=actor)
    return request


def _lock_explanation(actor: User, explanation: OverdueExplanation) -> tuple:
    return _lock_for_signature(
        actor,
        explanation,
        visible=explanations_visible_to,
        related=("unit", "submitted_by"),
        awaiting=ExplanationStatus.AWAITING_ENDORSEMENT,
        refusal=_("该超期说明当前状态为“%(status)s”，不在待单位签字环节。"),
        code="explanation_not_awaiting_endorsement",
    )


@transaction.atomic
def overdue_explanation_endorse(*, actor: User, explanation: OverdueExplanation, comment: str = "") -> OverdueExplanation:
    """The unit's approver signs the unit's overdue explanation; it goes on to the office."""
    item, explanation = _lock_explanation(actor, explanation)
    explanation.status = ExplanationStatus.SUBMITTED
    explanation.endorsed_by = actor
    explanation.endorsed_at = timezone.now()
    explanation.endorsement_comment = (comment or "").strip()
    explanation.save(update_fields=["status", "endorsed_by", "endorsed_at", "endorsement_comment"])
    audit_record(
        actor=actor,
        action="overdue_explanation_endorsed",
        obj=explanation,
        item=item,
        comment=explanation.endorsement_comment,
        data={
            "unit_id": explanation.unit_id,
            "self_endorsed": False,
            "explanation_status": [ExplanationStatus.AWAITING_ENDORSEMENT, ExplanationStatus.SUBMITTED],
        },
    )
    handoffs.explanation_awaiting_office(explanation=explanation)
    return explanation


@transaction.atomic
def overdue_explanation_return(*, actor: User, explanation: OverdueExplanation, reason: str) -> OverdueExplanation:
    """The unit's approver sends the explanation back to be rewritten: it is owed again (awaiting),
    keeping the text for the rewrite; the office never saw this version."""
    item, explanation = _lock_explanation(actor, explanation)
    reason = require_text(reason, "reason", _("退回超期说明须说明理由。"))
    explanation.status = ExplanationStatus.AWAITING
    explanation.endorsement_comment = reason
    explanation.save(update_fields=["status", "endorsement_comment"])
    audit_record(
        actor=actor,
        action="overdue_explanation_returned_by_unit",
        obj=explanation,
        item=item,
        comment=reason,
        data={
            "unit_id": explanation.unit_id,
            "explanation_status": [ExplanationStatus.AWAITING_ENDORSEMENT, ExplanationStatus.AWAITING],
        },
    )
    handoffs.explanation_returned_by_unit(explanation=explanation, actor=actor)
    return explanation


# --- the office's own level --------------------------------------------------------------------


def _lock_awaiting_item(actor: User, item: Item, expected_version: int | None, action: str) -> Item:
    require_office_director(actor)
    item = lock_item(item, actor)
    check_version(item, expected_version)
    if item.status != ItemStatus.AWAITING_APPROVAL:
        raise status_conflict(item, action)
    return item


@transaction.atomic
def item_approve(*, actor: User, item: Item, comment: str = "", expected_version: int | None = None) -> Item:
    """The 督查室主任 approves a 督查员's item: it is assigned at once (交办), signed by the director."""
    item = _lock_awaiting_item(actor, item, expected_version, _("审批交办"))
    if item.deadline_workdays is not None:
        item.deadline = None  # "N working days from assignment" counts from today, the approval
    assignment_errors(actor, item)  # a deadline may have passed while the item waited
    item.approved_by, item.approved_at = actor, timezone.now()
    audit_record(
        actor=actor,
        action="item_approved",
        obj=item,
        item=item,
        comment=(comment or "").strip(),
        data={"approved_at": item.approved_at},
    )
    return assign_now(actor=actor, item=item, comment=comment)


@transaction.atomic
def item_approval_return(*, actor: User, item: Item, reason: str, expected_version: int | None = None) -> Item:
    """The 督查室主任 sends a 督查员's item back to draft with a reason; the 督查员 is told."""
    item = _lock_awaiting_item(actor, item, expected_version, _("退回"))
    reason = require_text(reason, "reason", _("退回须说明理由。"))
    item.status = ItemStatus.DRAFT
    bump(item)
    item.save()
    audit_record(
        actor=actor,
        action="item_approval_returned",
        obj=item,
        item=item,
        from_status=ItemStatus.AWAITING_APPROVAL,
        to_status=ItemStatus.DRAFT,
        comment=reason,
    )
    asked = AuditEvent.objects.filter(item=item, action="item_submitted_for_approval").order_by("-seq").first()
    handoffs.item_approval_returned(item=item, actor=actor, submitter=asked.actor if asked else None, reason=reason)
    return item


# --- who signs: changed in the admin, recorded in the audit trail ------------------------------


@transaction.atomic
def office_settings_saved(*, actor: User, settings_row: OfficeSettings) -> None:
    """Record a change of the office's own settings (the admin saved the row)."""
    require_office(actor)
    audit_record(
        actor=actor,
        action="office_settings_changed",
        obj=settings_row,
        data={"director_approval_required": settings_row.director_approval_required},
    )


@transaction.atomic
def unit_approver_changed(*, actor: User, approver: UnitApprover, deleted: bool = False) -> None:
    """Record who may sign for a unit (a deputy named or removed in the admin): a signature
    carries responsibility, so the right to give one is on record too."""
    require_office(actor)
    audit_record(
        actor=actor,
        action="unit_approver_removed" if deleted else "unit_approver_saved",
        obj=approver,
        data={"unit_id": approver.unit_id, "user_id": approver.user_id, "note": approver.note},
    )
