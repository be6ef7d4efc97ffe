"""Housekeeping: drop records whose purpose has expired."""

from celery import shared_task

from accounts.idempotency import idempotency_keys_purge


@shared_task(name="tasks.housekeeping.purge_expired_idempotency_keys", acks_late=True)
def purge_expired_idempotency_keys() -> int:
    """Delete Idempotency-Key records past their expiry; safe to run twice (a second run finds none)."""
    return idempotency_keys_purge()
