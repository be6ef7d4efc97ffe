"""instruction_create / instruction_update: who may register, leaders, classification, versions."""

import datetime

import pytest
from django.utils import timezone

from accounts.choices import Classification
from supervision import services
from supervision.choices import InstructionKind, ItemStatus
from supervision.errors import InvalidInput, NotPermitted, StaleVersion
from supervision.models import Attachment, Instruction
from tests.factories import assert_one_event, audit_mark, make_instruction, make_item, new_events, refused, upload

pytestmark = pytest.mark.django_db


def fields(**overrides):
    base = {
        "title": "关于做好防汛工作的批示",
        "kind": InstructionKind.LEADER_INSTRUCTION,
        "issued_on": timezone.localdate() - datetime.timedelta(days=3),
        "text": "请水利、应急部门立即部署。",
    }
    base.update(overrides)
    return base


def test_office_registers_instruction_and_it_is_audited(world):
    scan = upload(world.office, b"%PDF-1.4 scan", "scan.pdf")
    mark = audit_mark()
    instruction = services.instruction_create(
        actor=world.office,
        issuing_leader=world.leader,
        classification=Classification.SECRET,
        attachment_ids=[scan.pk],
        **fields(),
    )
    assert instruction.pk and instruction.created_by == world.office and instruction.version == 1
    assert instruction.classification == Classification.SECRET
    assert Attachment.objects.get(pk=scan.pk).instruction == instruction
    event = assert_one_event(mark, action="instruction_created", actor=world.office)
    assert (event.object_type, event.object_id, event.item_id) == ("instruction", instruction.pk, None)


def test_external_issuer_needs_no_leader_account(world):
    instruction = services.instruction_create(actor=world.office, issuer_name="市委书记", **fields())
    assert instruction.issuing_leader is None and instruction.issuer_name == "市委书记"


@pytest.mark.parametrize("who", ["edu_handler", "edu_head", "leader", "discipline", "organization"])
def test_only_office_registers_instructions(world, who):
    with refused(NotPermitted, code="office_only"):
        services.instruction_create(actor=getattr(world, who), issuing_leader=world.leader, **fields())
    assert not Instruction.objects.exists()


def test_administrator_counts_as_office(world):
    assert services.instruction_create(actor=world.admin, issuing_leader=world.leader, **fields()).pk


def test_issuing_leader_must_hold_leader_role(world):
    with refused(InvalidInput, fields=["issuing_leader"]):
        services.instruction_create(actor=world.office, issuing_leader=world.edu_head, **fields())


def test_leader_or_external_issuer_required(world):
    with refused(InvalidInput, fields=["issuing_leader"]):
        services.instruction_create(actor=world.office, **fields())


@pytest.mark.parametrize("missing", ["title", "text"])
def test_title_and_text_required(world, missing):
    with refused(InvalidInput, fields=[missing]):
        services.instruction_create(actor=world.office, issuing_leader=world.leader, **fields(**{missing: "  "}))


def test_classification_above_clearance_refused(world):
    with refused(InvalidInput, fields=["classification"]) as info:
        services.instruction_create(
            actor=world.office_low, issuing_leader=world.leader, classification=Classification.SECRET, **fields()
        )
    assert info.value.status_code == 400
    assert not Instruction.objects.exists()


def test_someone_elses_attachment_cannot_be_linked(world):
    other = upload(world.edu_handler)
    with refused(InvalidInput, fields=["attachment_ids"]):
        services.instruction_create(actor=world.office, issuing_leader=world.leader, attachment_ids=[other.pk], **fields())
    assert not Instruction.objects.exists()
    assert not Attachment.objects.get(pk=other.pk).is_linked


def test_update_bumps_version_and_audits_changed_fields(world):
    instruction = make_instruction(office=world.office)
    mark = audit_mark()
    updated = services.instruction_update(actor=world.office, instruction=instruction, expected_version=1, title="新标题")
    assert updated.version == 2 and Instruction.objects.get(pk=instruction.pk).title == "新标题"
    event = assert_one_event(mark, action="instruction_updated", actor=world.office)
    assert event.data == {"title": "新标题"}


def test_update_without_change_writes_nothing(world):
    instruction = make_instruction(office=world.office)
    mark = audit_mark()
    same = services.instruction_update(actor=world.office, instruction=instruction, title=instruction.title)
    assert same.version == 1 and new_events(mark) == []


def test_update_with_stale_version_is_412(world):
    instruction = make_instruction(office=world.office)
    services.instruction_update(actor=world.office, instruction=instruction, expected_version=1, title="第一次修改")
    with refused(StaleVersion) as info:
        services.instruction_update(actor=world.office, instruction=instruction, expected_version=1, title="第二次修改")
    assert info.value.status_code == 412
    stored = Instruction.objects.get(pk=instruction.pk)
    assert (stored.title, stored.version) == ("第一次修改", 2)


def test_update_by_unit_user_refused(world):
    instruction = make_instruction(office=world.office)
    with refused(NotPermitted, code="office_only"):
        services.instruction_update(actor=world.edu_head, instruction=instruction, title="x")
    assert Instruction.objects.get(pk=instruction.pk).version == 1


def test_update_leader_must_be_leader(world):
    instruction = make_instruction(office=world.office)
    with refused(InvalidInput, fields=["issuing_leader"]):
        services.instruction_update(actor=world.office, instruction=instruction, issuing_leader=world.env_head)


def test_update_classification_above_clearance_refused(world):
    instruction = make_instruction(office=world.office_low)
    with refused(InvalidInput, fields=["classification"]):
        services.instruction_update(actor=world.office_low, instruction=instruction, classification=Classification.SECRET)
    assert Instruction.objects.get(pk=instruction.pk).classification == Classification.PUBLIC


def test_raising_classification_raises_items(world):
    instruction = make_instruction(office=world.office)
    low = make_item(ItemStatus.ASSIGNED, office=world.office, instruction=instruction, lead_unit=world.edu, owner=world.edu_head)
    high = make_item(
        office=world.office,
        instruction=instruction,
        lead_unit=world.env,
        owner=None,
        classification=Classification.CONFIDENTIAL,
    )
    mark = audit_mark()
    services.instruction_update(actor=world.office, instruction=instruction, classification=Classification.SECRET)
    low.refresh_from_db()
    high.refresh_from_db()
    assert low.classification == Classification.SECRET
    assert high.classification == Classification.CONFIDENTIAL  # never lowered
    event = assert_one_event(mark, action="instruction_updated", actor=world.office)
    assert event.data["items_reclassified"] == [low.pk]
    # The item has disappeared for a unit user cleared only to INTERNAL.
    from supervision.models import Item

    assert not Item.objects.visible_to(world.edu_handler).filter(pk=low.pk).exists()


def test_services_refuse_records_above_the_actors_clearance(world):
    """The services apply the visibility rule themselves, whatever calls them."""
    from supervision.errors import NotVisible

    secret = make_instruction(office=world.office, classification=Classification.SECRET)
    with pytest.raises(NotVisible):
        services.instruction_update(actor=world.office_low, instruction=secret, title="越权修改")
    item = make_item(
        ItemStatus.DRAFT, office=world.office, lead_unit=world.edu, owner=world.edu_head, classification=Classification.SECRET
    )
    with pytest.raises(NotVisible):
        services.item_assign(actor=world.office_low, item=item)
    item.refresh_from_db()
    secret.refresh_from_db()
    assert item.status == ItemStatus.DRAFT and secret.title != "越权修改"
