"""Every write to the ledger. Each service checks who may act, locks what it changes, refuses a
transition the state forbids (409), records an audit event and runs in one transaction.

Names follow `<entity>_<action>`; arguments are keyword-only. Views and tasks call these and
nothing else to change ledger state."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Classification, Role
from accounts.models import Unit, User
from supervision.audit import audit_record
from supervision.choices import (
    OPEN_STATUSES,
    AssignmentRole,
    InstructionNature,
    ItemStatus,
    ReferralDepartment,
    ReportingCycle,
    ReportKind,
    RequestKind,
    RequestStatus,
    ReturnVisitResult,
    Urgency,
)
from supervision.errors import InvalidInput, NotPermitted, NotVisible, StaleVersion, TransitionNotAllowed
from supervision.models import (
    Attachment,
    Category,
    Instruction,
    Item,
    ItemAssignment,
    ItemRequest,
    LedgerCounter,
    ProgressReport,
    Referral,
    ReturnVisit,
    WarningThreshold,
)
from supervision.stored_files import deleted_if_not_kept
from supervision.warning_dates import warning_date_for
from supervision.workcalendar import add_workdays

# ---------------------------------------------------------------------------------------------
# Shared checks


def _require_office(actor: User) -> None:
    if not actor.is_office:
        raise NotPermitted(_("只有督查室工作人员可以执行此操作。"), code="office_only")


def _check_version(obj, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != obj.version:
        raise StaleVersion(
            _("记录已被他人修改（当前版本 %(current)s，您提交的版本 %(sent)s），请刷新后重试。")
            % {"current": obj.version, "sent": expected_version}
        )


def _lock_item(item: Item, actor: User) -> Item:
    """Re-read the item under a row lock so concurrent transitions queue instead of racing.

    The service applies the same visibility rule as every read: an item the actor may not see
    does not exist for them, whoever calls the service (API, admin, task)."""
    locked = Item.objects.select_for_update().filter(pk=item.pk).first()
    if locked is None or not Item.objects.visible_to(actor).filter(pk=item.pk).exists():
        raise NotVisible()
    return locked


def _bump(obj) -> None:
    obj.version += 1


def _check_classification(actor: User, classification: int, field: str = "classification") -> None:
    if classification not in Classification.values:
        raise InvalidInput(fields={field: [_("密级无效。")]})
    if classification > actor.clearance:
        raise InvalidInput(fields={field: [_("不能登记高于本人密级权限的内容。")]})


def _require_text(value: str | None, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(fields={field: [message]})
    return value


def _actor_assignment(actor: User, item: Item) -> ItemAssignment | None:
    if not actor.is_unit_user or not actor.unit_id:
        return None
    return ItemAssignment.objects.filter(item=item, unit_id=actor.unit_id).first()


def _require_lead_unit_user(actor: User, item: Item) -> ItemAssignment:
    assignment = _actor_assignment(actor, item)
    if assignment is None or assignment.role != AssignmentRole.LEAD:
        raise NotPermitted(_("只有牵头单位的承办人或负责人可以执行此操作。"), code="lead_unit_only")
    return assignment


def _link_attachments(actor: User, attachment_ids: Iterable[int] | None, field: str, **owner) -> list[Attachment]:
    """Attach files the actor uploaded and has not yet used elsewhere."""
    ids = sorted(set(attachment_ids or []))
    if not ids:
        return []
    found = list(Attachment.objects.select_for_update().filter(pk__in=ids, uploaded_by=actor))
    bad = set(ids) - {a.pk for a in found} | {a.pk for a in found if a.is_linked}
    if bad:
        raise InvalidInput(
            fields={field: [_("附件 %(ids)s 不存在、不是您上传的或已被使用。") % {"ids": ", ".join(map(str, sorted(bad)))}]}
        )
    Attachment.objects.filter(pk__in=ids).update(**owner)
    return found


def _reschedule(item: Item) -> None:
    """After the deadline, urgency or state moved: the yellow-light date and the next reminder."""
    from supervision.reminders import reminder_reschedule

    start = timezone.localdate(item.assigned_at) if item.assigned_at else timezone.localdate()
    item.warning_date = warning_date_for(start=start, deadline=item.deadline, urgency=item.urgency)
    reminder_reschedule(item)


def _status_conflict(item: Item, action: str) -> TransitionNotAllowed:
    return TransitionNotAllowed(
        _("事项“%(code)s”当前状态为“%(status)s”，不能%(action)s。")
        % {"code": item.code, "status": item.get_status_display(), "action": action},
        code="transition_not_allowed",
    )


# ---------------------------------------------------------------------------------------------
# Attachments


@transaction.atomic
def attachment_upload(*, actor: User, uploaded_file) -> Attachment:
    """Store an uploaded file; it is linked to a report, request or instruction later."""
    if uploaded_file is None:
        raise InvalidInput(fields={"file": [_("请选择要上传的文件。")]})
    if uploaded_file.size > settings.DUBAN_MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            fields={
                "file": [
                    _("文件过大，单个附件不能超过 %(mb)s MB。") % {"mb": settings.DUBAN_MAX_ATTACHMENT_BYTES // (1024 * 1024)}
                ]
            }
        )
    if uploaded_file.size == 0:
        raise InvalidInput(fields={"file": [_("文件为空。")]})
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    name = (uploaded_file.name or "file").rsplit("/", 1)[-1][:200]
    attachment = Attachment(original_name=name, size=uploaded_file.size, sha256=digest.hexdigest(), uploaded_by=actor)
    attachment.file.save(name, uploaded_file, save=False)
    with deleted_if_not_kept(attachment.file):
        attachment.save()
        audit_record(actor=actor, action="attachment_uploaded", obj=attachment, data={"name": name, "sha256": attachment.sha256})
    return attachment


# ---------------------------------------------------------------------------------------------
# Instructions


INSTRUCTION_FIELDS = (
    "title",
    "kind",
    "nature",
    "issuing_leader",
    "issuer_name",
    "document_number",
    "issued_on",
    "text",
    "classification",
)


def _validate_leader(leader: User | None) -> None:
    if leader is not None and not leader.has_role(Role.LEADER):
        raise InvalidInput(fields={"issuing_leader": [_("批示领导必须是具有领导角色的用户。")]})


@transaction.atomic
def instruction_create(*, actor: User, attachment_ids: Sequence[int] = (), **fields) -> Instruction:
    """登记批示件 (office staff)."""
    _require_office(actor)
    unknown = set(fields) - set(INSTRUCTION_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {unknown}")
    fields.setdefault("classification", Classification.PUBLIC)
    _check_classification(actor, fields["classification"])
    _validate_leader(fields.get("issuing_leader"))
    _require_text(fields.get("title"), "title", _("请填写标题。"))
    _require_text(fields.get("text"), "text", _("请填写批示内容。"))
    if not fields.get("issuing_leader") and not (fields.get("issuer_name") or "").strip():
        raise InvalidInput(fields={"issuing_leader": [_("请选择批示领导或填写外部批示人。")]})
    instruction = Instruction(created_by=actor, **fields)
    instruction.full_clean()
    instruction.save()
    _link_attachments(actor, attachment_ids, "attachment_ids", instruction=instruction)
    audit_record(actor=actor, action="instruction_created", obj=instruction, data={"title": instruction.title})
    return instruction


@transaction.atomic
def instruction_update(*, actor: User, instruction: Instruction, expected_version: int | None = None, **fields) -> Instruction:
    """Edit an instruction. Raising its classification raises its items' too, so no item of a
    classified instruction stays visible below that level."""
    _require_office(actor)
    instruction = Instruction.objects.select_for_update().get(pk=instruction.pk)
    if not Instruction.objects.visible_to(actor).filter(pk=instruction.pk).exists():
        raise NotVisible()
    _check_version(instruction, expected_version)
    unknown = set(fields) - set(INSTRUCTION_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {unknown}")
    if "classification" in fields:
        _check_classification(actor, fields["classification"])
    if "issuing_leader" in fields:
        _validate_leader(fields["issuing_leader"])
    changed = {}
    for name, value in fields.items():
        if getattr(instruction, name) != value:
            changed[name] = str(value.pk if hasattr(value, "pk") else value)
            setattr(instruction, name, value)
    if not changed:
        return instruction
    instruction.full_clean()
    _bump(instruction)
    instruction.save()
    if "classification" in changed:
        raised = list(instruction.items.filter(classification__lt=instruction.classification).values_list("pk", flat=True))
        if raised:
            Item.objects.filter(pk__in=raised).update(classification=instruction.classification)
            changed["items_reclassified"] = raised
    audit_record(actor=actor, action="instruction_updated", obj=instruction, data=changed)
    return instruction


# ---------------------------------------------------------------------------------------------
# Items: register (立项), edit, assign (交办)


def _next_ledger_code(year: int) -> str:
    try:
        with transaction.atomic():
            LedgerCounter.objects.get_or_create(year=year)
    except IntegrityError:
        pass  # another transaction created this year's counter first
    counter = LedgerCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"DB-{year}-{counter.last_number:04d}"


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
    _require_office(actor)
    if instruction.classification > actor.clearance:
        raise NotPermitted()
    item = Item(
        instruction=instruction,
        title=_require_text(title, "title", _("请填写事项名称。")),
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
    item.full_clean(exclude=["code"])
    item.code = _next_ledger_code(timezone.localdate().year)
    item.save()
    _sync_assignments(item, supporting_units)
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
def item_update(
    *,
    actor: User,
    item: Item,
    expected_version: int | None = None,
    supporting_units: Sequence[Unit] | None = None,
    **fields,
) -> Item:
    """Edit an item. Drafts are fully editable; once assigned the deadline and lead unit are fixed."""
    _require_office(actor)
    item = _lock_item(item, actor)
    _check_version(item, expected_version)
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {unknown}")
    if item.status in (ItemStatus.CANCELLED, ItemStatus.CLOSED, ItemStatus.VERIFIED):
        raise _status_conflict(item, _("修改"))
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
        item.title = _require_text(item.title, "title", _("请填写事项名称。"))
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
    item.full_clean(exclude=["code"])
    if "urgency" in changed and item.status != ItemStatus.DRAFT:
        _reschedule(item)
    _bump(item)
    item.save()
    _sync_assignments(item, supporting_units)
    audit_record(actor=actor, action="item_updated", obj=item, item=item, data=changed)
    return item


@transaction.atomic
def item_assign(*, actor: User, item: Item, expected_version: int | None = None, comment: str = "") -> Item:
    """交办: a draft goes to its units. Needs a lead unit and owner, and a deadline unless the
    instruction is 参阅性 (for reference)."""
    _require_office(actor)
    item = _lock_item(item, actor)
    _check_version(item, expected_version)
    if item.status != ItemStatus.DRAFT:
        raise _status_conflict(item, _("交办"))
    _validate_item_fields(actor, item, None)
    errors: dict[str, list[str]] = {}
    if not item.lead_unit_id:
        errors["lead_unit_id"] = [_("交办前须指定牵头单位。")]
    if not item.owner_id:
        errors["owner_id"] = [_("交办前须指定责任人。")]
    now = timezone.localtime()
    if item.deadline is None and item.deadline_workdays is not None:
        # "N working days from assignment": counted from today on the official calendar.
        item.deadline = add_workdays(now.date(), item.deadline_workdays)
    if item.instruction.nature != InstructionNature.REFERENCE:
        if not item.deadline:
            errors["deadline"] = [_("批办性、指导性事项交办前须明确办理时限。")]
        elif item.deadline < now.date():
            errors["deadline"] = [_("办理时限不能早于今天。")]
        elif item.deadline == now.date() and item.deadline_time is not None and item.deadline_time <= now.time():
            errors["deadline_time"] = [_("当日办结时间已过。")]
    if errors:
        raise InvalidInput(_("事项信息不完整，不能交办。"), code="incomplete_item", fields=errors)
    from_status = item.status
    item.status = ItemStatus.ASSIGNED
    item.assigned_at = timezone.now()
    item.original_deadline = item.deadline
    _reschedule(item)
    _bump(item)
    item.save()
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
        },
    )
    return item


@transaction.atomic
def item_acknowledge(*, actor: User, item: Item, expected_version: int | None = None, comment: str = "") -> ItemAssignment:
    """签收: the actor's unit signs for the item. When every unit has signed, the item is acknowledged."""
    item = _lock_item(item, actor)
    _check_version(item, expected_version)
    assignment = _actor_assignment(actor, item)
    if assignment is None:
        raise NotPermitted(_("只有责任单位的承办人或负责人可以签收。"), code="unit_only")
    if item.status not in (ItemStatus.ASSIGNED, ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS):
        raise _status_conflict(item, _("签收"))
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
    _bump(item)
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
    return assignment


