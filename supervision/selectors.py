"""Reads for the API and tasks. Every one starts from the visibility rule in querysets.py."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import User

from .errors import NotVisible
from .models import (
    Attachment,
    AuditEvent,
    Instruction,
    Item,
    ItemRequest,
    ProgressReport,
    Referral,
    ReturnVisit,
)
from .querysets import reports_visible_to


def item_list(*, user: User) -> QuerySet[Item]:
    return Item.objects.visible_to(user).for_list()


def item_get(*, user: User, pk) -> Item:
    item = item_list(user=user).filter(pk=pk).first()
    if item is None:
        raise NotVisible()
    return item


def instruction_list(*, user: User) -> QuerySet[Instruction]:
    return (
        Instruction.objects.visible_to(user)
        .select_related("issuing_leader", "created_by")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
    )


def report_list(*, user: User, item: Item) -> QuerySet[ProgressReport]:
    qs = ProgressReport.objects.filter(item=item).select_related("unit", "submitted_by").prefetch_related("attachments")
    return reports_visible_to(user, qs)


def request_list(*, user: User) -> QuerySet[ItemRequest]:
    return (
        ItemRequest.objects.filter(item__in=Item.objects.visible_to(user))
        .select_related("item", "requested_by", "decided_by")
        .prefetch_related("attachments")
    )


def return_visit_list(*, item: Item) -> QuerySet[ReturnVisit]:
    return ReturnVisit.objects.filter(item=item).select_related("visited_by")


def referral_list(*, item: Item) -> QuerySet[Referral]:
    return Referral.objects.filter(item=item).select_related("referred_by")


def audit_history(*, item: Item) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.for_item(item)


def attachment_get(*, user: User, pk) -> Attachment:
    """An attachment is readable by its uploader and by whoever may read the record it is on."""
    attachment = Attachment.objects.filter(pk=pk).first()
    if attachment is None:
        raise NotVisible()
    if attachment.uploaded_by_id == user.pk:
        return attachment
    if attachment.instruction_id and Instruction.objects.visible_to(user).filter(pk=attachment.instruction_id).exists():
        return attachment
    if attachment.report_id and reports_visible_to(user, ProgressReport.objects.filter(pk=attachment.report_id)).exists():
        return attachment
    if attachment.request_id and request_list(user=user).filter(pk=attachment.request_id).exists():
        return attachment
    raise NotVisible()
