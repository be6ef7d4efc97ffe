"""How long each stage takes, by lead unit (issue 14): over the unit's items assigned in the period,
the average days from assignment to the lead unit's sign-for-receipt (签收), from assignment to the
first progress report, the unit's endorsement of its completion requests (filed → signed by the
unit's head, 单位签字; requests the requester signed himself, or filed before unit sign-off, are
left out) and the office's review of them (signed, or filed when no signature is needed → decided).
Five queries, whatever the ledger size."""

from __future__ import annotations

import datetime

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from accounts.models import Unit
from supervision.choices import COUNTED_STATUSES, AssignmentRole, RequestKind, RequestStatus
from supervision.models import ItemAssignment, ItemRequest, ProgressReport
from supervision.stats.scope import Scope

STAGES = ("sign", "first_report", "unit_endorsement", "office_review")


def _days(value: datetime.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 86400, 2)


def _since(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


def stage_durations(scope: Scope) -> list[dict]:
    """One row per lead unit with items assigned in the period (visible, filtered), by name."""
    assigned = scope.items.filter(scope.assigned_q(), status__in=COUNTED_STATUSES, lead_unit__isnull=False)
    rows: dict[int, dict] = {}

    def put(unit_id: int, stage: str, n: int, average) -> None:
        rows.setdefault(unit_id, {})[stage] = {"measured": n, "average_days": _days(average)}

    for unit_id, n in assigned.values_list("lead_unit_id").annotate(n=Count("pk")).order_by():
        rows.setdefault(unit_id, {})["items"] = n
    signed = ItemAssignment.objects.filter(
        role=AssignmentRole.LEAD, item__in=assigned.values("pk"), acknowledged_at__isnull=False
    ).values_list("unit_id")
    for unit_id, n, average in signed.annotate(n=Count("pk"), a=Avg(_since("acknowledged_at", "item__assigned_at"))).order_by():
        put(unit_id, "sign", n, average)
    first = ProgressReport.objects.filter(item=OuterRef("pk")).order_by("submitted_at", "id").values("submitted_at")[:1]
    reported = (
        assigned.annotate(first_report_at=Subquery(first))
        .filter(first_report_at__isnull=False)
        .values_list("lead_unit_id")
        .annotate(n=Count("pk"), a=Avg(_since("first_report_at", "assigned_at")))
        .order_by()
    )
    for unit_id, n, average in reported:
        put(unit_id, "first_report", n, average)
    completion = ItemRequest.objects.filter(kind=RequestKind.COMPLETION, item__in=assigned.values("pk"))
    endorsed = (
        completion.filter(needs_endorsement=True, self_endorsed=False, endorsed_at__isnull=False)
        .values_list("item__lead_unit_id")
        .annotate(n=Count("pk"), a=Avg(_since("endorsed_at", "requested_at")))
        .order_by()
    )
    for unit_id, n, average in endorsed:
        put(unit_id, "unit_endorsement", n, average)
    reviewed = (
        completion.filter(status__in=(RequestStatus.APPROVED, RequestStatus.REJECTED), decided_at__isnull=False)
        .annotate(reached_office_at=Coalesce("endorsed_at", "requested_at"))
        .values_list("item__lead_unit_id")
        .annotate(n=Count("pk"), a=Avg(_since("decided_at", "reached_office_at")))
        .order_by()
    )
    for unit_id, n, average in reviewed:
        put(unit_id, "office_review", n, average)
    names = dict(Unit.objects.filter(pk__in=rows).values_list("pk", "name"))
    span = (scope.period.start, scope.period.end)
    results = []
    for unit_id, entry in rows.items():
        stages = {stage: entry.get(stage, {"measured": 0, "average_days": None}) for stage in STAGES}
        results.append(
            {
                "unit": {"id": unit_id, "name": names.get(unit_id, "")},
                "items": scope.figure(entry.get("items", 0), lead_unit=unit_id, status=COUNTED_STATUSES, assigned=span),
                **stages,
            }
        )
    results.sort(key=lambda row: row["unit"]["name"])
    return results
