"""The worker app's tables: the two outboxes (notifications to people, webhooks to OA systems) on
one abstract outbox row. Re-exported here, so `tasks.models.Delivery` and the migrations read the same."""

from tasks.models.notifications import Delivery, Notification
from tasks.models.outbox import OutboxRow
from tasks.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = ["Delivery", "Notification", "OutboxRow", "WebhookDelivery", "WebhookSubscription"]
