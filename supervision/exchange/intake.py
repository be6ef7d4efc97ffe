"""OA intake (OA 推送): an instruction and its items pushed in by an OA system under its own ids.

The sender's `external_id` makes intake idempotent: the first push creates the instruction and
its items (201); the same id with the same body returns the same record and creates nothing
(200); the same id with another body is refused (409 `external_id_conflict`). Two identical pushes
racing are decided by the unique constraint (actor, external_id): the loser returns the winner's
record.

A push is validated as a whole before anything is written, and every problem is reported at once
under its path (`items[2].lead_unit`). Then everything is created in one transaction through the
ledger's own services (instruction_create, item_create, item_assign), so permissions, ledger
codes, audit events, warning lights and reminders apply exactly as for a person; if any of them
still refuses, nothing of the push is kept.

Units, owners, the issuing leader and categories may be named by id or by exact name, because an
OA system knows names, not our ids. An issuing leader whose name matches no leader here is kept as
an external issuer (issuer_name), as the model allows for leaders from above."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Classification, Role
from accounts.models import IntegrationClient, Unit, User
from supervision import services
from supervision.audit import audit_record
from supervision.choices import InstructionNature, SuspicionSource, Urgency
from supervision.errors import InvalidInput, NotPermitted, NotVisible, TransitionNotAllowed
from supervision.models import Category, Instruction, IntakeItem, IntakeRecord, Item
from supervision.services.duplicates import suspicions_raise

MAX_ITEMS = 200

# Field names of the services' errors, as the intake payload calls them.
_SERVICE_FIELD_NAMES = {
    "lead_unit_id": "lead_unit",
    "owner_id": "owner",
    "supporting_unit_ids": "supporting_units",
    "category_id": "category",
}


class ExternalIdConflict(TransitionNotAllowed):
    """409: the sender already used this id for a different instruction body."""

    default_code = "external_id_conflict"


@dataclass
class IntakePayload:
    """A push after parsing (supervision/api/serializers_intake.py): what parsed, per part, and
    the problems found so far under their paths; the domain checks below add theirs."""

    external_id: str | None
    digest: str
    instruction: dict
    items: list[dict]
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class IntakeOutcome:
    record: IntakeRecord
    created: bool


def payload_digest(raw: Mapping) -> str:
    """The digest of the canonical body (keys sorted, no whitespace), so a retry that serialises
    the same JSON differently is still the same push."""
    blob = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# The service


def instruction_intake(*, actor: User, payload: IntakePayload, client: IntegrationClient | None = None) -> IntakeOutcome:
    """Receive one pushed instruction with its items (see the module docstring)."""
    if not actor.is_office:
        raise NotPermitted(_("只有督查室工作人员或获准推送的对接系统可以推送批示件。"), code="office_only")
    if payload.external_id:
        existing = _record_of(actor, payload.external_id)
        if existing is not None:
            return _repeat(existing, payload)
    plan = _plan(actor, payload)
    try:
        record = _create(actor=actor, client=client, payload=payload, plan=plan)
    except _LostRace:
        # A twin committed the same external id while this push waited on the unique index.
        winner = _record_of(actor, payload.external_id)
        if winner is None:  # cannot happen while records are never deleted; say so rather than 500
            raise ExternalIdConflict(_("外部编号“%(id)s”正被另一请求使用，请稍后重试。") % {"id": payload.external_id}) from None
        return _repeat(winner, payload)
    return IntakeOutcome(record, created=True)


def _record_of(actor: User, external_id: str) -> IntakeRecord | None:
    return IntakeRecord.objects.filter(actor=actor, external_id=external_id).first()


def _repeat(record: IntakeRecord, payload: IntakePayload) -> IntakeOutcome:
    if record.body_digest != payload.digest:
        raise ExternalIdConflict(
            _(
                "外部编号“%(id)s”已于 %(when)s 用于另一份批示件（内容不同）。同一批示件重发时请保持内容不变；新的批示件请使用新的外部编号。"
            )
            % {"id": record.external_id, "when": timezone.localtime(record.created_at).strftime("%Y-%m-%d %H:%M")}
        )
    return IntakeOutcome(record, created=False)


class _LostRace(Exception):
    pass


@dataclass
class _ItemPlan:
    external_id: str
    fields: dict
    assign: bool


@dataclass
class _Plan:
    instruction: dict
    items: list[_ItemPlan]


@transaction.atomic
def _create(*, actor: User, client: IntegrationClient | None, payload: IntakePayload, plan: _Plan) -> IntakeRecord:
    # The record first: a racing twin blocks on the unique index here, before doing any work,
    # and fails as soon as this transaction commits.
    try:
        with transaction.atomic():
            record = IntakeRecord.objects.create(
                actor=actor, client=client, external_id=payload.external_id, body_digest=payload.digest
            )
    except IntegrityError:
        raise _LostRace() from None
    instruction = _as_intake_error("", lambda: services.instruction_create(actor=actor, **plan.instruction))
    record.instruction = instruction
    record.save(update_fields=["instruction"])
    links = []
    for index, item_plan in enumerate(plan.items):
        prefix = f"items[{index}]."
        item = _as_intake_error(
            prefix, lambda p=item_plan: services.item_create(actor=actor, instruction=instruction, **p.fields)
        )
        if item_plan.assign:
            item = _as_intake_error(
                prefix, lambda i=item: services.item_assign(actor=actor, item=i, comment=_("OA 推送，即时交办"))
            )
        links.append(IntakeItem(record=record, external_id=item_plan.external_id, item=item, position=index))
    IntakeItem.objects.bulk_create(links)
    # A matter already on the ledger is accepted, but marked 疑似重复 for the office to decide.
    suspicions_raise(actor=actor, items=[link.item for link in links], source=SuspicionSource.INTAKE)
    audit_record(
        actor=actor,
        action="instruction_intake",
        obj=record,
        data={
            "external_id": record.external_id,
            "client_id": client.pk if client else None,
            "instruction_id": instruction.pk,
            "items": {link.external_id: link.item.code for link in links},
        },
    )
    return record


def _as_intake_error(prefix: str, call: Callable):
    """Run a service; a refusal it still finds (after our own checks) names the payload's path."""
    try:
        return call()
    except InvalidInput as exc:
        fields = {f"{prefix}{_SERVICE_FIELD_NAMES.get(name, name)}": messages for name, messages in exc.fields.items()}
        raise InvalidInput(exc.message, code=exc.code, fields=fields) from exc


