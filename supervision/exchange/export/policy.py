"""Who may take item details out of the system (DOMAIN.md rule 13: "未经批准不得擅自公开").

Seeing an item and exporting it are different acts. A cleared user sees 秘密/机密 items on screen,
but a file leaves the building: so every export (Excel/CSV ledger, quarterly workbook) asks this
module whether an item's classification may be written out for this user. Counts and charts are
not details and are not filtered here (the visibility rule already applies to them).

The rule: items classified 内部 or lower are exported by anyone who may see them; above that, only
up to the classification of an active `ExportApproval` recorded for the user by the office
(supervision/models/exchange.py), and never above the user's own clearance.

The answer is computed once per user object (one query) and kept on it, so callers that ask per
row (`detail_export_allowed`) and callers that filter in SQL (`exportable_classification`) cost
the same single query per export. The cached answer is dropped when the date changes and when
`services.export_approval_grant` grants or revokes an approval for that same user object; a request loads its
user afresh, so a revocation applies from the next request."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from accounts.choices import Classification
from supervision.models import ExportApproval

# The highest classification exported without a recorded approval.
EXPORTABLE_WITHOUT_APPROVAL = Classification.INTERNAL

# Where the answer is kept on the user instance (never saved: a plain instance attribute).
_CACHE_ATTR = "_duban_export_rights"


@dataclass(frozen=True)
class ExportRights:
    """What one user may export today, and on whose approval."""

    level: int  # the highest classification whose details may be exported
    approval_id: int | None  # the approval that raises `level` above 内部, if any
    as_of: datetime.date

    def allows(self, classification: int) -> bool:
        return classification <= self.level


def export_rights(user, *, today: datetime.date | None = None) -> ExportRights:
    """The user's export rights today: one query the first time, then kept on the user object."""
    today = today or timezone.localdate()
    cached = getattr(user, "__dict__", {}).get(_CACHE_ATTR)
    if cached is not None and cached.as_of == today:
        return cached
    rights = ExportRights(EXPORTABLE_WITHOUT_APPROVAL, None, today)
    if user is not None and user.is_authenticated and user.is_active:
        # The approval that allows the most; never above the user's clearance now (a clearance
        # lowered after the grant narrows the approval with it).
        approval = (
            ExportApproval.objects.active(today)
            .filter(grantee_id=user.pk, classification__lte=user.clearance)
            .order_by("-classification", "-valid_until", "-id")
            .values_list("pk", "classification")
            .first()
        )
        if approval is not None and approval[1] > EXPORTABLE_WITHOUT_APPROVAL:
            rights = ExportRights(approval[1], approval[0], today)
    if user is not None and hasattr(user, "__dict__"):
        user.__dict__[_CACHE_ATTR] = rights
    return rights


def forget_export_rights(user) -> None:
    """Drop the kept answer (after a grant or revocation for this user object)."""
    if user is not None and hasattr(user, "__dict__"):
        user.__dict__.pop(_CACHE_ATTR, None)


def exportable_classification(user) -> int:
    """The highest classification whose item details `user` may export now."""
    return export_rights(user).level


def detail_export_allowed(*, user, classification: int) -> bool:
    """May `user` write the details (title, text, units, people) of an item at `classification`
    into an exported file? Visibility is checked separately, before this is asked.
    Safe to call per row: the approvals are read once per user object."""
    return export_rights(user).allows(classification)
