"""工作台: what a user owes now. Each list of items is one query for its first rows and its count
(capped: selectors/counting.py), a list that joins its records two, whatever the number of entries
(asserted in tests/supervision/web/test_workbench.py)."""

from __future__ import annotations

import datetime

from django.db.models import (
    Case,
    DateField,
    DateTimeField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.lookups import Exact
from django.utils import timezone

from accounts.choices import Role
from accounts.models import User
from supervision.choices import ExplanationStatus, ItemStatus, ReportingCycle, RequestStatus
from supervision.lights import light_rank
from supervision.models import (
    Item,
    ItemAssignment,
    ItemLink,
    ItemRequest,
    OverdueExplanation,
    ProgressReport,
    Referral,
)
from supervision.querysets import (
    REFERRAL_VIEWER_ROLES,
    explanations_visible_to,
)

WORKBENCH_ROWS = 8


def _cycle_start(cycle: str, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The current reporting period [start, end] of a cycle (calendar weeks, months, quarters;
    two-week periods start on the Monday of an odd ISO week)."""
    monday = today - datetime.timedelta(days=today.weekday())
    if cycle == ReportingCycle.WEEKLY:
        return monday, monday + datetime.timedelta(days=6)
    if cycle == ReportingCycle.BIWEEKLY:
        start = monday - datetime.timedelta(days=7 * ((today.isocalendar().week + 1) % 2))
        return start, start + datetime.timedelta(days=13)
    if cycle == ReportingCycle.MONTHLY:
        start = today.replace(day=1)
        following = (start + datetime.timedelta(days=32)).replace(day=1)
        return start, following - datetime.timedelta(days=1)
    quarter_month = 3 * ((today.month - 1) // 3) + 1
    start = today.replace(month=quarter_month, day=1)
    following = (start + datetime.timedelta(days=95)).replace(day=1)
    return start, following - datetime.timedelta(days=1)


REPORTED_CYCLES = (ReportingCycle.WEEKLY, ReportingCycle.BIWEEKLY, ReportingCycle.MONTHLY, ReportingCycle.QUARTERLY)
TODO_STATUSES = (ItemStatus.ASSIGNED, ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS)


def _workbench_items(user: User) -> QuerySet[Item]:
    # Only what an entry shows (code, title, by when, light): no joins to the unit or the owner.
    return (
        Item.objects.visible_to(user)
        .with_light()
        .only("pk", "code", "title", "status", "deadline", "deadline_time", "reporting_cycle", "closed_at")
    )


def _linked_to_a_lead() -> Exists:
    """合并督办: the unit signs, reports and requests on the lead item, so an item linked to one owes
    nothing of its own (services/links.py; the lead's entry stands for both)."""
    return Exists(ItemLink.objects.filter(item=OuterRef("pk"), unlinked_at__isnull=True))


def todo_items_to_sign(*, user: User) -> QuerySet[Item]:
    """签收: items of the user's unit it has not signed for yet."""
    if not user.is_unit_user or not user.unit_id:
        return Item.objects.none()
    unsigned = ItemAssignment.objects.filter(item=OuterRef("pk"), unit_id=user.unit_id, acknowledged_at__isnull=True)
    return (
        _workbench_items(user)
        .filter(Exists(unsigned), status__in=TODO_STATUSES)
        .exclude(_linked_to_a_lead())
        .order_by("deadline", "pk")
    )


def todo_reports_due(*, user: User, today: datetime.date | None = None) -> QuerySet[Item]:
    """Items with a reporting cycle on which the user's unit has signed and filed no report in
    the current period; `period_end` says by when."""
    if not user.is_unit_user or not user.unit_id:
        return Item.objects.none()
    today = today or timezone.localdate()
    starts, ends = [], []
    for cycle in REPORTED_CYCLES:
        start, end = _cycle_start(cycle, today)
        since = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
        starts.append(When(Exact(OuterRef("reporting_cycle"), Value(cycle)), then=Value(since)))
        ends.append(When(reporting_cycle=cycle, then=Value(end)))
    # One report of the unit since the start of the item's own period (its cycle's) is enough; a
    # single subquery with the start chosen per row, not one per cycle.
    period_start = Case(*starts, output_field=DateTimeField())
    filed = ProgressReport.objects.filter(item=OuterRef("pk"), unit_id=user.unit_id, submitted_at__gte=period_start)
    signed = ItemAssignment.objects.filter(item=OuterRef("pk"), unit_id=user.unit_id, acknowledged_at__isnull=False)
    return (
        _workbench_items(user)
        .filter(~Exists(filed), Exists(signed), status__in=TODO_STATUSES, reporting_cycle__in=REPORTED_CYCLES)
        .exclude(_linked_to_a_lead())
        .annotate(period_end=Case(*ends, output_field=DateField()))
        .order_by("period_end", "deadline", "pk")
    )


def todo_requests_to_decide(*, user: User) -> QuerySet[ItemRequest]:
    if not user.is_office:
        return ItemRequest.objects.none()
    return (
        ItemRequest.objects.filter(status=RequestStatus.PENDING, item__in=Item.objects.visible_to(user))
        .select_related("item", "requested_by")
        .order_by("requested_at", "pk")
    )


def todo_explanations_owed(*, user: User) -> QuerySet[OverdueExplanation]:
    """Overdue explanations the user's unit owes (unit users) or the office has to rule on."""
    qs = explanations_visible_to(user).select_related("item", "unit")
    if user.is_office:
        ready = Q(status=ExplanationStatus.SUBMITTED) | Q(status=ExplanationStatus.AWAITING, due_by__lt=timezone.localdate())
        return qs.filter(ready).order_by("due_by", "pk")
    if user.is_unit_user and user.unit_id:
        return qs.filter(unit_id=user.unit_id, status=ExplanationStatus.AWAITING).order_by("due_by", "pk")
    return qs.none()


def todo_return_visits_due(*, user: User) -> QuerySet[Item]:
    """Closed items the office has not re-checked yet (回访复核)."""
    if not user.is_office:
        return Item.objects.none()
    # By deadline, along the (status, deadline) index: at a million items half the ledger is closed.
    return _workbench_items(user).filter(status=ItemStatus.CLOSED).order_by("deadline", "pk")


def todo_overdue_items(*, user: User) -> QuerySet[Item]:
    """The office's watch list: every overdue item it may see, most overdue first."""
    if not user.is_office:
        return Item.objects.none()
    return _workbench_items(user).overdue().order_by("deadline", "pk")


def todo_referrals_received(*, user: User) -> QuerySet[Referral]:
    departments = [dept for role, dept in REFERRAL_VIEWER_ROLES.items() if user.has_role(role)]
    if not departments:
        return Referral.objects.none()
    return (
        Referral.objects.filter(department__in=departments, item__in=Item.objects.visible_to(user))
        .select_related("item", "referred_by")
        .order_by("-referred_at", "-pk")
    )


def todo_unit_items(*, user: User) -> QuerySet[Item]:
    """The open items of the user's unit, overdue and red first."""
    if not user.is_unit_user or not user.unit_id:
        return Item.objects.none()
    mine = ItemAssignment.objects.filter(item=OuterRef("pk"), unit_id=user.unit_id)
    return _workbench_items(user).open().filter(Exists(mine)).order_by(light_rank(), "deadline", "pk")


def todo_leader_items(*, user: User) -> QuerySet[Item]:
    """A leader's own: items of the instructions they issued, open ones, overdue first."""
    if not user.has_role(Role.LEADER):
        return Item.objects.none()
    return _workbench_items(user).open().filter(instruction__issuing_leader_id=user.pk).order_by(light_rank(), "deadline", "pk")