# ---------------------------------------------------------------------------------------------
# Validation of the whole push


class _Errors:
    def __init__(self, initial: Mapping[str, list[str]]):
        self.by_path: dict[str, list[str]] = defaultdict(list)
        for path, messages in initial.items():
            self.by_path[path].extend(str(m) for m in messages)

    def add(self, path: str, message: str) -> None:
        self.by_path[path].append(message)

    def has(self, path: str) -> bool:
        return path in self.by_path


def _by_id_or_name(model_qs: QuerySet, refs: set, *, name_field: str = "name") -> tuple[dict, dict]:
    """One query for every reference: {id: obj}, {name: [objs]}."""
    ids = {r for r in refs if isinstance(r, int)}
    names = {r for r in refs if isinstance(r, str)}
    if not ids and not names:
        return {}, {}
    found = list(model_qs.filter(Q(pk__in=ids) | Q(**{f"{name_field}__in": names})))
    by_name: dict[str, list] = defaultdict(list)
    for obj in found:
        by_name[getattr(obj, name_field)].append(obj)
    return {obj.pk: obj for obj in found}, by_name


def _plan(actor: User, payload: IntakePayload) -> _Plan:
    errors = _Errors(payload.errors)
    head = payload.instruction
    today = timezone.localdate()

    # The instruction
    classification = head.get("classification", Classification.PUBLIC)
    if classification > actor.clearance:
        errors.add("classification", _clearance_message(actor, classification))
    leader, issuer_name = _resolve_leader(head, errors)
    if not errors.has("issuing_leader") and leader is None and not issuer_name:
        errors.add("issuing_leader", _("请填写批示领导（人员 ID 或姓名）或外部批示人（issuer_name）。"))
    instruction_fields = {
        "title": head.get("title"),
        "kind": head.get("kind"),
        "nature": head.get("nature", InstructionNature.ACTIONABLE),
        "issuing_leader": leader,
        "issuer_name": issuer_name,
        "document_number": head.get("document_number", ""),
        "issued_on": head.get("issued_on"),
        "text": head.get("text"),
        "classification": classification,
    }

    # Every unit and category named anywhere, in one query each.
    unit_refs, category_refs = set(), set()
    for raw in payload.items:
        unit_refs.update(r for r in [raw.get("lead_unit"), *raw.get("supporting_units", [])] if r is not None)
        if raw.get("category") is not None:
            category_refs.add(raw["category"])
    if head.get("category") is not None:
        category_refs.add(head["category"])
    units_by_id, units_by_name = _by_id_or_name(Unit.objects.all(), unit_refs)
    categories_by_id, categories_by_name = _by_id_or_name(Category.objects.all(), category_refs)

    def unit(ref, path: str) -> Unit | None:
        found = units_by_id.get(ref) if isinstance(ref, int) else (units_by_name.get(ref) or [None])[0]
        if found is None:
            errors.add(path, _("单位“%(ref)s”不存在（请填写单位 ID 或单位全称）。") % {"ref": ref})
        elif not found.is_active:
            errors.add(path, _("单位“%(name)s”已停用。") % {"name": found.name})
            return None
        return found

    def category(ref, path: str) -> Category | None:
        found = categories_by_id.get(ref) if isinstance(ref, int) else (categories_by_name.get(ref) or [None])[0]
        if found is None or not found.is_active:
            errors.add(path, _("事项类别“%(ref)s”不存在或已停用。") % {"ref": ref})
            return None
        return found

    default_category = category(head["category"], "category") if head.get("category") is not None else None

    # The items
    plans: list[_ItemPlan] = []
    first_index: dict[str, int] = {}
    issued_on = head.get("issued_on")
    nature = instruction_fields["nature"]
    for index, raw in enumerate(payload.items):
        p = f"items[{index}]."
        external_id = raw.get("external_id")
        if external_id is not None:
            if external_id in first_index:
                errors.add(
                    p + "external_id",
                    _("外部编号“%(id)s”与 items[%(first)s] 重复；同一批示件内事项的外部编号不能重复。")
                    % {"id": external_id, "first": first_index[external_id]},
                )
            else:
                first_index[external_id] = index

        lead = unit(raw["lead_unit"], p + "lead_unit") if raw.get("lead_unit") is not None else None
        supporting: list[Unit] = []
        seen: set[int] = set()
        for ref in raw.get("supporting_units", []):
            found = unit(ref, p + "supporting_units")
            if found is None:
                continue
            if found.pk in seen:
                errors.add(p + "supporting_units", _("配合单位“%(name)s”重复。") % {"name": found.name})
            elif lead is not None and found.pk == lead.pk:
                errors.add(p + "supporting_units", _("配合单位“%(name)s”与牵头单位相同。") % {"name": found.name})
            else:
                seen.add(found.pk)
                supporting.append(found)

        owner = _resolve_owner(raw, lead, p, errors)
        item_category = category(raw["category"], p + "category") if raw.get("category") is not None else default_category

        deadline, workdays = raw.get("deadline"), raw.get("deadline_workdays")
        deadline_time = raw.get("deadline_time")
        urgency = raw.get("urgency", Urgency.NORMAL)
        if deadline is not None and workdays is not None:
            errors.add(
                p + "deadline_workdays", _("办理时限按日期（deadline）或按工作日数（deadline_workdays）填写，只能二选一。")
            )
        if deadline is not None and issued_on is not None and deadline < issued_on:
            errors.add(p + "deadline", _("办理时限不能早于批示日期（%(d)s）。") % {"d": issued_on})
        if deadline_time is not None and urgency != Urgency.EXTRA_URGENT:
            errors.add(p + "deadline_time", _("只有特急事项可以规定当日办结时间。"))

        item_classification = raw.get("classification", classification)
        if item_classification < classification:
            errors.add(
                p + "classification",
                _("事项密级不能低于所属批示件的密级（%(level)s）。") % {"level": Classification(classification).label},
            )
        if item_classification > actor.clearance and item_classification != classification:
            errors.add(p + "classification", _clearance_message(actor, item_classification))
        if owner is not None and owner.clearance < item_classification:
            # The owner must see her own item (issue 12): said here as a field error of the push.
            errors.add(
                p + "owner",
                _("责任人“%(name)s”的密级权限为“%(clearance)s”，不能承办“%(level)s”事项。")
                % {
                    "name": owner,
                    "clearance": Classification(owner.clearance).label,
                    "level": Classification(item_classification).label,
                },
            )

        assign = bool(raw.get("assign", False))
        if assign:
            if raw.get("lead_unit") is None and not errors.has(p + "lead_unit"):
                errors.add(p + "lead_unit", _("即时交办（assign）须指定牵头单位。"))
            if raw.get("owner") is None and not errors.has(p + "owner"):
                errors.add(p + "owner", _("即时交办（assign）须指定责任人。"))
            undated = (
                deadline is None
                and workdays is None
                and not errors.has(p + "deadline")
                and not errors.has(p + "deadline_workdays")
            )
            if nature != InstructionNature.REFERENCE and undated:
                errors.add(p + "deadline", _("批办性、指导性事项即时交办须明确办理时限（deadline 或 deadline_workdays）。"))
            if deadline is not None and deadline < today:
                errors.add(p + "deadline", _("即时交办的办理时限不能早于今天。"))
            elif deadline == today and deadline_time is not None and deadline_time <= timezone.localtime().time():
                errors.add(p + "deadline_time", _("当日办结时间已过。"))

        plans.append(
            _ItemPlan(
                external_id=external_id,
                assign=assign,
                fields={
                    "title": raw.get("title"),
                    "requirement": raw.get("requirement", ""),
                    "category": item_category,
                    "lead_unit": lead,
                    "supporting_units": supporting,
                    "owner": owner,
                    "deadline": deadline,
                    "deadline_time": deadline_time,
                    "deadline_workdays": workdays,
                    "urgency": urgency,
                    "reporting_cycle": raw.get("reporting_cycle", "none"),
                    "classification": item_classification,
                },
            )
        )

    if errors.by_path:
        raise InvalidInput(
            _("推送内容有误，共 %(n)s 处，均未保存。") % {"n": sum(len(m) for m in errors.by_path.values())},
            code="invalid",
            fields=dict(errors.by_path),
        )
    return _Plan(instruction=instruction_fields, items=plans)


