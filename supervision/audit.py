"""The audit trail: append-only and hash-chained (DOMAIN.md rule 14, 签字就是责任).

Each event's hash covers its own content and the previous event's hash, so editing, deleting
or reordering any row breaks the chain at that row; the chain head (last seq, hash and count)
catches rows cut off the end. Appending locks the head row, which serialises writers so the
chain never forks."""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from supervision import outbox
from supervision.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64


def _jsonable(value):
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    return value


def event_hash(event: AuditEvent) -> str:
    """The hash of one event: its own fields plus the previous hash, canonically serialised."""
    occurred = event.occurred_at.astimezone(datetime.UTC).isoformat(timespec="microseconds")
    payload = {
        "seq": event.seq,
        "occurred_at": occurred,
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "item_id": event.item_id,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "comment": event.comment,
        "data": event.data,
        "prev_hash": event.prev_hash,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def audit_record(
    *,
    actor,
    action: str,
    obj,
    item=None,
    from_status: str = "",
    to_status: str = "",
    comment: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the service's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside a transaction")
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    event = AuditEvent(
        seq=head.last_seq + 1,
        occurred_at=timezone.now(),
        actor=actor,
        actor_name=(str(actor) if actor is not None else "system"),
        action=action,
        object_type=obj._meta.model_name,
        object_id=obj.pk,
        item=item,
        from_status=from_status or "",
        to_status=to_status or "",
        comment=comment or "",
        data=_jsonable(data or {}),
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(event)
    event.save(force_insert=True)
    AuditChainHead.objects.filter(id=1).update(last_seq=event.seq, last_hash=event.hash, count=head.count + 1)
    outbox.changed([event])
    return event


@dataclass(frozen=True)
class PendingEvent:
    """One event for `audit_record_many`: the same arguments as `audit_record`, by id."""

    action: str
    object_type: str
    object_id: int
    item_id: int | None = None
    from_status: str = ""
    to_status: str = ""
    comment: str = ""
    data: dict | None = None


def audit_record_many(*, actor, events: list[PendingEvent]) -> list[AuditEvent]:
    """Append many events at once (a bulk import): the head is locked once and the hashes are
    chained in Python, so the cost is three queries whatever the number of events. The chain is
    the same as if `audit_record` had been called for each in turn (`audit_verify` checks it)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record_many must run inside a transaction")
    if not events:
        return []
    # Insert-if-missing then lock: always the same two queries, first import or not.
    AuditChainHead.objects.bulk_create([AuditChainHead(id=1)], ignore_conflicts=True)
    head = AuditChainHead.objects.select_for_update().get(id=1)
    now = timezone.now()
    actor_name = str(actor) if actor is not None else "system"
    seq, prev_hash = head.last_seq, head.last_hash
    rows = []
    for pending in events:
        seq += 1
        event = AuditEvent(
            seq=seq,
            occurred_at=now,
            actor=actor,
            actor_name=actor_name,
            action=pending.action,
            object_type=pending.object_type,
            object_id=pending.object_id,
            item_id=pending.item_id,
            from_status=pending.from_status or "",
            to_status=pending.to_status or "",
            comment=pending.comment or "",
            data=_jsonable(pending.data or {}),
            prev_hash=prev_hash,
        )
        event.hash = prev_hash = event_hash(event)
        rows.append(event)
    AuditEvent.objects.bulk_create(rows)
    AuditChainHead.objects.filter(id=1).update(last_seq=seq, last_hash=prev_hash, count=head.count + len(rows))
    outbox.changed(rows)
    return rows


@dataclass
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str = ""


def audit_verify() -> ChainReport:
    """Walk the chain in order; report the first broken link."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected_seq:
            return ChainReport(False, checked, expected_seq, f"第 {expected_seq} 条记录缺失或顺序被改动")
        if event.prev_hash != expected_prev:
            return ChainReport(
                False, checked, event.seq, f"第 {event.seq} 条记录与前一条的链接不符（前序记录被删除、改动或调换）"
            )
        if event_hash(event) != event.hash:
            return ChainReport(False, checked, event.seq, f"第 {event.seq} 条记录的内容被改动")
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    head = AuditChainHead.objects.filter(id=1).first()
    last_seq, last_hash, count = (head.last_seq, head.last_hash, head.count) if head else (0, GENESIS_HASH, 0)
    if last_seq != expected_seq - 1 or last_hash != expected_prev or count != checked:
        return ChainReport(False, checked, expected_seq, f"链尾记录缺失：应有 {count} 条，实有 {checked} 条")
    return ChainReport(True, checked)
