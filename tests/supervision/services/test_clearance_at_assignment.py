"""Clearance at assignment (issue 12 D): an owner must be cleared for the item she is to act on."""

import datetime

import pytest
from django.utils import timezone

from accounts.choices import Classification
from supervision import services
from supervision.choices import ItemStatus
from supervision.errors import TransitionNotAllowed
from supervision.models import Instruction, Item
from tests.api_helpers import assert_error, client_for
from tests.factories import UserFactory, make_instruction, make_item, refused

pytestmark = pytest.mark.django_db

IN_30 = lambda: timezone.localdate() + datetime.timedelta(days=30)  # noqa: E731


def test_create_refuses_an_owner_below_the_items_classification(world):
    # edu_handler is cleared 内部; a 秘密 item would be a 404 to her.
    instruction = make_instruction(office=world.office, classification=Classification.SECRET)
    with pytest.raises(TransitionNotAllowed) as info:
        services.item_create(
            actor=world.office,
            instruction=instruction,
            title="涉密事项",
            lead_unit=world.edu,
            owner=world.edu_handler,
            deadline=IN_30(),
        )
    assert info.value.code == "owner_not_cleared"
    assert "edu_handler" in str(info.value.message) and "秘密" in str(info.value.message) and "内部" in str(info.value.message)
    assert not Item.objects.filter(instruction=instruction).exists()


def test_create_accepts_a_cleared_owner(world):
    item = make_item(office=world.office, lead_unit=world.edu, owner=world.edu_head, classification=Classification.SECRET)
    assert item.owner == world.edu_head


def test_confidential_item_refuses_an_owner_cleared_secret(world):
    item = make_item(office=world.office, lead_unit=world.edu, owner=world.edu_head, classification=Classification.SECRET)
    with refused(TransitionNotAllowed, item=item, code="owner_not_cleared"):
        services.item_update(actor=world.office, item=item, classification=Classification.CONFIDENTIAL)


def test_reassigning_to_an_uncleared_owner_is_refused_after_assignment(world):
    item = make_item(
        ItemStatus.ACKNOWLEDGED,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_head,
        classification=Classification.SECRET,
    )
    with refused(TransitionNotAllowed, item=item, code="owner_not_cleared"):
        services.item_update(actor=world.office, item=item, owner=world.edu_handler)
    cleared = UserFactory(unit=world.edu, roles=["unit_handler"], clearance=Classification.SECRET)
    item = services.item_update(actor=world.office, item=item, owner=cleared)
    assert item.owner == cleared


def test_assign_refuses_a_draft_whose_owner_lost_clearance(world):
    item = make_item(office=world.office, lead_unit=world.edu, owner=world.edu_head, classification=Classification.SECRET)
    world.edu_head.clearance = Classification.INTERNAL
    world.edu_head.save()
    with refused(TransitionNotAllowed, item=item, code="owner_not_cleared"):
        services.item_assign(actor=world.office, item=item)


def test_raising_an_instruction_above_an_owners_clearance_is_refused_until_the_owner_changes(world):
    instruction = make_instruction(office=world.office, classification=Classification.INTERNAL)
    item = make_item(
        ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, instruction=instruction
    )
    with refused(TransitionNotAllowed, item=item, code="owner_not_cleared") as info:
        services.instruction_update(actor=world.office, instruction=instruction, classification=Classification.SECRET)
    assert "edu_handler" in str(info.value.message)
    assert Instruction.objects.get(pk=instruction.pk).classification == Classification.INTERNAL
    services.item_update(actor=world.office, item=item, owner=world.edu_head)
    services.instruction_update(actor=world.office, instruction=instruction, classification=Classification.SECRET)
    assert Item.objects.get(pk=item.pk).classification == Classification.SECRET


def test_api_answers_409_naming_the_person_and_level(world):
    item = make_item(office=world.office, lead_unit=world.edu, owner=world.edu_head, classification=Classification.SECRET)
    response = client_for(world.office).patch(f"/api/v1/items/{item.pk}/", {"owner_id": world.edu_handler.pk}, format="json")
    assert_error(response, 409, code="owner_not_cleared")
    assert "edu_handler" in response.json()["detail"] and "秘密" in response.json()["detail"]
