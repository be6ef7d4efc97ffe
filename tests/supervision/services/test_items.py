"""item_create (分解立项), item_update and item_assign (交办)."""

import datetime

import pytest
from django.utils import timezone

from accounts.choices import Classification
from supervision import services
from supervision.choices import AssignmentRole, InstructionNature, ItemStatus
from supervision.errors import InvalidInput, NotPermitted, StaleVersion, TransitionNotAllowed
from supervision.models import Item
from tests.factories import CategoryFactory, assert_one_event, audit_mark, make_instruction, make_item, new_events, refused

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
IN_30 = lambda: TODAY() + datetime.timedelta(days=30)  # noqa: E731


def create(world, **kw):
    if "instruction" not in kw:
        kw["instruction"] = make_instruction(office=world.office)
    kw.setdefault("title", "校园安全隐患排查整治")
    kw.setdefault("lead_unit", world.edu)
    kw.setdefault("owner", world.edu_handler)
    kw.setdefault("deadline", IN_30())
    return services.item_create(actor=kw.pop("actor", world.office), **kw)


def roles_of(item):
    return sorted((a.unit.name, a.role) for a in item.assignments.select_related("unit"))


# --- item_create -------------------------------------------------------------------------------


def test_create_registers_a_draft_with_assignments_and_audit(world):
    instruction = make_instruction(office=world.office)
    category = CategoryFactory(name="民生实事")
    mark = audit_mark()
    item = create(world, instruction=instruction, supporting_units=[world.env, world.town], category=category)
    assert item.status == ItemStatus.DRAFT and item.version == 1
    assert item.classification == instruction.classification and item.category == category
    assert roles_of(item) == sorted(
        [("县教育局", AssignmentRole.LEAD), ("县环保局", AssignmentRole.SUPPORTING), ("黄庄乡", AssignmentRole.SUPPORTING)]
    )
    event = assert_one_event(mark, action="item_created", actor=world.office, item=item, from_status="", to_status="draft")
    assert event.data == {"code": item.code, "instruction_id": instruction.pk}


def test_ledger_codes_are_sequential_per_year(world):
    instruction = make_instruction(office=world.office)
    year = TODAY().year
    codes = [create(world, instruction=instruction, title=f"事项{i}").code for i in range(3)]
    assert codes == [f"DB-{year}-0001", f"DB-{year}-0002", f"DB-{year}-0003"]


@pytest.mark.parametrize("who", ["edu_handler", "edu_head", "leader", "discipline"])
def test_create_office_only(world, who):
    instruction = make_instruction(office=world.office)
    with refused(NotPermitted, code="office_only"):
        create(world, actor=getattr(world, who), instruction=instruction)
    assert not Item.objects.exists()


def test_create_under_instruction_above_clearance_refused(world):
    secret = make_instruction(office=world.office, classification=Classification.SECRET)
    with refused(NotPermitted):
        create(world, actor=world.office_low, instruction=secret)


def test_owner_must_belong_to_the_lead_unit_itself(world):
    instruction = make_instruction(office=world.office)
    with refused(InvalidInput, fields=["owner"]):
        create(world, instruction=instruction, lead_unit=world.edu, owner=world.env_handler)
    # Not a sub-unit's person either: the owner must be able to sign and report for the lead unit.
    with refused(InvalidInput, fields=["owner"]):
        create(world, instruction=instruction, lead_unit=world.town, owner=world.town_sub_handler)
    item = create(world, instruction=instruction, lead_unit=world.town, owner=world.town_handler)
    assert item.owner == world.town_handler


def test_supporting_units_cannot_include_lead(world):
    instruction = make_instruction(office=world.office)
    with refused(InvalidInput, fields=["supporting_unit_ids"]):
        create(world, instruction=instruction, supporting_units=[world.env, world.edu])
    assert not Item.objects.exists()


def test_item_classification_not_below_instruction(world):
    secret = make_instruction(office=world.office, classification=Classification.SECRET)
    with refused(InvalidInput, fields=["classification"]):
        create(world, instruction=secret, classification=Classification.INTERNAL)
    assert (
        create(world, instruction=secret, classification=Classification.CONFIDENTIAL, owner=None).classification
        == Classification.CONFIDENTIAL
    )