@transaction.atomic
def assignment_set_report_access(*, actor: User, item: Item, unit: Unit, may_view_all_reports: bool) -> ItemAssignment:
    """The office lets (or stops) a supporting unit read the other units' reports on an item."""
    _require_office(actor)
    item = _lock_item(item, actor)
    assignment = ItemAssignment.objects.filter(item=item, unit=unit).first()
    if assignment is None:
        raise InvalidInput(fields={"unit_id": [_("该单位不是本事项的责任单位。")]})
    if assignment.may_view_all_reports != may_view_all_reports:
        assignment.may_view_all_reports = may_view_all_reports
        assignment.save(update_fields=["may_view_all_reports"])
        _bump(item)
        item.save(update_fields=["version", "updated_at"])
        audit_record(
            actor=actor,
            action="report_access_changed",
            obj=assignment,
            item=item,
            data={"unit_id": unit.pk, "may_view_all_reports": may_view_all_reports},
        )
    return assignment


# ---------------------------------------------------------------------------------------------
# Progress reports (进展反馈)


@transaction.atomic
def progress_report_create(
    *,
    actor: User,
    item: Item,
    progress_text: str,
    kind: str = ReportKind.STAGE,
    results: str = "",
    problems: str = "",
    next_steps: str = "",
    progress: int | None = None,
    attachment_ids: Sequence[int] = (),
) -> ProgressReport:
    """A responsible unit that has signed reports progress; the first report starts the work."""
    item = _lock_item(item, actor)
    assignment = _actor_assignment(actor, item)
    if assignment is None:
        raise NotPermitted(_("只有责任单位的承办人或负责人可以反馈进展。"), code="unit_only")
    if item.status not in (ItemStatus.ASSIGNED, ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS):
        raise _status_conflict(item, _("反馈进展"))
    if assignment.acknowledged_at is None:
        raise TransitionNotAllowed(_("请先签收事项，再反馈进展。"), code="not_acknowledged")
    if progress is not None and not 0 <= progress <= 100:
        raise InvalidInput(fields={"progress": [_("进度须在 0 到 100 之间。")]})
    report = ProgressReport(
        item=item,
        unit_id=assignment.unit_id,
        kind=kind,
        progress_text=_require_text(progress_text, "progress_text", _("请填写工作进展。")),
        results=results or "",
        problems=problems or "",
        next_steps=next_steps or "",
        progress=progress,
        submitted_by=actor,
        submitted_at=timezone.now(),
    )
    report.full_clean()
    report.save()
    _link_attachments(actor, attachment_ids, "attachment_ids", report=report)
    from_status = item.status
    item.status = ItemStatus.IN_PROGRESS
    # The lead unit speaks for the item's overall progress.
    if progress is not None and assignment.role == AssignmentRole.LEAD:
        item.progress = progress
    _bump(item)
    item.save()
    audit_record(
        actor=actor,
        action="report_filed",
        obj=report,
        item=item,
        from_status=from_status,
        to_status=item.status,
        data={"unit_id": assignment.unit_id, "kind": kind, "progress": progress},
    )
    return report


