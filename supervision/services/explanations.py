"""Overdue explanations (超期说明) and their rulings (免责 / 问责 → 移交): DOMAIN.md rule 7.

Settings (read at call time, so tests and the admin's environment can change them):
- DUBAN_EXPLANATION_WORKDAYS (default 3): working days a unit has to explain, counted from the
  day the explanation is opened (normally the first overdue day); that day itself does not count.
- DUBAN_ACCOUNTABILITY_ALSO_ORGANIZATION (default False): accountability refers the item to the
  organization department as well as to the discipline department."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.choices import (
    ExplanationStatus,
    ReasonKind,
    ReferralDepartment,
    Ruling,
)
from supervision.errors import InvalidInput, NotPermitted, TransitionNotAllowed
from supervision.models import (
    Attachment,
    ExplanationAttachment,
    Item,
    ItemAssignment,
    OverdueExplanation,
    Referral,
)
from supervision.services import handoffs
from supervision.services.attachments import check_item_quota
from supervision.services.follow_up import referral_create
from supervision.services.guards import is_unit_approver, lock_item, require_office, require_text
from supervision.workcalendar import add_workdays


def explanation_workdays() -> int:
    return int(getattr(settings, "DUBAN_EXPLANATION_WORKDAYS", 3))


def accountability_departments() -> list[str]:
    """Where accountability sends an item unless the office names the departments itself."""
    departments = [ReferralDepartment.DISCIPLINE.value]
    if getattr(settings, "DUBAN_ACCOUNTABILITY_ALSO_ORGANIZATION", False):
        departments.append(ReferralDepartment.ORGANIZATION.value)
    return departments


def _moment(today: datetime.date | None) -> datetime.datetime:
    """`today` given: judge as at the end of that day (what a sweep for that day would find)."""
    if today is None:
        return timezone.now()
    return timezone.make_aware(datetime.datetime.combine(today, datetime.time.max))


@transaction.atomic
def overdue_explanations_open(*, item: Item, today: datetime.date | None = None) -> list[OverdueExplanation]:
    """System action (the overdue sweep): ask each responsible unit of an overdue item to explain.

    One explanation per (item, unit, current deadline); returns only those created now, so a second
    run returns [] and writes nothing. `due_by` is DUBAN_EXPLANATION_WORKDAYS working days after
    the day it is opened, not after the deadline: a unit is never handed a period that ended
    before it was asked (the sweep normally opens it on the first overdue day anyway).
    `today` (tests, back-fills) judges the item as at the end of that day and counts from it."""
    now = _moment(today)
    opened_on = timezone.localdate(now)
    # The row lock serialises two sweeps on the same item; the unique constraint backs it up.
    locked = Item.objects.select_for_update().filter(pk=item.pk).first()
    if locked is None or not Item.objects.filter(pk=item.pk).overdue(now).exists():
        return []
    item = locked
    due_by = add_workdays(opened_on, explanation_workdays())
    created: list[OverdueExplanation] = []
    for assignment in ItemAssignment.objects.filter(item=item).select_related("unit").order_by("role", "id"):
        explanation, is_new = OverdueExplanation.objects.get_or_create(
            item=item,
            unit_id=assignment.unit_id,
            deadline=item.deadline,
            defaults={"due_by": due_by},
        )
        if not is_new:
            continue
        created.append(explanation)
        audit_record(
            actor=None,
            action="overdue_explanation_opened",
            obj=explanation,
            item=item,
            data={"unit_id": assignment.unit_id, "role": assignment.role, "deadline": item.deadline, "due_by": due_by},
        )
    for explanation in created:
        handoffs.explanation_owed(explanation=explanation)
    return created


def _lock_explanation(explanation: OverdueExplanation, actor: User) -> tuple[Item, OverdueExplanation]:
    """Lock item then explanation (always in that order, as every item service does)."""
    item = lock_item(explanation.item, actor)
    explanation = OverdueExplanation.objects.select_for_update().get(pk=explanation.pk)
    return item, explanation


def _link_explanation_attachments(
    actor: User, explanation: OverdueExplanation, attachment_ids: Iterable[int] | None
) -> list[int]:
    """Attach files the actor uploaded and has used nowhere else (report, request, instruction,
    another explanation)."""
    ids = sorted(set(attachment_ids or []))
    if not ids:
        return []
    found = list(Attachment.objects.select_for_update().filter(pk__in=ids, uploaded_by=actor))
    used = set(ExplanationAttachment.objects.filter(attachment_id__in=ids).values_list("attachment_id", flat=True))
    bad = set(ids) - {a.pk for a in found} | {a.pk for a in found if a.is_linked} | used
    if bad:
        raise InvalidInput(
            fields={
                "attachment_ids": [_("附件 %(ids)s 不存在、不是您上传的或已被使用。") % {"ids": ", ".join(map(str, sorted(bad)))}]
            }
        )
    check_item_quota(explanation.item, found)
    ExplanationAttachment.objects.bulk_create([ExplanationAttachment(explanation=explanation, attachment_id=pk) for pk in ids])
    return ids


@transaction.atomic
def overdue_explanation_submit(
    *,
    actor: User,
    explanation: OverdueExplanation,
    reason_kind: str,
    text: str,
    attachment_ids: Sequence[int] = (),
) -> OverdueExplanation:
    """The unit that owes the explanation files it: objective or subjective reason, text, evidence.
    A late filing is accepted while the office has not ruled; `is_late` shows it.

    It goes to the unit's approver to sign first (awaiting_endorsement, services/signoff.py); an
    approver who files it signs in the same step (self_endorsed, its own audit event)."""
    item, explanation = _lock_explanation(explanation, actor)
    if not (actor.is_unit_user and actor.unit_id == explanation.unit_id):
        raise NotPermitted(_("只有该责任单位的承办人或负责人可以提交超期说明。"), code="explaining_unit_only")
    if explanation.status != ExplanationStatus.AWAITING:
        raise TransitionNotAllowed(
            _("该超期说明当前状态为“%(status)s”，不能重复提交。") % {"status": explanation.get_status_display()},
            code="explanation_already_submitted",
        )
    if reason_kind not in ReasonKind.values:
        raise InvalidInput(fields={"reason_kind": [_("请选择客观原因或主观原因。")]})
    text = require_text(text, "text", _("请具体说明未按时落实的原因。"))
    explanation.reason_kind = reason_kind
    explanation.text = text
    now = timezone.now()
    self_endorsed = is_unit_approver(actor, explanation.unit_id)
    explanation.submitted_by = actor
    explanation.submitted_at = now
    explanation.needs_endorsement = True
    explanation.self_endorsed = self_endorsed
    explanation.endorsed_by = actor if self_endorsed else None
    explanation.endorsed_at = now if self_endorsed else None
    explanation.endorsement_comment = ""
    explanation.status = ExplanationStatus.SUBMITTED if self_endorsed else ExplanationStatus.AWAITING_ENDORSEMENT
    explanation.full_clean()
    explanation.save()
    linked = _link_explanation_attachments(actor, explanation, attachment_ids)
    audit_record(
        actor=actor,
        action="overdue_explanation_submitted",
        obj=explanation,
        item=item,
        comment=text,
        data={
            "unit_id": explanation.unit_id,
            "reason_kind": reason_kind,
            "attachment_ids": linked,
            "late": explanation.is_late,
            "explanation_status": [ExplanationStatus.AWAITING, ExplanationStatus.AWAITING_ENDORSEMENT],
        },
    )
    if self_endorsed:
        audit_record(
            actor=actor,
            action="overdue_explanation_endorsed",
            obj=explanation,
            item=item,
            data={
                "unit_id": explanation.unit_id,
                "self_endorsed": True,
                "explanation_status": [ExplanationStatus.AWAITING_ENDORSEMENT, ExplanationStatus.SUBMITTED],
            },
        )
        handoffs.explanation_awaiting_office(explanation=explanation)
    else:
        handoffs.explanation_awaiting_endorsement(explanation=explanation)
    return explanation


def _referral_for(actor: User, item: Item, department: str, reason: str) -> tuple[Referral, bool]:
    """The item's referral to `department`: the existing one (an earlier ruling or a manual
    referral), or a new one through referral_create."""
    existing = Referral.objects.filter(item=item, department=department).first()
    if existing is not None:
        return existing, False
    return referral_create(actor=actor, item=item, department=department, reason=reason), True


@transaction.atomic
def overdue_explanation_rule(
    *,
    actor: User,
    explanation: OverdueExplanation,
    ruling: str,
    comment: str = "",
    departments: Sequence[str] | None = None,
) -> OverdueExplanation:
    """The office rules on an explanation (rule 7).

    - Objective reason: exemption (免责), or accountability if the office finds it unconvincing.
    - Subjective reason: accountability only ("如果是主观原因，要严格问责").
    - No explanation: only once `due_by` has passed, and then only accountability.
    Accountability refers the item (移交, rule 8) to `departments` (default: the discipline
    department, plus the organization department when DUBAN_ACCOUNTABILITY_ALSO_ORGANIZATION),
    reusing a referral the item already has; the referred department then sees the item, its
    history and this explanation."""
    require_office(actor)
    item, explanation = _lock_explanation(explanation, actor)
    if explanation.status == ExplanationStatus.RULED:
        raise TransitionNotAllowed(
            _("该超期说明已认定为“%(ruling)s”，不能重复认定。") % {"ruling": explanation.get_ruling_display()},
            code="explanation_already_ruled",
        )
    if explanation.status == ExplanationStatus.AWAITING_ENDORSEMENT:
        raise TransitionNotAllowed(_("该超期说明尚待单位负责人签字，签字后督查室才能认定。"), code="explanation_not_endorsed")
    if ruling not in Ruling.values:
        raise InvalidInput(fields={"ruling": [_("认定结果须为免责或问责。")]})
    if explanation.status == ExplanationStatus.AWAITING:
        if timezone.localdate() <= explanation.due_by:
            raise TransitionNotAllowed(
                _("责任单位的说明期限（%(date)s）未到，尚不能认定。") % {"date": explanation.due_by},
                code="explanation_not_due",
            )
        if ruling != Ruling.ACCOUNTABILITY:
            raise TransitionNotAllowed(_("责任单位逾期未作说明，只能认定为问责。"), code="no_explanation")
    elif explanation.reason_kind == ReasonKind.SUBJECTIVE and ruling == Ruling.EXEMPTION:
        raise InvalidInput(fields={"ruling": [_("主观原因造成超期的，应当问责，不能免责。")]})

    data: dict = {
        "unit_id": explanation.unit_id,
        "ruling": ruling,
        "explained": explanation.status == ExplanationStatus.SUBMITTED,
    }
    referrals: list[Referral] = []
    if ruling == Ruling.ACCOUNTABILITY:
        comment = require_text(comment, "comment", _("问责须写明认定意见，作为移交理由。"))
        wanted = list(dict.fromkeys(departments if departments is not None else accountability_departments()))
        if not wanted or any(d not in ReferralDepartment.values for d in wanted):
            raise InvalidInput(fields={"departments": [_("请选择移交的纪检监察机关或组织部门。")]})
        reason = _("超期未落实，经认定问责（%(unit)s）：%(comment)s") % {"unit": explanation.unit.name, "comment": comment}
        created_ids = []
        for department in wanted:
            referral, is_new = _referral_for(actor, item, department, reason)
            referrals.append(referral)
            if is_new:
                created_ids.append(referral.pk)
        data.update(departments=wanted, referral_ids=[r.pk for r in referrals], new_referral_ids=created_ids)
    from_status = explanation.status
    explanation.status = ExplanationStatus.RULED
    explanation.ruling = ruling
    explanation.ruled_by = actor
    explanation.ruled_at = timezone.now()
    explanation.ruling_comment = (comment or "").strip()
    explanation.full_clean()
    explanation.save()
    if referrals:
        explanation.referrals.add(*referrals)
    data["explanation_status"] = [from_status, ExplanationStatus.RULED]
    audit_record(
        actor=actor,
        action=f"overdue_explanation_{ruling}",
        obj=explanation,
        item=item,
        comment=explanation.ruling_comment,
        data=data,
    )
    handoffs.explanation_ruled(explanation=explanation, actor=actor)
    return explanation
