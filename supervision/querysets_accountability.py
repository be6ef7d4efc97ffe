"""Who may read overdue explanations and notices. Both rules start from `Item.objects.visible_to`
(querysets.py, DOMAIN.md rule 13), so neither can reveal an item the viewer could not open."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Exists, OuterRef, Q

from accounts.choices import Role

from .choices_accountability import NoticeKind, NoticeStatus
from .querysets import REFERRAL_VIEWER_ROLES, _is_signed_in

if TYPE_CHECKING:
    from accounts.models import User


def explanations_visible_to(user: User, qs: models.QuerySet | None = None) -> models.QuerySet:
    """Overdue explanations the user may read.

    - Only on items the user can see at all.
    - Office, leaders and administrators: all of them.
    - Discipline / organization users: all explanations on items referred to their department
      (the item is visible to them exactly then): they judge the case on the whole record.
    - Unit handlers and heads: their own unit's explanation only; no sideways copying between
      the lead and supporting units (rule 13), as for progress reports.
    """
    from .models import Item, OverdueExplanation

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
    from .models import Item, Notice, NoticeEntry

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
    from .models import Item, NoticeEntry

    qs = NoticeEntry.objects.all() if qs is None else qs
    return qs.filter(item__in=Item.objects.visible_to(user))
