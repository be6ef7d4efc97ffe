"""services.instruction_register / instruction_decompose: the instruction, its files and its items
(assigned or not) together or not at all, each part through its own service (same checks, same
audit events); an item's refusal names its row."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from supervision import services
from supervision.choices import ItemStatus
from supervision.errors import InvalidInput, NotPermitted
from supervision.models import Attachment, AuditEvent, Instruction, Item

pytestmark = pytest.mark.django_db


def instruction_fields(world) -> dict:
    return {
        "title": "关于推进校园安全工作的批示",
        "kind": "leader_instruction",
        "issuing_leader": world.leader,
        "issued_on": timezone.localdate(),
        "text": "请抓紧落实。",
    }


def item_fields(world, **extra) -> dict:
    fields = {
        "title": "校园安全排查",
        "lead_unit": world.edu,
        "owner": world.edu_handler,
        "deadline": timezone.localdate() + datetime.timedelta(days=10),
    }
    fields.update(extra)
    return fields


def test_register_assign_with_files_and_audit(world):
    instruction = services.instruction_register(
        actor=world.office,
        instruction=instruction_fields(world),
        items=[item_fields(world), item_fields(world, title="周边整治", lead_unit=world.env, owner=world.env_handler)],
        uploaded_files=[ContentFile(b"%PDF-1.4 scan", name="scan.pdf")],
        assign=True,
    )
    assert set(Item.objects.filter(instruction=instruction).values_list("status", flat=True)) == {ItemStatus.ASSIGNED}
    assert Attachment.objects.get().instruction == instruction
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert [actions.count(a) for a in ("instruction_created", "item_created", "item_assigned")] == [1, 2, 2]


def test_an_item_refusal_names_its_row_and_nothing_is_written(world):
    events = AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as refused:
        services.instruction_register(
            actor=world.office,
            instruction=instruction_fields(world),
            # The second row's owner is not of its lead unit. (Another matter than the first row's,
            # or the duplicate check (减负) would stop it first.)
            items=[item_fields(world), item_fields(world, title="防汛物资储备检查", owner=world.env_handler)],
            assign=True,
        )
    assert set(refused.value.fields) == {"items-1-owner"}
    assert str(refused.value.message).startswith("第 2 个事项")
    assert not Instruction.objects.exists() and not Item.objects.exists() and AuditEvent.objects.count() == events


def test_assigning_needs_items_and_only_the_office_registers(world):
    with pytest.raises(InvalidInput) as refused:
        services.instruction_register(actor=world.office, instruction=instruction_fields(world), assign=True)
    assert "items" in refused.value.fields
    with pytest.raises(NotPermitted):
        services.instruction_register(actor=world.edu_head, instruction=instruction_fields(world))
    draft_only = services.instruction_register(actor=world.office, instruction=instruction_fields(world))
    assert not draft_only.items.exists()


def test_decompose_adds_drafts_to_a_registered_instruction(world):
    instruction = services.instruction_register(actor=world.office, instruction=instruction_fields(world))
    created = services.instruction_decompose(actor=world.office, instruction=instruction, items=[item_fields(world)])
    assert [i.status for i in created] == [ItemStatus.DRAFT]
    with pytest.raises(NotPermitted):
        services.instruction_decompose(actor=world.edu_handler, instruction=instruction, items=[item_fields(world)])
