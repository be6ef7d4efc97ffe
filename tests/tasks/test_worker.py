"""Exactly once, with a real Celery worker consuming from real Redis and writing to real
PostgreSQL (STYLE.md habit 5). The worker runs in a thread of this process (Celery's embedded
test worker), on Redis db 14 and a queue of its own, so no other checkout's worker takes our
messages and ours takes none of theirs."""

from __future__ import annotations

import datetime
import os
import threading
import time
import uuid

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.core import mail
from django.db import connections
from django.utils import timezone

from tasks.choices import OPEN_DELIVERY_STATUSES, Channel, DeliveryStatus
from tasks.delivery import deliver_notification, retry_stuck_deliveries
from tasks.models import Delivery, Notification
from tasks.outbox import notifications
from tests.tasks.conftest import reachable_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_worker]

BROKER_URL = os.environ.get("DUBAN_TEST_WORKER_BROKER", "redis://127.0.0.1:6379/14")


def _reset_producers(app) -> None:
    """Forget pooled connections and routing built from the previous broker settings."""
    app._pool = None
    app.__dict__.pop("amqp", None)


@pytest.fixture
def worker_runs():
    """(task name, args, return value) of every task the worker finished."""
    runs: list[tuple[str, tuple, object]] = []

    def record(sender=None, task=None, args=None, retval=None, **kwargs):
        runs.append((task.name, tuple(args or ()), retval))
        # The worker thread's connection must not outlive the test (the test DB is dropped later).
        connections.close_all()

    task_postrun.connect(record, weak=False, dispatch_uid="outbox-test-runs")
    yield runs
    task_postrun.disconnect(dispatch_uid="outbox-test-runs")


@pytest.fixture
def celery_worker(worker_runs):
    from config.celery import app

    assert not app.conf.task_always_eager
    queue = f"duban-outbox-test-{uuid.uuid4().hex[:12]}"
    saved = {key: app.conf[key] for key in ("broker_url", "task_default_queue", "worker_hijack_root_logger")}
    app.conf.update(broker_url=BROKER_URL, task_default_queue=queue, worker_hijack_root_logger=False)
    _reset_producers(app)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30, loglevel="WARNING"):
            yield app
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
        # Kombu keeps the exchange bindings as keys of their own; leave the broker as we found it.
        redis.Redis.from_url(BROKER_URL).delete(f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        app.conf.update(saved)
        _reset_producers(app)


def wait_until(predicate, *, timeout: float = 60.0, what: str = "condition"):
    """Poll until `predicate()` is true; the timeout only bounds a failing test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def all_settled() -> bool:
    return not Delivery.objects.filter(status__in=OPEN_DELIVERY_STATUSES).exists()


def send(users, key):
    return notifications.notification_send(
        recipients=users, title="催办：请于今日反馈进展", body="需要当天反馈的绝不能过夜。", kind="reminder", dedup_key=key
    )


def test_twenty_recipients_get_each_channel_exactly_once(world, sms, celery_worker):
    users = [reachable_user(f"recipient{n:02d}", unit=world.edu) for n in range(20)]

    # The same reminder sent twice at once, as by two beat schedulers firing together.
    barrier = threading.Barrier(2)
    results: list[int] = []

    def sender():
        try:
            barrier.wait()
            results.append(len(send(users, "reminder:item-1:step-due")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_until(all_settled, what="every delivery sent")

    assert sorted(results) == [0, 20]
    assert Notification.objects.count() == 20
    rows = list(Delivery.objects.values_list("notification__recipient_id", "channel", "status"))
    assert len(rows) == 60
    assert {(r, c) for r, c, _ in rows} == {(u.pk, c) for u in users for c in ("inbox", "email", "sms")}
    assert {s for _, _, s in rows} == {DeliveryStatus.SENT}
    # What actually left the system: one SMS and one email per person, none doubled.
    assert sorted(phone for phone, _ in sms.sent) == sorted(u.phone for u in users)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)


def test_a_delivery_whose_worker_died_is_sent_once_by_the_sweep(world, sms, celery_worker, worker_runs):
    alice = reachable_user("alice", unit=world.edu)
    notification_ids = []

    # A worker takes the SMS delivery and dies mid-send: its connection holds the row lock, then
    # drops without committing. Meanwhile a second copy of the task (redelivered) finds the row
    # locked and leaves it alone.
    dying = connections.create_connection("default")
    dying.set_autocommit(False)
    try:
        notification_ids = [n.pk for n in send([alice], "reminder:item-2:step-overdue")]
        sms_delivery = Delivery.objects.get(notification_id__in=notification_ids, channel=Channel.SMS)
        with dying.cursor() as cursor:
            cursor.execute("SELECT id FROM tasks_delivery WHERE id = %s FOR UPDATE", [sms_delivery.pk])
        wait_until(
            lambda: ("tasks.delivery.deliver_notification", (sms_delivery.pk,), None) in worker_runs,
            what="the redelivered task to skip the locked row",
        )
        wait_until(lambda: Delivery.objects.get(channel=Channel.EMAIL).status == DeliveryStatus.SENT, what="the email")
    finally:
        dying.close()  # the process is gone: PostgreSQL rolls back and releases the lock
    sms_delivery.refresh_from_db()
    assert sms_delivery.status == DeliveryStatus.PENDING and sms.sent == []

    # An hour later two sweeps run at once (two beat schedulers); the delivery is re-queued once.
    Delivery.objects.filter(pk=sms_delivery.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(hours=1))
    barrier = threading.Barrier(2)
    requeued: list[int] = []

    def sweep():
        try:
            barrier.wait()
            requeued.append(retry_stuck_deliveries())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_until(all_settled, what="the swept delivery to be sent")

    assert sorted(requeued) == [0, 1]
    sms_delivery.refresh_from_db()
    assert sms_delivery.status == DeliveryStatus.SENT and sms_delivery.attempts == 1
    assert sms.sent == [(alice.phone, "【督办】催办：请于今日反馈进展：需要当天反馈的绝不能过夜。")]
    assert len(mail.outbox) == 1
    deliver_runs = [args for name, args, _ in worker_runs if name == deliver_notification.name]
    assert deliver_runs.count((sms_delivery.pk,)) == 2  # the skipped copy and the swept one
