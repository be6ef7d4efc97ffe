"""The deadline history (supervision/models/history.py), written by the services that set or move
a deadline, inside their own transaction and audit event: assignment (items.py), an approved
extension (requests.py), a failed return visit's rectification deadline (follow_up.py), an import
(exchange/importer/writing.py)."""

from __future__ import annotations

import datetime

from supervision.choices import DeadlineSource
from supervision.models import DeadlineSpan, Item, ItemRequest


def deadline_in_force(*, item: Item, at: datetime.datetime, source: str, request: ItemRequest | None = None) -> None:
    """From `at` on, the item's deadline is `item.deadline`: the span in force ends at `at`, a new
    one starts (none while the item has no deadline)."""
    DeadlineSpan.objects.filter(item=item, valid_until__isnull=True).update(valid_until=at)
    if item.deadline is not None:
        DeadlineSpan.objects.create(item=item, deadline=item.deadline, valid_from=at, source=source, request=request)


def spans_for_new_items(items: list[Item]) -> list[DeadlineSpan]:
    """The first span of items created already assigned (an import): from their assignment."""
    return [
        DeadlineSpan(
            item=item,
            deadline=item.original_deadline or item.deadline,
            valid_from=item.assigned_at,
            source=DeadlineSource.IMPORTED,
        )
        for item in items
        if item.assigned_at is not None and (item.original_deadline or item.deadline) is not None
    ]


def deadline_history_recover(*, Item, ItemRequest, AuditEvent, DeadlineSpan, batch: int = 5000) -> int:
    """Rebuild the deadline history of every assigned item from what the ledger kept before there
    was one: the deadline at assignment (original_deadline) from assigned_at, each approved
    extension from its decision, each failed return visit's rectification deadline (in its audit
    event) from the visit; if the result does not end on the item's current deadline, a last span
    (RECOVERED) from the last change says so. Takes the model classes, so the data migration
    (figures_deadline_history) runs it on its historical models; the demo runs it after its
    back-dating. Returns the number of spans written."""
    DeadlineSpan.objects.all().delete()
    written = 0
    items = (
        Item.objects.filter(assigned_at__isnull=False)
        .exclude(original_deadline__isnull=True, deadline__isnull=True)
        .order_by("pk")
        .values_list("pk", "assigned_at", "original_deadline", "deadline", "extension_count", "reopen_count")
    )
    chunk: list[tuple] = []

    def flush() -> int:
        changed = [row[0] for row in chunk if row[4] or row[5]]
        changes: dict[int, list[tuple]] = {}
        for item_id, at, deadline, request_id in ItemRequest.objects.filter(
            item_id__in=changed, kind="extension", status="approved", decided_at__isnull=False, requested_deadline__isnull=False
        ).values_list("item_id", "decided_at", "requested_deadline", "pk"):
            changes.setdefault(item_id, []).append((at, deadline, DeadlineSource.EXTENSION, request_id))
        for item_id, at, data in AuditEvent.objects.filter(item_id__in=changed, action="return_visit_failed").values_list(
            "item_id", "occurred_at", "data"
        ):
            if isinstance(data, dict) and data.get("new_deadline"):
                deadline = datetime.date.fromisoformat(str(data["new_deadline"])[:10])
                changes.setdefault(item_id, []).append((at, deadline, DeadlineSource.RECTIFICATION, None))
        spans = []
        for pk, assigned_at, original, current, _extensions, _reopens in chunk:
            steps = [(assigned_at, original or current, DeadlineSource.ASSIGNED, None)]
            for at, deadline, source, request_id in sorted(changes.get(pk, []), key=lambda c: c[0]):
                steps.append((max(at, steps[-1][0]), deadline, source, request_id))
            if current is not None and steps[-1][1] != current:
                steps.append((steps[-1][0], current, DeadlineSource.RECOVERED, None))
            for index, (at, deadline, source, request_id) in enumerate(steps):
                until = steps[index + 1][0] if index + 1 < len(steps) else None
                spans.append(
                    DeadlineSpan(
                        item_id=pk, deadline=deadline, valid_from=at, valid_until=until, source=source, request_id=request_id
                    )
                )
        DeadlineSpan.objects.bulk_create(spans, batch_size=batch)
        chunk.clear()
        return len(spans)

    for row in items.iterator(chunk_size=batch):
        chunk.append(row)
        if len(chunk) >= batch:
            written += flush()
    if chunk:
        written += flush()
    return written