# ---------------------------------------------------------------------------------------------
# Requests: extension (延期), completion (办结), suspension, cancellation


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
    """A unit asks the office to extend, close, suspend or cancel an item."""
    item = _lock_item(item, actor)
    _check_version(item, expected_version)
    if kind not in RequestKind.values:
        raise InvalidInput(fields={"kind": [_("申请类型无效。")]})
    reason = _require_text(reason, "reason", _("请填写申请理由。"))
    from_status = item.status
    if kind in (RequestKind.EXTENSION, RequestKind.COMPLETION):
        assignment = _require_lead_unit_user(actor, item)
        if assignment.acknowledged_at is None:
            raise TransitionNotAllowed(_("请先签收事项。"), code="not_acknowledged")
    elif not actor.is_office:
        _require_lead_unit_user(actor, item)

    if kind == RequestKind.EXTENSION:
        if item.status not in (ItemStatus.ASSIGNED, ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS):
            raise _status_conflict(item, _("申请延期"))
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
            raise _status_conflict(item, _("申请办结"))
        outcome = _require_text(outcome, "outcome", _("请说明办理成效（重实绩，不以留痕代替落实）。"))
        if not attachment_ids:
            raise InvalidInput(fields={"attachment_ids": [_("申请办结须附上办理成效的佐证材料。")]})
    elif kind == RequestKind.SUSPENSION:
        if item.status not in OPEN_STATUSES:
            raise _status_conflict(item, _("申请暂停"))
    elif kind == RequestKind.CANCELLATION:
        if item.status not in (*OPEN_STATUSES, ItemStatus.SUSPENDED):
            raise _status_conflict(item, _("申请撤销"))

    if ItemRequest.objects.filter(item=item, kind=kind, status=RequestStatus.PENDING).exists():
        raise TransitionNotAllowed(_("该事项已有待审批的同类申请。"), code="request_pending")
    request = ItemRequest(
        item=item,
        kind=kind,
        reason=reason,
        requested_deadline=requested_deadline if kind == RequestKind.EXTENSION else None,
        outcome=outcome or "",
        requested_by=actor,
        requested_at=timezone.now(),
    )
    request.full_clean()
    request.save()
    _link_attachments(actor, attachment_ids, "attachment_ids", request=request)
    if kind == RequestKind.COMPLETION:
        item.status = ItemStatus.PENDING_REVIEW
    _bump(item)
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
    _require_office(actor)
    item = _lock_item(request.item, actor)
    _check_version(item, expected_version)
    request = ItemRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != RequestStatus.PENDING:
        raise TransitionNotAllowed(
            _("该申请已处理（%(status)s），不能重复审批。") % {"status": request.get_status_display()}, code="request_decided"
        )
    if not approve:
        comment = _require_text(comment, "comment", _("退回申请须说明理由。"))
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
                raise _status_conflict(item, _("批准延期"))
            request.previous_deadline = item.deadline
            item.deadline = request.requested_deadline
            item.deadline_time = None  # an extended item is due by the end of the new day
            item.extension_count += 1
            item.listed_for_supervision_at = None  # a new deadline starts a new reminder episode
            _reschedule(item)
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
            withdrawn = item.requests.filter(status=RequestStatus.PENDING).exclude(pk=request.pk)
            data["withdrawn_request_ids"] = list(withdrawn.values_list("pk", flat=True))
            withdrawn.update(status=RequestStatus.WITHDRAWN, decided_by=actor, decided_at=timezone.now())
    elif request.kind == RequestKind.COMPLETION:
        item.status = ItemStatus.IN_PROGRESS  # sent back: the unit keeps working
    request.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_comment = comment or ""
    request.save()
    _bump(item)
    item.save()
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
    return request


