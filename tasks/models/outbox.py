"""What both outboxes' rows share (the notification outbox's Delivery, the webhook outbox's
WebhookDelivery): where a send stands, how often it was tried, when it is next due, the last
error and when it went out. tasks/outbox/base.py is the one machinery that moves these fields."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tasks.choices import DeliveryStatus


class OutboxRow(models.Model):
    """One message waiting to leave the system, attempt-tracked.

    A row moves pending → sent, or pending → failed (retried with backoff) → … → sent or dead.
    Dead rows form the dead-letter list an operator reviews and may send again.
    `next_attempt_at` is when the next attempt is due; the sweep re-queues open rows whose time
    has long passed (a lost message, a worker killed mid-send)."""

    status = models.CharField(_("状态"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]
