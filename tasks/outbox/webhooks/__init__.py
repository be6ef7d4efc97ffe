"""Webhooks to OA systems: subscriptions, the event outbox and delivery rules (issue 5, "status out").

- subscriptions.py: who manages a subscription, the target URL and the address guard, the
  audited writes; the secret is shown once.
- publishing.py: events are published from ONE hook: every audit event reaches
  `webhook_events_publish` (registered with supervision.outbox in tasks/apps.py) inside the state
  change's own transaction. Every ledger state change already writes exactly one audit event
  (STYLE.md habit 1), so no service can forget to publish, and the outbox row commits or rolls
  back with the change itself. A subscription only receives events about items its client's
  service account may see (`Item.objects.visible_to(client.user)`), checked when the event happens
  and again before each send. One row per (subscription, event): a unique constraint.
- delivery.py: what differs from the one outbox machinery (tasks/outbox/base.py): order per
  (subscription, item), the signed HTTP POST without redirects, refusal when the subscription or
  client is off or the item no longer visible, replay of dead rows by an operator.

Settings: DUBAN_WEBHOOK_TIMEOUT, DUBAN_WEBHOOK_MAX_ATTEMPTS (12), DUBAN_WEBHOOK_RETRY_MAX_SECONDS
(1800); DUBAN_DELIVERY_RETRY_BASE_SECONDS / _STUCK_AFTER_SECONDS / _SWEEP_BATCH are shared with the
notification outbox; DUBAN_WEBHOOK_ALLOW_LOOPBACK (default False: refuse loopback, link-local and
other special addresses as targets, so a subscription cannot aim the server at itself or at cloud
metadata; private intranet addresses are fine).

The public functions are re-exported here, so `from tasks.outbox import webhooks` reads as one module.
"""

from tasks.outbox.webhooks.delivery import (
    earlier_open,
    is_operator,
    queue_next_for_item,
    webhook_delivery_attempt,
    webhook_delivery_replay,
    webhook_outbox,
    webhook_post,
    webhook_requeue_due,
)
from tasks.outbox.webhooks.publishing import EVENT_FOR_ACTION, instruction_external_ids, webhook_events_publish
from tasks.outbox.webhooks.subscriptions import (
    IssuedSecret,
    clean_event_types,
    clean_target_url,
    is_service_account,
    webhook_subscription_create,
    webhook_subscription_rotate_secret,
    webhook_subscription_update,
)

__all__ = [
    "EVENT_FOR_ACTION",
    "IssuedSecret",
    "clean_event_types",
    "clean_target_url",
    "earlier_open",
    "instruction_external_ids",
    "is_operator",
    "is_service_account",
    "queue_next_for_item",
    "webhook_delivery_attempt",
    "webhook_delivery_replay",
    "webhook_events_publish",
    "webhook_outbox",
    "webhook_post",
    "webhook_requeue_due",
    "webhook_subscription_create",
    "webhook_subscription_rotate_secret",
    "webhook_subscription_update",
]
