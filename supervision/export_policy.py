"""Who may take item details out of the system (DOMAIN.md rule 13: "未经批准不得擅自公开").

Seeing an item and exporting it are different acts. A cleared user sees 秘密/机密 items on screen,
but a file leaves the building: so every export (Excel/CSV ledger, quarterly workbook) asks this
module, row by row, whether the item's classification may be written out for this user. Counts and
charts are not details and are not filtered here (the visibility rule already applies to them).

Until an approval is recorded for a user, only items classified 内部 or lower are exported."""

from __future__ import annotations

from accounts.choices import Classification

# The highest classification exported without a recorded approval.
EXPORTABLE_WITHOUT_APPROVAL = Classification.INTERNAL


def detail_export_allowed(*, user, classification: int) -> bool:
    """May `user` write the details (title, text, units, people) of an item at `classification`
    into an exported file? Visibility is checked separately, before this is asked."""
    return classification <= EXPORTABLE_WITHOUT_APPROVAL
