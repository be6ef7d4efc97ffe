"""The outbox services: de-duplication, queueing after commit, attempts, backoff, dead letters,
re-sending, and what leaves the system for classified items."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import smtplib

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from accounts.choices import Classification
from supervision.errors import InvalidInput, NotPermitted, TransitionNotAllowed
from supervision.models import AuditEvent
from tasks.choices import Channel, DeliveryStatus
from tasks.delivery import deliver_notification, retry_stuck_deliveries
from tasks.models import Delivery, Notification
from tasks.outbox import notifications
from tasks.outbox.base import retry_delay
from tasks.outbox.channels import PermanentDeliveryError, TransientDeliveryError
from tests.factories import make_item
from tests.tasks.conftest import reachable_user
from tests.tasks.fakes import FailingEmailBackend, WebhookReceiver

pytestmark = pytest.mark.django_db


def send(recipients, key="reminder:item-1:step-1", **kwargs):
    kwargs.setdefault("title", "关于县教育局事项的催办")
    kwargs.setdefault("body", "请于3个工作日内反馈进展。")
    kwargs.setdefault("kind", "reminder")
    return notifications.notification_send(recipients=recipients, dedup_key=key, **kwargs)


def one_delivery(user, channel) -> Delivery:
    return Delivery.objects.get(notification__recipient=user, channel=channel)


# ---------------------------------------------------------------------------------------------
# De-duplication and queueing


def test_same_message_twice_is_stored_and_queued_once(world, queued, django_capture_on_commit_callbacks):
    alice, bob = reachable_user("alice", unit=world.edu), reachable_user("bob", unit=world.env)
    with django_capture_on_commit_callbacks(execute=True):
        first = send([alice, bob, alice])
    with django_capture_on_commit_callbacks(execute=True):
        second = send([alice, bob])

    assert {n.recipient_id for n in first} == {alice.pk, bob.pk}
    assert second == []
    assert Notification.objects.count() == 2
    for user in (alice, bob):
        channels = sorted(Delivery.objects.filter(notification__recipient=user).values_list("channel", flat=True))
        assert channels == ["email", "inbox", "sms"]  # no webhook: DUBAN_WEBHOOK_URL is empty
        assert one_delivery(user, Channel.INBOX).status == DeliveryStatus.SENT
    pending = set(Delivery.objects.filter(status=DeliveryStatus.PENDING).values_list("pk", flat=True))
    assert len(pending) == 4
    assert sorted(queued) == sorted(pending)  # each queued once; the inbox needs no task


def test_a_different_step_is_a_different_message(world):
    alice = reachable_user("alice", unit=world.edu)
    send([alice], key="reminder:item-1:step-1")
    send([alice], key="reminder:item-1:step-2")
    assert Notification.objects.filter(recipient=alice).count() == 2


def test_queued_only_after_commit_and_never_after_rollback(world, queued, django_capture_on_commit_callbacks):
    alice = reachable_user("alice", unit=world.edu)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send([alice])
        assert queued == []  # nothing reaches the broker before commit
    assert len(callbacks) == 2  # email and SMS
    for callback in callbacks:
        callback()
    assert sorted(queued) == sorted(Delivery.objects.filter(status=DeliveryStatus.PENDING).values_list("pk", flat=True))

    queued.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                send([alice], key="reminder:item-1:step-9")
                raise RuntimeError("the caller's transaction fails")
    assert callbacks == [] and queued == []
    assert not Notification.objects.filter(dedup_key="reminder:item-1:step-9").exists()


def test_unreachable_channels_get_no_delivery_and_webhook_needs_a_url(world, settings):
    bare = reachable_user("bare", unit=world.edu, email=False, phone=False)
    send([bare], key="k1")
    assert list(Delivery.objects.filter(notification__recipient=bare).values_list("channel", flat=True)) == ["inbox"]

    settings.DUBAN_WEBHOOK_URL = "http://127.0.0.1:9/hook"
    send([bare], key="k2", channels=["inbox", "webhook"])
    assert sorted(Delivery.objects.filter(notification__dedup_key="k2").values_list("channel", flat=True)) == ["inbox", "webhook"]


def test_inactive_users_and_bad_input_are_refused(world):
    gone = reachable_user("gone", unit=world.edu)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    assert send([gone]) == []
    with pytest.raises(InvalidInput) as info:
        send([world.edu_handler], channels=["pigeon"])
    assert "channels" in info.value.fields
    with pytest.raises(InvalidInput):
        send([world.edu_handler], key=" ")


# ---------------------------------------------------------------------------------------------
# Attempts


def test_successful_attempt_is_recorded_and_not_repeated(world, sms):
    alice = reachable_user("alice", unit=world.edu)
    send([alice])
    delivery = one_delivery(alice, Channel.SMS)

    result = notifications.delivery_attempt(delivery_id=delivery.pk)
    again = notifications.delivery_attempt(delivery_id=delivery.pk)

    assert result.status == DeliveryStatus.SENT and result.attempts == 1 and result.sent_at is not None
    assert again.status == DeliveryStatus.SENT and again.attempts == 1
    assert sms.sent == [(alice.phone, "【督办】关于县教育局事项的催办：请于3个工作日内反馈进展。")]


def test_transient_failures_back_off_exponentially_then_go_dead(world, sms, settings):
    settings.DUBAN_DELIVERY_MAX_ATTEMPTS = 4
    settings.DUBAN_DELIVERY_RETRY_BASE_SECONDS = 10
    sms.fail_always = TransientDeliveryError("gateway busy")
    alice = reachable_user("alice", unit=world.edu)
    send([alice])
    delivery = one_delivery(alice, Channel.SMS)

    for attempt, ceiling in ((1, 10), (2, 20), (3, 40)):
        before = timezone.now()
        with pytest.raises(TransientDeliveryError) as info:
            notifications.delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == attempt
        wait = (delivery.next_attempt_at - before).total_seconds()
        assert ceiling / 2 - 1 <= wait <= ceiling + 1, (attempt, wait)  # half fixed, half jitter
        assert info.value.retry_at == delivery.next_attempt_at
        assert "gateway busy" in delivery.last_error

    assert notifications.delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.DEAD
    delivery.refresh_from_db()
    assert delivery.attempts == 4 and delivery.next_attempt_at is None
    sms.fail_always = None
    assert notifications.delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.DEAD  # left alone
    assert sms.sent == []


def test_backoff_is_capped(settings):
    settings.DUBAN_DELIVERY_RETRY_BASE_SECONDS = 30
    settings.DUBAN_DELIVERY_RETRY_MAX_SECONDS = 600
    delays = [retry_delay(n).total_seconds() for n in range(1, 12)]
    assert all(d <= 600 for d in delays) and delays[-1] >= 300


def test_a_transient_failure_then_success(world, sms):
    sms.failures.append(TransientDeliveryError("timeout"))
    alice = reachable_user("alice", unit=world.edu)
    send([alice])
    delivery = one_delivery(alice, Channel.SMS)
    with pytest.raises(TransientDeliveryError):
        notifications.delivery_attempt(delivery_id=delivery.pk)
    delivery = notifications.delivery_attempt(delivery_id=delivery.pk)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2 and delivery.last_error == ""
    assert len(sms.sent) == 1


def test_permanent_failure_is_dead_at_once(world, settings):
    settings.EMAIL_BACKEND = "tests.tasks.fakes.FailingEmailBackend"
    FailingEmailBackend.error = smtplib.SMTPRecipientsRefused({"alice@example.gov.cn": (550, b"no such user")})
    alice = reachable_user("alice", unit=world.edu)
    send([alice])
    delivery = notifications.delivery_attempt(delivery_id=one_delivery(alice, Channel.EMAIL).pk)
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 1
    assert "PermanentDeliveryError" in delivery.last_error


def test_invalid_email_address_is_permanent(world):
    alice = reachable_user("alice", unit=world.edu)
    alice.email = "not-an-address"
    alice.save(update_fields=["email"])
    send([alice])
    assert notifications.delivery_attempt(delivery_id=one_delivery(alice, Channel.EMAIL).pk).status == DeliveryStatus.DEAD


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (smtplib.SMTPServerDisconnected("gone"), TransientDeliveryError),
        (ConnectionRefusedError("refused"), TransientDeliveryError),
        (smtplib.SMTPResponseException(451, b"greylisted"), TransientDeliveryError),
        (smtplib.SMTPResponseException(554, b"rejected"), PermanentDeliveryError),
    ],
)
def test_smtp_errors_are_classified(world, settings, error, expected):
    settings.EMAIL_BACKEND = "tests.tasks.fakes.FailingEmailBackend"
    FailingEmailBackend.error = error
    alice = reachable_user("alice", unit=world.edu)
    send([alice])
    delivery = one_delivery(alice, Channel.EMAIL)
    if expected is TransientDeliveryError:
        with pytest.raises(TransientDeliveryError):
            notifications.delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED
    else:
        assert notifications.delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.DEAD


def test_email_goes_through_django_mail_with_a_stable_message_id(world):
    alice = reachable_user("alice", unit=world.edu)
    send([alice])
    delivery = one_delivery(alice, Channel.EMAIL)
    notifications.delivery_attempt(delivery_id=delivery.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [alice.email] and message.subject == "关于县教育局事项的催办"
    assert message.extra_headers["Message-ID"] == f"<duban-delivery-{delivery.pk}@duban.local>"


def test_an_unexpected_error_is_recorded_raised_and_counted(world, sms, settings):
    settings.DUBAN_DELIVERY_MAX_ATTEMPTS = 2
    sms.fail_always = KeyError("bug in the gateway adapter")
    alice = reachable_user("alice", unit=world.edu)
    send([alice])
    delivery = one_delivery(alice, Channel.SMS)
    with pytest.raises(KeyError):
        notifications.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and "KeyError" in delivery.last_error
    assert notifications.delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.DEAD


def test_task_retries_when_the_service_says(world, sms, monkeypatch):
    sms.fail_always = TransientDeliveryError("busy")
    alice = reachable_user("alice", unit=world.edu)
    send([alice])
    delivery = one_delivery(alice, Channel.SMS)
    calls = []

    class Retry(Exception):
        pass

    def fake_retry(**kwargs):
        calls.append(kwargs)
        return Retry()

    monkeypatch.setattr(deliver_notification, "retry", fake_retry)
    with pytest.raises(Retry):
        deliver_notification(delivery.pk)
    delivery.refresh_from_db()
    assert isinstance(calls[0]["exc"], TransientDeliveryError)
    expected = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert abs(calls[0]["countdown"] - expected) < 2 and calls[0]["countdown"] >= 14

    sms.fail_always = None
    assert deliver_notification(delivery.pk) == DeliveryStatus.SENT


def test_task_options_use_late_ack():
    assert deliver_notification.acks_late is True
    assert deliver_notification.name == "tasks.delivery.deliver_notification"
    assert deliver_notification.max_retries == 4


# ---------------------------------------------------------------------------------------------
# Webhook


def test_webhook_posts_signed_json(world, settings):
    settings.DUBAN_WEBHOOK_SECRET = "s3cret"
    alice = reachable_user("alice", unit=world.edu)
    with WebhookReceiver() as receiver:
        settings.DUBAN_WEBHOOK_URL = receiver.url
        send([alice])
        delivery = one_delivery(alice, Channel.WEBHOOK)
        assert notifications.delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    expected = hmac.new(b"s3cret", headers["x-duban-timestamp"].encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    assert headers["x-duban-signature"] == f"sha256={expected}"
    assert headers["idempotency-key"] == f"duban-delivery-{delivery.pk}"
    assert request["json"]["title"] == "关于县教育局事项的催办"
    assert request["json"]["recipient"]["username"] == "alice"


def test_webhook_5xx_is_retried_and_4xx_is_dead(world, settings):
    alice = reachable_user("alice", unit=world.edu)
    with WebhookReceiver() as receiver:
        settings.DUBAN_WEBHOOK_URL = receiver.url
        receiver.statuses.extend([503, 400])
        send([alice])
        delivery = one_delivery(alice, Channel.WEBHOOK)
        with pytest.raises(TransientDeliveryError):
            notifications.delivery_attempt(delivery_id=delivery.pk)
        delivery = notifications.delivery_attempt(delivery_id=delivery.pk)
    assert delivery.status == DeliveryStatus.DEAD and "HTTP 400" in delivery.last_error


def test_webhook_unreachable_is_transient(world, settings):
    settings.DUBAN_WEBHOOK_URL = "http://127.0.0.1:9/hook"  # discard port: connection refused
    alice = reachable_user("alice", unit=world.edu)
    send([alice])
    with pytest.raises(TransientDeliveryError):
        notifications.delivery_attempt(delivery_id=one_delivery(alice, Channel.WEBHOOK).pk)


# ---------------------------------------------------------------------------------------------
# Classified items (DOMAIN.md rule 13)


def test_classified_items_are_not_described_outside_the_system(world, sms, settings):
    item = make_item(office=world.office, lead_unit=world.edu, owner=world.edu_head, classification=Classification.SECRET)
    head = reachable_user("edu_head2", unit=world.edu)
    alice_mail = head.email
    with WebhookReceiver() as receiver:
        settings.DUBAN_WEBHOOK_URL = receiver.url
        send([head], item=item, title=f"催办：{item.title}", body="涉密事项正文")
        for delivery in Delivery.objects.filter(status=DeliveryStatus.PENDING):
            notifications.delivery_attempt(delivery_id=delivery.pk)
    notification = Notification.objects.get(recipient=head)
    assert notification.title == f"催办：{item.title}"  # the inbox, inside the system, has it all
    outside = [sms.sent[0][1], mail.outbox[0].subject, mail.outbox[0].body, receiver.requests[0]["body"].decode()]
    assert mail.outbox[0].to == [alice_mail]
    for text in outside:
        assert item.title not in text and "涉密事项正文" not in text
    assert receiver.requests[0]["json"]["redacted"] is True


# ---------------------------------------------------------------------------------------------
# Re-sending and the sweep


def make_dead_delivery(user) -> Delivery:
    send([user], key=f"dead:{user.pk}")
    delivery = Delivery.objects.get(notification__recipient=user, notification__dedup_key=f"dead:{user.pk}", channel=Channel.SMS)
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.DEAD, attempts=5, last_error="gateway down")
    delivery.refresh_from_db()
    return delivery


def test_office_resends_a_dead_delivery(world, queued, django_capture_on_commit_callbacks):
    delivery = make_dead_delivery(reachable_user("alice", unit=world.edu))
    with django_capture_on_commit_callbacks(execute=True):
        result = notifications.delivery_resend(actor=world.office, delivery=delivery)
    assert result.status == DeliveryStatus.PENDING and result.attempts == 0
    assert queued == [delivery.pk]
    event = AuditEvent.objects.get(action="delivery_resent")
    assert event.actor_id == world.office.pk and event.object_id == delivery.pk
    assert event.from_status == "dead" and event.to_status == "pending" and event.data["last_error"] == "gateway down"


def test_unit_user_may_not_resend_and_sent_deliveries_cannot_be_resent(world, queued):
    alice = reachable_user("alice", unit=world.edu)
    delivery = make_dead_delivery(alice)
    with pytest.raises(NotPermitted):
        notifications.delivery_resend(actor=world.edu_handler, delivery=delivery)
    inbox = one_delivery(alice, Channel.INBOX)
    with pytest.raises(TransitionNotAllowed):
        notifications.delivery_resend(actor=world.office, delivery=inbox)
    assert not AuditEvent.objects.filter(action="delivery_resent").exists()


def test_sweep_requeues_a_lost_delivery_once(world, queued, django_capture_on_commit_callbacks):
    alice = reachable_user("alice", unit=world.edu)
    send([alice])
    lost = one_delivery(alice, Channel.SMS)
    fresh = one_delivery(alice, Channel.EMAIL)
    hour_ago = timezone.now() - datetime.timedelta(hours=1)
    Delivery.objects.filter(pk=lost.pk).update(next_attempt_at=hour_ago)
    dead = make_dead_delivery(reachable_user("bob", unit=world.env))
    Delivery.objects.filter(pk=dead.pk).update(next_attempt_at=hour_ago)

    with django_capture_on_commit_callbacks(execute=True):
        assert retry_stuck_deliveries() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_stuck_deliveries() == 0  # pushed forward: not queued again by the next sweep
    assert queued == [lost.pk]
    assert fresh.pk not in queued  # not yet overdue: its own task is still on its way


def test_sweep_selects_through_the_partial_index(world):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = (
        Delivery.objects.filter(status__in=["pending", "failed"], next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .explain()
    )
    assert "delivery_due" in plan, plan
