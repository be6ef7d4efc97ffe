"""The units' 企业微信 and 钉钉 channels (issue 12): per unit and platform, either the unit's group
robot or the platform's work notification (app message) to each person's own account.

The robot's address carries its key / access_token and the secrets sign or fetch tokens: they are
stored because every send needs them, and shown nowhere after they are entered (the admin offers a
"replace" field only; the audit trail records that they changed, never their value)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tasks.choices import Channel, ChatTransport

CHAT_CHANNELS = [(Channel.WECOM.value, Channel.WECOM.label), (Channel.DINGTALK.value, Channel.DINGTALK.label)]


def masked(value: str) -> str:
    """What the admin shows of a stored secret: that it is set, and its last four characters."""
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) > 8 else "••••"


class UnitChatChannel(models.Model):
    """One unit's 企业微信 or 钉钉 channel. It serves the unit's members, and the members of its
    sub-units that have no channel of their own (`include_sub_units`)."""

    unit = models.ForeignKey("accounts.Unit", verbose_name=_("单位"), on_delete=models.CASCADE, related_name="chat_channels")
    channel = models.CharField(_("渠道"), max_length=16, choices=CHAT_CHANNELS)
    transport = models.CharField(_("发送方式"), max_length=16, choices=ChatTransport.choices, default=ChatTransport.ROBOT)
    robot_url = models.CharField(_("群机器人地址"), max_length=500, blank=True, editable=False)
    secret = models.CharField(_("密钥"), max_length=200, blank=True, editable=False)
    app_id = models.CharField(
        _("企业 ID / AppKey"), max_length=100, blank=True, help_text=_("工作通知：企业微信填 corpid，钉钉填应用的 AppKey")
    )
    agent_id = models.CharField(_("应用 AgentId"), max_length=32, blank=True)
    include_sub_units = models.BooleanField(_("下级单位共用"), default=True)
    is_active = models.BooleanField(_("启用"), default=True)
    secret_changed_at = models.DateTimeField(_("密钥更换时间"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("单位消息渠道（企业微信/钉钉）")
        verbose_name_plural = _("单位消息渠道（企业微信/钉钉）")
        ordering = ["unit__path", "channel"]
        constraints = [models.UniqueConstraint(fields=["unit", "channel"], name="chat_channel_once_per_unit")]

    def __str__(self) -> str:
        return f"{self.unit} · {self.get_channel_display()} · {self.get_transport_display()}"


class ChatAccount(models.Model):
    """A person's account on a platform (企业微信 UserID, 钉钉 userid): where work notifications go."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="chat_accounts"
    )
    channel = models.CharField(_("渠道"), max_length=16, choices=CHAT_CHANNELS)
    account_id = models.CharField(_("平台账号 ID"), max_length=100)

    class Meta:
        verbose_name = _("企业微信/钉钉账号")
        verbose_name_plural = _("企业微信/钉钉账号")
        constraints = [models.UniqueConstraint(fields=["user", "channel"], name="chat_account_once_per_channel")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_channel_display()} · {self.account_id}"
