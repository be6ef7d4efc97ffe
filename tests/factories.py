"""Test data: factory_boy factories for plain rows, and helpers that build ledger items through
the real services so every item (and its audit trail) is one the application could have made.

Plain rows (no business rules involved):

    UnitFactory(name="县教育局", parent=None, kind=UnitKind.DEPARTMENT)
    UserFactory(unit=unit, roles=[Role.UNIT_HANDLER], clearance=Classification.SECRET)
    CategoryFactory(), InstructionFactory(created_by=office_user)

Ledger items in any state, walked through the services (item_create → item_assign →
item_acknowledge by every unit → progress_report_create → completion request → decision →
return visit; suspension and cancellation via approved requests):

    item = make_item(ItemStatus.IN_PROGRESS, office=w.office, lead_unit=w.edu,
                     supporting_units=[w.env], owner=w.edu_handler)
    advance_item(item, ItemStatus.CLOSED, office=w.office)   # continue from where it stands
    make_item(ItemStatus.SUSPENDED, office=w.office, lead_unit=w.edu, owner=w.edu_handler, via=ItemStatus.ACKNOWLEDGED)

Assertions shared by service and API tests: `audit_mark()` / `assert_one_event(mark, ...)` for
"exactly one audit event, with the right action, actor and states"; `refused(Error, item=...)`
for "refused, nothing written, item unchanged".

Whoever signs or reports for a unit is a handler/head of that unit (the owner first, then any
existing one; one is created if the unit has none). Helpers return a fresh copy from the DB.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from contextlib import contextmanager

import factory
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.choices import Classification, Role, UnitKind
from accounts.models import RoleAssignment, Unit, User
from supervision import services
from supervision.choices import (
    OPEN_REQUEST_STATUSES,
    InstructionKind,
    InstructionNature,
    ItemStatus,
    RequestKind,
    RequestStatus,
    ReturnVisitResult,
)
from supervision.models import AuditEvent, Category, Instruction, Item, ItemRequest, OfficeSettings
from supervision.services.guards import unit_approvers

# ---------------------------------------------------------------------------------------------
# Factories


class UnitFactory(DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"测试单位{n}")
    kind = UnitKind.DEPARTMENT
    parent = None


class UserFactory(DjangoModelFactory):
    """A user; `roles=[Role.UNIT_HANDLER, ...]` creates the RoleAssignment rows."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    password = factory.django.Password("pass-1234")
    unit = None
    clearance = Classification.INTERNAL
    is_active = True

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if not create or not extracted:
            return
        for role in extracted:
            RoleAssignment.objects.get_or_create(user=self, role=role)
        self.__dict__.pop("role_codes", None)  # cached_property: reload on next access


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"类别{n}")


class InstructionFactory(DjangoModelFactory):
    """A raw instruction row (no audit event). Prefer `make_instruction` in lifecycle tests."""

    class Meta:
        model = Instruction

    title = factory.Sequence(lambda n: f"关于第{n}项工作的批示")
    kind = InstructionKind.LEADER_INSTRUCTION
    nature = InstructionNature.ACTIONABLE
    issuing_leader = factory.SubFactory(UserFactory, roles=[Role.LEADER], clearance=Classification.CONFIDENTIAL)
    issued_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=10))
    text = "请抓紧研究落实，按时报送进展。"
    classification = Classification.PUBLIC
    created_by = factory.SubFactory(UserFactory, roles=[Role.OFFICE_STAFF], clearance=Classification.CONFIDENTIAL)


# ---------------------------------------------------------------------------------------------
# Service-built data


# The main road through an item's life; SUSPENDED and CANCELLED branch off it.
LADDER = (
    ItemStatus.DRAFT,
    ItemStatus.AWAITING_APPROVAL,
    ItemStatus.ASSIGNED,
    ItemStatus.ACKNOWLEDGED,
    ItemStatus.IN_PROGRESS,
    ItemStatus.PENDING_REVIEW,
    ItemStatus.CLOSED,
    ItemStatus.VERIFIED,
)


# The smallest files the evidence allow-list (stored_files.EVIDENCE_TYPES) recognises by content.
PDF = b"%PDF-1.4\n% evidence\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 32


def upload(actor: User, content: bytes = PDF, name: str = "evidence.pdf"):
    """An uploaded, not yet linked attachment owned by `actor` (a PDF unless told otherwise)."""
    return services.attachment_upload(actor=actor, uploaded_file=ContentFile(content, name=name))


