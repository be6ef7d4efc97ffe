"""After closure and beyond the unit: return visits (回访复核, 纠正问题不反弹) and referrals to the
discipline and organization departments (移交, DOMAIN.md rules 8 and 10)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.choices import (
    ItemStatus,
    ReferralDepartment,
    ReturnVisitResult,
)
from supervision.errors import InvalidInput, TransitionNotAllowed
from supervision.models import (
    Item,
    Referral,
    ReturnVisit,
)
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
    return visit


@transaction.atomic
def referral_create(*, actor: User, item: Item, department: str, reason: str) -> Referral:
    """移交: the office refers an item to the discipline or organization department (rule 8)."""
    require_office(actor)
    item = lock_item(item, actor)
    if item.status == ItemStatus.DRAFT:
        raise status_conflict(item, _("移交"))
    if department not in ReferralDepartment.values:
        raise InvalidInput(fields={"department": [_("移交部门无效。")]})
    reason = require_text(reason, "reason", _("请填写移交理由。"))
    if Referral.objects.filter(item=item, department=department).exists():
        raise TransitionNotAllowed(_("该事项已移交该部门。"), code="already_referred")
    referral = Referral.objects.create(item=item, department=department, reason=reason, referred_by=actor)
    audit_record(actor=actor, action="item_referred", obj=referral, item=item, comment=reason, data={"department": department})
    return referral
