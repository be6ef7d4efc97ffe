"""The notification outbox's tables: one Notification per (recipient, logical message), one Delivery per
(notification, channel). Both uniqueness rules are PostgreSQL constraints, so a sweep that runs
twice, or two beat schedulers running at once, cannot create or send a message twice."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tasks.choices import OPEN_DELIVERY_STATUSES, Channel, DeliveryStatus
from tasks.models.outbox import OutboxRow


class Notification(models.Model):
    """A message to one user (站内信). The row itself is the in-app inbox entry; the other
    channels (email, SMS, webhook) are Delivery rows hanging off it.

    `dedup_key` names the logical message, e.g. "reminder:item-42:step-7"; the same key for the
    same recipient is stored at most once, whoever sends it and however often."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.PROTECT, related_name="notifications"
    )
    kind = models.SlugField(_("类型"), max_length=32, help_text=_("如 reminder（催办）、escalation（督办升级）、overdue（超期）"))
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    # PROTECT, like every other reference to an item: ledger items are never deleted (they are
    # cancelled), and the reminders a unit received are evidence when its overdue reason is
    # judged (DOMAIN.md rule 7), so they must not lose their item.
    item = models.ForeignKey(
        "supervision.Item",
        verbose_name=_("督办事项"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    dedup_key = models.CharField(_("去重键"), max_length=200)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内信")
        verbose_name_plural = _("站内信")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedup_key"], name="notification_once_per_recipient"),
        ]
        indexes = [
            # The inbox page: a user's newest messages first.
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            # The unread badge: counted on every page load, so only unread rows are indexed.
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Delivery(OutboxRow):
    """One attempt-tracked send of a Notification over one channel (an outbox row: status,
    attempts, backoff, dead letter; an operator may re-send a dead or retrying one). The inbox
    channel's row is written already sent: the committed Notification is the inbox entry."""

    notification = models.ForeignKey(Notification, verbose_name=_("站内信"), on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    # Quiet hours (tasks/outbox/timing.py): a non-urgent message written at night or on a rest day
    # waits until the next working day starts; the release sweep queues it then.
    held_until = models.DateTimeField(_("暂缓至"), null=True, blank=True)
    # A DIGESTED delivery, once the day's digest took it up.
    digest = models.ForeignKey(
        "tasks.Digest", verbose_name=_("每日汇总"), null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )

    class Meta(OutboxRow.Meta):
        verbose_name = _("消息投递")
        verbose_name_plural = _("消息投递")
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel"),
        ]
        indexes = [
            # The sweep: open deliveries by due time. Partial, so sent/dead history never slows it.
            models.Index(fields=["next_attempt_at"], condition=Q(status__in=OPEN_DELIVERY_STATUSES), name="delivery_due"),
            # The dead-letter list, newest failure first.
            models.Index(fields=["-updated_at"], condition=Q(status=DeliveryStatus.DEAD), name="delivery_dead_letter"),
            # The release sweep: held rows by release time.
            models.Index(
                fields=["held_until"],
                condition=Q(held_until__isnull=False, status=DeliveryStatus.PENDING),
                name="delivery_held",
            ),
            # The digest run: rows waiting for their person's next digest.
            models.Index(
                fields=["channel"],
                condition=Q(status=DeliveryStatus.DIGESTED, digest__isnull=True),
                name="delivery_awaiting_digest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notification} · {self.get_channel_display()}"

    @property
    def recipient(self):
        return self.notification.recipient

    @property
    def message_id(self) -> str:
        """Stable across retries: receivers that de-duplicate on it show one message."""
        return f"duban-delivery-{self.pk}"
