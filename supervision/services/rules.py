"""The office's timing rules, edited in the admin: warning-light thresholds and reminder
policies. Each change is audited and reschedules the open items after commit (in the workers)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from supervision import outbox
from supervision.audit import audit_record
from supervision.models import (
    FigureRules,
    WarningThreshold,
)
from supervision.services.guards import require_office


@transaction.atomic
def warning_threshold_save(*, actor: User, threshold: WarningThreshold) -> WarningThreshold:
    """Change when the light turns yellow for an urgency; open items are rescheduled after commit."""
    require_office(actor)
    threshold.full_clean()
    threshold.save()
    audit_record(
        actor=actor,
        action="warning_threshold_saved",
        obj=threshold,
        data={
            "urgency": threshold.urgency,
            "yellow_share": str(threshold.yellow_share),
            "yellow_workdays": threshold.yellow_workdays,
        },
    )
    warning_dates_refresh_later()
    return threshold


def warning_dates_refresh_later() -> None:
    """Queue the recomputation of open items' warning dates once this transaction commits."""
    outbox.enqueue("tasks.lights.refresh_warning_dates")


@transaction.atomic
def reminder_policy_changed(*, actor: User, policy, deleted: bool = False) -> None:
    """Record a policy edit (made in the admin) and reschedule open items of its urgency after commit."""
    require_office(actor)
    steps = [
        {
            "offset": s.offset_workdays,
            "to": [n for n in ("owner", "unit_handlers", "unit_head", "office", "issuing_leader") if getattr(s, f"to_{n}")],
        }
        for s in policy.steps.all()
    ]
    audit_record(
        actor=actor,
        action="reminder_policy_deleted" if deleted else "reminder_policy_saved",
        obj=policy,
        data={"urgency": policy.urgency, "category_id": policy.category_id, "steps": steps, "is_active": policy.is_active},
    )
    outbox.enqueue("tasks.reminders.reschedule_open_items", policy.urgency)


FIGURE_RULE_FIELDS = (
    "stale_unchanged_reports",
    "stale_grace_days",
    "stale_default_cycle_days",
    "score_base",
    "score_on_time_rate",
    "score_overdue",
    "score_stale",
    "score_relapsed",
    "score_praise",
    "score_criticism",
    "score_accountability",
)


@transaction.atomic
def figure_rules_save(*, actor: User, rules: FigureRules) -> FigureRules:
    """The office sets when in-progress items count as stale and the 考核 weights; audited, so a
    score can always be traced to the weights in force when it was computed."""
    require_office(actor)
    rules.pk = 1  # one row
    rules.full_clean()
    rules.save()
    audit_record(
        actor=actor,
        action="figure_rules_saved",
        obj=rules,
        data={name: str(getattr(rules, name)) for name in FIGURE_RULE_FIELDS},
    )
    return rules
