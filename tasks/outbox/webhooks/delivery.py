"""Sending webhook outbox rows: what differs from the one outbox machinery (tasks/outbox/base.py).

- Order per item: a row is not sent while an earlier row for the same (subscription, item) is
  still open (pending or failed). When a row settles (sent or dead) the next one for its pair is
  queued, so a receiver that was down gets every event, in order, once it is back.
- A retry task that arrives well before its row is due is a duplicate (a broker redelivery) and
  leaves the row alone.
- A row whose subscription or client was switched off, or whose item the client may no longer see
  (`Item.objects.visible_to(client.user)`, checked again before each send), is dead-lettered unsent.
- Each attempt is signed afresh (timestamp, HMAC-SHA256 over "<timestamp>.<raw body>"); the body
  and the delivery id stay the same. 2xx = sent; 408, 429, 5xx and network errors are retried;
  any other answer (including redirects) is final.
- An operator replays a dead row: same delivery id and body, a fresh set of attempts, audited."""

from __future__ import annotations

import datetime
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from supervision.models import Item
from tasks.choices import OPEN_DELIVERY_STATUSES, DeliveryStatus
from tasks.models import WebhookDelivery, WebhookSubscription
from tasks.outbox.base import Outbox
from tasks.outbox.channels import PermanentDeliveryError, TransientDeliveryError, webhook_signature
from tasks.outbox.webhooks.subscriptions import allow_loopback, is_service_account, refused_address
from tasks.selectors import webhook_delivery_list

# A retry task that arrives this much before its row is due is a duplicate (a broker redelivery):
# it leaves the row to the scheduled retry or the sweep.
EARLY_SLACK = datetime.timedelta(seconds=30)


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
    if allow_loopback():
        return
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise TransientDeliveryError(f"cannot resolve {host}: {exc}") from exc
    if any(refused_address(info[4][0]) for info in infos) or refused_address(host):
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


def is_operator(user: User) -> bool:
    """Office staff and administrators, as people: a client's service account (office staff in
    its unit) lists its own deliveries but does not operate the outbox."""
    return bool(user.is_authenticated and user.is_active and user.is_office and not is_service_account(user))


# ---------------------------------------------------------------------------------------------
# What differs from the one outbox machinery


class WebhookOutbox(Outbox[WebhookDelivery]):
    """Rows of one (subscription, item) go out one at a time, in id order; DUBAN_WEBHOOK_MAX_ATTEMPTS
    (12) with a longer backoff cap (DUBAN_WEBHOOK_RETRY_MAX_SECONDS), so the queued events of a
    receiver that comes back do not all arrive in the same second; only dead rows are replayed."""

    model = WebhookDelivery
    task_name = "tasks.webhook_delivery.deliver_webhook"
    attempt_related = ("subscription__client__user",)
    extra_attempt_fields = ("last_response_status",)
    resendable = (DeliveryStatus.DEAD,)
    resend_denied = gettext_lazy("只有督查室工作人员或管理员可以重放 Webhook 投递。")
    not_resendable = gettext_lazy("只有“失败待处理”的投递可以重放，当前状态为“%(status)s”。")
    not_resendable_code = "delivery_not_dead"

    def max_attempts(self) -> int:
        return int(getattr(settings, "DUBAN_WEBHOOK_MAX_ATTEMPTS", 12))

    def retry_cap_seconds(self) -> int:
        return settings.DUBAN_WEBHOOK_RETRY_MAX_SECONDS

    def waits(self, delivery: WebhookDelivery, now: datetime.datetime) -> bool:
        if delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at and delivery.next_attempt_at > now + EARLY_SLACK:
            return True  # not due yet: a duplicate of the scheduled retry
        return earlier_open(delivery).exists()  # not its turn: queued again when the earlier one settles

    def refusal(self, delivery: WebhookDelivery) -> str:
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

    def send(self, delivery: WebhookDelivery) -> int:
        return webhook_post(delivery, delivery.subscription)

    def record_outcome(self, delivery: WebhookDelivery, result: int | None, error: Exception | None) -> None:
        delivery.last_response_status = getattr(error, "status_code", None) if error is not None else result

    def settled(self, delivery: WebhookDelivery) -> None:
        queue_next_for_item(delivery)

    def due(self, rows: QuerySet[WebhookDelivery]) -> QuerySet[WebhookDelivery]:
        waiting = WebhookDelivery.objects.filter(
            subscription_id=OuterRef("subscription_id"),
            item_id=OuterRef("item_id"),
            pk__lt=OuterRef("pk"),
            status__in=OPEN_DELIVERY_STATUSES,
        )
        return rows.exclude(Exists(waiting))

    def may_resend(self, actor: User) -> bool:
        return is_operator(actor)

    def operator_rows(self, actor: User) -> QuerySet[WebhookDelivery]:
        return webhook_delivery_list(user=actor)

    def reset_for_resend(self, delivery: WebhookDelivery) -> tuple[str, ...]:
        delivery.replay_count += 1
        return ("replay_count",)

    def resend_audit(self, delivery: WebhookDelivery, before: dict) -> dict:
        return {
            "action": "webhook_delivery_replayed",
            "item": delivery.item,
            "data": {"delivery_id": str(delivery.delivery_id), "subscription_id": delivery.subscription_id, **before},
        }


webhook_outbox = WebhookOutbox()


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Try to send one row once (Outbox.attempt): the row as it now stands (unchanged while an
    earlier row for its item is open), or None."""
    return webhook_outbox.attempt(delivery_id)


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
        webhook_outbox.queue([next_id])
    return next_id


def webhook_requeue_due(*, now: datetime.datetime | None = None, limit: int | None = None) -> list[int]:
    """Re-queue open rows whose task was lost (worker killed mid-send, message dropped) and whose turn it is."""
    return webhook_outbox.requeue_due(now=now, limit=limit)


def webhook_delivery_replay(*, actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a dead-lettered delivery again: same delivery id and body (receivers de-duplicate on
    the id), a fresh signature per attempt, a fresh set of attempts. Audited."""
    return webhook_outbox.resend(actor=actor, row=delivery)
