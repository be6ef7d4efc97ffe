"""The Celery app and its beat schedule (one place for every periodic job)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("duban")
app.config_from_object("django.conf:settings", namespace="CELERY")

_ANCHOR_SECONDS = 60.0 * int(os.environ.get("DUBAN_AUDIT_ANCHOR_MINUTES", "10"))
# Task modules are imported by tasks.apps.TasksConfig.ready(): everything Celery runs lives in tasks/.

app.conf.beat_schedule = {
    # Reminders and escalation: claims only the items due now (partial index), so every minute is cheap.
    "sweep-due-reminders": {"task": "tasks.reminders.sweep_due_reminders", "schedule": 60.0},
    # Outbox: re-queue deliveries whose task was lost (worker killed mid-send, message dropped).
    # Selects through the partial index delivery_due with SKIP LOCKED: safe with two beat schedulers.
    "retry-stuck-deliveries": {"task": "tasks.delivery.retry_stuck_deliveries", "schedule": 60.0},
    # Webhooks to OA systems: the same for webhook deliveries, taking only rows whose turn it is
    # (no earlier open delivery for the same item), through partial indexes, with SKIP LOCKED.
    # Quiet hours: deliveries held overnight or over a rest day go when the working day starts
    # (partial index delivery_held, SKIP LOCKED, held_until cleared as they are queued).
    "release-held-deliveries": {"task": "tasks.delivery.release_held_deliveries", "schedule": 60.0},
    # 每日汇总: from the office's digest time on a working day, one digest per person, channel and
    # day; every minute so a changed time takes effect the same day; the unique row makes reruns no-ops.
    "make-daily-digests": {"task": "tasks.delivery.make_daily_digests", "schedule": 60.0},
    "retry-stuck-webhooks": {"task": "tasks.webhook_delivery.retry_stuck_webhooks", "schedule": 60.0},
    # 超期说明: ask each responsible unit of an overdue item to explain. Selects only overdue items
    # still missing an explanation for their current deadline; unique (item, unit, deadline) makes reruns no-ops.
    "sweep-overdue-explanations": {"task": "tasks.overdue.sweep_overdue_explanations", "schedule": crontab(minute="*/15")},
    # Idempotency-Key records live 24 h; an hourly purge by the expires_at index keeps the table small.
    "purge-expired-idempotency-keys": {
        "task": "tasks.housekeeping.purge_expired_idempotency_keys",
        "schedule": crontab(minute=17),
    },
    # From 1 November until next year's working-day calendar is entered, office staff and
    # administrators are told in their inbox each morning (once a day each: the day is in the dedup key).
    "remind-missing-calendar-year": {
        "task": "tasks.housekeeping.remind_missing_calendar_year",
        "schedule": crontab(hour=8, minute=35),
    },
    # Background export files (they may hold classified rows) are deleted 24 h after they were written.
    "purge-export-files": {"task": "tasks.exports.purge_export_files", "schedule": crontab(minute=23)},
    # The figure columns (supervision/stats/columns.py) recounted against the ledger: drift is logged.
    "check-figure-columns": {"task": "tasks.stats.check_figure_columns", "schedule": crontab(hour=2, minute=47)},
    # 减负: the office hears once per unit, week and measure when a unit passes its weekly limit.
    "check-burden-limits": {"task": "tasks.burden.check_burden_limits", "schedule": crontab(minute=41)},
    # A broken audit chain must be noticed the same day, not when someone next looks.
    # The chain head kept outside the database too (supervision/audit/anchor.py); nothing is written
    # when the head has not moved since the last anchor.
    "anchor-audit-head": {
        "task": "tasks.audit.anchor_audit_head",
        "schedule": _ANCHOR_SECONDS,
        "options": {"expires": _ANCHOR_SECONDS},
    },
    "verify-audit-chain-nightly": {
        "task": "tasks.audit.verify_audit_chain",
        "schedule": crontab(hour=2, minute=30),
    },
}

# A soak run (bench/soak_run.py) fires every periodic job every few seconds instead of on its schedule,
# and logs each task published and settled, so the run can prove each one ran exactly once.
_every = os.environ.get("DUBAN_BEAT_EVERY_SECONDS")
if _every:
    for _entry in app.conf.beat_schedule.values():
        _entry["schedule"] = float(_every)
if os.environ.get("DUBAN_SOAK_LOG"):
    from config import soak

    soak.connect(os.environ["DUBAN_SOAK_LOG"])
