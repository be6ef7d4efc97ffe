"""The audit trail: append-only and hash-chained (DOMAIN.md rule 14, 签字就是责任).

Each event's hash covers its own content and the previous event's hash, so editing, deleting
or reordering any row breaks the chain at that row; the chain head (last seq, hash and count)
catches rows cut off the end. Appending locks the head row, which serialises writers so the
chain never forks.

Keyed: with DUBAN_AUDIT_KEYS set ("id:hexkey,id:hexkey", the first is current; kept outside the
database), each event's hash is an HMAC-SHA256 under the current key and the row names its key
id, so someone with only the database cannot recompute the chain after an edit. Old keys stay
listed to verify old events (rotation). Events written before keys were configured keep their
plain SHA-256 (key_id blank): `audit_verify` accepts them only as a prefix of the chain and says
how many there are.

Anchored: audit/anchor.py keeps the chain head outside the database as well, so cutting the newest
events off the end is seen too; `audit_verify` checks both and says which are in force."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from supervision import outbox
from supervision.audit.anchor import Anchor, anchor_path, anchors_read
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


class MissingAuditKey(KeyError):
    """An event names a key id that DUBAN_AUDIT_KEYS does not hold."""


def audit_keys() -> dict[str, bytes]:
    """DUBAN_AUDIT_KEYS as {key id: key}, in the setting's order (the first is current). A key is
    hex (e.g. `openssl rand -hex 32`), or else taken as UTF-8 text."""
    raw = getattr(settings, "DUBAN_AUDIT_KEYS", "") or ""
    if isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        pairs = [part.split(":", 1) for part in str(raw).split(",") if ":" in part]
    keys: dict[str, bytes] = {}
    for key_id, value in pairs:
        key_id, value = str(key_id).strip(), str(value).strip()
        try:
            keys[key_id] = bytes.fromhex(value)
        except ValueError:
            keys[key_id] = value.encode("utf-8")
    return keys


def current_key_id() -> str:
    """The key id new events are written under ("" while no key is configured)."""
    return next(iter(audit_keys()), "")


def event_payload(event: AuditEvent) -> dict:
    """What an event's hash covers: its own fields, the previous hash and (keyed) its key id."""
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
    if event.key_id:
        payload["key_id"] = event.key_id
    return payload


def _blob(event: AuditEvent) -> bytes:
    return json.dumps(event_payload(event), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def plain_hash(event: AuditEvent) -> str:
    """The unkeyed recipe (events written before keys were configured): SHA-256 of the payload."""
    return hashlib.sha256(_blob(event)).hexdigest()


def event_hash(event: AuditEvent, keys: dict[str, bytes] | None = None) -> str:
    """The hash of one event: an HMAC-SHA256 under its key when it names one, else plain_hash."""
    if not event.key_id:
        return plain_hash(event)
    keys = audit_keys() if keys is None else keys
    if event.key_id not in keys:
        raise MissingAuditKey(event.key_id)
    return hmac.new(keys[event.key_id], _blob(event), hashlib.sha256).hexdigest()


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
        key_id=current_key_id(),
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
    keys, key_id = audit_keys(), current_key_id()
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
            key_id=key_id,
        )
        event.hash = prev_hash = event_hash(event, keys)
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
    keyed: bool = False  # the chain holds events HMAC'd under a key
    unkeyed_prefix: int = 0  # events before the first keyed one (written before keys were configured)
    key_ids: tuple[str, ...] = ()
    anchors: int = 0  # anchors outside the database checked against the chain (audit/anchor.py)
    newest_anchor: Anchor | None = None
    anchor_file: str = ""


def audit_verify() -> ChainReport:
    """Walk the chain in order; report the first broken link. Unkeyed events are accepted only
    before the first keyed one: an unkeyed event after it is a rewrite by someone without the key.
    Every anchor kept outside the database must name a link still in the chain, unchanged: the
    newest events cut off the end (and the head moved back) show up there."""
    keys = audit_keys()
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = unkeyed = 0
    used: dict[str, None] = {}
    path = anchor_path()
    anchors, bad_lines = anchors_read(path)
    anchored = {a.seq: a for a in anchors}
    newest = max(anchors, key=lambda a: a.seq, default=None)

    def broken(seq: int, problem: str) -> ChainReport:
        return ChainReport(False, checked, seq, problem, bool(used), unkeyed, tuple(used), len(anchors), newest, str(path or ""))

    if bad_lines:
        return broken(0, f"外部锚点文件 {path} 第 {'、'.join(map(str, bad_lines[:5]))} 行无法读取：锚点被改动")
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected_seq:
            return broken(expected_seq, f"第 {expected_seq} 条记录缺失或顺序被改动")
        anchor = anchored.get(event.seq)
        if anchor is not None and anchor.hash != event.hash:
            return broken(event.seq, f"第 {event.seq} 条记录与外部锚点（{anchor.at}）不符：链被重写")
        if event.seq == 1 and any(a.first != event.hash for a in anchors):
            other = next(a for a in anchors if a.first != event.hash)
            return broken(1, f"外部锚点（{other.at}，第 {other.seq} 条）属于另一条审计链：数据库被替换或链被整体重写")
        if event.prev_hash != expected_prev:
            return broken(event.seq, f"第 {event.seq} 条记录与前一条的链接不符（前序记录被删除、改动或调换）")
        if not event.key_id:
            if used:
                return broken(event.seq, f"第 {event.seq} 条记录未加密钥，却在加密钥的记录之后：链被不掌握密钥者重写")
            if plain_hash(event) != event.hash:
                return broken(event.seq, f"第 {event.seq} 条记录的内容被改动")
            unkeyed += 1
        else:
            try:
                expected_hash = event_hash(event, keys)
            except MissingAuditKey:
                return broken(event.seq, f"第 {event.seq} 条记录的审计密钥“{event.key_id}”未配置（DUBAN_AUDIT_KEYS），无法校验")
            used.setdefault(event.key_id, None)
            if not hmac.compare_digest(expected_hash, event.hash):
                return broken(event.seq, f"第 {event.seq} 条记录的内容被改动，或其哈希不是用审计密钥计算的")
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    head = AuditChainHead.objects.filter(id=1).first()
    last_seq, last_hash, count = (head.last_seq, head.last_hash, head.count) if head else (0, GENESIS_HASH, 0)
    if last_seq != expected_seq - 1 or last_hash != expected_prev or count != checked:
        return broken(expected_seq, f"链尾记录缺失：应有 {count} 条，实有 {checked} 条")
    if newest is not None and newest.seq > checked:
        return broken(checked + 1, f"链尾被截断：外部锚点（{newest.at}）记录至第 {newest.seq} 条，数据库中只有 {checked} 条")
    return ChainReport(
        True,
        checked,
        keyed=bool(used),
        unkeyed_prefix=unkeyed,
        key_ids=tuple(used),
        anchors=len(anchors),
        newest_anchor=newest,
        anchor_file=str(path or ""),
    )
