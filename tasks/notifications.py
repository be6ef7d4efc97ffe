"""The notification outbox: every write to Notification and Delivery, and the rules they follow.

- A logical message (dedup_key) reaches each recipient at most once, and each channel at most
  once per message: both are unique constraints, so concurrent or repeated sends are harmless.
- Deliveries are queued to Celery only after the transaction that created them commits.
- An attempt runs under a row lock (SKIP LOCKED): two workers never send the same delivery at
  the same time, and a delivery already sent or dead is left alone (tasks may run twice).
- Transient failures are retried with exponential backoff and jitter; after the last attempt,
  or on a permanent failure, the delivery is dead and waits in the dead-letter list for an
  operator to re-send it.
- Items classified above DUBAN_EXTERNAL_MAX_CLASSIFICATION are never described outside the
  system: email, SMS and webhook only say that a message is waiting (DOMAIN.md rule 13).

Celery task bodies (tasks/delivery.py) only call these functions."""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterable, Sequence
from functools import partial

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.errors import InvalidInput, NotPermitted, NotVisible, TransitionNotAllowed
from supervision.outbox import Message
from tasks.channels import OutgoingMessage, PermanentDeliveryError, TransientDeliveryError, backend_for
from tasks.choices import OPEN_DELIVERY_STATUSES, Channel, DeliveryStatus
from tasks.models import Delivery, Notification

MAX_ERROR_LENGTH = 2000

# ---------------------------------------------------------------------------------------------
# Rules


def default_channels() -> list[str]:
    return list(settings.DUBAN_NOTIFICATION_CHANNELS)


def channel_reaches(user: User, channel: str) -> bool:
    """Whether `channel` can reach `user` at all; unreachable channels get no delivery row
    (a missing phone number is not a failure an operator should be paged about)."""
    if channel == Channel.EMAIL:
        return bool((user.email or "").strip())
    if channel == Channel.SMS:
        return bool((user.phone or "").strip())
    if channel == Channel.WEBHOOK:
        return bool(settings.DUBAN_WEBHOOK_URL)
    return channel == Channel.INBOX


