"""The office edits thresholds and reminder policies in the admin; each edit is audited and
reschedules open items after commit; others may look but not change."""

from __future__ import annotations

import pytest
from django.test import Client

from supervision.models import AuditEvent, ReminderPolicy, WarningThreshold

pytestmark = pytest.mark.django_db


def admin_client(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def test_office_edits_reminder_policy_with_audit_and_reschedule(world, django_capture_on_commit_callbacks, monkeypatch):
    from tasks.reminders import reschedule_open_items

    queued = []
    monkeypatch.setattr(reschedule_open_items, "delay", lambda urgency: queued.append(urgency))
    policy = ReminderPolicy.objects.get(urgency="normal", category=None)
    steps = list(policy.steps.order_by("offset_workdays"))
    data = {
        "name": "一般事项催办规则（调整）",
        "urgency": "normal",
        "category": "",
        "acknowledge_within_hours": "12",
        "send_time": "09:30",
        "is_active": "on",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(len(steps)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for n, step in enumerate(steps):
        data.update(
            {
                f"steps-{n}-id": str(step.pk),
                f"steps-{n}-policy": str(policy.pk),
                f"steps-{n}-offset_workdays": str(step.offset_workdays),
                f"steps-{n}-to_owner": "on",
                f"steps-{n}-to_unit_handlers": "on",
            }
        )
    client = admin_client(world.office)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/supervision/reminderpolicy/{policy.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    policy.refresh_from_db()
    assert policy.acknowledge_within_hours == 12
    event = AuditEvent.objects.filter(action="reminder_policy_saved").get()
    assert event.actor == world.office and event.data["urgency"] == "normal"
    assert queued == ["normal"]
    # A unit head with staff access may look, not change.
    viewer = admin_client(world.edu_head)
    assert viewer.get(f"/admin/supervision/reminderpolicy/{policy.pk}/change/").status_code == 200
    assert viewer.post(f"/admin/supervision/reminderpolicy/{policy.pk}/change/", data).status_code == 403


def test_threshold_edit_goes_through_the_service(world, django_capture_on_commit_callbacks, monkeypatch):
    from tasks.lights import refresh_warning_dates

    queued = []
    monkeypatch.setattr(refresh_warning_dates, "delay", lambda: queued.append(True))
    threshold = WarningThreshold.objects.get(urgency="urgent")
    client = admin_client(world.office)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/supervision/warningthreshold/{threshold.pk}/change/",
            {"urgency": "urgent", "yellow_share": "0.40", "yellow_workdays": "2"},
        )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="warning_threshold_saved").count() == 1 and queued == [True]
    response = client.post(
        f"/admin/supervision/warningthreshold/{threshold.pk}/change/",
        {"urgency": "urgent", "yellow_share": "1.50", "yellow_workdays": "2"},
    )
    assert response.status_code == 200  # the form shows the error; nothing saved
    threshold.refresh_from_db()
    assert str(threshold.yellow_share) == "0.40"


def test_office_sets_the_stale_rule_and_the_score_weights_in_the_admin(world):
    from supervision.models import FigureRules

    data = {
        "stale_unchanged_reports": "4",
        "stale_grace_days": "10",
        "stale_default_cycle_days": "20",
        "score_base": "50",
        "score_on_time_rate": "50",
        "score_overdue": "-1",
        "score_stale": "-2",
        "score_relapsed": "-3",
        "score_praise": "1",
        "score_criticism": "-1",
        "score_accountability": "-4",
    }
    office = admin_client(world.office)
    response = office.post("/admin/supervision/figurerules/add/", data)
    assert response.status_code == 302, response.content[:500]
    rules = FigureRules.current()
    assert (rules.pk, rules.stale_unchanged_reports, rules.stale_grace_days) == (1, 4, 10)
    assert AuditEvent.objects.filter(action="figure_rules_saved", data__stale_unchanged_reports="4").exists()
    assert office.get("/admin/supervision/figurerules/add/").status_code == 403  # one row only
    # Others may look, not change.
    leader = admin_client(world.leader)
    assert leader.post("/admin/supervision/figurerules/1/change/", {**data, "stale_grace_days": "0"}).status_code == 403
    assert FigureRules.current().stale_grace_days == 10
