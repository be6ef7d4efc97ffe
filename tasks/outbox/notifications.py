"""The notification outbox: every write to Notification and Delivery, and the rules they follow.

- A logical message (dedup_key) reaches each recipient at most once, and each channel at most
  once per message: both are unique constraints, so concurrent or repeated sends are harmless.
- Queueing after commit, the attempt under a row lock, backoff, the dead letter, the sweep and an
  operator's resend are the one outbox machinery (tasks/outbox/base.py); this module says only
  what differs: one delivery per reachable channel, sent by the channel's backend
  (tasks/outbox/channels.py), DUBAN_DELIVERY_MAX_ATTEMPTS, and that an operator may send a dead
  or a still retrying delivery again.
- Items classified above DUBAN_EXTERNAL_MAX_CLASSIFICATION are never described outside the
  system: email, SMS and webhook only say that a message is waiting (DOMAIN.md rule 13).

Celery task bodies (tasks/delivery.py) only call these functions."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from supervision.errors import InvalidInput, NotVisible
from supervision.outbox import Message
from tasks.choices import Channel, DeliveryMode, DeliveryStatus
from tasks.models import Delivery, Notification
from tasks.outbox.base import Outbox
from tasks.outbox.channels import OutgoingMessage, backend_for
from tasks.outbox.chat import ChatReach
from tasks.outbox.timing import Modes, is_pressing, release_time
from tasks.selectors import delivery_list, inbox_unread

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
    return channel == Channel.INBOX  # 企业微信 / 钉钉: ChatReach, asked for a whole send at once


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


# ---------------------------------------------------------------------------------------------
# What differs from the one outbox machinery


class NotificationOutbox(Outbox[Delivery]):
    """Deliveries go out through their channel's backend; an operator may send a dead or a still
    retrying one again (office staff and administrators, on what they may see)."""

    model = Delivery
    task_name = "tasks.delivery.deliver_notification"
    attempt_related = ("notification__recipient", "notification__item")
    resendable = (DeliveryStatus.DEAD, DeliveryStatus.FAILED)
    resend_denied = gettext_lazy("只有督查室工作人员或管理员可以重新发送消息。")
    not_resendable = gettext_lazy("只有“失败待处理”或“重试中”的投递可以重新发送，当前状态为“%(status)s”。")
    not_resendable_code = "delivery_not_failed"

    def max_attempts(self) -> int:
        return settings.DUBAN_DELIVERY_MAX_ATTEMPTS

    def waits(self, delivery: Delivery, now: datetime.datetime) -> bool:
        return delivery.held_until is not None and delivery.held_until > now

    def due(self, rows: QuerySet[Delivery]) -> QuerySet[Delivery]:
        # Held rows are the release sweep's, at their time; the stuck-row sweep leaves them alone.
        return rows.filter(held_until__isnull=True)

    def send(self, delivery: Delivery) -> None:
        backend_for(delivery.channel).send(delivery, outgoing_message(delivery))

    def may_resend(self, actor: User) -> bool:
        return actor.is_office

    def operator_rows(self, actor: User) -> QuerySet[Delivery]:
        return delivery_list(user=actor)

    def resend_audit(self, delivery: Delivery, before: dict) -> dict:
        return {
            "action": "delivery_resent",
            "item": delivery.notification.item,
            "from_status": before["status"],
            "to_status": delivery.status,
            "data": {"channel": delivery.channel, "notification_id": delivery.notification_id, **before},
        }


notification_outbox = NotificationOutbox()


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
    urgent: bool = False,
    now: datetime.datetime | None = None,
) -> list[Notification]:
    """Create the notification for each recipient who has not had `dedup_key` yet, with one
    delivery per reachable channel, and queue those deliveries after commit.

    Returns only the notifications created by this call: a repeated call returns [] and sends
    nothing. Encode everything that makes a message distinct into `dedup_key`
    (e.g. "reminder:item-42:step-7"). Inactive users are skipped.

    Unless the message is pressing (`urgent` 特急, or its item is 特急 or due today), each push
    channel follows the person's mode (tasks/outbox/timing.py): a digested delivery waits for the
    day's digest; an immediate one written outside the working day is held until it starts."""
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

    now = now or timezone.now()
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

    pressing = is_pressing(urgent=urgent, item=item, now=now)
    held_until = None if pressing else release_time(now)
    modes = Modes(n.recipient_id for n in created) if created and not pressing else None
    chat = ChatReach([n.recipient for n in created], channels) if created else None
    deliveries = []
    for notification in created:
        for channel in channels:
            if channel in (Channel.WECOM, Channel.DINGTALK):
                if not chat.reaches(notification.recipient, channel):
                    continue
            elif not channel_reaches(notification.recipient, channel):
                continue
            if channel == Channel.INBOX:
                # The committed row is the inbox entry; the delivery row only records that.
                deliveries.append(Delivery(notification=notification, channel=channel, status=DeliveryStatus.SENT, sent_at=now))
            elif modes is not None and modes.mode(notification.recipient_id, channel) == DeliveryMode.DIGEST:
                deliveries.append(Delivery(notification=notification, channel=channel, status=DeliveryStatus.DIGESTED))
            else:
                deliveries.append(
                    Delivery(notification=notification, channel=channel, next_attempt_at=held_until or now, held_until=held_until)
                )
    Delivery.objects.bulk_create(deliveries)
    notification_outbox.queue(d.pk for d in deliveries if d.status == DeliveryStatus.PENDING and d.held_until is None)
    return created


