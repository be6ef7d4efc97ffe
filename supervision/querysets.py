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
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.lookups import IsNull
from django.utils import timezone

from accounts.choices import Role
from supervision.choices import (
    BEFORE_ASSIGNMENT_STATUSES,
    OPEN_STATUSES,
    AssignmentRole,
    Light,
    NoticeKind,
    NoticeStatus,
    ReferralDepartment,
)
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


def among(visible: models.QuerySet, ref: str = "item") -> Exists:
    """The record at `ref` (a foreign key, or an id column) is one of `visible` (a visibility
    function's queryset), as a correlated EXISTS. Never `ref IN (visible)` where the condition is
    OR-ed with another (`item IS NULL OR …`): PostgreSQL cannot turn such an IN into a join, so it
    reads the whole visible set (every item, for office staff) for the rows it filters. At a million
    items the header's unread count of office staff with 300 unread messages took 11 s that way, and
    2.5 ms as an EXISTS, which looks each row's item up by its key (bench/unread_count.py)."""
    return Exists(visible.filter(pk=OuterRef(ref)))


def among_row_by_row(visible: models.QuerySet, ref: str = "item") -> IsNull:
    """As `among`, but tested row by row however many rows PostgreSQL expects to test: a correlated
    scalar subquery, which it never turns into a hash of the whole visible set. An EXISTS it hashes
    when it expects many rows, though a LIMIT stops the list after a thousand: the office's comments
    to read hashed all 200,000 instructions (100 ms) to show eight (bench/README.md, "Pages",
    2026-12-07 (4))."""
    return IsNull(Subquery(visible.filter(pk=OuterRef(ref)).values("pk")[:1]), False)


def item_absent_or_visible(user: User, ref: str = "item") -> Q:
    """Records whose item may be empty (a message, an intake row): no item, or one the user may see."""
    return Q(**{f"{ref}__isnull": True}) | Q(among(_model("Item").objects.visible_to(user), ref))


class ItemQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> ItemQuerySet:
        """Items the user may know exist.

        - Above the user's clearance: never (the item does not exist for them).
        - Office staff and administrators: every item, drafts (and items awaiting the 督查室主任) included.
        - Leaders: every item that has been assigned.
        - Unit handlers and heads: items where their unit is lead or supporting.
        - Discipline / organization departments: items referred to their department.
        """
        if not _is_signed_in(user):
            return self.none()
        qs = self.filter(classification__lte=user.clearance)
        if user.reads_as_office:
            return qs
        if user.has_role(Role.LEADER):
            return qs.exclude(status__in=BEFORE_ASSIGNMENT_STATUSES)
        ItemAssignment, Referral = _model("ItemAssignment"), _model("Referral")
        scope = Q(pk__in=[])
        if user.scope_unit_id:
            scope |= Exists(ItemAssignment.objects.filter(item=OuterRef("pk"), unit_id=user.scope_unit_id))
        departments = [dept for role, dept in REFERRAL_VIEWER_ROLES.items() if user.has_role(role)]
        if departments:
            scope |= Exists(Referral.objects.filter(item=OuterRef("pk"), department__in=departments))
        visible = qs.filter(scope).exclude(status__in=BEFORE_ASSIGNMENT_STATUSES)
        if user.client_scope:
            # An OA client also reads back what it pushed itself (intake), drafts included.
            return visible | qs.filter(created_by_id=user.pk)
        return visible

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

    def assigned_to_any(self, unit_ids) -> ItemQuerySet:
        """Items where one of these units is lead or supporting. The ids are read first and given to
        the query as values: joined to the units by path, PostgreSQL estimated every subtree at the
        average unit's size, and for a county with 18% of a million items it fetched the items one
        by one through the key (1.2 s) where, knowing the ids, it hashes them over one scan (0.5 s);
        for a small unit it still walks the assignments' index."""
        ItemAssignment = _model("ItemAssignment")
        return self.filter(Exists(ItemAssignment.objects.filter(item=OuterRef("pk"), unit_id__in=list(unit_ids))))

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
        if user.reads_whole_ledger:
            return qs
        Item = _model("Item")
        behind_items = Exists(Item.objects.visible_to(user).filter(instruction=OuterRef("pk")))
        return qs.filter(behind_items | Q(created_by_id=user.pk) if user.client_scope else behind_items)