def _clearance_message(actor: User, level: int) -> str:
    who = _("本对接系统（服务账号）") if hasattr(actor, "integration_client") else _("您")
    return _("密级“%(level)s”高于%(who)s的密级权限“%(clearance)s”，不能推送。") % {
        "level": Classification(level).label,
        "who": who,
        "clearance": Classification(actor.clearance).label,
    }


def _resolve_leader(head: dict, errors: _Errors) -> tuple[User | None, str]:
    """A leader of this system by id or by exact name; a name that matches no leader here is an
    external issuer (e.g. a leader from above)."""
    ref = head.get("issuing_leader")
    issuer_name = (head.get("issuer_name") or "").strip()
    if ref is None:
        return None, issuer_name
    leaders = User.objects.filter(is_active=True, role_assignments__role=Role.LEADER)
    if isinstance(ref, int):
        leader = leaders.filter(pk=ref).first()
        if leader is None:
            errors.add("issuing_leader", _("批示领导（ID %(id)s）不存在，或不是具有领导角色的在职人员。") % {"id": ref})
        return leader, issuer_name
    matches = list(leaders.filter(full_name=ref).distinct()[:2])
    if len(matches) > 1:
        errors.add("issuing_leader", _("有多位名为“%(name)s”的领导，请改用人员 ID。") % {"name": ref})
        return None, issuer_name
    if matches:
        return matches[0], issuer_name
    return None, issuer_name or ref


