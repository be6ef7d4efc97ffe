"""The outboxes: messages leave the system through rows written with the change that caused them,
sent by Celery tasks (tasks/delivery.py) after commit.

- base.py: the one machinery (queue after commit, one attempt under a row lock, backoff with
  jitter, dead letter, the sweep, an operator's resend) on the abstract row tasks.models.OutboxRow.
- notifications.py: messages to people (站内信, email, SMS, webhook channel).
- webhooks/: events to OA systems (subscriptions, publishing, delivery).
- channels.py: the notification channels' transport, delivery errors, the webhook signature.
- webhook_verify.py: the receiver's check, standard library only, for integrators to copy."""
