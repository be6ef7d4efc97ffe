"""Enumerations of the webhook outbox: the ledger events an OA system may subscribe to.

Delivery states are the notification outbox's (tasks/choices.py DeliveryStatus: pending, sent,
failed = retrying, dead = dead letter), so operators read one vocabulary for both outboxes."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
