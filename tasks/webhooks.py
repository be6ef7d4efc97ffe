"""Webhooks to OA systems: subscriptions, the event outbox and delivery rules (issue 5, "status out").

- Events are published from ONE hook: `audit_record` (supervision/audit.py) calls
  `webhook_events_publish(event)` for every audit event, inside the state change's own transaction.
  Every ledger state change already writes exactly one audit event there (STYLE.md habit 1), so no
  service can forget to publish, and the outbox row commits or rolls back with the change itself.
  Actions that map to no event type cost nothing (a dict lookup).
- A subscription only receives events about items its client's service account may see
  (`Item.objects.visible_to(client.user)`, checked when the event happens and again before each
  send): an OA system never learns of an item above its clearance or outside its scope.
- One row per (subscription, event): a unique constraint. Rows are queued to Celery after commit.
- Order per item: a row is not sent while an earlier row for the same (subscription, item) is
  still open (pending or failed). When a row settles (sent or dead) the next one for its pair is
  queued, so a receiver that was down gets every event, in order, once it is back.
- Each attempt is signed afresh (timestamp, HMAC-SHA256 over "<timestamp>.<raw body>"); the body
  and the delivery id stay the same. 2xx = sent; 408, 429, 5xx and network errors are retried
  with exponential backoff and jitter; any other answer (including redirects) is final; after
  the last attempt the row is dead and waits in the dead-letter list for an operator's replay.

Settings: DUBAN_WEBHOOK_TIMEOUT, DUBAN_WEBHOOK_MAX_ATTEMPTS (12), DUBAN_WEBHOOK_RETRY_MAX_SECONDS
(1800); DUBAN_DELIVERY_RETRY_BASE_SECONDS / _STUCK_AFTER_SECONDS / _SWEEP_BATCH are shared with the
notification outbox; DUBAN_WEBHOOK_ALLOW_LOOPBACK (default False: refuse loopback, link-local and
other special addresses as targets, so a subscription cannot aim the server at itself or at cloud
metadata; private intranet addresses are fine).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import DatabaseError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import IntegrationClient, User
from supervision.audit import audit_record
from supervision.errors import InvalidInput, NotPermitted, NotVisible, TransitionNotAllowed
from supervision.models import AuditEvent, Item, Notice
from tasks.channels import PermanentDeliveryError, TransientDeliveryError, webhook_signature
from tasks.choices import OPEN_DELIVERY_STATUSES, DeliveryStatus, WebhookEventType
from tasks.models_webhooks import WebhookDelivery, WebhookSubscription
from tasks.notifications import MAX_ERROR_LENGTH
from tasks.notifications import retry_delay as notification_retry_delay

E = WebhookEventType

# Audit actions (supervision/services*.py) → the event an OA system sees.
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

SECRET_PREFIX = "whsec_"
# A retry task that arrives this much before its row is due is a duplicate (a broker redelivery):
# it leaves the row to the scheduled retry or the sweep.
EARLY_SLACK = datetime.timedelta(seconds=30)


def max_attempts() -> int:
    return int(getattr(settings, "DUBAN_WEBHOOK_MAX_ATTEMPTS", 12))


def retry_delay(attempts: int) -> datetime.timedelta:
    """The outbox's backoff with jitter, capped longer for OA systems (DUBAN_WEBHOOK_RETRY_MAX_SECONDS),
    so the queued events of a receiver that comes back do not all arrive in the same second."""
    return notification_retry_delay(attempts, max_seconds=settings.DUBAN_WEBHOOK_RETRY_MAX_SECONDS)


# ---------------------------------------------------------------------------------------------
# Subscriptions


@dataclass(frozen=True)
class IssuedSecret:
    subscription: WebhookSubscription
    secret: str  # shown once to whoever created or rotated it; stored only to sign


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def is_service_account(user: User) -> bool:
    return IntegrationClient.objects.filter(user_id=user.pk).exists()


def _may_manage(actor: User, client: IntegrationClient) -> bool:
    """The client itself (its service account) or a system administrator."""
    if actor.pk == client.user_id:
        return True
    return actor.is_active and (actor.is_superuser or actor.has_role(Role.ADMINISTRATOR)) and not is_service_account(actor)


def _refused_address(host: str) -> bool:
    """Loopback, link-local (cloud metadata), multicast, unspecified and reserved addresses."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost")
    return address.is_loopback or address.is_link_local or address.is_multicast or address.is_unspecified or address.is_reserved


def _allow_loopback() -> bool:
    return bool(getattr(settings, "DUBAN_WEBHOOK_ALLOW_LOOPBACK", False))


