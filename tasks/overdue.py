"""Overdue sweep: ask each responsible unit of an overdue item for an explanation (超期说明).
The rule lives in supervision/services/explanations.py; this only finds the items and calls it."""

from celery import shared_task

from supervision.models import Item
from supervision.selectors import items_owing_explanations
from supervision.services import overdue_explanations_open

BATCH = 500


@shared_task(name="tasks.overdue.sweep_overdue_explanations", acks_late=True)
def sweep_overdue_explanations(batch_size: int = BATCH) -> int:
    """From beat. Safe to run twice or concurrently: each item is handled under its row lock and
    (item, unit, deadline) is unique, so a repeat opens nothing. Returns how many were opened.

    Selects overdue items (Item.objects.overdue) that still lack an explanation for their current
    deadline, in keyset batches by id, each item in its own transaction."""
    opened = 0
    last_id = 0
    while True:
        ids = list(items_owing_explanations().filter(pk__gt=last_id).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return opened
        for item in Item.objects.filter(pk__in=ids).order_by("pk"):
            opened += len(overdue_explanations_open(item=item))
        last_id = ids[-1]
