"""督办通知单 (assignment sheets): the office issues one numbered sheet per instruction, once its
items are assigned; the number comes from the yearly series (督办〔2026〕1号) and never changes."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.choices import CounterSeries, ItemStatus
from supervision.errors import NotVisible, TransitionNotAllowed
from supervision.models import AssignmentSheet, Instruction
from supervision.services.counters import counter_take
from supervision.services.guards import require_office

# Items a sheet lists: those handed to units and not withdrawn.
SHEET_EXCLUDED_STATUSES = (ItemStatus.DRAFT, ItemStatus.CANCELLED)


@transaction.atomic
def assignment_sheet_issue(*, actor: User, instruction: Instruction) -> tuple[AssignmentSheet, bool]:
    """Number and record the instruction's 督办通知单 (office only); a second call returns the first
    sheet unchanged (created=False), so a number is never spent twice on one instruction."""
    require_office(actor)
    instruction = Instruction.objects.select_for_update().filter(pk=instruction.pk).first()
    if instruction is None or not Instruction.objects.visible_to(actor).filter(pk=instruction.pk).exists():
        raise NotVisible()
    existing = AssignmentSheet.objects.filter(instruction=instruction).first()
    if existing is not None:
        return existing, False
    if not instruction.items.exclude(status__in=SHEET_EXCLUDED_STATUSES).exists():
        raise TransitionNotAllowed(_("该批示件尚无已交办的事项，不能印发督办通知单。"), code="no_assigned_items")
    year = timezone.localdate().year
    number = f"{settings.DUBAN_SHEET_NUMBER_PREFIX}〔{year}〕{counter_take(series=CounterSeries.SHEET, year=year)}号"
    sheet = AssignmentSheet.objects.create(instruction=instruction, number=number, issued_by=actor)
    audit_record(
        actor=actor, action="assignment_sheet_issued", obj=sheet, data={"number": number, "instruction_id": instruction.pk}
    )
    return sheet, True
