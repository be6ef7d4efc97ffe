"""Reminder and escalation sweeps. The rules are in supervision/reminders.py; these only run them."""

from celery import shared_task
from django.db import transaction

from supervision.reminders import reminders_claim_due, reminders_process_item, reminders_reschedule_open

CHUNK = 100


@shared_task(name="tasks.reminders.sweep_due_reminders", acks_late=True)
def sweep_due_reminders(limit: int = 5000) -> int:
    """From beat, every minute: claim the due items (indexed, leased) and queue their work after commit."""
    ids = reminders_claim_due(limit=limit)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        transaction.on_commit(lambda chunk=chunk: remind_items.delay(chunk))
    return len(ids)


@shared_task(name="tasks.reminders.remind_items", acks_late=True)
def remind_items(item_ids: list[int]) -> int:
    """Send what is due for each item; safe to repeat (dedup keys, row locks)."""
    cache: dict = {}
    return sum(reminders_process_item(item_id=item_id, policy_cache=cache) for item_id in item_ids)


@shared_task(name="tasks.reminders.reschedule_open_items", acks_late=True)
def reschedule_open_items(urgency: str | None = None) -> int:
    """After a reminder policy changed; idempotent."""
    return reminders_reschedule_open(urgency=urgency)