def delivery_release_held(*, now: datetime.datetime | None = None, limit: int | None = None) -> list[int]:
    """Queue the held deliveries whose working day has started (the release sweep, every minute).
    SKIP LOCKED and `held_until` cleared in the same transaction: two sweeps never queue a row twice."""
    now = now or timezone.now()
    limit = limit or settings.DUBAN_DELIVERY_SWEEP_BATCH
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, held_until__isnull=False, held_until__lte=now)
            .order_by("held_until")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Delivery.objects.filter(pk__in=ids).update(held_until=None, next_attempt_at=now, updated_at=now)
            notification_outbox.queue(ids)
    return ids


def delivery_attempt(*, delivery_id: int) -> Delivery | None:
    """Try to send one delivery once (Outbox.attempt): the delivery as it now stands, or None."""
    return notification_outbox.attempt(delivery_id)


def delivery_requeue_due(*, now: datetime.datetime | None = None, limit: int | None = None) -> list[int]:
    """Re-queue open deliveries whose task was lost (the sweep, through the partial index `delivery_due`)."""
    return notification_outbox.requeue_due(now=now, limit=limit)


def delivery_resend(*, actor: User, delivery: Delivery) -> Delivery:
    """An operator sends a dead (or still retrying) delivery again, with a fresh set of attempts."""
    return notification_outbox.resend(actor=actor, row=delivery)


# ---------------------------------------------------------------------------------------------
# Inbox


def notification_mark_read(*, user: User, notification: Notification) -> Notification:
    """Mark one of the user's own messages read; reading it again keeps the first read time."""
    if notification.recipient_id != user.pk:
        raise NotVisible()
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
    return Notification.objects.select_related("item").get(pk=notification.pk)


def notification_mark_all_read(*, user: User) -> int:
    """Mark every unread message of the user read; returns how many changed. Messages about items
    the user may no longer see are left alone (and not counted), as the inbox hides them."""
    return inbox_unread(user=user).update(read_at=timezone.now())


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
            urgent=message.urgent,
        )

    def sent_keys(self, *, item_id: int, keys: Iterable[str]) -> set[str]:
        return set(Notification.objects.filter(item_id=item_id, dedup_key__in=list(keys)).values_list("dedup_key", flat=True))

    def received_by_unit(self, *, since, until, unit_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
        """Per recipient's unit: messages received in [since, until) by kind, and `distinct:<kind>`
        the logical messages (one reminder to three people of a unit is three messages, one reminder)."""
        qs = Notification.objects.filter(created_at__gte=since, created_at__lt=until, recipient__unit__isnull=False)
        if unit_ids is not None:
            qs = qs.filter(recipient__unit_id__in=list(unit_ids))
        out: dict[int, dict[str, int]] = {}
        rows = qs.values("recipient__unit_id", "kind").annotate(n=Count("pk"), keys=Count("dedup_key", distinct=True))
        for row in rows:
            counts = out.setdefault(row["recipient__unit_id"], {})
            counts[row["kind"]] = counts.get(row["kind"], 0) + row["n"]
            counts[f"distinct:{row['kind']}"] = counts.get(f"distinct:{row['kind']}", 0) + row["keys"]
        return out


messenger = NotificationMessenger()
