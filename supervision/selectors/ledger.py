"""Reads of the ledger for the API, the pages and tasks: items, instructions, reports, requests,
referrals, explanations, notices, comments, assignment sheets. Every one starts from the visibility
rule in querysets.py."""

from __future__ import annotations

import datetime

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Prefetch,
    QuerySet,
)

from accounts.choices import Role
from accounts.models import User
from supervision.choices import ItemStatus
from supervision.errors import NotVisible
from supervision.models import (
    AssignmentSheet,
    Attachment,
    AuditEvent,
    CommentRead,
    Instruction,
    Item,
    ItemAssignment,
    ItemRequest,
    LeaderComment,
    Notice,
    NoticeEntry,
    OverdueExplanation,
    ProgressReport,
    Referral,
    ReturnVisit,
)
from supervision.querysets import (
    REFERRAL_VIEWER_ROLES,
    audit_events_visible_to,
    comments_visible_to,
    explanations_visible_to,
    notice_entries_visible_to,
    notices_visible_to,
    referrals_visible_to,
    reports_visible_to,
    requests_visible_to,
)


def item_list(*, user: User) -> QuerySet[Item]:
    return Item.objects.visible_to(user).for_list()


def item_rows(*, user: User) -> QuerySet[Item]:
    """The visible items with only what a list row on a page shows (code, title, lead unit, owner,
    deadline, status, light): the 台账's rows. `item_list` also reads the requirement text, the
    instruction and every assignment, which the API's rows carry and a page row does not."""
    return (
        Item.objects.visible_to(user)
        .with_light()
        .select_related("lead_unit", "owner")
        .only("code", "title", "deadline", "status", "lead_unit__name", "owner__username", "owner__full_name")
    )


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


def owner_candidates(*, unit_id, classification: int) -> QuerySet[User]:
    """Who may be named owner (责任人) of an item of `classification` led by the unit: its active
    handlers and heads cleared at least to that level (rule 13: everyone who must act on an item
    can see it). Empty without a unit."""
    if not unit_id:
        return User.objects.none()
    return (
        User.objects.filter(
            unit_id=unit_id,
            is_active=True,
            clearance__gte=classification,
            role_assignments__role__in=(Role.UNIT_HANDLER, Role.UNIT_HEAD),
        )
        .distinct()
        .order_by("full_name", "pk")
    )


def referral_cases(*, user: User) -> QuerySet[Referral]:
    """Referrals (移交) as cases, for the pages of 纪检 and 组织部门: the office sees every referral
    of the items it can see; a receiving department its own department's; anyone else none. Each
    carries the item and the overdue explanations on it the user may read (with their rulings),
    as `case_explanations`."""
    qs = _referrals(user)
    if not user.is_office:
        departments = [dept for role, dept in REFERRAL_VIEWER_ROLES.items() if user.has_role(role)]
        qs = qs.filter(department__in=departments)
    explanations = explanations_visible_to(user).select_related("unit", "submitted_by", "ruled_by").order_by("created_at", "id")
    return qs.select_related("item__lead_unit", "item__owner", "item__instruction", "referred_by").prefetch_related(
        Prefetch("item__overdue_explanations", queryset=explanations, to_attr="case_explanations")
    )


def report_list(*, user: User, item: Item) -> QuerySet[ProgressReport]:
    qs = ProgressReport.objects.filter(item=item).select_related("unit", "submitted_by").prefetch_related("attachments")
    return reports_visible_to(user, qs)


def request_list(*, user: User, unsigned: bool = False) -> QuerySet[ItemRequest]:
    """Requests the user may read (querysets.requests_visible_to): the office's queue holds only
    what the unit signed; `unsigned=True` is for the decision endpoint (409 rather than 404)."""
    return (
        requests_visible_to(user, unsigned=unsigned)
        .select_related("item", "unit", "requested_by", "endorsed_by", "decided_by")
        .prefetch_related("attachments")
    )


def return_visit_list(*, item: Item) -> QuerySet[ReturnVisit]:
    return ReturnVisit.objects.filter(item=item).select_related("visited_by")


def _referrals(user: User) -> QuerySet[Referral]:
    return referrals_visible_to(
        user,
        Referral.objects.select_related("referred_by", "acknowledged_by", "outcome_recorded_by", "outcome_attachment"),
    )


def referral_list(*, user: User, item: Item) -> QuerySet[Referral]:
    return _referrals(user).filter(item=item)