def any_leader() -> User:
    leader = User.objects.filter(role_assignments__role=Role.LEADER, clearance=Classification.CONFIDENTIAL).first()
    return leader or UserFactory(roles=[Role.LEADER], clearance=Classification.CONFIDENTIAL)


def make_instruction(
    *, office: User, classification: int = Classification.PUBLIC, nature: str = InstructionNature.ACTIONABLE, **fields
) -> Instruction:
    """An instruction registered through `instruction_create` (issued ten days ago)."""
    fields.setdefault("title", "关于加快推进重点工作的批示")
    fields.setdefault("kind", InstructionKind.LEADER_INSTRUCTION)
    fields.setdefault("issued_on", timezone.localdate() - datetime.timedelta(days=10))
    fields.setdefault("text", "请相关单位抓紧落实，按时反馈。")
    if "issuer_name" not in fields:
        fields.setdefault("issuing_leader", any_leader())
    return services.instruction_create(actor=office, classification=classification, nature=nature, **fields)


def unit_actor(unit: Unit, prefer: User | None = None) -> User:
    """Someone who may sign and report for `unit` (a handler or head of exactly that unit)."""
    if prefer is not None and prefer.unit_id == unit.pk and prefer.is_unit_user:
        return prefer
    user = (
        User.objects.filter(unit=unit, is_active=True, role_assignments__role__in=[Role.UNIT_HANDLER, Role.UNIT_HEAD])
        .order_by("pk")
        .first()
    )
    return user or UserFactory(unit=unit, roles=[Role.UNIT_HANDLER])


def make_item(
    state: str = ItemStatus.DRAFT,
    *,
    office: User,
    lead_unit: Unit,
    owner: User,
    supporting_units: Sequence[Unit] = (),
    instruction: Instruction | None = None,
    classification: int | None = None,
    deadline: datetime.date | None = None,
    title: str = "督办事项",
    via: str = ItemStatus.IN_PROGRESS,
    **item_fields,
) -> Item:
    """Register an item with `item_create` and walk it to `state` through the services.

    Without `instruction` one is registered at the item's classification (PUBLIC by default).
    The deadline defaults to 30 days from today. For SUSPENDED / CANCELLED the item first goes
    to `via` (default IN_PROGRESS), then a request is filed and approved by `office`."""
    if instruction is None:
        instruction = make_instruction(office=office, classification=classification or Classification.PUBLIC)
    if deadline is None and instruction.nature != InstructionNature.REFERENCE:
        deadline = timezone.localdate() + datetime.timedelta(days=30)
    item = services.item_create(
        actor=office,
        instruction=instruction,
        title=title,
        lead_unit=lead_unit,
        supporting_units=list(supporting_units),
        owner=owner,
        deadline=deadline,
        classification=classification,
        **item_fields,
    )
    return advance_item(item, state, office=office, via=via)


def advance_item(item: Item, state: str, *, office: User, via: str = ItemStatus.IN_PROGRESS) -> Item:
    """Move an item forward from its current state to `state` (see make_item)."""
    item = Item.objects.get(pk=item.pk)
    if state in (ItemStatus.SUSPENDED, ItemStatus.CANCELLED):
        item = advance_item(item, via, office=office)
        kind = RequestKind.SUSPENSION if state == ItemStatus.SUSPENDED else RequestKind.CANCELLATION
        request = services.item_request_create(actor=office, item=item, kind=kind, reason="因客观原因需调整")
        services.item_request_decide(actor=office, request=request, approve=True, comment="同意")
        return Item.objects.get(pk=item.pk)
    if item.status not in LADDER or LADDER.index(state) < LADDER.index(item.status):
        raise ValueError(f"cannot advance {item.status} to {state}")
    lead_actor = unit_actor(item.lead_unit, prefer=item.owner) if item.lead_unit_id else None
    while item.status != state:
        status = item.status
        if status == ItemStatus.DRAFT:
            if state == ItemStatus.AWAITING_APPROVAL:
                # Only where the office requires the 督查室主任's approval does an item wait for it.
                OfficeSettings.objects.update_or_create(pk=1, defaults={"director_approval_required": True})
            services.item_assign(actor=office, item=item)
        elif status == ItemStatus.AWAITING_APPROVAL:
            services.item_approve(actor=office_director(), item=item)
        elif status == ItemStatus.ASSIGNED:
            for assignment in item.assignments.filter(acknowledged_at__isnull=True).select_related("unit"):
                actor = lead_actor if assignment.unit_id == item.lead_unit_id else unit_actor(assignment.unit)
                services.item_acknowledge(actor=actor, item=item)
        elif status == ItemStatus.ACKNOWLEDGED:
            services.progress_report_create(actor=lead_actor, item=item, progress_text="已召开专题会议部署", progress=50)
        elif status == ItemStatus.IN_PROGRESS:
            evidence = upload(lead_actor)
            services.item_request_create(
                actor=lead_actor,
                item=item,
                kind=RequestKind.COMPLETION,
                reason="已按要求办结",
                outcome="问题已整改到位",
                attachment_ids=[evidence.pk],
            )
        elif status == ItemStatus.PENDING_REVIEW:
            request = ItemRequest.objects.get(item=item, kind=RequestKind.COMPLETION, status__in=OPEN_REQUEST_STATUSES)
            request = endorsed(request)
            services.item_request_decide(actor=office, request=request, approve=True, comment="同意销号")
        elif status == ItemStatus.CLOSED:
            services.return_visit_create(actor=office, item=item, result=ReturnVisitResult.PASSED, findings="整改成效巩固")
        else:  # pragma: no cover - guarded above
            raise ValueError(status)
        item = Item.objects.get(pk=item.pk)
        if item.status == status:
            raise AssertionError(f"advance_item made no progress from {status}")
    return item


