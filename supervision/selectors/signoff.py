"""How long each stage of a unit's sign-off took (rule 14 made measurable)."""

from __future__ import annotations

from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    QuerySet,
)

from accounts.models import Unit, User
from supervision.querysets import (
    explanations_visible_to,
    requests_visible_to,
)


class _Median(Aggregate):
    """PostgreSQL's median of an interval, in hours."""

    function = "percentile_cont"
    template = "EXTRACT(EPOCH FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY %(expressions)s)) / 3600.0"
    output_field = FloatField()


def _hours_between(start: str, end: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def _stage_medians(qs: QuerySet, stages: dict[str, tuple[str, str]]) -> dict[int, dict]:
    rows: dict[int, dict] = {}
    for stage, (start, end) in stages.items():
        measured = (
            qs.filter(**{f"{start}__isnull": False, f"{end}__isnull": False})
            .order_by()  # the model's default ordering would split the groups
            .values("unit_id")
            .annotate(hours=_Median(_hours_between(start, end)), n=Count("pk"))
        )
        for row in measured:
            rows.setdefault(row["unit_id"], {})[stage] = {"median_hours": round(float(row["hours"]), 2), "count": row["n"]}
    return rows


def signoff_stage_durations(*, user: User) -> list[dict]:
    """How long each stage of sign-off took, per unit (rule 14 made measurable): the median hours
    from a unit's request to its approver's signature, and from the signature to the office's
    decision; the same for overdue explanations (filed → signed → ruled). Only what the user may
    see is counted (the visibility rules of requests and explanations)."""
    requests = _stage_medians(
        requests_visible_to(user).filter(needs_endorsement=True, unit__isnull=False),
        {"request_endorsement": ("requested_at", "endorsed_at"), "request_decision": ("endorsed_at", "decided_at")},
    )
    explanations = _stage_medians(
        explanations_visible_to(user).filter(needs_endorsement=True),
        {"explanation_endorsement": ("submitted_at", "endorsed_at"), "explanation_ruling": ("endorsed_at", "ruled_at")},
    )
    unit_ids = set(requests) | set(explanations)
    names = dict(Unit.objects.filter(pk__in=unit_ids).values_list("pk", "name"))
    empty = {"median_hours": None, "count": 0}
    stages = ("request_endorsement", "request_decision", "explanation_endorsement", "explanation_ruling")
    return [
        {
            "unit_id": unit_id,
            "unit_name": names.get(unit_id, ""),
            **{stage: {**requests.get(unit_id, {}), **explanations.get(unit_id, {})}.get(stage, empty) for stage in stages},
        }
        for unit_id in sorted(unit_ids, key=lambda pk: names.get(pk, ""))
    ]


# Duplicate matters, linked items and inspection activities (减负, rule 12).
