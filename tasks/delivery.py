"""Celery tasks of the notification outbox. Thin: each loads by id and calls one service in
tasks/notifications.py, where the rules (idempotency, backoff, dead-lettering) live."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from tasks.channels import TransientDeliveryError
from tasks.notifications import delivery_attempt, delivery_requeue_due


@shared_task(
    bind=True,
    name="tasks.delivery.deliver_notification",
    acks_late=True,
    reject_on_worker_lost=True,
    # A backstop only: the delivery row counts attempts and dead-letters the delivery itself.
    max_retries=settings.DUBAN_DELIVERY_MAX_ATTEMPTS - 1,
)
def deliver_notification(self, delivery_id: int) -> str | None:
    """Send one delivery; on a transient failure retry when the service says the next attempt is
    due (exponential backoff with jitter, computed once in the service so the row and the retry
    agree). Unexpected errors propagate: the task fails visibly and the sweep retries the row."""
    try:
        delivery = delivery_attempt(delivery_id=delivery_id)
    except TransientDeliveryError as exc:
        countdown = max(0.0, (exc.retry_at - timezone.now()).total_seconds())
        raise self.retry(exc=exc, countdown=countdown) from exc
    return delivery.status if delivery is not None else None


@shared_task(name="tasks.delivery.retry_stuck_deliveries")
def retry_stuck_deliveries() -> int:
    """Periodic (beat): re-queue open deliveries whose task was lost; returns how many."""
    return len(delivery_requeue_due())
