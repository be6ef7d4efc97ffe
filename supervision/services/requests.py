"""A unit's requests: extension (延期), completion (办结), suspension and cancellation, signed
inside the unit first (rule 14; supervision/services/signoff.py), then decided by the office; and
the end of a suspension."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.choices import (
    OPEN_REQUEST_STATUSES,
    OPEN_STATUSES,
    DeadlineSource,
    ItemStatus,
    RequestKind,
    RequestStatus,
)
from supervision.errors import InvalidInput, NotPermitted, TransitionNotAllowed
from supervision.models import (
    Item,
    ItemRequest,
)
from supervision.services import handoffs
from supervision.services.attachments import link_attachments
from supervision.services.deadlines import deadline_in_force
from supervision.services.guards import (
    bump,
    check_version,
    is_unit_approver,
    lock_item,
    require_lead_unit_user,
    require_office,
    require_text,
    status_conflict,
)
from supervision.services.items import reschedule
from supervision.services.links import linked_follow, refuse_if_linked


@transaction.atomic
def item_request_create(
    *,
    actor: User,
    item: Item,
    kind: str,
    reason: str,
    requested_deadline: datetime.date | None = None,
    outcome: str = "",
    attachment_ids: Sequence[int] = (),
    expected_version: int | None = None,
) -> ItemRequest:
    """A unit asks the office to extend, close, suspend or cancel an item.

    A unit's request goes first to the unit's approver (its head, or a deputy named in the admin)
    to sign (awaiting_endorsement); a requester who is that approver signs in the same step
    (self_endorsed, and a second audit event says so). The office's own requests need no signature."""
    item = lock_item(item, actor)
    check_version(item, expected_version)
    refuse_if_linked(item, actor)
    if kind not in RequestKind.values:
        raise InvalidInput(fields={"kind": [_("申请类型无效。")]})
    reason = require_text(reason, "reason", _("请填写申请理由。"))
    from_status = item.status
    if kind in (RequestKind.EXTENSION, RequestKind.COMPLETION):
        assignment = require_lead_unit_user(actor, item)
        if assignment.acknowledged_at is None:
            raise TransitionNotAllowed(_("请先签收事项。"), code="not_acknowledged")
    elif not actor.is_office:
        require_lead_unit_user(actor, item)

    if kind == RequestKind.EXTENSION:
        if item.status not in (ItemStatus.ASSIGNED, ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS):
            raise status_conflict(item, _("申请延期"))
        if item.deadline is None:
            raise TransitionNotAllowed(_("该事项没有办理时限，无需延期。"), code="no_deadline")
        if requested_deadline is None:
            raise InvalidInput(fields={"requested_deadline": [_("请填写申请延至的日期。")]})
        if requested_deadline <= item.deadline:
            raise InvalidInput(
                fields={"requested_deadline": [_("申请延至的日期须晚于当前办理时限（%(d)s）。") % {"d": item.deadline}]}
            )
    elif kind == RequestKind.COMPLETION:
        if item.status not in (ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS):
            raise status_conflict(item, _("申请办结"))
        outcome = require_text(outcome, "outcome", _("请说明办理成效（重实绩，不以留痕代替落实）。"))
        if not attachment_ids:
            raise InvalidInput(fields={"attachment_ids": [_("申请办结须附上办理成效的佐证材料。")]})
    elif kind == RequestKind.SUSPENSION:
        if item.status not in OPEN_STATUSES:
            raise status_conflict(item, _("申请暂停"))
    elif kind == RequestKind.CANCELLATION:
        if item.status not in (*OPEN_STATUSES, ItemStatus.SUSPENDED):
            raise status_conflict(item, _("申请撤销"))

    if ItemRequest.objects.filter(item=item, kind=kind, status__in=OPEN_REQUEST_STATUSES).exists():
        raise TransitionNotAllowed(_("该事项已有待审批的同类申请。"), code="request_pending")
    now = timezone.now()
    by_unit = actor.is_unit_user and not actor.is_office
    self_endorsed = by_unit and is_unit_approver(actor, actor.unit_id)
    request = ItemRequest(
        item=item,
        kind=kind,
        reason=reason,
        requested_deadline=requested_deadline if kind == RequestKind.EXTENSION else None,
        outcome=outcome or "",
        requested_by=actor,
        requested_at=now,
        unit_id=actor.unit_id if by_unit else None,
        needs_endorsement=by_unit,
        status=RequestStatus.AWAITING_ENDORSEMENT if by_unit and not self_endorsed else RequestStatus.PENDING,
        endorsed_by=actor if self_endorsed else None,
        endorsed_at=now if self_endorsed else None,
        self_endorsed=self_endorsed,
    )
    request.full_clean()
    request.save()
    link_attachments(actor, attachment_ids, "attachment_ids", request=request)
    if kind == RequestKind.COMPLETION:
        item.status = ItemStatus.PENDING_REVIEW
    bump(item)
    item.save()
    audit_record(
        actor=actor,
        action=f"{kind}_requested",
        obj=request,
        item=item,
        from_status=from_status,
        to_status=item.status,
        comment=reason,
        data={"requested_deadline": request.requested_deadline},
    )
    if self_endorsed:
        # 签字就是责任: the signature is its own event even when requester and signer are one person.
        audit_record(
            actor=actor,
            action=f"{kind}_endorsed",
            obj=request,
            item=item,
            data={"request_id": request.pk, "self_endorsed": True, "request_status": [request.status, request.status]},
        )
    if request.status == RequestStatus.AWAITING_ENDORSEMENT:
        handoffs.request_awaiting_endorsement(request=request)
    else:
        handoffs.request_awaiting_office(request=request)
    linked_follow(actor=actor, lead=item, action=f"{kind}_requested", record=request, data={"request_id": request.pk})
    return request


