"""Reads for the API and tasks. Every one starts from the visibility rule in querysets.py."""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from accounts.models import User
from supervision.errors import NotVisible
from supervision.models import (
    Attachment,
    AuditEvent,
    Instruction,
    Item,
    ItemAssignment,
    ItemRequest,
    Notice,
    NoticeEntry,
    OverdueExplanation,
    ProgressReport,
    Referral,
    ReturnVisit,
)
from supervision.querysets import explanations_visible_to, notice_entries_visible_to, notices_visible_to, reports_visible_to


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


# Overdue explanations and notices (their visibility rules are in querysets.py).


def explanation_list(*, user: User) -> QuerySet[OverdueExplanation]:
    return (
        explanations_visible_to(user)
        .select_related("item", "unit", "submitted_by", "ruled_by")
        .prefetch_related(
            Prefetch("attachment_links__attachment", queryset=Attachment.objects.order_by("id")),
            Prefetch("referrals", queryset=Referral.objects.select_related("referred_by")),
        )
    )


def explanation_get(*, user: User, pk) -> OverdueExplanation:
    explanation = explanation_list(user=user).filter(pk=pk).first()
    if explanation is None:
        raise NotVisible()
    return explanation


def explanation_attachment_get(*, user: User, explanation_pk, attachment_pk) -> Attachment:
    """Evidence filed with an explanation, readable by whoever may read the explanation."""
    explanation = explanation_get(user=user, pk=explanation_pk)
    attachment = Attachment.objects.filter(pk=attachment_pk, explanation_link__explanation=explanation).first()
    if attachment is None:
        raise NotVisible()
    return attachment


def notice_list(*, user: User) -> QuerySet[Notice]:
    """Visible notices, each with only the entries the user may see (`visible_entries`)."""
    entries = notice_entries_visible_to(user, NoticeEntry.objects.select_related("item", "unit").order_by("position", "id"))
    return (
        notices_visible_to(user)
        .select_related("created_by", "issued_by")
        .prefetch_related(Prefetch("entries", queryset=entries, to_attr="visible_entries"))
    )


def notice_get(*, user: User, pk) -> Notice:
    notice = notice_list(user=user).filter(pk=pk).first()
    if notice is None:
        raise NotVisible()
    return notice


def items_owing_explanations(*, now: datetime.datetime | None = None) -> QuerySet[Item]:
    """Overdue open items with a responsible unit that has no explanation yet for the current
    deadline: what the sweep must open. Items already fully asked are skipped in SQL, so a
    repeated sweep costs one query per batch, not one per overdue item."""
    has_explanation = OverdueExplanation.objects.filter(
        item_id=OuterRef("item_id"), unit_id=OuterRef("unit_id"), deadline=OuterRef("item__deadline")
    )
    missing = ItemAssignment.objects.filter(item_id=OuterRef("pk")).exclude(Exists(has_explanation))
    return Item.objects.overdue(now).filter(Exists(missing)).order_by("pk")


__all__ = [
    "explanation_attachment_get",
    "explanation_get",
    "explanation_list",
    "items_owing_explanations",
    "notice_get",
    "notice_list",
]