@transaction.atomic
def item_request_withdraw(*, actor: User, request: ItemRequest) -> ItemRequest:
    """The requester takes back a pending request."""
    item = _lock_item(request.item, actor)
    request = ItemRequest.objects.select_for_update().get(pk=request.pk)
    if request.requested_by_id != actor.pk:
        raise NotPermitted(_("只能撤回本人提交的申请。"), code="not_requester")
    if request.status != RequestStatus.PENDING:
        raise TransitionNotAllowed(_("该申请已处理，不能撤回。"), code="request_decided")
    from_status = item.status
    request.status = RequestStatus.WITHDRAWN
    request.save(update_fields=["status"])
    if request.kind == RequestKind.COMPLETION and item.status == ItemStatus.PENDING_REVIEW:
        item.status = ItemStatus.IN_PROGRESS
    _bump(item)
    item.save()
    audit_record(
        actor=actor, action=f"{request.kind}_withdrawn", obj=request, item=item, from_status=from_status, to_status=item.status
    )
    return request


@transaction.atomic
def item_resume(*, actor: User, item: Item, comment: str, expected_version: int | None = None) -> Item:
    """The office ends a suspension; the item returns to where it was."""
    _require_office(actor)
    item = _lock_item(item, actor)
    _check_version(item, expected_version)
    if item.status != ItemStatus.SUSPENDED:
        raise _status_conflict(item, _("恢复办理"))
    comment = _require_text(comment, "comment", _("请说明恢复办理的理由。"))
    from_status = item.status
    item.status = item.status_before_suspension or ItemStatus.IN_PROGRESS
    item.status_before_suspension = ""
    _reschedule(item)
    _bump(item)
    item.save()
    audit_record(
        actor=actor, action="item_resumed", obj=item, item=item, from_status=from_status, to_status=item.status, comment=comment
    )
    return item


