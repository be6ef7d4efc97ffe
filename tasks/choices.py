"""Enumerations of the notification outbox: delivery channels and delivery states."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """How a notification reaches a person."""

    INBOX = "inbox", _("站内信")
    EMAIL = "email", _("邮件")
    SMS = "sms", _("短信")
    WEBHOOK = "webhook", _("Webhook")
    WECOM = "wecom", _("企业微信")
    DINGTALK = "dingtalk", _("钉钉")


# Channels that push to a person's phone or mailbox, where quiet hours and the daily digest apply.
# The inbox is read when the person signs in: it never disturbs anyone, so it is never held.
PUSH_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.WEBHOOK, Channel.WECOM, Channel.DINGTALK)


class DeliveryMode(models.TextChoices):
    """How a person's non-urgent messages reach them over one channel (issue 15, 减负)."""

    IMMEDIATE = "immediate", _("即时发送")
    DIGEST = "digest", _("每日汇总")


class ChatTransport(models.TextChoices):
    """How a unit's 企业微信 / 钉钉 channel sends: to the unit's group robot, or as a work
    notification to the person's own account (the platform's app message)."""

    ROBOT = "robot", _("群机器人")
    APP = "app", _("工作通知（应用消息）")


class DeliveryStatus(models.TextChoices):
    """Where one delivery stands. FAILED is "failed once, will be retried"; DEAD is the dead-letter
    state an operator must look at (and may re-send)."""

    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("重试中")
    DEAD = "dead", _("失败待处理")
    # Not sent on its own: the person takes this channel as one digest a day (tasks/outbox/digests.py).
    DIGESTED = "digested", _("并入每日汇总")


# States a worker still has to act on: the sweep and the "due" index select exactly these.
OPEN_DELIVERY_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


# Enumerations of the webhook outbox: the ledger events an OA system may subscribe to.


class WebhookEventType(models.TextChoices):
    """Events sent to subscribed OA systems; the value is the X-Duban-Event header."""

    ITEM_CREATED = "item.created", _("事项立项")
    ITEM_ASSIGNED = "item.assigned", _("事项交办")
    ITEM_ACKNOWLEDGED = "item.acknowledged", _("事项签收")
    REPORT_FILED = "report.filed", _("进展反馈")
    ITEM_OVERDUE = "item.overdue", _("事项超期")
    ITEM_EXTENDED = "item.extended", _("批准延期")
    ITEM_CLOSED = "item.closed", _("事项销号")
    ITEM_REOPENED = "item.reopened", _("回访未通过、重新办理")
    NOTICE_ISSUED = "notice.issued", _("通报印发")