def clean_target_url(value: str | None) -> str:
    """An absolute http(s) URL without credentials, not aimed at this server's own network.
    Intranet (private) addresses are allowed: OA systems usually live there."""
    url = (value or "").strip()
    problem = None
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        problem = _("请填写以 http:// 或 https:// 开头的完整地址。")
    if problem is None and len(url) > 500:
        problem = _("地址不能超过 500 个字符。")
    if problem is None:
        parts = urllib.parse.urlsplit(url)
        if parts.username or parts.password:
            problem = _("地址中不能包含用户名或密码。")
        elif not _allow_loopback() and _refused_address(parts.hostname or ""):
            problem = _("不能向本机、链路本地或保留地址推送事件。")
    if problem:
        raise InvalidInput(fields={"target_url": [problem]})
    return url


def clean_event_types(values) -> list[str]:
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        values = []
    chosen = list(dict.fromkeys(values))
    unknown = [v for v in chosen if v not in E.values]
    if unknown or not chosen:
        raise InvalidInput(
            fields={
                "event_types": [_("请至少选择一种事件；无效的事件：%(names)s") % {"names": "、".join(map(str, unknown)) or "无"}]
            }
        )
    return chosen


def _subscription_data(subscription: WebhookSubscription) -> dict:
    # Never the secret: the audit trail is read by many.
    return {
        "client_id": subscription.client_id,
        "target_url": subscription.target_url,
        "event_types": subscription.event_types,
        "is_active": subscription.is_active,
    }


@transaction.atomic
def webhook_subscription_create(
    *, actor: User, client: IntegrationClient, target_url: str, event_types: list[str], description: str = ""
) -> IssuedSecret:
    """Subscribe `client` to events; returns the new secret, which is never shown again."""
    if not _may_manage(actor, client):
        raise NotPermitted(_("只有对接系统本身或系统管理员可以管理事件订阅。"), code="webhook_manage_denied")
    subscription = WebhookSubscription(
        client=client,
        target_url=clean_target_url(target_url),
        event_types=clean_event_types(event_types),
        description=(description or "").strip()[:200],
        secret=_new_secret(),
    )
    subscription.save()
    audit_record(actor=actor, action="webhook_subscription_created", obj=subscription, data=_subscription_data(subscription))
    return IssuedSecret(subscription, subscription.secret)


@transaction.atomic
def webhook_subscription_update(
    *,
    actor: User,
    subscription: WebhookSubscription,
    target_url: str | None = None,
    event_types: list[str] | None = None,
    is_active: bool | None = None,
    description: str | None = None,
) -> WebhookSubscription:
    """Change where and what a subscription receives, or switch it off (deliveries still open then
    are dead-lettered at their next attempt and can be replayed after it is switched on again)."""
    locked = WebhookSubscription.objects.select_for_update().select_related("client").get(pk=subscription.pk)
    if not _may_manage(actor, locked.client):
        raise NotPermitted(_("只有对接系统本身或系统管理员可以管理事件订阅。"), code="webhook_manage_denied")
    before = _subscription_data(locked)
    if target_url is not None:
        locked.target_url = clean_target_url(target_url)
    if event_types is not None:
        locked.event_types = clean_event_types(event_types)
    if is_active is not None:
        locked.is_active = bool(is_active)
    if description is not None:
        locked.description = description.strip()[:200]
    after = _subscription_data(locked)
    if after == before and description is None:
        return locked
    locked.save()
    audit_record(actor=actor, action="webhook_subscription_updated", obj=locked, data={"before": before, "after": after})
    return locked


@transaction.atomic
def webhook_subscription_rotate_secret(*, actor: User, subscription: WebhookSubscription) -> IssuedSecret:
    """A new secret signs every attempt from now on, retries of older events included."""
    locked = WebhookSubscription.objects.select_for_update().select_related("client").get(pk=subscription.pk)
    if not _may_manage(actor, locked.client):
        raise NotPermitted(_("只有对接系统本身或系统管理员可以管理事件订阅。"), code="webhook_manage_denied")
    locked.secret = _new_secret()
    locked.secret_rotated_at = timezone.now()
    locked.save(update_fields=["secret", "secret_rotated_at", "updated_at"])
    audit_record(actor=actor, action="webhook_secret_rotated", obj=locked, data={"client_id": locked.client_id})
    return IssuedSecret(locked, locked.secret)


# ---------------------------------------------------------------------------------------------
# Publishing (called by audit_record, inside the change's transaction)


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
    """The client's own id for instructions it pushed in through OA intake (supervision/intake.py),
    so its OA system can match our events to its records."""
    from supervision.models import IntakeRecord

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
    from supervision.querysets import notices_visible_to

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
    _queue_on_commit(r.pk for r in rows)
    return rows


