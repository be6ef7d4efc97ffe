"""Celery tasks of the webhook outbox. Thin: each loads by id and calls one service in
tasks/webhooks.py, where the rules (order per item, backoff, dead-lettering) live."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from tasks.channels import TransientDeliveryError
from tasks.webhooks import webhook_delivery_attempt, webhook_requeue_due


@shared_task(
    bind=True,
    name="tasks.webhook_delivery.deliver_webhook",
    # Late ack: a worker killed mid-send leaves the message to be redelivered; the row lock and
    # status check make the second run harmless, and the stable delivery id lets receivers drop a repeat.
    acks_late=True,
    reject_on_worker_lost=True,
    # A backstop only: the row counts attempts and dead-letters itself.
    max_retries=getattr(settings, "DUBAN_WEBHOOK_MAX_ATTEMPTS", 12) - 1,
)
def deliver_webhook(self, delivery_id: int) -> str | None:
    """Send one webhook delivery; on a transient failure retry when the service says the next
    attempt is due (exponential backoff with jitter, computed once, so the row and the retry agree)."""
    try:
        delivery = webhook_delivery_attempt(delivery_id=delivery_id)
    except TransientDeliveryError as exc:
        countdown = max(0.0, (exc.retry_at - timezone.now()).total_seconds())
        raise self.retry(exc=exc, countdown=countdown) from exc
    return delivery.status if delivery is not None else None


@shared_task(name="tasks.webhook_delivery.retry_stuck_webhooks")
def retry_stuck_webhooks() -> int:
    """Periodic (beat): re-queue open webhook deliveries whose task was lost; returns how many."""
    return len(webhook_requeue_due())
