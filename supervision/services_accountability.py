"""Writes for overdue explanations (超期说明), rulings (免责 / 问责 → 移交) and notices (通报):
DOMAIN.md rules 7, 8 and 9. Same habits as services.py: keyword-only, one transaction, the
actor's permission and visibility checked first, a 409 for a state that forbids the change,
one audit event per change, nothing written when refused.

Settings (read at call time, so tests and the admin's environment can change them):
- DUBAN_EXPLANATION_WORKDAYS (default 3): working days a unit has to explain, counted from the
  day the explanation is opened (normally the first overdue day); that day itself does not count.
- DUBAN_ACCOUNTABILITY_ALSO_ORGANIZATION (default False): accountability refers the item to the
  organization department as well as to the discipline department.
- DUBAN_NOTICE_NUMBER_PREFIX (default "督通"): notices are numbered 督通〔2026〕1号, 2号, … per year.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Unit, User
from supervision.audit import audit_record
from supervision.choices import ExplanationStatus, ItemStatus, NoticeKind, NoticeStatus, ReasonKind, ReferralDepartment, Ruling
from supervision.errors import InvalidInput, NotPermitted, NotVisible, TransitionNotAllowed
from supervision.models import (
    Attachment,
    ExplanationAttachment,
    Item,
    ItemAssignment,
    Notice,
    NoticeCounter,
    NoticeEntry,
    OverdueExplanation,
    Referral,
)
from supervision.querysets import notices_visible_to
from supervision.services import _lock_item, _require_office, _require_text, referral_create
from supervision.workcalendar import add_workdays

# ---------------------------------------------------------------------------------------------
# Policy


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


# ---------------------------------------------------------------------------------------------
# Overdue explanations


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
        _notify_explanation_owed(item, explanation)
    return created


def _notify_explanation_owed(item: Item, explanation: OverdueExplanation) -> None:
    """Tell the unit's handlers and head that an explanation is owed, once (dedup key)."""
    from supervision.reminders import Recipients, recipients_for
    from tasks.notifications import notification_send

    notification_send(
        recipients=recipients_for(item, Recipients(unit_handlers=True, unit_head=True, units=(explanation.unit_id,))),
        title=_("督办事项“%(title)s”已超期，请于 %(due)s 前提交超期说明") % {"title": item.title, "due": explanation.due_by},
        body=_("事项编号：%(code)s；原办理时限：%(deadline)s。请说明客观或主观原因。")
        % {"code": item.code, "deadline": explanation.deadline},
        kind="explanation",
        dedup_key=f"explanation:{explanation.pk}",
        item=item,
    )


