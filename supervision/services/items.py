"""Ledger items: registered (分解立项), edited, assigned (交办) and signed for (签收).

Every write to the ledger lives in this package. Each service checks who may act, locks what it
changes, refuses a transition the state forbids (409), records an audit event and runs in one
transaction; names follow `<entity>_<action>` and arguments are keyword-only."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Unit, User
from supervision.audit import audit_record
from supervision.choices import (
    AssignmentRole,
    CounterSeries,
    DeadlineSource,
    InstructionNature,
    ItemStatus,
    ReportingCycle,
    SuspicionSource,
    SuspicionStatus,
    Urgency,
)
from supervision.errors import InvalidInput, NotPermitted, TransitionNotAllowed
from supervision.models import (
    Category,
    DuplicateSuspicion,
    Instruction,
    Item,
    ItemAssignment,
    OfficeSettings,
)
from supervision.reminders import reminder_reschedule
from supervision.services import handoffs
from supervision.services.counters import counter_take
from supervision.services.deadlines import deadline_in_force
from supervision.services.duplicates import PossibleDuplicate, duplicate_candidates
from supervision.services.guards import (
    actor_assignment,
    bump,
    check_version,
    lock_item,
    require_office,
    require_owner_cleared,
    require_text,
    status_conflict,
)
from supervision.services.links import linked_follow, refuse_if_linked
from supervision.services.signatures import signatures_refresh
from supervision.warning_dates import warning_date_for
from supervision.workcalendar import add_workdays, require_calendar_years


def _next_ledger_code(year: int) -> str:
    return f"DB-{year}-{counter_take(series=CounterSeries.LEDGER, year=year):04d}"


def _validate_item_fields(actor: User, item: Item, supporting_units: Sequence[Unit] | None) -> None:
    errors: dict[str, list[str]] = {}
    instruction = item.instruction
    if item.classification < instruction.classification:
        errors.setdefault("classification", []).append(
            _("事项密级不能低于所属批示件的密级（%(level)s）。") % {"level": instruction.get_classification_display()}
        )
    if item.classification > actor.clearance:
        errors.setdefault("classification", []).append(_("不能登记高于本人密级权限的内容。"))
    if item.owner_id and item.lead_unit_id and item.owner.unit_id != item.lead_unit_id:
        # The owner signs and reports for the lead unit, so must be one of its own people.
        errors.setdefault("owner", []).append(_("责任人必须是牵头单位的人员。"))
    if item.owner_id and not item.owner.is_active:
        errors.setdefault("owner", []).append(_("责任人账号已停用。"))
    if item.lead_unit_id and not item.lead_unit.is_active:
        errors.setdefault("lead_unit_id", []).append(_("牵头单位已停用。"))
    if supporting_units is not None:
        if item.lead_unit_id and any(u.pk == item.lead_unit_id for u in supporting_units):
            errors.setdefault("supporting_unit_ids", []).append(_("配合单位不能与牵头单位相同。"))
        if any(not u.is_active for u in supporting_units):
            errors.setdefault("supporting_unit_ids", []).append(_("配合单位中有已停用的单位。"))
    if item.deadline and item.deadline < instruction.issued_on:
        errors.setdefault("deadline", []).append(_("办理时限不能早于批示日期。"))
    if item.deadline and item.deadline_workdays is not None:
        errors.setdefault("deadline_workdays", []).append(_("办理时限按日期或按工作日数填写，只能二选一。"))
    if item.deadline_workdays is not None and item.deadline_workdays > 365:
        errors.setdefault("deadline_workdays", []).append(_("工作日数不能超过 365。"))
    if item.deadline_time is not None and item.urgency != Urgency.EXTRA_URGENT:
        errors.setdefault("deadline_time", []).append(_("只有特急事项可以规定当日办结时间。"))
    if errors:
        raise InvalidInput(fields=errors)
    if item.deadline is None and item.deadline_workdays is not None:
        # Counted from today as if assigned now: the office learns at registration, not at 交办,
        # that the calendar ends before the count does.
        today = timezone.localdate()
        require_calendar_years(today, add_workdays(today, item.deadline_workdays), field="deadline_workdays")


def _sync_assignments(item: Item, supporting_units: Sequence[Unit] | None) -> None:
    """Keep one LEAD assignment for item.lead_unit and one SUPPORTING per supporting unit."""
    current = {a.unit_id: a for a in item.assignments.all()}
    lead = current.get(item.lead_unit_id)
    for a in item.assignments.filter(role=AssignmentRole.LEAD).exclude(unit_id=item.lead_unit_id):
        a.delete()
        current.pop(a.unit_id, None)
    if item.lead_unit_id:
        if lead is None:
            ItemAssignment.objects.create(item=item, unit_id=item.lead_unit_id, role=AssignmentRole.LEAD)
        elif lead.role != AssignmentRole.LEAD:
            lead.role = AssignmentRole.LEAD
            lead.save(update_fields=["role"])
    if supporting_units is not None:
        wanted = {u.pk for u in supporting_units}
        item.assignments.filter(role=AssignmentRole.SUPPORTING).exclude(unit_id__in=wanted).delete()
        existing = set(item.assignments.values_list("unit_id", flat=True))
        ItemAssignment.objects.bulk_create(
            [ItemAssignment(item=item, unit_id=pk, role=AssignmentRole.SUPPORTING) for pk in sorted(wanted - existing)]
        )


ITEM_FIELDS = (
    "title",
    "requirement",
    "category",
    "lead_unit",
    "owner",
    "deadline",
    "deadline_time",
    "deadline_workdays",
    "urgency",
    "reporting_cycle",
    "classification",
)


# After assignment these are fixed: the deadline moves only by an approved extension, and the
# responsible units by re-registering, so that statistics and acknowledgements stay honest.
FIXED_AFTER_ASSIGNMENT = ("lead_unit", "deadline", "deadline_time", "deadline_workdays")

# What the duplicate detector reads of an item: a change to any of them recomputes its signature.
MATCHED_FIELDS = {"title", "requirement", "lead_unit", "supporting_units"}


def reschedule(item: Item) -> None:
    """After the deadline, urgency or state moved: the yellow-light date and the next reminder."""
    start = timezone.localdate(item.assigned_at) if item.assigned_at else timezone.localdate()
    item.warning_date = warning_date_for(start=start, deadline=item.deadline, urgency=item.urgency)
    reminder_reschedule(item)


@transaction.atomic
def item_create(
    *,
    actor: User,
    instruction: Instruction,
    title: str,
    requirement: str = "",
    category: Category | None = None,
    lead_unit: Unit | None = None,
    supporting_units: Sequence[Unit] = (),
    owner: User | None = None,
    deadline: datetime.date | None = None,
    deadline_time: datetime.time | None = None,
    deadline_workdays: int | None = None,
    urgency: str = Urgency.NORMAL,
    reporting_cycle: str = ReportingCycle.NONE,
    classification: int | None = None,
) -> Item:
    """分解立项: register one ledger item under an instruction, as a draft."""
    require_office(actor)
    if instruction.classification > actor.clearance:
        raise NotPermitted()
    item = Item(
        instruction=instruction,
        title=require_text(title, "title", _("请填写事项名称。")),
        requirement=requirement or "",
        category=category,
        lead_unit=lead_unit,
        owner=owner,
        deadline=deadline,
        deadline_time=deadline_time,
        deadline_workdays=deadline_workdays,
        urgency=urgency,
        reporting_cycle=reporting_cycle,
        classification=instruction.classification if classification is None else classification,
        created_by=actor,
        code="pending",
    )
    _validate_item_fields(actor, item, supporting_units)
    require_owner_cleared(item.owner, item.classification)
    item.full_clean(exclude=["code"])
    item.code = _next_ledger_code(timezone.localdate().year)
    item.save()
    _sync_assignments(item, supporting_units)
    signatures_refresh(item_ids=[item.pk])
    audit_record(
        actor=actor,
        action="item_created",
        obj=item,
        item=item,
        to_status=item.status,
        data={"code": item.code, "instruction_id": instruction.pk},
    )
    return item


@transaction.atomic
def item_register(*, actor: User, confirm_not_duplicate: bool = False, **fields) -> Item:
    """分解立项 with the duplicate check: the fields of `item_create`. When items on the ledger look
    like the same matter, PossibleDuplicate lists them and nothing is saved, unless the office
    confirms this is another matter; then the item is created and each pair is remembered as
    dismissed (by the actor, now), so it is not raised again."""
    require_office(actor)
    candidates = duplicate_candidates(
        user=actor,
        title=fields.get("title") or "",
        requirement=fields.get("requirement") or "",
        lead_unit=fields.get("lead_unit"),
        supporting_units=fields.get("supporting_units") or (),
        instruction=fields.get("instruction"),
    )
    if candidates and not confirm_not_duplicate:
        best = candidates[0]
        raise PossibleDuplicate(
            _("台账中已有疑似同一事项：“%(code)s %(title)s”（%(reason)s）。确认不是重复的，请勾选“确认不是重复事项”后再提交。")
            % {"code": best.item.code, "title": best.item.title, "reason": best.reason},
            extra={"candidates": [c.as_dict() for c in candidates]},
        )
    item = item_create(actor=actor, **fields)
    if candidates:
        now = timezone.now()
        DuplicateSuspicion.objects.bulk_create(
            [
                DuplicateSuspicion(
                    item=item,
                    candidate=c.item,
                    score=c.score,
                    reasons=c.reasons,
                    source=SuspicionSource.REGISTRATION,
                    status=SuspicionStatus.DISMISSED,
                    decided_by=actor,
                    decided_at=now,
                    comment=_("登记时确认不是重复事项"),
                )
                for c in candidates
            ],
            ignore_conflicts=True,
        )
        audit_record(
            actor=actor,
            action="duplicate_dismissed_at_registration",
            obj=item,
            item=item,
            data={"candidates": {c.item.code: c.score for c in candidates}},
        )
    return item


@transaction.atomic
def item_update(
    *,
    actor: User,
    item: Item,
    expected_version: int | None = None,
    supporting_units: Sequence[Unit] | None = None,
    **fields,
) -> Item:
    """Edit an item. Drafts are fully editable; once assigned the deadline and lead unit are fixed."""
    require_office(actor)
    item = lock_item(item, actor)
    check_version(item, expected_version)
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {unknown}")
    if item.status in (ItemStatus.CANCELLED, ItemStatus.CLOSED, ItemStatus.VERIFIED, ItemStatus.AWAITING_APPROVAL):
        # An item awaiting the 督查室主任 is what the director will approve: unchanged until decided.
        raise status_conflict(item, _("修改"))
    changed: dict[str, str] = {}
    for name, value in fields.items():
        current = getattr(item, name)
        if current == value:
            continue
        if item.status != ItemStatus.DRAFT and name in FIXED_AFTER_ASSIGNMENT:
            if name == "lead_unit":
                raise TransitionNotAllowed(_("已交办事项不能更换牵头单位。"), code="lead_unit_fixed_after_assignment")
            raise TransitionNotAllowed(_("已交办事项的办理时限只能通过延期审批调整。"), code="deadline_fixed_after_assignment")
        changed[name] = str(value.pk if hasattr(value, "pk") else value)
        setattr(item, name, value)
    if "title" in fields:
        item.title = require_text(item.title, "title", _("请填写事项名称。"))
    if supporting_units is not None:
        old = set(item.assignments.filter(role=AssignmentRole.SUPPORTING).values_list("unit_id", flat=True))
        new = {u.pk for u in supporting_units}
        if old != new:
            if item.status != ItemStatus.DRAFT and old - new:
                raise TransitionNotAllowed(
                    _("已交办事项只能增加配合单位，不能移除。"), code="supporting_units_fixed_after_assignment"
                )
            changed["supporting_units"] = ",".join(map(str, sorted(new)))
    else:
        supporting_units = None
    if not changed:
        return item
    _validate_item_fields(actor, item, supporting_units)
    if "owner" in changed or "classification" in changed:
        require_owner_cleared(item.owner, item.classification)
    item.full_clean(exclude=["code"])
    if "urgency" in changed and item.status != ItemStatus.DRAFT:
        reschedule(item)
    bump(item)
    item.save()
    _sync_assignments(item, supporting_units)
    if changed.keys() & MATCHED_FIELDS:
        signatures_refresh(item_ids=[item.pk])
    audit_record(actor=actor, action="item_updated", obj=item, item=item, data=changed)
    return item


def assignment_errors(actor: User, item: Item) -> None:
    """What must hold for an item to go to its units (400 with the fields that are missing). A
    deadline in working days is counted from today into `item.deadline` (not saved here)."""
    _validate_item_fields(actor, item, None)
    require_owner_cleared(item.owner, item.classification)
    errors: dict[str, list[str]] = {}
    if not item.lead_unit_id:
        errors["lead_unit_id"] = [_("交办前须指定牵头单位。")]
    if not item.owner_id:
        errors["owner_id"] = [_("交办前须指定责任人。")]
    now = timezone.localtime()
    if item.deadline is None and item.deadline_workdays is not None:
        # "N working days from assignment": counted from today on the official calendar.
        item.deadline = add_workdays(now.date(), item.deadline_workdays)
        require_calendar_years(now.date(), item.deadline, field="deadline_workdays")
    if item.instruction.nature != InstructionNature.REFERENCE:
        if not item.deadline:
            errors["deadline"] = [_("批办性、指导性事项交办前须明确办理时限。")]
        elif item.deadline < now.date():
            errors["deadline"] = [_("办理时限不能早于今天。")]
        elif item.deadline == now.date() and item.deadline_time is not None and item.deadline_time <= now.time():
            errors["deadline_time"] = [_("当日办结时间已过。")]
    if errors:
        raise InvalidInput(_("事项信息不完整，不能交办。"), code="incomplete_item", fields=errors)


def assign_now(*, actor: User, item: Item, comment: str = "") -> Item:
    """The item goes to its units now (the caller locked it and checked `assignment_errors`)."""
    from_status = item.status
    item.status = ItemStatus.ASSIGNED
    item.assigned_at = timezone.now()
    item.original_deadline = item.deadline
    reschedule(item)
    bump(item)
    item.save()
    deadline_in_force(item=item, at=item.assigned_at, source=DeadlineSource.ASSIGNED)
    audit_record(
        actor=actor,
        action="item_assigned",
        obj=item,
        item=item,
        from_status=from_status,
        to_status=item.status,
        comment=comment,
        data={
            "deadline": item.deadline,
            "deadline_time": item.deadline_time,
            "deadline_workdays": item.deadline_workdays,
            "lead_unit_id": item.lead_unit_id,
            "owner_id": item.owner_id,
            "approved_by_id": item.approved_by_id,
        },
    )
    handoffs.item_assigned(item=item, actor=actor)
    return item


@transaction.atomic
def item_assign(*, actor: User, item: Item, expected_version: int | None = None, comment: str = "") -> Item:
    """交办: a draft goes to its units. Needs a lead unit and owner, and a deadline unless the
    instruction is 参阅性 (for reference).

    Where the office requires it (OfficeSettings.director_approval_required), a 督查员's item
    first waits for the 督查室主任 (awaiting_approval; services/signoff.py approves or returns
    it); the director's own assignment is its own approval."""
    require_office(actor)
    item = lock_item(item, actor)
    check_version(item, expected_version)
    if item.status != ItemStatus.DRAFT:
        raise status_conflict(item, _("交办"))
    workday_deadline = item.deadline is None and item.deadline_workdays is not None
    assignment_errors(actor, item)
    if OfficeSettings.current().director_approval_required:
        if not actor.is_office_director:
            if workday_deadline:
                item.deadline = None  # counted again from the day the director approves
            item.status = ItemStatus.AWAITING_APPROVAL
            bump(item)
            item.save()
            audit_record(
                actor=actor,
                action="item_submitted_for_approval",
                obj=item,
                item=item,
                from_status=ItemStatus.DRAFT,
                to_status=item.status,
                comment=comment,
            )
            handoffs.item_awaiting_approval(item=item, actor=actor)
            return item
        item.approved_by, item.approved_at = actor, timezone.now()
    return assign_now(actor=actor, item=item, comment=comment)


