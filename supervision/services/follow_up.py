"""After closure and beyond the unit: return visits (回访复核, 纠正问题不反弹) and referrals to the
discipline and organization departments (移交, DOMAIN.md rules 8 and 10), which accept them (受理)
and record what came of them (处理结果)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.choices import (
    ACCOUNTABILITY_OUTCOMES,
    BEFORE_ASSIGNMENT_STATUSES,
    DeadlineSource,
    ItemStatus,
    ReferralDepartment,
    ReferralOutcome,
    ReturnVisitResult,
)
from supervision.errors import InvalidInput, NotPermitted, NotVisible, TransitionNotAllowed
from supervision.models import (
    Item,
    Referral,
    ReturnVisit,
)
from supervision.querysets import REFERRAL_VIEWER_ROLES
from supervision.services import handoffs
from supervision.services.attachments import claim_attachments
from supervision.services.deadlines import deadline_in_force
from supervision.services.guards import bump, check_version, lock_item, require_office, require_text, status_conflict
from supervision.services.items import reschedule


@transaction.atomic
def return_visit_create(
    *,
    actor: User,
    item: Item,
    result: str,
    findings: str,
    visited_on: datetime.date | None = None,
    new_deadline: datetime.date | None = None,
    expected_version: int | None = None,
) -> ReturnVisit:
    """The office re-checks a closed item. Passing confirms it; failing reopens it (纠正问题不反弹)."""
    require_office(actor)
    item = lock_item(item, actor)
    check_version(item, expected_version)
    if item.status != ItemStatus.CLOSED:
        raise status_conflict(item, _("回访复核"))
    if result not in ReturnVisitResult.values:
        raise InvalidInput(fields={"result": [_("复核结果无效。")]})
    visited_on = visited_on or timezone.localdate()
    if visited_on > timezone.localdate():
        raise InvalidInput(fields={"visited_on": [_("复核日期不能晚于今天。")]})
    if new_deadline is not None:
        if result != ReturnVisitResult.FAILED:
            raise InvalidInput(fields={"new_deadline": [_("只有复核未通过、重新办理的事项才需要新的整改时限。")]})
        if new_deadline < timezone.localdate():
            raise InvalidInput(fields={"new_deadline": [_("整改时限不能早于今天。")]})
    visit = ReturnVisit(
        item=item,
        result=result,
        findings=require_text(findings, "findings", _("请填写复核情况。")),
        visited_on=visited_on,
        visited_by=actor,
        reopened_closure_at=item.closed_at if result == ReturnVisitResult.FAILED else None,
    )
    visit.full_clean()
    visit.save()
    from_status = item.status
    if result == ReturnVisitResult.PASSED:
        item.status = ItemStatus.VERIFIED
    else:
        item.status = ItemStatus.IN_PROGRESS
        item.reopen_count += 1
        item.closed_at = None
        if new_deadline is not None:
            # A fresh limit for the rectification; the original deadline stays for statistics.
            item.deadline, item.deadline_time = new_deadline, None
            item.listed_for_supervision_at = None
        reschedule(item)
        # Closing set 100%; a reopened item is not done, so fall back to the lead unit's last figure.
        item.progress = (
            item.reports.filter(unit_id=item.lead_unit_id, progress__isnull=False)
            .order_by("-submitted_at", "-id")
            .values_list("progress", flat=True)
            .first()
            or 0
        )
    bump(item)
    item.save()
    if new_deadline is not None:
        deadline_in_force(item=item, at=timezone.now(), source=DeadlineSource.RECTIFICATION)
    audit_record(
        actor=actor,
        action=f"return_visit_{result}",
        obj=visit,
        item=item,
        from_status=from_status,
        to_status=item.status,
        comment=findings,
        data={"new_deadline": new_deadline} if new_deadline else None,
    )
    handoffs.return_visit_recorded(visit=visit, actor=actor)
    return visit


@transaction.atomic
def referral_create(*, actor: User, item: Item, department: str, reason: str) -> Referral:
    """移交: the office refers an item to the discipline or organization department (rule 8)."""
    require_office(actor)
    item = lock_item(item, actor)
    if item.status in BEFORE_ASSIGNMENT_STATUSES:
        raise status_conflict(item, _("移交"))
    if department not in ReferralDepartment.values:
        raise InvalidInput(fields={"department": [_("移交部门无效。")]})
    reason = require_text(reason, "reason", _("请填写移交理由。"))
    if Referral.objects.filter(item=item, department=department).exists():
        raise TransitionNotAllowed(_("该事项已移交该部门。"), code="already_referred")
    referral = Referral.objects.create(item=item, department=department, reason=reason, referred_by=actor)
    audit_record(actor=actor, action="item_referred", obj=referral, item=item, comment=reason, data={"department": department})
    handoffs.referral_received(referral=referral, actor=actor)
    return referral


# The receiving department's side of a referral (issue 12): 受理, then the outcome.
DEPARTMENT_ROLES = {department: role for role, department in REFERRAL_VIEWER_ROLES.items()}


def _lock_referral_for_department(actor: User, referral: Referral) -> Referral:
    """The referral under a row lock; only the department it went to may act on it (403), and only
    on an item the actor can see (404)."""
    referral = Referral.objects.select_for_update().filter(pk=referral.pk).first()
    if referral is None or not Item.objects.visible_to(actor).filter(pk=referral.item_id).exists():
        raise NotVisible()
    if not actor.is_active or not actor.has_role(DEPARTMENT_ROLES[referral.department]):
        raise NotPermitted(
            _("只有%(department)s可以受理和登记该移交的处理结果。") % {"department": referral.get_department_display()},
            code="receiving_department_only",
        )
    return referral


@transaction.atomic
def referral_acknowledge(*, actor: User, referral: Referral, comment: str = "") -> Referral:
    """受理: the receiving department takes the referral up."""
    referral = _lock_referral_for_department(actor, referral)
    if referral.acknowledged_at is not None:
        raise TransitionNotAllowed(
            _("该移交已于 %(when)s 受理。") % {"when": timezone.localtime(referral.acknowledged_at).strftime("%Y-%m-%d %H:%M")},
            code="referral_already_acknowledged",
        )
    referral.acknowledged_at, referral.acknowledged_by = timezone.now(), actor
    referral.save(update_fields=["acknowledged_at", "acknowledged_by"])
    audit_record(
        actor=actor,
        action="referral_acknowledged",
        obj=referral,
        item=referral.item,
        comment=comment,
        data={"department": referral.department},
    )
    return referral


@transaction.atomic
def referral_outcome_record(
    *, actor: User, referral: Referral, outcome: str, text: str, attachment_id: int | None = None
) -> Referral:
    """处理结果: what the department decided, with its account and (optionally) the decision document.
    Once only; after 受理 only (409 either way)."""
    referral = _lock_referral_for_department(actor, referral)
    if referral.acknowledged_at is None:
        raise TransitionNotAllowed(_("请先受理该移交，再登记处理结果。"), code="referral_not_acknowledged")
    if referral.outcome:
        raise TransitionNotAllowed(
            _("该移交的处理结果已登记（%(outcome)s），不能重复登记。") % {"outcome": referral.get_outcome_display()},
            code="referral_outcome_already_recorded",
        )
    allowed = ACCOUNTABILITY_OUTCOMES if referral.department == ReferralDepartment.DISCIPLINE else ReferralOutcome.values
    if outcome not in allowed:
        raise InvalidInput(
            fields={"outcome": [_("%(department)s的处理结果无效。") % {"department": referral.get_department_display()}]}
        )
    referral.outcome = outcome
    referral.outcome_text = require_text(text, "text", _("请填写处理情况。"))
    if attachment_id is not None:
        (attachment,) = claim_attachments(actor, [attachment_id], "attachment_id")
        referral.outcome_attachment = attachment
    referral.outcome_recorded_at, referral.outcome_recorded_by = timezone.now(), actor
    referral.save()
    audit_record(
        actor=actor,
        action="referral_outcome_recorded",
        obj=referral,
        item=referral.item,
        comment=referral.outcome_text,
        data={"department": referral.department, "outcome": outcome, "attachment_id": attachment_id},
    )
    return referral