def _resolve_owner(raw: dict, lead: Unit | None, p: str, errors: _Errors) -> User | None:
    """The owner (责任人) by id, or by exact name (or username) among the lead unit's people."""
    ref = raw.get("owner")
    if ref is None:
        return None
    if isinstance(ref, int):
        owner = User.objects.filter(pk=ref, is_active=True).first()
        if owner is None:
            errors.add(p + "owner", _("责任人（ID %(id)s）不存在或已停用。") % {"id": ref})
        elif lead is not None and owner.unit_id != lead.pk:
            errors.add(p + "owner", _("责任人“%(name)s”不是牵头单位“%(unit)s”的人员。") % {"name": owner, "unit": lead.name})
            return None
        return owner
    if lead is None:
        if raw.get("lead_unit") is None:
            errors.add(p + "owner", _("按姓名指定责任人时须同时指定牵头单位。"))
        return None  # an unknown lead unit is reported on lead_unit already
    matches = list(User.objects.filter(unit=lead, is_active=True).filter(Q(full_name=ref) | Q(username=ref))[:2])
    if not matches:
        errors.add(p + "owner", _("牵头单位“%(unit)s”中没有名为“%(name)s”的在职人员。") % {"unit": lead.name, "name": ref})
        return None
    if len(matches) > 1:
        errors.add(p + "owner", _("牵头单位“%(unit)s”中有多名“%(name)s”，请改用人员 ID。") % {"unit": lead.name, "name": ref})
        return None
    return matches[0]


# ---------------------------------------------------------------------------------------------
# Reads (for the OA system polling its pushes)


@dataclass(frozen=True)
class IntakeView:
    record: IntakeRecord
    instruction: Instruction
    items: list[tuple[str, Item]]  # (external_id, item), in the pushed order


def intake_record_get(*, user: User, external_id: str) -> IntakeView:
    """The sender's own push with its items' current codes, statuses and lights, through the
    visibility rule: what the sender may no longer see (e.g. reclassified above its clearance)
    is absent."""
    record = IntakeRecord.objects.filter(actor=user, external_id=external_id, instruction__isnull=False).first()
    if record is None:
        raise NotVisible()
    instruction = Instruction.objects.visible_to(user).select_related("issuing_leader").filter(pk=record.instruction_id).first()
    if instruction is None:
        raise NotVisible()
    links = list(IntakeItem.objects.filter(record=record).order_by("position").values_list("external_id", "item_id"))
    items = {
        item.pk: item for item in Item.objects.visible_to(user).for_list().filter(pk__in=[item_id for _ext, item_id in links])
    }
    return IntakeView(record, instruction, [(ext, items[item_id]) for ext, item_id in links if item_id in items])