@transaction.atomic
def item_acknowledge(*, actor: User, item: Item, expected_version: int | None = None, comment: str = "") -> ItemAssignment:
    """签收: the actor's unit signs for the item. When every unit has signed, the item is acknowledged."""
    item = lock_item(item, actor)
    check_version(item, expected_version)
    refuse_if_linked(item, actor)
    assignment = actor_assignment(actor, item)
    if assignment is None:
        raise NotPermitted(_("只有责任单位的承办人或负责人可以签收。"), code="unit_only")
    if item.status not in (ItemStatus.ASSIGNED, ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS):
        raise status_conflict(item, _("签收"))
    if assignment.acknowledged_at is not None:
        raise TransitionNotAllowed(
            _("本单位已于 %(when)s 签收该事项。")
            % {"when": timezone.localtime(assignment.acknowledged_at).strftime("%Y-%m-%d %H:%M")},
            code="already_acknowledged",
        )
    assignment.acknowledged_at = timezone.now()
    assignment.acknowledged_by = actor
    assignment.save(update_fields=["acknowledged_at", "acknowledged_by"])
    from_status = item.status
    if item.status == ItemStatus.ASSIGNED and not item.assignments.filter(acknowledged_at__isnull=True).exists():
        item.status = ItemStatus.ACKNOWLEDGED
    bump(item)
    item.save()
    audit_record(
        actor=actor,
        action="item_acknowledged",
        obj=assignment,
        item=item,
        from_status=from_status,
        to_status=item.status,
        comment=comment,
        data={"unit_id": assignment.unit_id, "role": assignment.role},
    )
    linked_follow(actor=actor, lead=item, action="item_acknowledged", record=assignment, data={"unit_id": assignment.unit_id})
    return assignment


@transaction.atomic
def assignment_set_report_access(*, actor: User, item: Item, unit: Unit, may_view_all_reports: bool) -> ItemAssignment:
    """The office lets (or stops) a supporting unit read the other units' reports on an item."""
    require_office(actor)
    item = lock_item(item, actor)
    assignment = ItemAssignment.objects.filter(item=item, unit=unit).first()
    if assignment is None:
        raise InvalidInput(fields={"unit_id": [_("该单位不是本事项的责任单位。")]})
    if assignment.may_view_all_reports != may_view_all_reports:
        assignment.may_view_all_reports = may_view_all_reports
        assignment.save(update_fields=["may_view_all_reports"])
        bump(item)
        item.save(update_fields=["version", "updated_at"])
        audit_record(
            actor=actor,
            action="report_access_changed",
            obj=assignment,
            item=item,
            data={"unit_id": unit.pk, "may_view_all_reports": may_view_all_reports},
        )
    return assignment
