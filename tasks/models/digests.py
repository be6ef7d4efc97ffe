"""The daily digest (每日汇总, issue 15, DOMAIN.md rule 12): the office's digest time and what each
channel allows, each person's choice per channel, and one Digest row per (person, channel, working
day) — a PostgreSQL unique constraint, so two beat runs or a task run twice send one digest."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tasks.choices import Channel, DeliveryMode
from tasks.models.outbox import OutboxRow

CHOOSABLE_CHANNELS = [(c.value, c.label) for c in Channel if c != Channel.INBOX]


class DigestSetting(models.Model):
    """The office's digest time (one row; the admin edits it). Without a row: 08:30."""

    send_time = models.TimeField(_("每日汇总发送时间"), default=datetime.time(8, 30))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("每日汇总设置")
        verbose_name_plural = _("每日汇总设置")

    def __str__(self) -> str:
        return _("每日 %(time)s 发送汇总") % {"time": self.send_time.strftime("%H:%M")}

    @classmethod
    def current(cls) -> DigestSetting:
        return cls.objects.order_by("pk").first() or cls()


class ChannelPolicy(models.Model):
    """What the office allows on one channel: the default mode and whether people may choose.
    Without a row a channel is immediate and people may choose."""

    channel = models.CharField(_("渠道"), max_length=16, choices=CHOOSABLE_CHANNELS, unique=True)
    default_mode = models.CharField(_("默认方式"), max_length=16, choices=DeliveryMode.choices, default=DeliveryMode.IMMEDIATE)
    person_may_choose = models.BooleanField(_("允许个人选择"), default=True)

    class Meta:
        verbose_name = _("渠道发送规则")
        verbose_name_plural = _("渠道发送规则")
        ordering = ["channel"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} · {self.get_default_mode_display()}"


class NotificationPreference(models.Model):
    """One person's choice for one channel (only taken where the channel's policy lets people choose)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="notification_preferences"
    )
    channel = models.CharField(_("渠道"), max_length=16, choices=CHOOSABLE_CHANNELS)
    mode = models.CharField(_("发送方式"), max_length=16, choices=DeliveryMode.choices)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("个人消息偏好")
        verbose_name_plural = _("个人消息偏好")
        constraints = [models.UniqueConstraint(fields=["user", "channel"], name="preference_once_per_channel")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_channel_display()} · {self.get_mode_display()}"


class Digest(OutboxRow):
    """One person's digest on one channel for one working day, sent through the outbox machinery.
    Its text is written when it is made, so retries send the same words."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    workday = models.DateField(_("工作日"))
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"))
    payload = models.JSONField(_("结构化内容"), default=dict)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta(OutboxRow.Meta):
        verbose_name = _("每日汇总")
        verbose_name_plural = _("每日汇总")
        constraints = [models.UniqueConstraint(fields=["recipient", "channel", "workday"], name="digest_once_per_workday")]

    def __str__(self) -> str:
        return self.title

    @property
    def message_id(self) -> str:
        return f"duban-digest-{self.pk}"
