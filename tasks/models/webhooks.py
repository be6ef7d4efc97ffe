"""The webhook outbox's tables: subscriptions of integration clients (OA systems) to ledger events, and
one WebhookDelivery row per (subscription, event), written in the same transaction as the change it
reports. Rules and writes live in tasks/outbox/webhooks/; the Celery tasks in tasks/delivery.py."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tasks.choices import OPEN_DELIVERY_STATUSES, DeliveryStatus, WebhookEventType
from tasks.models.outbox import OutboxRow


class WebhookSubscription(models.Model):
    """An integration client's subscription: which events go to which URL, signed with which secret.

    The secret must be stored (it signs every delivery), but it is shown only once, when the
    subscription is created or the secret rotated; no API or admin page returns it again."""

    client = models.ForeignKey(
        "accounts.IntegrationClient",
        verbose_name=_("对接系统"),
        on_delete=models.PROTECT,
        related_name="webhook_subscriptions",
    )
    target_url = models.URLField(_("接收地址"), max_length=500)
    secret = models.CharField(_("签名密钥"), max_length=100, editable=False)
    event_types = models.JSONField(_("订阅的事件"), default=list, help_text=_("事件类型列表，如 item.assigned"))
    description = models.CharField(_("说明"), max_length=200, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    secret_rotated_at = models.DateTimeField(_("密钥更换时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("事件订阅")
        verbose_name_plural = _("事件订阅")
        ordering = ["client_id", "pk"]

    def __str__(self) -> str:
        return f"{self.client} → {self.target_url}"

    def get_event_types_display(self) -> str:
        labels = dict(WebhookEventType.choices)
        return "、".join(str(labels.get(t, t)) for t in self.event_types or [])


class WebhookDelivery(OutboxRow):
    """One event for one subscription, sent until the receiver answers 2xx or it is dead-lettered.

    `payload` is the event as it was when it happened (a snapshot taken in the change's own
    transaction), so retries and replays send the same bytes and a late delivery never reports a
    later state. `delivery_id` (X-Duban-Delivery) is stable across retries and replays: receivers
    de-duplicate on it. `event_key` names the event: one row per (subscription, event_key) is a
    PostgreSQL constraint, so no event reaches a subscription twice however often it is published.

    Per (subscription, item) rows are sent strictly in id order: a row waits while an earlier one
    for the same pair is still open (pending or failed); see tasks/outbox/webhooks/delivery.py:
    earlier_open()."""

    subscription = models.ForeignKey(
        WebhookSubscription, verbose_name=_("事件订阅"), on_delete=models.PROTECT, related_name="deliveries"
    )
    event_type = models.CharField(_("事件类型"), max_length=32, choices=WebhookEventType.choices)
    event_key = models.CharField(_("事件编号"), max_length=100)
    # Audit events and items are never deleted; the delivery is evidence of what an OA system was told.
    audit_event = models.ForeignKey(
        "supervision.AuditEvent", verbose_name=_("审计记录"), on_delete=models.PROTECT, related_name="+"
    )
    item = models.ForeignKey("supervision.Item", verbose_name=_("督办事项"), on_delete=models.PROTECT, related_name="+")
    delivery_id = models.UUIDField(_("投递编号"), default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField(_("事件内容"))
    last_response_status = models.PositiveSmallIntegerField(_("最近响应状态码"), null=True, blank=True)
    # The shared column, labelled as operators know it here: a webhook is sent when the receiver answers 2xx.
    sent_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    replay_count = models.PositiveSmallIntegerField(_("重放次数"), default=0)

    class Meta(OutboxRow.Meta):
        verbose_name = _("Webhook 投递")
        verbose_name_plural = _("Webhook 投递")
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_key"], name="webhook_delivery_once_per_event"),
        ]
        indexes = [
            # The ordering rule ("is an earlier one for this subscription and item still open?"),
            # asked before every send and by the sweep. Partial: delivered history never slows it.
            models.Index(
                fields=["subscription", "item", "id"],
                condition=Q(status__in=OPEN_DELIVERY_STATUSES),
                name="webhook_delivery_open_pair",
            ),
            # The sweep: open deliveries by due time.
            models.Index(fields=["next_attempt_at"], condition=Q(status__in=OPEN_DELIVERY_STATUSES), name="webhook_delivery_due"),
            # The dead-letter list, newest failure first.
            models.Index(fields=["-updated_at"], condition=Q(status=DeliveryStatus.DEAD), name="webhook_delivery_dead"),
            # A client's own delivery list.
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_by_sub"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} · {self.delivery_id}"