def referrals_received(*, user: User) -> QuerySet[Referral]:
    """Referrals the user may read (querysets.referrals_visible_to); the receiving departments'
    inbox (?department=…)."""
    return _referrals(user).order_by("-referred_at", "-id")


def referral_get(*, user: User, pk) -> Referral:
    referral = referrals_received(user=user).filter(pk=pk).first()
    if referral is None:
        raise NotVisible()
    return referral


def referral_outcome_counts(*, user: User) -> list[dict]:
    """Referrals by department and outcome ("" while none is recorded), counted through the same
    visibility rule as every list: a figure never counts an item the user cannot see."""
    rows = (
        referrals_received(user=user)
        .order_by()
        .values("department", "outcome")
        .annotate(count=Count("pk"), acknowledged=Count("acknowledged_at"))
        .order_by("department", "outcome")
    )
    return list(rows)


def audit_history(*, user: User, item: Item) -> QuerySet[AuditEvent]:
    """The item's history as the user may read it: events about records the user may not read
    (another unit's explanation, ruling, referral, request, report) are left out."""
    return audit_events_visible_to(user, AuditEvent.objects.for_item(item))


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
    # A referral's outcome document: the office, leaders and the receiving department.
    outcome_of = Referral.objects.filter(outcome_attachment_id=attachment.pk).first()
    if outcome_of is not None and referrals_visible_to(user=user).filter(pk=outcome_of.pk).exists():
        if user.sees_whole_ledger or user.has_role(*REFERRAL_VIEWER_ROLES):
            return attachment
    raise NotVisible()


# Overdue explanations and notices (their visibility rules are in querysets.py).


def explanation_list(*, user: User) -> QuerySet[OverdueExplanation]:
    return (
        explanations_visible_to(user)
        .select_related("item", "unit", "submitted_by", "endorsed_by", "ruled_by")
        .prefetch_related(
            Prefetch("attachment_links__attachment", queryset=Attachment.objects.order_by("id")),
            Prefetch("referrals", queryset=referrals_visible_to(user, Referral.objects.select_related("referred_by"))),
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


def comment_list(*, user: User, item: Item | None = None, instruction: Instruction | None = None) -> QuerySet[LeaderComment]:
    """Leader comments the user may read, newest first, each with `is_read` for this reader."""
    qs = comments_visible_to(user)
    if item is not None:
        qs = qs.filter(item=item)
    if instruction is not None:
        qs = qs.filter(instruction=instruction)
    read = CommentRead.objects.filter(comment=OuterRef("pk"), user_id=user.pk)
    return qs.annotate(is_read=Exists(read)).select_related("author", "item", "instruction").order_by("-created_at", "-id")


def comments_to_read(*, user: User) -> QuerySet[LeaderComment]:
    """The workbench's "批示待阅": visible comments by others the user has not marked read."""
    return comment_list(user=user).filter(is_read=False).exclude(author_id=user.pk)


def comment_get(*, user: User, pk) -> LeaderComment:
    comment = comment_list(user=user).filter(pk=pk).first()
    if comment is None:
        raise NotVisible()
    return comment


def assignment_sheet_items(*, user: User, instruction: Instruction) -> list[Item]:
    """The items a reader's copy of the 督办通知单 lists: assigned ones they can see (no sideways
    copying: a unit's copy names only the items it is on)."""
    return list(
        Item.objects.visible_to(user)
        .filter(instruction=instruction)
        .exclude(status__in=[ItemStatus.DRAFT, ItemStatus.CANCELLED])
        .for_list()
        .order_by("code")
    )


def assignment_sheet_issued(*, instruction_id: int | None) -> AssignmentSheet | None:
    """The instruction's 督办通知单 if issued (for pages that already checked the instruction or item
    is visible; the download checks again)."""
    if instruction_id is None:
        return None
    return AssignmentSheet.objects.filter(instruction_id=instruction_id).select_related("issued_by").first()


def assignment_sheet_get(*, user: User, instruction: Instruction) -> AssignmentSheet:
    """The instruction's sheet, for a reader who sees at least one of its items (404 otherwise,
    and 404 while none is issued)."""
    sheet = AssignmentSheet.objects.filter(instruction=instruction).select_related("instruction").first()
    if sheet is None or not Instruction.objects.visible_to(user).filter(pk=instruction.pk).exists():
        raise NotVisible()
    return sheet