def retry_delay(attempts: int, *, max_seconds: int | None = None) -> datetime.timedelta:
    """Wait after the `attempts`-th failure: base·2^(n-1) capped (at DUBAN_DELIVERY_RETRY_MAX_SECONDS
    unless the channel says otherwise), half of it jittered so retries do not arrive together."""
    cap = settings.DUBAN_DELIVERY_RETRY_MAX_SECONDS if max_seconds is None else max_seconds
    ceiling = min(cap, settings.DUBAN_DELIVERY_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return datetime.timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


def is_redacted(notification: Notification, channel: str) -> bool:
    item = notification.item
    return channel != Channel.INBOX and item is not None and item.classification > settings.DUBAN_EXTERNAL_MAX_CLASSIFICATION


def outgoing_message(delivery: Delivery) -> OutgoingMessage:
    """What `delivery` may say over its channel."""
    notification = delivery.notification
    redacted = is_redacted(notification, delivery.channel)
    title = _("您有一条新的督办消息") if redacted else notification.title
    body = _("该消息涉及涉密事项，请登录督办系统查看。") if redacted else notification.body
    item = notification.item
    recipient = notification.recipient
    payload = {
        "delivery_id": delivery.pk,
        "notification_id": notification.pk,
        "kind": notification.kind,
        "title": title,
        "body": body,
        "redacted": redacted,
        "recipient": {"id": recipient.pk, "username": recipient.username, "name": str(recipient)},
        "item": {"id": item.pk, "code": item.code} if item is not None else None,
        "created_at": notification.created_at.isoformat(),
    }
    return OutgoingMessage(title=title, body=body, payload=payload)


def _queue_on_commit(delivery_ids: Iterable[int]) -> None:
    """Queue each delivery once the current transaction commits: a worker must never look for a
    row that does not exist yet, and a rolled-back send must never go out."""
    from tasks.delivery import deliver_notification  # the task module imports this one

    for delivery_id in delivery_ids:
        transaction.on_commit(partial(deliver_notification.delay, delivery_id))


# ---------------------------------------------------------------------------------------------
# Sending


@transaction.atomic
def notification_send(
    *,
    recipients: Iterable[User],
    title: str,
    body: str = "",
    kind: str,
    dedup_key: str,
    item=None,
    channels: Sequence[str] | None = None,
) -> list[Notification]:
    """Create the notification for each recipient who has not had `dedup_key` yet, with one
    delivery per reachable channel, and queue those deliveries after commit.

    Returns only the notifications created by this call: a repeated call returns [] and sends
    nothing. Encode everything that makes a message distinct into `dedup_key`
    (e.g. "reminder:item-42:step-7"). Inactive users are skipped."""
    title = (title or "").strip()
    dedup_key = (dedup_key or "").strip()
    if not title:
        raise InvalidInput(fields={"title": [_("标题不能为空。")]})
    if not dedup_key:
        raise InvalidInput(fields={"dedup_key": [_("去重键不能为空。")]})
    channels = list(dict.fromkeys(default_channels() if channels is None else channels))
    unknown = [c for c in channels if c not in Channel.values]
    if unknown:
        raise InvalidInput(fields={"channels": [_("未知的发送渠道：%(names)s。") % {"names": ", ".join(unknown)}]})

    now = timezone.now()
    created: list[Notification] = []
    seen: set[int] = set()
    for user in recipients:
        if user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        # get_or_create inserts in a savepoint: when a concurrent sender wins the unique
        # constraint, this waits for its commit and then finds its row instead of failing.
        notification, was_created = Notification.objects.get_or_create(
            recipient=user,
            dedup_key=dedup_key,
            defaults={"kind": kind, "title": title[:200], "body": body or "", "item": item, "created_at": now},
        )
        if was_created:
            created.append(notification)

    deliveries = []
    for notification in created:
        for channel in channels:
            if not channel_reaches(notification.recipient, channel):
                continue
            if channel == Channel.INBOX:
                # The committed row is the inbox entry; the delivery row only records that.
                deliveries.append(Delivery(notification=notification, channel=channel, status=DeliveryStatus.SENT, sent_at=now))
            else:
                deliveries.append(Delivery(notification=notification, channel=channel, next_attempt_at=now))
    Delivery.objects.bulk_create(deliveries)
    _queue_on_commit(d.pk for d in deliveries if d.status == DeliveryStatus.PENDING)
    return created


def delivery_attempt(*, delivery_id: int) -> Delivery | None:
    """Try to send one delivery once. Safe to call twice and from two workers at once.

    Returns the delivery as it now stands, or None when it does not exist or another worker is
    sending it right now. Raises TransientDeliveryError (with `retry_at`) when it should be
    tried again; the attempt is recorded either way."""
    error: Exception | None = None
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("notification__recipient", "notification__item")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status not in OPEN_DELIVERY_STATUSES:
            return delivery
        try:
            backend_for(delivery.channel).send(delivery, outgoing_message(delivery))
        except DatabaseError:
            raise  # the transaction is broken; nothing can be recorded, the sweep will retry
        except Exception as exc:  # recorded below; unexpected errors count as transient ones
            error = exc

        now = timezone.now()
        delivery.attempts += 1
        if error is None:
            delivery.status, delivery.sent_at, delivery.next_attempt_at, delivery.last_error = DeliveryStatus.SENT, now, None, ""
        else:
            delivery.last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
            if isinstance(error, PermanentDeliveryError) or delivery.attempts >= settings.DUBAN_DELIVERY_MAX_ATTEMPTS:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.DEAD, None
            else:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, now + retry_delay(delivery.attempts)
        delivery.save(update_fields=["status", "attempts", "sent_at", "next_attempt_at", "last_error", "updated_at"])

    if error is not None and delivery.status == DeliveryStatus.FAILED:
        if not isinstance(error, TransientDeliveryError):
            # A bug in a backend is not hidden: the task fails loudly, the row is retried by the
            # sweep and dead-lettered after the last attempt like any other failure.
            raise error
        error.retry_at = delivery.next_attempt_at
        raise error
    return delivery


@transaction.atomic
def delivery_requeue_due(*, now: datetime.datetime | None = None, limit: int | None = None) -> list[int]:
    """Re-queue open deliveries whose task was lost (a worker killed mid-send, a dropped message).

    Selects through the partial index `delivery_due`, locks what it takes with SKIP LOCKED and
    pushes `next_attempt_at` forward, so two sweeps running at once never queue the same delivery
    and a delivery still stuck is re-queued at most once per DUBAN_DELIVERY_STUCK_AFTER_SECONDS."""
    now = now or timezone.now()
    limit = limit or settings.DUBAN_DELIVERY_SWEEP_BATCH
    cutoff = now - datetime.timedelta(seconds=settings.DUBAN_DELIVERY_STUCK_AFTER_SECONDS)
    ids = list(
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(status__in=OPEN_DELIVERY_STATUSES, next_attempt_at__lte=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        Delivery.objects.filter(pk__in=ids).update(next_attempt_at=now, updated_at=now)
        _queue_on_commit(ids)
    return ids


@transaction.atomic
def delivery_resend(*, actor: User, delivery: Delivery) -> Delivery:
    """An operator sends a dead (or still retrying) delivery again, with a fresh set of attempts."""
    from tasks.selectors import delivery_list

    if not actor.is_office:
        raise NotPermitted(_("只有督查室工作人员或管理员可以重新发送消息。"), code="office_only")
    # No SKIP LOCKED: if a worker is sending it right now, wait and judge the outcome.
    locked = delivery_list(user=actor).select_for_update(of=("self",)).filter(pk=delivery.pk).first()
    if locked is None:
        raise NotVisible()
    if locked.status not in (DeliveryStatus.DEAD, DeliveryStatus.FAILED):
        raise TransitionNotAllowed(
            _("只有“失败待处理”或“重试中”的投递可以重新发送，当前状态为“%(status)s”。") % {"status": locked.get_status_display()},
            code="delivery_not_failed",
        )
    before = {"status": locked.status, "attempts": locked.attempts, "last_error": locked.last_error}
    locked.status = DeliveryStatus.PENDING
    locked.attempts = 0
    locked.next_attempt_at = timezone.now()
    locked.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
    audit_record(
        actor=actor,
        action="delivery_resent",
        obj=locked,
        item=locked.notification.item,
        from_status=before["status"],
        to_status=locked.status,
        data={"channel": locked.channel, "notification_id": locked.notification_id, **before},
    )
    _queue_on_commit([locked.pk])
    return locked


# ---------------------------------------------------------------------------------------------
# Inbox


def notification_mark_read(*, user: User, notification: Notification) -> Notification:
    """Mark one of the user's own messages read; reading it again keeps the first read time."""
    if notification.recipient_id != user.pk:
        raise NotVisible()
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
    return Notification.objects.select_related("item").get(pk=notification.pk)


def notification_mark_all_read(*, user: User) -> int:
    """Mark every unread message of the user read; returns how many changed."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


# ---------------------------------------------------------------------------------------------
# The ledger's messenger (supervision/outbox.py): how the ledger's services reach people


class NotificationMessenger:
    def send(self, message: Message) -> list[Notification]:
        return notification_send(
            recipients=message.recipients,
            title=message.title,
            body=message.body,
            kind=message.kind,
            dedup_key=message.dedup_key,
            item=message.item,
        )

    def sent_keys(self, *, item_id: int, keys: Iterable[str]) -> set[str]:
        return set(Notification.objects.filter(item_id=item_id, dedup_key__in=list(keys)).values_list("dedup_key", flat=True))


messenger = NotificationMessenger()