def office_director() -> User:
    """The 督查室主任 (Role.OFFICE_DIRECTOR), made if there is none."""
    director = User.objects.filter(role_assignments__role=Role.OFFICE_DIRECTOR, is_active=True).order_by("pk").first()
    return director or UserFactory(
        username="director", roles=[Role.OFFICE_STAFF, Role.OFFICE_DIRECTOR], clearance=Classification.CONFIDENTIAL
    )


def unit_approver(unit: Unit) -> User:
    """Someone who signs for `unit` (rule 14): its head, made if the unit has none."""
    approver = unit_approvers(unit.pk).first()
    if approver is None:
        approver = UserFactory(unit=unit, roles=[Role.UNIT_HEAD], clearance=Classification.CONFIDENTIAL)
    return approver


def endorsed(request: ItemRequest) -> ItemRequest:
    """The request as the office sees it: signed by its unit's approver when it still waits for that."""
    request = ItemRequest.objects.get(pk=request.pk)
    if request.status == RequestStatus.AWAITING_ENDORSEMENT:
        request = services.item_request_endorse(actor=unit_approver(request.unit), request=request)
    return request


# ---------------------------------------------------------------------------------------------
# Assertions


def audit_mark() -> int:
    """The newest audit seq now; pass it to `new_events` / `assert_one_event` later."""
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return last or 0


def new_events(mark: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=mark).order_by("seq"))


def assert_one_event(
    mark: int, *, action: str, actor: User, item: Item | None = None, from_status=None, to_status=None
) -> AuditEvent:
    """Exactly one audit event since `mark`, with these fields (statuses checked when given)."""
    events = new_events(mark)
    assert [e.action for e in events] == [action], f"expected one {action!r} event"
    event = events[0]
    assert event.actor_id == actor.pk
    assert event.actor_name == str(actor)
    if item is not None:
        assert event.item_id == item.pk
    if from_status is not None:
        assert event.from_status == from_status
    if to_status is not None:
        assert event.to_status == to_status
    return event


ITEM_STATE_FIELDS = (
    "status",
    "version",
    "deadline",
    "original_deadline",
    "progress",
    "extension_count",
    "reopen_count",
    "lead_unit_id",
    "owner_id",
    "classification",
    "closed_at",
    "status_before_suspension",
)


@contextmanager
def refused(error, *, item: Item | None = None, code: str | None = None, fields: Sequence[str] = ()):
    """The block raises `error` (with `code` and these `fields` if given), writes no audit event
    and leaves `item` exactly as it was. Yields pytest's ExceptionInfo."""
    mark = audit_mark()
    before = Item.objects.filter(pk=item.pk).values(*ITEM_STATE_FIELDS).get() if item is not None else None
    assignments_before = (
        list(item.assignments.order_by("pk").values_list("unit_id", "role", "acknowledged_at")) if item is not None else None
    )
    with pytest.raises(error) as info:
        yield info
    if code is not None:
        assert info.value.code == code
    for name in fields:
        assert name in info.value.fields, info.value.fields
    assert new_events(mark) == [], "a refused change must not be audited"
    if item is not None:
        assert Item.objects.filter(pk=item.pk).values(*ITEM_STATE_FIELDS).get() == before
        assert list(item.assignments.order_by("pk").values_list("unit_id", "role", "acknowledged_at")) == assignments_before