def _queue_on_commit(delivery_ids: Iterable[int]) -> None:
    """A worker must never look for a row that does not exist yet, and a rolled-back change must
    never be announced: queue only once the transaction commits."""
    from tasks.webhook_delivery import deliver_webhook  # the task module imports this one

    for delivery_id in delivery_ids:
        transaction.on_commit(partial(deliver_webhook.delay, delivery_id))


# ---------------------------------------------------------------------------------------------
# Sending


def earlier_open(delivery: WebhookDelivery) -> QuerySet[WebhookDelivery]:
    """Open rows for the same (subscription, item) created before this one: while any exists,
    this row waits its turn (index webhook_delivery_open_pair)."""
    return WebhookDelivery.objects.filter(
        subscription_id=delivery.subscription_id,
        item_id=delivery.item_id,
        pk__lt=delivery.pk,
        status__in=OPEN_DELIVERY_STATUSES,
    )


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent and signed (canonical, so retries carry identical bodies)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would follow a 301/302 from POST as a GET without the body and report success.
    A redirect is an answer to fix at the receiver: it is final (dead letter), never followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _check_resolved_target(url: str) -> None:
    """Refuse a host that resolves to a refused address now (the URL was checked when saved, but
    DNS may have changed since)."""
    if _allow_loopback():
        return
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise TransientDeliveryError(f"cannot resolve {host}: {exc}") from exc
    if any(_refused_address(info[4][0]) for info in infos) or _refused_address(host):
        raise PermanentDeliveryError(f"target {host} resolves to a refused address")


def webhook_post(delivery: WebhookDelivery, subscription: WebhookSubscription) -> int:
    """POST one signed attempt; returns the 2xx status or raises a Transient/PermanentDeliveryError."""
    _check_resolved_target(subscription.target_url)
    body = body_bytes(delivery.payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "duban-webhook/1",
        "X-Duban-Event": delivery.event_type,
        "X-Duban-Delivery": str(delivery.delivery_id),
        "X-Duban-Timestamp": timestamp,
        "X-Duban-Signature": webhook_signature(subscription.secret, timestamp, body),
    }
    request = urllib.request.Request(subscription.target_url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=settings.DUBAN_WEBHOOK_TIMEOUT) as response:
            response.read(1024)
            return response.status
    except urllib.error.HTTPError as exc:
        error_class = TransientDeliveryError if exc.code >= 500 or exc.code in (408, 429) else PermanentDeliveryError
        error = error_class(f"HTTP {exc.code}")
        error.status_code = exc.code
        raise error from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        raise TransientDeliveryError(f"unreachable: {exc}") from exc