def _coordinated_records(user: User, qs: models.QuerySet, unit_lookup: str) -> models.QuerySet:
    """Records a unit files on an item (reports, requests) and their evidence: no sideways copying
    (rule 13). A supporting unit reads only its own unit's records, unless the office allowed it
    on that item; the lead unit coordinates and reads all of them; whole-ledger viewers and the
    referred departments read everything on the items they see."""
    Item, ItemAssignment = _model("Item"), _model("ItemAssignment")
    if not _is_signed_in(user):
        return qs.none()
    qs = qs.filter(item__in=Item.objects.visible_to(user))
    if user.reads_whole_ledger or any(user.has_role(r) for r in REFERRAL_VIEWER_ROLES):
        return qs
    if not user.unit_id:
        return qs.none()
    may_see_all = ItemAssignment.objects.filter(item=OuterRef("item_id"), unit_id=user.unit_id).filter(
        Q(role=AssignmentRole.LEAD) | Q(may_view_all_reports=True)
    )
    return qs.filter(Q(**{unit_lookup: user.unit_id}) | Exists(may_see_all))


def reports_visible_to(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """Progress reports (and their evidence) the user may read (`_coordinated_records`)."""
    return _coordinated_records(user, _model("ProgressReport").objects.all() if qs is None else qs, "unit_id")


def requests_visible_to(user: User, qs: models.QuerySet | None = None, *, unsigned: bool = False) -> models.QuerySet:
    """Requests (延期, 办结, 暂停, 撤销) and their evidence the user may read.

    - Units, under the reports' rule (`_coordinated_records`): a unit reads its own unit's requests;
      the lead unit (or a unit the office allowed) reads every request on the item, the office's own
      included; a supporting unit does not read the lead unit's requests.
    - Office, leaders and the referral departments: what has reached the office — requests the
      unit's approver signed, or that needed no signature (rule 14: until the unit signs, the
      request is the unit's own business). `unsigned=True` widens this to every request, for the
      office's decision endpoint, which answers an unsigned one with 409 rather than 404.
    """
    qs = _model("ItemRequest").objects.all() if qs is None else qs
    qs = _coordinated_records(user, qs, "unit_id")
    if not _is_signed_in(user) or not (user.reads_whole_ledger or any(user.has_role(r) for r in REFERRAL_VIEWER_ROLES)):
        return qs
    if unsigned:
        return qs
    return qs.filter(Q(needs_endorsement=False) | Q(endorsed_at__isnull=False))


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
    if user.reads_whole_ledger or any(user.has_role(r) for r in REFERRAL_VIEWER_ROLES):
        return qs
    if user.scope_unit_id:
        return qs.filter(unit_id=user.scope_unit_id)
    return qs.none()


def referrals_visible_to(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """Referrals (移交) the user may read. A referral made on a ruling carries the ruling's reason
    and names the unit held accountable, so it follows the explanations' rule:

    - whole-ledger viewers and the referred departments: every referral on the items they see;
    - unit handlers and heads: referrals tied only to their own unit's explanations; a referral the
      office made directly (tied to no explanation) is the lead unit's to read, as the item's.
    """
    Item, ItemAssignment, OverdueExplanation = _model("Item"), _model("ItemAssignment"), _model("OverdueExplanation")
    qs = _model("Referral").objects.all() if qs is None else qs
    if not _is_signed_in(user):
        return qs.none()
    qs = qs.filter(item__in=Item.objects.visible_to(user))
    if user.reads_whole_ledger or any(user.has_role(r) for r in REFERRAL_VIEWER_ROLES):
        return qs
    if not user.scope_unit_id:
        return qs.none()
    tied = OverdueExplanation.objects.filter(referrals=OuterRef("pk"))
    lead = ItemAssignment.objects.filter(item=OuterRef("item_id"), unit_id=user.unit_id, role=AssignmentRole.LEAD)
    return qs.exclude(Exists(tied.exclude(unit_id=user.unit_id))).filter(
        Exists(tied.filter(unit_id=user.unit_id)) | (~Exists(tied) & Exists(lead))
    )


# Audit events about records under a narrower rule than their item's: object_type -> that rule.
_NARROWER_RECORDS = {
    "overdueexplanation": explanations_visible_to,
    "referral": referrals_visible_to,
    "itemrequest": requests_visible_to,
    "progressreport": reports_visible_to,
}


def audit_events_visible_to(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """Audit events the user may read (an item's history, the admin's audit log).

    - An event about an item: only if the item is visible, and an event about an explanation or
      its ruling, a referral, a request or a progress report only if that record is visible too
      (its comment and data carry the record's text: no sideways copying, rule 13).
    - An event about an instruction or a notice without an item: only if that record is visible.
    - Any other event (calendar, clients, sign-in, attachments): office staff and administrators.
    """
    Instruction = _model("Instruction")
    qs = _model("AuditEvent").objects.all() if qs is None else qs
    if not _is_signed_in(user):
        return qs.none()
    on_items = Q(among(_model("Item").objects.visible_to(user)))
    if not (user.reads_whole_ledger or any(user.has_role(r) for r in REFERRAL_VIEWER_ROLES)):
        for object_type, rule in _NARROWER_RECORDS.items():
            on_items &= ~Q(object_type=object_type) | Q(among(rule(user), "object_id"))
    unattached = Q(item__isnull=True) & (
        (Q(object_type="instruction") & Q(among(Instruction.objects.visible_to(user), "object_id")))
        | (Q(object_type="notice") & Q(among(notices_visible_to(user), "object_id")))
    )
    if user.reads_as_office:
        unattached |= Q(item__isnull=True) & ~Q(object_type__in=("instruction", "notice"))
    return qs.filter(on_items | unattached)


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
    if user.reads_whole_ledger:
        return qs
    scope = Q(pk__in=[])
    if user.scope_unit_id:
        named = NoticeEntry.objects.filter(
            notice=OuterRef("pk"), unit_id=user.scope_unit_id, item__in=Item.objects.visible_to(user)
        )
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


def comments_visible_to(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """Leader comments the user may read: those on an item or instruction the user can see."""
    Item, Instruction, LeaderComment = _model("Item"), _model("Instruction"), _model("LeaderComment")
    qs = LeaderComment.objects.all() if qs is None else qs
    if not _is_signed_in(user):
        return qs.none()
    items, instructions = Item.objects.visible_to(user), Instruction.objects.visible_to(user)
    if user.reads_whole_ledger:
        # Nearly every comment, each checked on its own row: a list read newest first (along its
        # index) stops after the rows it needs.
        return qs.filter(Q(among_row_by_row(items)) | Q(among_row_by_row(instructions, "instruction")))
    # A unit's few thousand items, and their instructions, lead to their comments (one IN over a
    # UNION, which PostgreSQL joins from the small side). Testing every comment of the ledger
    # instead took 400 ms for a township with 28,000 comments in the ledger (bench/README.md,
    # "Pages", 2026-12-07 (4)).
    on_items = LeaderComment.objects.filter(item__in=items).order_by().values("pk")
    on_instructions = LeaderComment.objects.filter(instruction__in=instructions).order_by().values("pk")
    return qs.filter(pk__in=on_items.union(on_instructions, all=True))


def suspicions_visible_to(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """疑似重复 are the office's queue: office staff see those whose two items they may both see;
    nobody else sees any (a unit learns of a merge through the link, once the office decides)."""
    Item, DuplicateSuspicion = _model("Item"), _model("DuplicateSuspicion")
    qs = DuplicateSuspicion.objects.all() if qs is None else qs
    if not _is_signed_in(user) or not user.is_office:
        return qs.none()
    visible = Item.objects.visible_to(user)
    return qs.filter(item__in=visible, candidate__in=visible)


def links_visible_to(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """合并督办 links whose linked item and lead item the user may both see."""
    Item, ItemLink = _model("Item"), _model("ItemLink")
    qs = ItemLink.objects.all() if qs is None else qs
    visible = Item.objects.visible_to(user)
    return qs.filter(item__in=visible, lead__in=visible)


def activities_visible_to(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """统筹督查 activities: whole-ledger viewers see all of them; a unit sees those that visit it,
    except 暗访暗查 (unannounced visits are not announced to their targets)."""
    SupervisionActivity = _model("SupervisionActivity")
    qs = SupervisionActivity.objects.all() if qs is None else qs
    if not _is_signed_in(user):
        return qs.none()
    if user.sees_whole_ledger:
        return qs
    if user.is_unit_user and user.unit_id:
        return qs.filter(target_units=user.unit_id).exclude(kind="unannounced").distinct()
    return qs.none()


def units_maintained_by(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """Units whose records the user maintains in the back office.

    - Superusers and administrators: every unit.
    - Office staff: the tree their own unit belongs to (everything under its topmost ancestor,
      e.g. the whole county under 中共云溪县委 for 县委督查室), not another tree.
    - Anyone else: none."""
    qs = apps.get_model("accounts", "Unit").objects.all() if qs is None else qs
    if not _is_signed_in(user):
        return qs.none()
    if user.is_superuser or user.has_role(Role.ADMINISTRATOR):
        return qs
    if user.has_role(Role.OFFICE_STAFF, Role.OFFICE_DIRECTOR) and user.unit_id:
        return qs.filter(path__startswith=user.unit.path.split("/", 1)[0] + "/")
    return qs.none()


def people_maintained_by(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """People whose records the user maintains in the back office: superusers and administrators
    everyone; office staff the people of their units (above) cleared no higher than themselves
    and never an administrator or superuser, so nobody edits (or takes over) an account that
    could see more than they can."""
    qs = apps.get_model("accounts", "User").objects.all() if qs is None else qs
    if not _is_signed_in(user):
        return qs.none()
    if user.is_superuser or user.has_role(Role.ADMINISTRATOR):
        return qs
    if not user.has_role(Role.OFFICE_STAFF, Role.OFFICE_DIRECTOR):
        return qs.none()
    return qs.filter(unit__in=units_maintained_by(user), clearance__lte=user.clearance, is_superuser=False).exclude(
        role_assignments__role=Role.ADMINISTRATOR
    )


class AuditEventQuerySet(models.QuerySet):
    def for_item(self, item) -> AuditEventQuerySet:
        return self.filter(item=item).select_related("actor").order_by("seq")


class ExportApprovalQuerySet(models.QuerySet):
    def active(self, on: datetime.date | None = None) -> ExportApprovalQuerySet:
        """In force on the day `on` (today): not revoked, valid_from ≤ day ≤ valid_until."""
        on = on or timezone.localdate()
        return self.filter(revoked_at__isnull=True, valid_from__lte=on, valid_until__gte=on)

    def visible_to(self, user) -> ExportApprovalQuerySet:
        """The office (who grants them) sees the approvals up to its own clearance (an approval to
        export 机密 details is itself 机密 business); anyone else only their own."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.reads_as_office:
            return self.filter(Q(classification__lte=user.clearance) | Q(grantee_id=user.pk))
        return self.filter(grantee_id=user.pk)
