"""Housekeeping: drop records whose purpose has expired."""

from celery import shared_task

from accounts.idempotency import idempotency_keys_purge
from supervision import services


@shared_task(name="tasks.housekeeping.purge_expired_idempotency_keys", acks_late=True)
def purge_expired_idempotency_keys() -> int:
    """Delete Idempotency-Key records past their expiry; safe to run twice (a second run finds none)."""
    return idempotency_keys_purge()


@shared_task(name="tasks.housekeeping.remind_missing_calendar_year", acks_late=True)
def remind_missing_calendar_year() -> int:
    """From 1 November, until next year's working-day calendar is entered: one inbox message a day
    to each office staff member and administrator (the unique (recipient, dedup_key) makes reruns no-ops)."""
    return len(services.calendar_next_year_remind())