def _lock_explanation(explanation: OverdueExplanation, actor: User) -> tuple[Item, OverdueExplanation]:
    """Lock item then explanation (always in that order, as every item service does)."""
    item = _lock_item(explanation.item, actor)
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
    A late filing is accepted while the office has not ruled; `is_late` shows it."""
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
    text = _require_text(text, "text", _("请具体说明未按时落实的原因。"))
    explanation.reason_kind = reason_kind
    explanation.text = text
    explanation.submitted_by = actor
    explanation.submitted_at = timezone.now()
    explanation.status = ExplanationStatus.SUBMITTED
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
            "explanation_status": [ExplanationStatus.AWAITING, ExplanationStatus.SUBMITTED],
        },
    )
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
    _require_office(actor)
    item, explanation = _lock_explanation(explanation, actor)
    if explanation.status == ExplanationStatus.RULED:
        raise TransitionNotAllowed(
            _("该超期说明已认定为“%(ruling)s”，不能重复认定。") % {"ruling": explanation.get_ruling_display()},
            code="explanation_already_ruled",
        )
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
        comment = _require_text(comment, "comment", _("问责须写明认定意见，作为移交理由。"))
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
    return explanation


# ---------------------------------------------------------------------------------------------
# Notices (通报)


EntrySpec = tuple[Item, Unit, str]


def _validated_entries(actor: User, entries: Sequence[EntrySpec] | None) -> list[EntrySpec]:
    """Every entry names an item the actor can see (so never one above their clearance), past
    draft, and one of its responsible units; no (item, unit) twice."""
    entries = list(entries or [])
    if not entries:
        raise InvalidInput(fields={"entries": [_("请至少选择一个通报事项。")]})
    visible = set(Item.objects.visible_to(actor).filter(pk__in=[e[0].pk for e in entries]).values_list("pk", flat=True))
    assigned = set(ItemAssignment.objects.filter(item_id__in=visible).values_list("item_id", "unit_id"))
    statuses = dict(Item.objects.filter(pk__in=visible).values_list("pk", "status"))
    errors: list[str] = []
    seen: set[tuple[int, int]] = set()
    out: list[EntrySpec] = []
    for index, entry in enumerate(entries, start=1):
        item, unit, remark = entry
        if item.pk not in visible:
            # Not "above your clearance": an item the actor cannot see does not exist for them.
            errors.append(_("第 %(n)s 项：事项不存在。") % {"n": index})
            continue
        if statuses[item.pk] == ItemStatus.DRAFT:
            errors.append(_("第 %(n)s 项：事项尚未交办，不能通报。") % {"n": index})
            continue
        if (item.pk, unit.pk) not in assigned:
            errors.append(_("第 %(n)s 项：%(unit)s 不是该事项的责任单位。") % {"n": index, "unit": unit.name})
            continue
        if (item.pk, unit.pk) in seen:
            errors.append(_("第 %(n)s 项：同一事项和单位重复列入。") % {"n": index})
            continue
        seen.add((item.pk, unit.pk))
        out.append((item, unit, (remark or "").strip()[:500]))
    if errors:
        raise InvalidInput(fields={"entries": errors})
    return out


def _validate_notice_fields(kind: str, title: str | None, body: str | None, recommend: bool) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    if kind not in NoticeKind.values:
        errors["kind"] = [_("通报类型无效。")]
    if not (title or "").strip():
        errors["title"] = [_("请填写通报标题。")]
    if not (body or "").strip():
        errors["body"] = [_("请填写通报正文。")]
    if recommend and kind != NoticeKind.PRAISE:
        errors["recommend_to_organization"] = [_("只有表扬通报可以向组织部门推荐。")]
    if errors:
        raise InvalidInput(fields=errors)
    return title.strip(), body.strip()


def _replace_entries(notice: Notice, entries: list[EntrySpec]) -> None:
    notice.entries.all().delete()
    NoticeEntry.objects.bulk_create(
        [
            NoticeEntry(notice=notice, item=item, unit=unit, remark=remark, position=i)
            for i, (item, unit, remark) in enumerate(entries, 1)
        ]
    )


def _notice_classification(notice: Notice) -> int:
    return notice.entries.aggregate(top=Max("item__classification"))["top"] or 0


def _entries_data(entries: list[EntrySpec]) -> list[dict]:
    return [{"item_id": item.pk, "unit_id": unit.pk, "remark": remark} for item, unit, remark in entries]


def _lock_notice(notice: Notice, actor: User) -> Notice:
    """Lock the notice; one the actor may not read does not exist for them."""
    locked = Notice.objects.select_for_update().filter(pk=notice.pk).first()
    if locked is None or not notices_visible_to(actor, Notice.objects.filter(pk=notice.pk)).exists():
        raise NotVisible()
    return locked


@transaction.atomic
def notice_create(
    *,
    actor: User,
    kind: str,
    title: str,
    body: str,
    entries: Sequence[EntrySpec],
    recommend_to_organization: bool = False,
) -> Notice:
    """起草通报: the office drafts a praise, criticism or reminder notice from selected items and units."""
    _require_office(actor)
    title, body = _validate_notice_fields(kind, title, body, recommend_to_organization)
    entries = _validated_entries(actor, entries)
    notice = Notice(kind=kind, title=title, body=body, recommend_to_organization=recommend_to_organization, created_by=actor)
    notice.full_clean(exclude=["number", "year", "sequence"])
    notice.save()
    _replace_entries(notice, entries)
    notice.classification = _notice_classification(notice)
    notice.save(update_fields=["classification"])
    audit_record(
        actor=actor,
        action="notice_created",
        obj=notice,
        to_status=notice.status,
        data={
            "kind": kind,
            "title": title,
            "entries": _entries_data(entries),
            "recommend_to_organization": recommend_to_organization,
        },
    )
    return notice


NOTICE_FIELDS = ("kind", "title", "body", "recommend_to_organization")


@transaction.atomic
def notice_update(*, actor: User, notice: Notice, entries: Sequence[EntrySpec] | None = None, **fields) -> Notice:
    """Edit a draft notice; an issued one is a signed document and never changes."""
    _require_office(actor)
    notice = _lock_notice(notice, actor)
    unknown = set(fields) - set(NOTICE_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {unknown}")
    if notice.status != NoticeStatus.DRAFT:
        raise TransitionNotAllowed(_("通报已印发，不能修改。"), code="notice_issued")
    merged = {name: fields.get(name, getattr(notice, name)) for name in NOTICE_FIELDS}
    merged["title"], merged["body"] = _validate_notice_fields(
        merged["kind"], merged["title"], merged["body"], merged["recommend_to_organization"]
    )
    changed: dict = {}
    for name, value in merged.items():
        if getattr(notice, name) != value:
            changed[name] = value
            setattr(notice, name, value)
    if entries is not None:
        entries = _validated_entries(actor, entries)
        before = list(notice.entries.order_by("position", "id").values_list("item_id", "unit_id", "remark"))
        after = [(item.pk, unit.pk, remark) for item, unit, remark in entries]
        if before != after:
            _replace_entries(notice, entries)
            changed["entries"] = _entries_data(entries)
    if not changed:
        return notice
    notice.classification = _notice_classification(notice)
    notice.version += 1
    notice.full_clean(exclude=["number", "year", "sequence"])
    notice.save()
    audit_record(actor=actor, action="notice_updated", obj=notice, data=changed)
    return notice


def _next_notice_number(year: int) -> tuple[int, str]:
    try:
        with transaction.atomic():
            NoticeCounter.objects.get_or_create(year=year)
    except IntegrityError:
        pass  # another transaction created this year's counter first
    counter = NoticeCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    prefix = getattr(settings, "DUBAN_NOTICE_NUMBER_PREFIX", "督通")
    return counter.last_number, f"{prefix}〔{year}〕{counter.last_number}号"


@transaction.atomic
def notice_issue(*, actor: User, notice: Notice) -> Notice:
    """印发: number the notice (督通〔2026〕3号, per year, under a row lock) and release it to the
    units named in it, to 纪检 (criticism) and to 组织部门 (recommended praise)."""
    _require_office(actor)
    notice = _lock_notice(notice, actor)
    if notice.status != NoticeStatus.DRAFT:
        raise TransitionNotAllowed(
            _("通报已于 %(date)s 印发（%(number)s），不能重复印发。")
            % {"date": timezone.localdate(notice.issued_at), "number": notice.number},
            code="notice_issued",
        )
    # Items may have been reclassified or cancelled since drafting: check them again.
    current = [(e.item, e.unit, e.remark) for e in notice.entries.select_related("item", "unit")]
    _validated_entries(actor, current)
    now = timezone.now()
    year = timezone.localdate(now).year
    notice.sequence, notice.number = _next_notice_number(year)
    notice.year = year
    notice.status = NoticeStatus.ISSUED
    notice.issued_by = actor
    notice.issued_at = now
    notice.classification = _notice_classification(notice)
    notice.version += 1
    notice.save()
    audit_record(
        actor=actor,
        action="notice_issued",
        obj=notice,
        from_status=NoticeStatus.DRAFT,
        to_status=NoticeStatus.ISSUED,
        data={"number": notice.number, "kind": notice.kind, "item_ids": [e[0].pk for e in current]},
    )
    return notice