# ---------------------------------------------------------------------------------------------
# Return visits (回访复核) and referrals (移交)


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
    _require_office(actor)
    item = _lock_item(item, actor)
    _check_version(item, expected_version)
    if item.status != ItemStatus.CLOSED:
        raise _status_conflict(item, _("回访复核"))
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
        findings=_require_text(findings, "findings", _("请填写复核情况。")),
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
        _reschedule(item)
        # Closing set 100%; a reopened item is not done, so fall back to the lead unit's last figure.
        item.progress = (
            item.reports.filter(unit_id=item.lead_unit_id, progress__isnull=False)
            .order_by("-submitted_at", "-id")
            .values_list("progress", flat=True)
            .first()
            or 0
        )
    _bump(item)
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
    _require_office(actor)
    item = _lock_item(item, actor)
    if item.status == ItemStatus.DRAFT:
        raise _status_conflict(item, _("移交"))
    if department not in ReferralDepartment.values:
        raise InvalidInput(fields={"department": [_("移交部门无效。")]})
    reason = _require_text(reason, "reason", _("请填写移交理由。"))
    if Referral.objects.filter(item=item, department=department).exists():
        raise TransitionNotAllowed(_("该事项已移交该部门。"), code="already_referred")
    referral = Referral.objects.create(item=item, department=department, reason=reason, referred_by=actor)
    audit_record(actor=actor, action="item_referred", obj=referral, item=item, comment=reason, data={"department": department})
    return referral


