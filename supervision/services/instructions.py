"""Instructions (批示件): registered and edited by the office."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.choices import Classification, Role
from accounts.models import User
from supervision.audit import audit_record
from supervision.errors import InvalidInput, NotVisible
from supervision.models import (
    Instruction,
    Item,
)
from supervision.services.attachments import link_attachments
from supervision.services.guards import (
    bump,
    check_classification,
    check_version,
    require_office,
    require_owner_cleared,
    require_text,
)

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
    require_office(actor)
    unknown = set(fields) - set(INSTRUCTION_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {unknown}")
    fields.setdefault("classification", Classification.PUBLIC)
    check_classification(actor, fields["classification"])
    _validate_leader(fields.get("issuing_leader"))
    require_text(fields.get("title"), "title", _("请填写标题。"))
    require_text(fields.get("text"), "text", _("请填写批示内容。"))
    if not fields.get("issuing_leader") and not (fields.get("issuer_name") or "").strip():
        raise InvalidInput(fields={"issuing_leader": [_("请选择批示领导或填写外部批示人。")]})
    instruction = Instruction(created_by=actor, **fields)
    instruction.full_clean()
    instruction.save()
    link_attachments(actor, attachment_ids, "attachment_ids", instruction=instruction)
    audit_record(actor=actor, action="instruction_created", obj=instruction, data={"title": instruction.title})
    return instruction


@transaction.atomic
def instruction_update(*, actor: User, instruction: Instruction, expected_version: int | None = None, **fields) -> Instruction:
    """Edit an instruction. Raising its classification raises its items' too, so no item of a
    classified instruction stays visible below that level."""
    require_office(actor)
    instruction = Instruction.objects.select_for_update().get(pk=instruction.pk)
    if not Instruction.objects.visible_to(actor).filter(pk=instruction.pk).exists():
        raise NotVisible()
    check_version(instruction, expected_version)
    unknown = set(fields) - set(INSTRUCTION_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {unknown}")
    if "classification" in fields:
        check_classification(actor, fields["classification"])
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
    bump(instruction)
    instruction.save()
    if "classification" in changed:
        raised_items = list(
            instruction.items.filter(classification__lt=instruction.classification).select_related("owner").order_by("pk")
        )
        for item in raised_items:
            # Refused (409) until the owner is changed: she would lose sight of her own item.
            require_owner_cleared(item.owner, instruction.classification)
        raised = [item.pk for item in raised_items]
        if raised:
            Item.objects.filter(pk__in=raised).update(classification=instruction.classification)
            changed["items_reclassified"] = raised
    audit_record(actor=actor, action="instruction_updated", obj=instruction, data=changed)
    return instruction
