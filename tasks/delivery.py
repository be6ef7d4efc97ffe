"""Celery tasks of both outboxes (tasks/outbox/): one attempt of a row by id, and the sweeps that
re-queue rows whose task was lost. Thin: the rules (idempotency, order, backoff, dead-lettering)
live in the outbox machinery. The task names are kept as they were when the webhook tasks had a
module of their own: the beat schedule (config/celery.py) and messages already queued use them."""

from __future__ import annotations

from collections.abc import Callable

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from tasks.models import OutboxRow
from tasks.outbox.channels import TransientDeliveryError
from tasks.outbox.digests import digest_attempt, digest_requeue_due, digests_make_due
from tasks.outbox.notifications import delivery_attempt, delivery_release_held, delivery_requeue_due
from tasks.outbox.webhooks import webhook_delivery_attempt, webhook_requeue_due


def _attempt(task: Task, attempt: Callable[..., OutboxRow | None], delivery_id: int) -> str | None:
    """Send one row; on a transient failure retry when the outbox says the next attempt is due
    (exponential backoff with jitter, computed once, so the row and the retry agree). Unexpected
    errors propagate: the task fails visibly and the sweep retries the row."""
    try:
        row = attempt(delivery_id=delivery_id)
    except TransientDeliveryError as exc:
        countdown = max(0.0, (exc.retry_at - timezone.now()).total_seconds())
        raise task.retry(exc=exc, countdown=countdown) from exc
    return row.status if row is not None else None


# Late ack: a worker killed mid-send leaves the message to be redelivered; the row lock and status
# check make the second run harmless. max_retries is a backstop only: the row counts attempts and
# dead-letters itself.


@shared_task(
    bind=True,
    name="tasks.delivery.deliver_notification",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.DUBAN_DELIVERY_MAX_ATTEMPTS - 1,
)
def deliver_notification(self, delivery_id: int) -> str | None:
    """Send one notification delivery (tasks/outbox/notifications.py)."""
    return _attempt(self, delivery_attempt, delivery_id)


@shared_task(name="tasks.delivery.retry_stuck_deliveries")
def retry_stuck_deliveries() -> int:
    """Periodic (beat): re-queue open deliveries and digests whose task was lost; returns how many."""
    return len(delivery_requeue_due()) + len(digest_requeue_due())


@shared_task(name="tasks.delivery.release_held_deliveries")
def release_held_deliveries() -> int:
    """Periodic (beat): queue the deliveries held for quiet hours once the working day starts."""
    return len(delivery_release_held())


@shared_task(name="tasks.delivery.make_daily_digests")
def make_daily_digests() -> int:
    """Periodic (beat): make and queue the day's digests once the office's time has come; a
    second run the same day makes none (unique person, channel, working day)."""
    return len(digests_make_due())


@shared_task(
    bind=True,
    name="tasks.delivery.deliver_digest",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.DUBAN_DELIVERY_MAX_ATTEMPTS - 1,
)
def deliver_digest(self, digest_id: int) -> str | None:
    """Send one person's digest (tasks/outbox/digests.py)."""
    return _attempt(self, digest_attempt, digest_id)


@shared_task(
    bind=True,
    name="tasks.webhook_delivery.deliver_webhook",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=getattr(settings, "DUBAN_WEBHOOK_MAX_ATTEMPTS", 12) - 1,
)
def deliver_webhook(self, delivery_id: int) -> str | None:
    """Send one webhook delivery (tasks/outbox/webhooks/delivery.py); the stable delivery id lets
    receivers drop a repeat."""
    return _attempt(self, webhook_delivery_attempt, delivery_id)


@shared_task(name="tasks.webhook_delivery.retry_stuck_webhooks")
def retry_stuck_webhooks() -> int:
    """Periodic (beat): re-queue open webhook deliveries whose task was lost; returns how many."""
    return len(webhook_requeue_due())