# ---------------------------------------------------------------------------------------------
# Warning-light thresholds


@transaction.atomic
def warning_threshold_save(*, actor: User, threshold: WarningThreshold) -> WarningThreshold:
    """Change when the light turns yellow for an urgency; open items are rescheduled after commit."""
    _require_office(actor)
    threshold.full_clean()
    threshold.save()
    audit_record(
        actor=actor,
        action="warning_threshold_saved",
        obj=threshold,
        data={
            "urgency": threshold.urgency,
            "yellow_share": str(threshold.yellow_share),
            "yellow_workdays": threshold.yellow_workdays,
        },
    )
    warning_dates_refresh_later()
    return threshold


def warning_dates_refresh_later() -> None:
    """Queue the recomputation of open items' warning dates once this transaction commits."""
    from tasks.lights import refresh_warning_dates

    transaction.on_commit(refresh_warning_dates.delay)


# ---------------------------------------------------------------------------------------------
# Reminder policies


@transaction.atomic
def reminder_policy_changed(*, actor: User, policy, deleted: bool = False) -> None:
    """Record a policy edit (made in the admin) and reschedule open items of its urgency after commit."""
    _require_office(actor)
    steps = [
        {
            "offset": s.offset_workdays,
            "to": [n for n in ("owner", "unit_handlers", "unit_head", "office", "issuing_leader") if getattr(s, f"to_{n}")],
        }
        for s in policy.steps.all()
    ]
    audit_record(
        actor=actor,
        action="reminder_policy_deleted" if deleted else "reminder_policy_saved",
        obj=policy,
        data={"urgency": policy.urgency, "category_id": policy.category_id, "steps": steps, "is_active": policy.is_active},
    )
    from tasks.reminders import reschedule_open_items

    urgency = policy.urgency
    transaction.on_commit(lambda: reschedule_open_items.delay(urgency))
