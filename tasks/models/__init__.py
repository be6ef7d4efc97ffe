"""The worker app's tables: the two outboxes (notifications to people, webhooks to OA systems) on
one abstract outbox row, the daily digest and its settings, and the units' chat channels.
Re-exported here, so `tasks.models.Delivery` and the migrations read the same."""

from tasks.models.chat import ChatAccount, UnitChatChannel
from tasks.models.digests import ChannelPolicy, Digest, DigestSetting, NotificationPreference
from tasks.models.notifications import Delivery, Notification
from tasks.models.outbox import OutboxRow
from tasks.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "ChatAccount",
    "UnitChatChannel",
    "ChannelPolicy",
    "Delivery",
    "Digest",
    "DigestSetting",
    "Notification",
    "NotificationPreference",
    "OutboxRow",
    "WebhookDelivery",
    "WebhookSubscription",
]