@transaction.atomic
def item_request_decide(
    *,
    actor: User,
    request: ItemRequest,
    approve: bool,
    comment: str = "",
    expected_version: int | None = None,
) -> ItemRequest:
    """The office approves or sends back a request. Approving an extension moves the deadline and
    keeps the original; approving completion closes the item (销号); sending back reopens it."""
    require_office(actor)
    item = lock_item(request.item, actor)
    check_version(item, expected_version)
    request = ItemRequest.objects.select_for_update().get(pk=request.pk)
    if request.status == RequestStatus.AWAITING_ENDORSEMENT:
        raise TransitionNotAllowed(_("该申请尚待单位负责人签字，签字后督查室才能审批。"), code="request_not_endorsed")
    if request.status != RequestStatus.PENDING:
        raise TransitionNotAllowed(
            _("该申请已处理（%(status)s），不能重复审批。") % {"status": request.get_status_display()}, code="request_decided"
        )
    if not approve:
        comment = require_text(comment, "comment", _("退回申请须说明理由。"))
    from_status = item.status
    data: dict = {"request_id": request.pk, "approved": approve}
    if approve:
        if request.kind == RequestKind.EXTENSION:
            if item.status not in (
                ItemStatus.ASSIGNED,
                ItemStatus.ACKNOWLEDGED,
                ItemStatus.IN_PROGRESS,
                ItemStatus.PENDING_REVIEW,
            ):
                raise status_conflict(item, _("批准延期"))
            request.previous_deadline = item.deadline
            item.deadline = request.requested_deadline
            item.deadline_time = None  # an extended item is due by the end of the new day
            item.extension_count += 1
            item.listed_for_supervision_at = None  # a new deadline starts a new reminder episode
            reschedule(item)
            data.update(previous_deadline=request.previous_deadline, new_deadline=item.deadline)
        elif request.kind == RequestKind.COMPLETION:
            item.status = ItemStatus.CLOSED
            item.closed_at = timezone.now()
            item.progress = 100
        elif request.kind == RequestKind.SUSPENSION:
            # The pending completion request is withdrawn below, so an item under review
            # resumes as work in progress rather than waiting on a review that no longer exists.
            item.status_before_suspension = ItemStatus.IN_PROGRESS if item.status == ItemStatus.PENDING_REVIEW else item.status
            item.status = ItemStatus.SUSPENDED
        elif request.kind == RequestKind.CANCELLATION:
            item.status = ItemStatus.CANCELLED
        if request.kind in (RequestKind.SUSPENSION, RequestKind.CANCELLATION, RequestKind.COMPLETION):
            # The item no longer waits on other open requests.
            withdrawn = item.requests.filter(status__in=OPEN_REQUEST_STATUSES).exclude(pk=request.pk)
            data["withdrawn_request_ids"] = list(withdrawn.values_list("pk", flat=True))
            withdrawn.update(status=RequestStatus.WITHDRAWN, decided_by=actor, decided_at=timezone.now())
    elif request.kind == RequestKind.COMPLETION:
        item.status = ItemStatus.IN_PROGRESS  # sent back: the unit keeps working
    request.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_comment = comment or ""
    request.save()
    bump(item)
    item.save()
    if approve and request.kind == RequestKind.EXTENSION:
        deadline_in_force(item=item, at=request.decided_at, source=DeadlineSource.EXTENSION, request=request)
    audit_record(
        actor=actor,
        action=f"{request.kind}_{'approved' if approve else 'rejected'}",
        obj=request,
        item=item,
        from_status=from_status,
        to_status=item.status,
        comment=comment,
        data=data,
    )
    handoffs.request_decided(request=request, actor=actor)
    linked_follow(
        actor=actor,
        lead=item,
        action=f"{request.kind}_{'approved' if approve else 'rejected'}",
        record=request,
        data={"request_id": request.pk},
    )
    return request


@transaction.atomic
def item_request_withdraw(*, actor: User, request: ItemRequest) -> ItemRequest:
    """The requester takes back a pending request."""
    item = lock_item(request.item, actor)
    request = ItemRequest.objects.select_for_update().get(pk=request.pk)
    if request.requested_by_id != actor.pk:
        raise NotPermitted(_("只能撤回本人提交的申请。"), code="not_requester")
    if request.status not in OPEN_REQUEST_STATUSES:
        raise TransitionNotAllowed(_("该申请已处理，不能撤回。"), code="request_decided")
    from_status = item.status
    request.status = RequestStatus.WITHDRAWN
    request.save(update_fields=["status"])
    if request.kind == RequestKind.COMPLETION and item.status == ItemStatus.PENDING_REVIEW:
        item.status = ItemStatus.IN_PROGRESS
    bump(item)
    item.save()
    audit_record(
        actor=actor, action=f"{request.kind}_withdrawn", obj=request, item=item, from_status=from_status, to_status=item.status
    )
    return request


@transaction.atomic
def item_resume(*, actor: User, item: Item, comment: str, expected_version: int | None = None) -> Item:
    """The office ends a suspension; the item returns to where it was."""
    require_office(actor)
    item = lock_item(item, actor)
    check_version(item, expected_version)
    if item.status != ItemStatus.SUSPENDED:
        raise status_conflict(item, _("恢复办理"))
    comment = require_text(comment, "comment", _("请说明恢复办理的理由。"))
    from_status = item.status
    item.status = item.status_before_suspension or ItemStatus.IN_PROGRESS
    item.status_before_suspension = ""
    reschedule(item)
    bump(item)
    item.save()
    audit_record(
        actor=actor, action="item_resumed", obj=item, item=item, from_status=from_status, to_status=item.status, comment=comment
    )
    return item
