"""When the yellow light starts (`Item.warning_date`): the one calendar-dependent input of the
lights (supervision/lights.py). Computed from the thresholds per urgency (WarningThreshold, edited
in the admin) and the working-day calendar, stored on the item, and recomputed whenever the
deadline, urgency, thresholds or the calendar change."""

from __future__ import annotations

import datetime
import math
from decimal import Decimal

from django.utils import timezone

from supervision.choices import OPEN_STATUSES
from supervision.lights import DEFAULT_THRESHOLDS
from supervision.models import Item, WarningThreshold
from supervision.workcalendar import add_workdays, workdays_between


def thresholds() -> dict[str, tuple[Decimal, int]]:
    table = dict(DEFAULT_THRESHOLDS)
    for row in WarningThreshold.objects.all():
        table[row.urgency] = (row.yellow_share, row.yellow_workdays)
    return table


def warning_date_for(
    *, start: datetime.date, deadline: datetime.date | None, urgency: str, table: dict | None = None
) -> datetime.date | None:
    """First yellow day for an item assigned on `start` and due on `deadline`."""
    if deadline is None:
        return None
    share, few_days = (table or thresholds())[urgency]
    total = workdays_between(start, deadline)
    candidates = [add_workdays(deadline, -few_days)] if few_days else [deadline]
    if total > 0:
        candidates.append(add_workdays(start, max(1, math.ceil(Decimal(total) * share))))
    return min(max(min(candidates), start), deadline)


def warning_dates_refresh(queryset=None) -> int:
    """Recompute warning_date for open items (after a threshold or calendar change). Returns the count."""
    table = thresholds()
    items = (queryset if queryset is not None else Item.objects.all()).filter(status__in=OPEN_STATUSES, deadline__isnull=False)
    changed = []
    for item in items.only("pk", "assigned_at", "created_at", "deadline", "urgency", "warning_date").iterator(chunk_size=2000):
        start = timezone.localdate(item.assigned_at or item.created_at)
        new = warning_date_for(start=start, deadline=item.deadline, urgency=item.urgency, table=table)
        if new != item.warning_date:
            item.warning_date = new
            changed.append(item)
        if len(changed) >= 2000:
            Item.objects.bulk_update(changed, ["warning_date"])
            changed = []
    if changed:
        Item.objects.bulk_update(changed, ["warning_date"])
    return len(changed)
