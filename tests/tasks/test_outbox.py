"""The one outbox machinery (tasks/outbox/base.py) under both outboxes: each queues the task that
attempts its rows by name, every beat task and outbox task is registered with the worker, and a
dotted path configured before the layout moved the channels (DUBAN_SMS_BACKEND) still resolves."""

from __future__ import annotations

import logging
import os

import pytest

from config.celery import app
from config.settings import base
from tasks.choices import Channel, DeliveryStatus
from tasks.models import Delivery
from tasks.outbox import notifications, webhooks
from tasks.outbox.base import Outbox
from tasks.outbox.channels import ConsoleSmsGateway, import_configured
from tests.tasks.conftest import reachable_user

pytestmark = pytest.mark.django_db


def test_every_beat_task_and_outbox_task_is_registered_under_its_old_name():
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    outboxes = {notifications.notification_outbox.task_name, webhooks.webhook_outbox.task_name}
    assert outboxes == {"tasks.delivery.deliver_notification", "tasks.webhook_delivery.deliver_webhook"}
    assert {"tasks.delivery.retry_stuck_deliveries", "tasks.webhook_delivery.retry_stuck_webhooks"} <= scheduled
    assert not (scheduled | outboxes) - set(app.tasks)


def test_both_outboxes_are_the_one_machinery():
    for outbox in (notifications.notification_outbox, webhooks.webhook_outbox):
        assert isinstance(outbox, Outbox)
        # Only hooks are overridden: attempt, sweep, resend and queueing are the base's.
        for name in ("attempt", "requeue_due", "resend", "queue", "retry_delay"):
            assert getattr(type(outbox), name) is getattr(Outbox, name)


def test_an_sms_backend_named_by_its_old_path_still_sends(world, settings, caplog):
    assert import_configured("tasks.channels.ConsoleSmsGateway") is ConsoleSmsGateway
    assert import_configured(settings.DUBAN_SMS_BACKEND).__module__.startswith("tests.")  # others are left alone
    settings.DUBAN_SMS_BACKEND = "tasks.channels.ConsoleSmsGateway"  # as a deployment may have configured it
    alice = reachable_user("alice", unit=world.edu)
    notifications.notification_send(
        recipients=[alice], title="催办", body="请反馈。", kind="reminder", dedup_key="k", channels=[Channel.SMS]
    )
    delivery = Delivery.objects.get(notification__recipient=alice, channel=Channel.SMS)
    with caplog.at_level(logging.INFO, logger="tasks.outbox.channels"):
        assert notifications.delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    assert any(alice.phone in record.getMessage() for record in caplog.records)


def test_the_default_sms_backend_is_the_new_path():
    if os.environ.get("DUBAN_SMS_BACKEND"):
        pytest.skip("DUBAN_SMS_BACKEND is set in this environment")
    assert base.DUBAN_SMS_BACKEND == "tasks.outbox.channels.ConsoleSmsGateway"
    assert import_configured(base.DUBAN_SMS_BACKEND) is ConsoleSmsGateway
