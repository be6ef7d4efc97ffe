"""Every visibility rule (DOMAIN.md rule 13, 不得层层复制下传或者横传), side by side.

`ItemQuerySet.visible_to` is THE rule; every other record is visible through the items it belongs
to, narrowed further where units must not read each other's records (reports, explanations).
Lists, searches, counts and exports all start from these functions, so a number never leaks an
item. The doors, in order: items, instructions, progress reports, overdue explanations, notices
and their entries, export approvals.

Models are looked up through the app registry (`_model`), not imported: the models module uses
these querysets as its managers."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.choices import Role
from supervision.choices import OPEN_STATUSES, AssignmentRole, ItemStatus, Light, NoticeKind, NoticeStatus, ReferralDepartment
from supervision.lights import light_case, light_q

if TYPE_CHECKING:
    from accounts.models import User


def _model(name: str) -> type[models.Model]:
    return apps.get_model("supervision", name)


# Which role sees which referrals (纪检 sees what was referred to 纪检, 组织部门 to 组织部门).
REFERRAL_VIEWER_ROLES = {
    Role.DISCIPLINE: ReferralDepartment.DISCIPLINE,
    Role.ORGANIZATION: ReferralDepartment.ORGANIZATION,
}


# What a list shows of a person (UserBriefSerializer: id, username, name = full_name or username).
USER_BRIEF = ("username", "full_name")


def _is_signed_in(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


class ItemQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> ItemQuerySet:
        """Items the user may know exist.

        - Above the user's clearance: never (the item does not exist for them).
        - Office staff and administrators: every item, drafts included.
        - Leaders: every item that has left draft.
        - Unit handlers and heads: items where their unit is lead or supporting.
        - Discipline / organization departments: items referred to their department.
        """
        if not _is_signed_in(user):
            return self.none()
        qs = self.filter(classification__lte=user.clearance)
        if user.is_office:
            return qs
        if user.has_role(Role.LEADER):
            return qs.exclude(status=ItemStatus.DRAFT)
        ItemAssignment, Referral = _model("ItemAssignment"), _model("Referral")
        scope = Q(pk__in=[])
        if user.is_unit_user and user.unit_id:
            scope |= Exists(ItemAssignment.objects.filter(item=OuterRef("pk"), unit_id=user.unit_id))
        departments = [dept for role, dept in REFERRAL_VIEWER_ROLES.items() if user.has_role(role)]
        if departments:
            scope |= Exists(Referral.objects.filter(item=OuterRef("pk"), department__in=departments))
        return qs.filter(scope).exclude(status=ItemStatus.DRAFT)

    def open(self) -> ItemQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def with_light(self, now: datetime.datetime | None = None) -> ItemQuerySet:
        """Annotate `light` (红黄绿灯) with the one rule in lights.py."""
        return self.annotate(light=light_case(now))

    def light(self, *lights: str, now: datetime.datetime | None = None) -> ItemQuerySet:
        condition = Q(pk__in=[])
        for light in lights:
            condition |= light_q(light, now)
        return self.filter(condition)

    def overdue(self, now: datetime.datetime | None = None) -> ItemQuerySet:
        """Open and past the current (possibly extended) deadline; derived, never stored."""
        return self.light(Light.OVERDUE, now=now)

    def not_overdue(self, now: datetime.datetime | None = None) -> ItemQuerySet:
        return self.exclude(light_q(Light.OVERDUE, now))

    def in_unit_subtree(self, unit) -> ItemQuerySet:
        """Items where the unit or one of its sub-units is lead or supporting."""
        ItemAssignment = _model("ItemAssignment")
        return self.filter(Exists(ItemAssignment.objects.filter(item=OuterRef("pk"), unit__path__startswith=unit.path)))

    def for_list(self) -> ItemQuerySet:
        """Everything a list row shows, in a constant number of queries whatever the page size.

        Of the records around an item only the columns its list row shows are read (people and
        units by id and name, the instruction's brief): a row used to carry password hashes, the
        instruction's full text and a dozen timestamps nobody shows, which cost more to decode than
        the item itself. Anything else is still there when asked for, at one query more. The
        assignments are a list, `item.assignment_list`; `item.assignments` still queries afresh."""
        Item, ItemAssignment = _model("Item"), _model("ItemAssignment")
        brief = {
            "category": ("name",),
            "lead_unit": ("name",),
            "owner": USER_BRIEF,
            "instruction": ("title", "kind", "nature", "document_number", "issuer_name", "issuing_leader"),
            "instruction__issuing_leader": USER_BRIEF,
        }
        return (
            self.with_light()
            .select_related(*brief)
            .only(
                *(f.name for f in Item._meta.concrete_fields),
                *(f"{relation}__{column}" for relation, columns in brief.items() for column in columns),
            )
            .prefetch_related(
                models.Prefetch(
                    "assignments",
                    queryset=ItemAssignment.objects.select_related("unit", "acknowledged_by").only(
                        *(f.name for f in ItemAssignment._meta.concrete_fields),
                        "unit__name",
                        *(f"acknowledged_by__{column}" for column in USER_BRIEF),
                    ),
                    # A plain list: the related manager's cache would cost a queryset clone per item
                    # when filled and another per read (a quarter of the prefetch's CPU).
                    to_attr="assignment_list",
                )
            )
        )


class InstructionQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> InstructionQuerySet:
        """Whole-ledger viewers see every instruction within clearance; others only the
        instructions behind items they can see."""
        if not _is_signed_in(user):
            return self.none()
        qs = self.filter(classification__lte=user.clearance)
        if user.is_office or user.has_role(Role.LEADER):
            return qs
        Item = _model("Item")
        return qs.filter(Exists(Item.objects.visible_to(user).filter(instruction=OuterRef("pk"))))


def reports_visible_to(user: User, qs: models.QuerySet) -> models.QuerySet:
    """Progress reports (and their evidence) the user may read.

    No sideways copying (rule 13): a supporting unit reads only its own unit's reports, unless
    the office allowed it on that item; the lead unit coordinates and reads all of them."""
    Item, ItemAssignment = _model("Item"), _model("ItemAssignment")
    qs = qs.filter(item__in=Item.objects.visible_to(user))
    if user.is_office or user.has_role(Role.LEADER) or any(user.has_role(r) for r in REFERRAL_VIEWER_ROLES):
        return qs
    if not user.unit_id:
        return qs.none()
    may_see_all = ItemAssignment.objects.filter(item=OuterRef("item_id"), unit_id=user.unit_id).filter(
        Q(role=AssignmentRole.LEAD) | Q(may_view_all_reports=True)
    )
    return qs.filter(Q(unit_id=user.unit_id) | Exists(may_see_all))


def explanations_visible_to(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """Overdue explanations the user may read.

    - Only on items the user can see at all.
    - Office, leaders and administrators: all of them.
    - Discipline / organization users: all explanations on items referred to their department
      (the item is visible to them exactly then): they judge the case on the whole record.
    - Unit handlers and heads: their own unit's explanation only; no sideways copying between
      the lead and supporting units (rule 13), as for progress reports.
    """
    Item, OverdueExplanation = _model("Item"), _model("OverdueExplanation")
    qs = OverdueExplanation.objects.all() if qs is None else qs
    if not _is_signed_in(user):
        return qs.none()
    qs = qs.filter(item__in=Item.objects.visible_to(user))
    if user.sees_whole_ledger or any(user.has_role(r) for r in REFERRAL_VIEWER_ROLES):
        return qs
    if user.is_unit_user and user.unit_id:
        return qs.filter(unit_id=user.unit_id)
    return qs.none()


def notices_visible_to(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """Notices the user may read.

    - Never a notice above the user's clearance, nor one naming any item above it (checked on the
      items themselves, so raising an item's classification later hides the notice at once).
    - Office staff, leaders and administrators: every notice, drafts included (leaders sign off).
    - Issued notices only, for everyone else:
      - unit handlers and heads: notices naming their unit on an item they can see;
      - discipline users: criticism notices (不作为、慢作为 cases are theirs to follow up);
      - organization users: praise recommended to them (rule 8; inaction reaches them as referrals).

    The entries a viewer sees are narrowed further by `notice_entries_visible_to`."""
    Item, Notice, NoticeEntry = _model("Item"), _model("Notice"), _model("NoticeEntry")
    qs = Notice.objects.all() if qs is None else qs
    if not _is_signed_in(user):
        return qs.none()
    above_clearance = NoticeEntry.objects.filter(notice=OuterRef("pk"), item__classification__gt=user.clearance)
    qs = qs.filter(classification__lte=user.clearance).exclude(Exists(above_clearance))
    if user.sees_whole_ledger:
        return qs
    scope = Q(pk__in=[])
    if user.is_unit_user and user.unit_id:
        named = NoticeEntry.objects.filter(notice=OuterRef("pk"), unit_id=user.unit_id, item__in=Item.objects.visible_to(user))
        scope |= Exists(named)
    if user.has_role(Role.DISCIPLINE):
        scope |= Q(kind=NoticeKind.CRITICISM)
    if user.has_role(Role.ORGANIZATION):
        scope |= Q(kind=NoticeKind.PRAISE, recommend_to_organization=True)
    return qs.filter(scope, status=NoticeStatus.ISSUED)


def notice_entries_visible_to(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """The rows of a (visible) notice the user may read: those whose item they can see. A unit
    reading a criticism notice does not learn of another unit's items it is not involved in."""
    Item, NoticeEntry = _model("Item"), _model("NoticeEntry")
    qs = NoticeEntry.objects.all() if qs is None else qs
    return qs.filter(item__in=Item.objects.visible_to(user))


class AuditEventQuerySet(models.QuerySet):
    def for_item(self, item) -> AuditEventQuerySet:
        return self.filter(item=item).select_related("actor").order_by("seq")


class ExportApprovalQuerySet(models.QuerySet):
    def active(self, on: datetime.date | None = None) -> ExportApprovalQuerySet:
        """In force on the day `on` (today): not revoked, valid_from ≤ day ≤ valid_until."""
        on = on or timezone.localdate()
        return self.filter(revoked_at__isnull=True, valid_from__lte=on, valid_until__gte=on)

    def visible_to(self, user) -> ExportApprovalQuerySet:
        """The office (who grants them) sees every approval; anyone else only their own."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_office:
            return self
        return self.filter(grantee_id=user.pk)