def _refusal(delivery: WebhookDelivery) -> str:
    """Why this row may no longer be sent at all, or ""."""
    subscription = delivery.subscription
    client = subscription.client
    if not subscription.is_active:
        return _("订阅已停用。")
    if not client.is_active or not client.user.is_active:
        return _("对接系统已停用。")
    if not Item.objects.visible_to(client.user).filter(pk=delivery.item_id).exists():
        # Reclassified above the client's clearance (or out of its scope) since the event.
        return _("对接系统已无权查看该事项，事件不再发送。")
    return ""


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Try to send one row once. Safe to call twice and from two workers at once.

    Returns the row as it now stands (unchanged while an earlier row for its item is open), or None
    when it does not exist or another worker holds it. Raises TransientDeliveryError (with
    `retry_at`) when it should be tried again; the attempt is recorded either way."""
    error: Exception | None = None
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription__client__user")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status not in OPEN_DELIVERY_STATUSES:
            return delivery
        now = timezone.now()
        if delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at and delivery.next_attempt_at > now + EARLY_SLACK:
            return delivery  # not due yet: a duplicate of the scheduled retry
        if earlier_open(delivery).exists():
            return delivery  # not its turn: queued again when the earlier one settles
        refusal = _refusal(delivery)
        if refusal:
            delivery.status, delivery.next_attempt_at, delivery.last_error = DeliveryStatus.DEAD, None, refusal
            delivery.save(update_fields=["status", "next_attempt_at", "last_error", "updated_at"])
        else:
            status_code = None
            try:
                status_code = webhook_post(delivery, delivery.subscription)
            except DatabaseError:
                raise  # the transaction is broken; nothing can be recorded, the sweep will retry
            except Exception as exc:  # recorded below; unexpected errors count as transient ones
                error = exc
                status_code = getattr(exc, "status_code", None)
            delivery.attempts += 1
            delivery.last_response_status = status_code
            if error is None:
                delivery.status, delivery.sent_at, delivery.next_attempt_at, delivery.last_error = (
                    DeliveryStatus.SENT,
                    timezone.now(),  # when the receiver answered
                    None,
                    "",
                )
            else:
                delivery.last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
                if isinstance(error, PermanentDeliveryError) or delivery.attempts >= max_attempts():
                    delivery.status, delivery.next_attempt_at = DeliveryStatus.DEAD, None
                else:
                    delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, now + retry_delay(delivery.attempts)
            delivery.save(
                update_fields=[
                    "status",
                    "attempts",
                    "sent_at",
                    "next_attempt_at",
                    "last_error",
                    "last_response_status",
                    "updated_at",
                ]
            )

    if delivery.status not in OPEN_DELIVERY_STATUSES:
        queue_next_for_item(delivery)
    if error is not None and delivery.status == DeliveryStatus.FAILED:
        if not isinstance(error, TransientDeliveryError):
            raise error  # a bug is not hidden; the row is retried by the sweep and dead-lettered in the end
        error.retry_at = delivery.next_attempt_at
        raise error
    return delivery


def queue_next_for_item(delivery: WebhookDelivery) -> int | None:
    """After a row settles (outside its transaction, so a row committed meanwhile is seen): queue the
    next open row for the same (subscription, item), which was waiting for this one."""
    next_id = (
        WebhookDelivery.objects.filter(
            subscription_id=delivery.subscription_id,
            item_id=delivery.item_id,
            pk__gt=delivery.pk,
            status__in=OPEN_DELIVERY_STATUSES,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if next_id is not None:
        _queue_on_commit([next_id])
    return next_id


@transaction.atomic
def webhook_requeue_due(*, now: datetime.datetime | None = None, limit: int | None = None) -> list[int]:
    """Re-queue open rows whose task was lost (worker killed mid-send, message dropped) and whose
    turn it is. SKIP LOCKED and pushing `next_attempt_at` forward keep two sweeps from queueing the
    same row, and a row still stuck is re-queued at most once per DUBAN_DELIVERY_STUCK_AFTER_SECONDS."""
    now = now or timezone.now()
    limit = limit or settings.DUBAN_DELIVERY_SWEEP_BATCH
    cutoff = now - datetime.timedelta(seconds=settings.DUBAN_DELIVERY_STUCK_AFTER_SECONDS)
    waiting = WebhookDelivery.objects.filter(
        subscription_id=OuterRef("subscription_id"),
        item_id=OuterRef("item_id"),
        pk__lt=OuterRef("pk"),
        status__in=OPEN_DELIVERY_STATUSES,
    )
    ids = list(
        WebhookDelivery.objects.select_for_update(skip_locked=True)
        .filter(status__in=OPEN_DELIVERY_STATUSES, next_attempt_at__lte=cutoff)
        .exclude(Exists(waiting))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now, updated_at=now)
        _queue_on_commit(ids)
    return ids


# ---------------------------------------------------------------------------------------------
# Operators: the dead-letter list and replay


def is_operator(user: User) -> bool:
    """Office staff and administrators, as people: a client's service account (office staff in
    its unit) lists its own deliveries but does not operate the outbox."""
    return bool(user.is_authenticated and user.is_active and user.is_office and not is_service_account(user))


@transaction.atomic
def webhook_delivery_replay(*, actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a dead-lettered delivery again: same delivery id and body (receivers de-duplicate on
    the id), a fresh signature per attempt, a fresh set of attempts. Audited."""
    from tasks.selectors import webhook_delivery_list

    if not is_operator(actor):
        raise NotPermitted(_("只有督查室工作人员或管理员可以重放 Webhook 投递。"), code="office_only")
    # No SKIP LOCKED: if a worker holds it right now, wait and judge the outcome.
    locked = webhook_delivery_list(user=actor).select_for_update(of=("self",)).filter(pk=delivery.pk).first()
    if locked is None:
        raise NotVisible()
    if locked.status != DeliveryStatus.DEAD:
        raise TransitionNotAllowed(
            _("只有“失败待处理”的投递可以重放，当前状态为“%(status)s”。") % {"status": locked.get_status_display()},
            code="delivery_not_dead",
        )
    before = {"status": locked.status, "attempts": locked.attempts, "last_error": locked.last_error}
    locked.status = DeliveryStatus.PENDING
    locked.attempts = 0
    locked.next_attempt_at = timezone.now()
    locked.replay_count += 1
    locked.save(update_fields=["status", "attempts", "next_attempt_at", "replay_count", "updated_at"])
    audit_record(
        actor=actor,
        action="webhook_delivery_replayed",
        obj=locked,
        item=locked.item,
        data={"delivery_id": str(locked.delivery_id), "subscription_id": locked.subscription_id, **before},
    )
    _queue_on_commit([locked.pk])
    return locked
