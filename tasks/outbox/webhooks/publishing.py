"""Publishing: audit events become webhook outbox rows, in the change's own transaction.

The ledger hands every audit event to `webhook_events_publish` (registered with supervision.outbox
by tasks/apps.py), so no service can forget to publish and the rows commit or roll back with the
change itself. Actions that map to no event type cost nothing (a dict lookup)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from django.utils import timezone

from accounts.models import IntegrationClient
from supervision.models import AuditEvent, IntakeRecord, Item, Notice
from supervision.querysets import notices_visible_to
from tasks.choices import WebhookEventType
from tasks.models import WebhookDelivery, WebhookSubscription
from tasks.outbox.webhooks.delivery import webhook_outbox

E = WebhookEventType

# Audit actions (supervision/services/) → the event an OA system sees.
EVENT_FOR_ACTION: dict[str, str] = {
    "item_created": E.ITEM_CREATED,
    "item_assigned": E.ITEM_ASSIGNED,
    "item_acknowledged": E.ITEM_ACKNOWLEDGED,
    "report_filed": E.REPORT_FILED,
    # The overdue sweep opens one explanation per responsible unit, each audited; the event is
    # once per (item, deadline) — see _event_key — so an OA system hears "overdue" once.
    "overdue_explanation_opened": E.ITEM_OVERDUE,
    "extension_approved": E.ITEM_EXTENDED,
    "completion_approved": E.ITEM_CLOSED,
    "return_visit_failed": E.ITEM_REOPENED,
    # One event per item named in the notice (and visible to the client), so it keeps its place
    # in that item's order.
    "notice_issued": E.NOTICE_ISSUED,
}


def _event_item_ids(event: AuditEvent) -> list[int]:
    if event.action == "notice_issued":
        return [int(pk) for pk in (event.data or {}).get("item_ids", [])]
    return [event.item_id] if event.item_id else []


def _event_key(event: AuditEvent, event_type: str, item: Item) -> str:
    if event_type == E.ITEM_OVERDUE:
        return f"item-{item.pk}-overdue-{item.deadline.isoformat() if item.deadline else 'none'}"
    if event_type == E.NOTICE_ISSUED:
        return f"evt-{event.seq}-item-{item.pk}"
    return f"evt-{event.seq}"


def instruction_external_ids(client: IntegrationClient, instruction_ids: Iterable[int]) -> dict[int, str]:
    """The client's own id for instructions it pushed in through OA intake (supervision/exchange/intake.py),
    so its OA system can match our events to its records."""
    rows = IntakeRecord.objects.filter(client=client, instruction_id__in=list(instruction_ids))
    return dict(rows.values_list("instruction_id", "external_id"))


def _payload(
    *,
    delivery_id: uuid.UUID,
    event_key: str,
    event_type: str,
    event: AuditEvent,
    item: Item,
    external_id: str | None,
    notice: Notice | None,
) -> dict:
    payload = {
        "delivery_id": str(delivery_id),
        "id": event_key,
        "type": event_type,
        "occurred_at": event.occurred_at.isoformat(),
        "item": {
            "id": item.pk,
            "code": item.code,
            "title": item.title,
            "status": item.status,
            "deadline": item.deadline.isoformat() if item.deadline else None,
            "lead_unit": {"id": item.lead_unit_id, "name": item.lead_unit.name} if item.lead_unit_id else None,
            "light": item.light,
        },
        "instruction": {
            "id": item.instruction_id,
            "document_number": item.instruction.document_number,
            "external_id": external_id,
        },
        "change": {
            "action": event.action,
            "from": event.from_status or None,
            "to": event.to_status or None,
            "comment": event.comment,
        },
    }
    if event_type == E.ITEM_OVERDUE:
        payload["change"]["deadline"] = item.deadline.isoformat() if item.deadline else None
    if event_type == E.ITEM_EXTENDED:
        payload["change"]["previous_deadline"] = (event.data or {}).get("previous_deadline")
        payload["change"]["deadline"] = (event.data or {}).get("new_deadline")
    if notice is not None:
        payload["notice"] = {"id": notice.pk, "number": notice.number, "kind": notice.kind, "title": notice.title}
    return payload


def webhook_events_publish(events: Sequence[AuditEvent]) -> list[WebhookDelivery]:
    """Write the outbox rows for audit events just appended (the caller's transaction is the
    change's own); rows are queued after commit.

    No query for events of no webhook type; one when nothing subscribes to them; otherwise a fixed
    few per subscription, whatever the number of events (a bulk import passes them all at once,
    and then every row's item snapshot is the item as the import leaves it)."""
    mapped = [(event, EVENT_FOR_ACTION[event.action]) for event in events if event.action in EVENT_FOR_ACTION]
    if not mapped:
        return []
    wanted = {event_type for _event, event_type in mapped}
    # Few rows (one per OA system and URL): filter the JSON list here, portable to SQLite too.
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(is_active=True, client__is_active=True)
        .select_related("client__user")
        .prefetch_related("client__user__role_assignments")
        if wanted.intersection(s.event_types or [])
    ]
    if not subscriptions:
        return []
    item_ids = {pk for event, _type in mapped for pk in _event_item_ids(event)}
    items = {i.pk: i for i in Item.objects.filter(pk__in=item_ids).with_light().select_related("lead_unit", "instruction")}
    notice_ids = [event.object_id for event, event_type in mapped if event_type == E.NOTICE_ISSUED]
    notices = Notice.objects.in_bulk(notice_ids) if notice_ids else {}
    now = timezone.now()
    rows: list[WebhookDelivery] = []
    for subscription in subscriptions:
        user = subscription.client.user
        visible = set(Item.objects.visible_to(user).filter(pk__in=list(items)).values_list("pk", flat=True))
        if not visible:
            continue
        seen_notices = (
            set(notices_visible_to(user, Notice.objects.filter(pk__in=notices)).values_list("pk", flat=True))
            if notices
            else set()
        )
        external_ids = instruction_external_ids(subscription.client, {items[pk].instruction_id for pk in visible})
        candidates = []
        for event, event_type in mapped:
            if event_type not in subscription.event_types:
                continue
            notice = notices.get(event.object_id) if event_type == E.NOTICE_ISSUED else None
            if event_type == E.NOTICE_ISSUED and (notice is None or notice.pk not in seen_notices):
                continue
            candidates.extend(
                (event, event_type, items[pk], notice, _event_key(event, event_type, items[pk]))
                for pk in _event_item_ids(event)
                if pk in visible
            )
        # Published already (an overdue deadline another unit's explanation announced, a repeated
        # call): skipped here; the unique constraint (subscription, event_key) is the guarantee.
        taken = set(
            WebhookDelivery.objects.filter(subscription=subscription, event_key__in=[c[4] for c in candidates]).values_list(
                "event_key", flat=True
            )
        )
        for event, event_type, item, notice, key in candidates:
            if key in taken:
                continue
            taken.add(key)
            delivery_id = uuid.uuid4()
            rows.append(
                WebhookDelivery(
                    subscription=subscription,
                    event_type=event_type,
                    event_key=key,
                    audit_event=event,
                    item=item,
                    delivery_id=delivery_id,
                    payload=_payload(
                        delivery_id=delivery_id,
                        event_key=key,
                        event_type=event_type,
                        event=event,
                        item=item,
                        external_id=external_ids.get(item.instruction_id),
                        notice=notice,
                    ),
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    WebhookDelivery.objects.bulk_create(rows)
    webhook_outbox.queue(r.pk for r in rows)
    return rows