def test_item_classification_not_above_actor_clearance(world):
    instruction = make_instruction(office=world.office_low)
    with refused(InvalidInput, fields=["classification"]):
        create(world, actor=world.office_low, instruction=instruction, classification=Classification.SECRET)


def test_deadline_not_before_instruction_date(world):
    instruction = make_instruction(office=world.office)
    with refused(InvalidInput, fields=["deadline"]):
        create(world, instruction=instruction, deadline=instruction.issued_on - datetime.timedelta(days=1))


def test_title_required(world):
    instruction = make_instruction(office=world.office)
    with refused(InvalidInput, fields=["title"]):
        create(world, instruction=instruction, title=" ")


def test_refused_create_does_not_consume_a_ledger_number(world):
    instruction = make_instruction(office=world.office)
    with refused(InvalidInput):
        create(world, instruction=instruction, owner=world.env_handler)
    assert create(world, instruction=instruction).code.endswith("-0001")


# --- item_update ---------------------------------------------------------------------------------


def test_draft_is_fully_editable(world):
    item = create(world, supporting_units=[world.env, world.town])
    mark = audit_mark()
    new_deadline = TODAY() + datetime.timedelta(days=60)
    item = services.item_update(
        actor=world.office,
        item=item,
        expected_version=1,
        lead_unit=world.env,
        owner=world.env_handler,
        deadline=new_deadline,
        supporting_units=[world.town],
    )
    assert (item.lead_unit, item.owner, item.deadline, item.version) == (world.env, world.env_handler, new_deadline, 2)
    assert roles_of(item) == [("县环保局", AssignmentRole.LEAD), ("黄庄乡", AssignmentRole.SUPPORTING)]
    event = assert_one_event(mark, action="item_updated", actor=world.office, item=item)
    assert set(event.data) == {"lead_unit", "owner", "deadline", "supporting_units"}


def test_update_without_change_writes_nothing(world):
    item = create(world)
    mark = audit_mark()
    same = services.item_update(actor=world.office, item=item, title=item.title, deadline=item.deadline)
    assert same.version == 1 and new_events(mark) == []


def test_update_stale_version(world):
    item = create(world)
    services.item_update(actor=world.office, item=item, expected_version=1, title="改一次")
    with refused(StaleVersion, item=item) as info:
        services.item_update(actor=world.office, item=item, expected_version=1, title="改两次")
    assert info.value.status_code == 412
    assert Item.objects.get(pk=item.pk).title == "改一次"


def test_update_by_unit_user_refused(world):
    item = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    with refused(NotPermitted, item=item, code="office_only"):
        services.item_update(actor=world.edu_head, item=item, title="自行修改")


@pytest.mark.parametrize("state", [ItemStatus.ASSIGNED, ItemStatus.IN_PROGRESS])
def test_deadline_fixed_after_assignment(world, state):
    item = make_item(state, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    with refused(TransitionNotAllowed, item=item, code="deadline_fixed_after_assignment") as info:
        services.item_update(actor=world.office, item=item, deadline=item.deadline + datetime.timedelta(days=5))
    assert info.value.status_code == 409


def test_lead_unit_fixed_after_assignment(world):
    item = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    with refused(TransitionNotAllowed, item=item, code="lead_unit_fixed_after_assignment"):
        services.item_update(actor=world.office, item=item, lead_unit=world.env, owner=world.env_handler)


def test_supporting_units_can_be_added_after_assignment(world):
    item = make_item(
        ItemStatus.ACKNOWLEDGED, office=world.office, lead_unit=world.edu, supporting_units=[world.env], owner=world.edu_handler
    )
    mark = audit_mark()
    item = services.item_update(actor=world.office, item=item, supporting_units=[world.env, world.town])
    added = item.assignments.get(unit=world.town)
    assert added.role == AssignmentRole.SUPPORTING and added.acknowledged_at is None
    assert item.assignments.get(unit=world.env).acknowledged_at is not None  # kept, signature and all
    assert_one_event(mark, action="item_updated", actor=world.office, item=item)


def test_supporting_units_cannot_be_removed_after_assignment(world):
    item = make_item(
        ItemStatus.ASSIGNED,
        office=world.office,
        lead_unit=world.edu,
        supporting_units=[world.env, world.town],
        owner=world.edu_handler,
    )
    with refused(TransitionNotAllowed, item=item, code="supporting_units_fixed_after_assignment"):
        services.item_update(actor=world.office, item=item, supporting_units=[world.town])


def test_other_fields_editable_after_assignment(world):
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    updated = services.item_update(actor=world.office, item=item, owner=world.edu_head, requirement="加强夜间巡查")
    assert (updated.owner, updated.requirement, updated.status) == (world.edu_head, "加强夜间巡查", ItemStatus.IN_PROGRESS)
    with refused(InvalidInput, item=updated, fields=["owner"]):
        services.item_update(actor=world.office, item=updated, owner=world.env_head)


@pytest.mark.parametrize("state", [ItemStatus.CLOSED, ItemStatus.VERIFIED, ItemStatus.CANCELLED])
def test_finished_items_not_editable(world, state):
    item = make_item(state, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    with refused(TransitionNotAllowed, item=item, code="transition_not_allowed"):
        services.item_update(actor=world.office, item=item, title="事后修改")


def test_update_classification_below_instruction_refused(world):
    secret = make_instruction(office=world.office, classification=Classification.SECRET)
    item = create(world, instruction=secret, owner=world.edu_head)
    with refused(InvalidInput, item=item, fields=["classification"]):
        services.item_update(actor=world.office, item=item, classification=Classification.PUBLIC)


# --- item_assign ---------------------------------------------------------------------------------


def test_assign_moves_draft_to_assigned(world):
    item = create(world, supporting_units=[world.env])
    mark = audit_mark()
    assigned = services.item_assign(actor=world.office, item=item, expected_version=1, comment="请按时办理")
    assert assigned.status == ItemStatus.ASSIGNED and assigned.version == 2
    assert assigned.assigned_at is not None and assigned.original_deadline == assigned.deadline
    event = assert_one_event(
        mark, action="item_assigned", actor=world.office, item=item, from_status="draft", to_status="assigned"
    )
    assert event.comment == "请按时办理"
    assert event.data["lead_unit_id"] == world.edu.pk and event.data["deadline"] == item.deadline.isoformat()


def test_assign_needs_lead_unit_owner_and_deadline(world):
    item = create(world, lead_unit=None, owner=None, deadline=None)
    with refused(InvalidInput, item=item, code="incomplete_item", fields=["lead_unit_id", "owner_id", "deadline"]):
        services.item_assign(actor=world.office, item=item)


def test_reference_instruction_needs_no_deadline(world):
    reference = make_instruction(office=world.office, nature=InstructionNature.REFERENCE)
    item = create(world, instruction=reference, deadline=None)
    assigned = services.item_assign(actor=world.office, item=item)
    assert assigned.status == ItemStatus.ASSIGNED and assigned.deadline is None and assigned.original_deadline is None


@pytest.mark.parametrize("nature", [InstructionNature.ACTIONABLE, InstructionNature.DIRECTIVE])
def test_actionable_and_directive_need_deadline(world, nature):
    item = create(world, instruction=make_instruction(office=world.office, nature=nature), deadline=None)
    with refused(InvalidInput, item=item, fields=["deadline"]):
        services.item_assign(actor=world.office, item=item)


def test_past_deadline_refused_at_assignment(world):
    item = create(world, deadline=TODAY() - datetime.timedelta(days=1))
    with refused(InvalidInput, item=item, fields=["deadline"]):
        services.item_assign(actor=world.office, item=item)


def test_deadline_today_is_fine(world):
    item = create(world, deadline=TODAY())
    assert services.item_assign(actor=world.office, item=item).status == ItemStatus.ASSIGNED


@pytest.mark.parametrize("state", [ItemStatus.ASSIGNED, ItemStatus.IN_PROGRESS, ItemStatus.CLOSED, ItemStatus.CANCELLED])
def test_assign_only_from_draft(world, state):
    item = make_item(state, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    with refused(TransitionNotAllowed, item=item) as info:
        services.item_assign(actor=world.office, item=item)
    assert info.value.status_code == 409


def test_assign_office_only(world):
    item = create(world)
    with refused(NotPermitted, item=item):
        services.item_assign(actor=world.leader, item=item)


def test_assign_stale_version(world):
    item = create(world)
    services.item_update(actor=world.office, item=item, title="改过")
    with refused(StaleVersion, item=item):
        services.item_assign(actor=world.office, item=item, expected_version=1)
