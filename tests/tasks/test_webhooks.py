"""Webhooks to OA systems, proved against a real HTTP receiver on 127.0.0.1 that checks every
request with the documented check (tasks/outbox/webhook_verify.py, the README's example): signatures,
freshness, de-duplication on the delivery id; outbox rows written with the change and sent only
after commit; retries while the receiver is down, then every event once and in order per item;
dead letters and the operator's replay; visibility; the subscription API."""

from __future__ import annotations

import datetime
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.choices import Classification, IntegrationOperation
from supervision import services
from supervision.choices import ItemStatus, NoticeKind
from supervision.models import AuditEvent, Item
from supervision.services import (
    integration_client_create,
    integration_client_update,
    notice_create,
    notice_issue,
    overdue_explanations_open,
)
from tasks.choices import DeliveryStatus
from tasks.choices import WebhookEventType as E
from tasks.delivery import deliver_webhook, retry_stuck_webhooks
from tasks.models import WebhookDelivery, WebhookSubscription
from tasks.outbox import webhooks
from tasks.outbox.channels import TransientDeliveryError, webhook_signature
from tasks.outbox.webhook_verify import SeenDeliveries, WebhookRejected, verify_webhook
from tests.api_helpers import assert_error, client_for
from tests.factories import advance_item, endorsed, make_item

pytestmark = pytest.mark.django_db

ALL_EVENTS = list(E.values)


# ---------------------------------------------------------------------------------------------
# The receiver: a real HTTP server on loopback using the documented check


class VerifyingReceiver:
    """An OA system's endpoint. Every request goes through `verify_webhook` (the README's check);
    `outage` answers queued statuses before checking anything (the receiver is unwell)."""

    def __init__(self, port: int = 0):
        self.secret = ""
        self.accepted: list[dict] = []  # events processed, in arrival order
        self.duplicates: list[str] = []  # genuine repeats, answered 200 and not processed
        self.rejected: list[str] = []  # reasons
        self.raw: list[tuple[dict, bytes]] = []
        self.outage: deque[int] = deque()
        self.always: int | None = None
        self.seen = SeenDeliveries()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.raw.append((dict(self.headers), body))
                    status = receiver.outage.popleft() if receiver.outage else receiver.always
                if status is None:
                    status = receiver.handle(self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/duban/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, headers, body: bytes) -> int:
        try:
            event = verify_webhook(
                secret=self.secret,
                body=body,
                timestamp=headers.get("X-Duban-Timestamp"),
                signature=headers.get("X-Duban-Signature"),
                delivery_id=headers.get("X-Duban-Delivery"),
            )
        except WebhookRejected as exc:
            with self._lock:
                self.rejected.append(exc.reason)
            return 401
        with self._lock:
            if self.seen.first_time(event["delivery_id"]):
                self.accepted.append(event)
            else:
                self.duplicates.append(event["delivery_id"])
        return 200

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    """A loopback port nobody listens on (yet): connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, headers: dict, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(autouse=True)
def webhook_queue(request, monkeypatch, settings) -> list[int]:
    """Ids passed to deliver_webhook.delay (after commit); nothing reaches a broker."""
    settings.DUBAN_WEBHOOK_ALLOW_LOOPBACK = True  # the receiver lives on 127.0.0.1
    settings.DUBAN_WEBHOOK_TIMEOUT = 5
    ids: list[int] = []
    if request.node.get_closest_marker("real_worker") is None:
        monkeypatch.setattr(deliver_webhook, "delay", lambda delivery_id: ids.append(delivery_id))
    return ids


@pytest.fixture
def drain(webhook_queue, django_capture_on_commit_callbacks):
    """Run queued deliveries as a worker would, oldest first, each attempt committing on its own
    (so a settled delivery queues the next one for its item, as after a real commit). A transient
    failure goes to the back of the queue (Celery's countdown compressed to nothing)."""

    def run(limit: int = 500) -> int:
        ran = 0
        while webhook_queue:
            assert ran < limit, "the queue never drained"
            delivery_id = webhook_queue.pop(0)
            ran += 1
            with django_capture_on_commit_callbacks(execute=True):
                try:
                    deliver_webhook(delivery_id)  # called directly: a retry raises the error itself
                except TransientDeliveryError:
                    # Time passes until the retry is due.
                    WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())
                    webhook_queue.append(delivery_id)
        return ran

    return run


def make_client(world, name="县委办OA", *, clearance=Classification.SECRET, operations=(IntegrationOperation.WEBHOOKS,)):
    # The office's own OA, granted the whole ledger (a unit-scoped key: tests/accounts/test_client_scope.py).
    return integration_client_create(
        actor=world.admin, name=name, unit=world.office_unit, operations=list(operations), clearance=clearance, whole_ledger=True
    )


def subscribe(world, client, url: str, event_types=None):
    return webhooks.webhook_subscription_create(
        actor=world.admin, client=client, target_url=url, event_types=event_types or ALL_EVENTS
    )


def key_client(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return api


def item_in_progress(world, **kwargs) -> Item:
    kwargs.setdefault("owner", world.edu_handler)
    return make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, **kwargs)


def types_for(events: list[dict], item: Item) -> list[str]:
    return [e["type"] for e in events if e["item"]["id"] == item.pk]


# ---------------------------------------------------------------------------------------------
# The documented check


def test_documented_check_accepts_genuine_and_rejects_tampered_old_or_mismatched():
    secret = "whsec_test"
    body = json.dumps({"delivery_id": "d-1", "type": "item.assigned"}).encode()
    ts = str(int(time.time()))
    good = webhook_signature(secret, ts, body)
    assert verify_webhook(secret=secret, body=body, timestamp=ts, signature=good, delivery_id="d-1")["type"] == "item.assigned"

    def rejected(**overrides) -> str:
        args = {"secret": secret, "body": body, "timestamp": ts, "signature": good, "delivery_id": "d-1", **overrides}
        with pytest.raises(WebhookRejected) as info:
            verify_webhook(**args)
        return info.value.reason

    assert "signature" in rejected(body=body.replace(b"assigned", b"closed"))
    assert "signature" in rejected(secret="whsec_other")
    assert "signature" in rejected(signature="sha256=" + "0" * 64)
    assert "signature" in rejected(signature=None)
    assert "tolerance" in rejected(now=int(ts) + 301)  # captured and replayed six minutes later
    assert "tolerance" in rejected(now=int(ts) - 301)
    assert "Timestamp" in rejected(timestamp="yesterday")
    assert "Delivery" in rejected(delivery_id="d-2")  # the header is not signed; the body is
    seen = SeenDeliveries()
    assert seen.first_time("d-1") and not seen.first_time("d-1")


# ---------------------------------------------------------------------------------------------
# Delivery end to end


def test_signed_delivery_verifies_at_the_receiver_with_all_headers(
    drain, world, webhook_queue, django_capture_on_commit_callbacks
):
    issued = make_client(world)
    with VerifyingReceiver() as receiver:
        sub = subscribe(world, issued.client, receiver.url)
        receiver.secret = sub.secret
        with django_capture_on_commit_callbacks(execute=True):
            item = make_item(
                ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="校舍改造"
            )
        drain()
    assert receiver.rejected == [] and receiver.duplicates == []
    assert [e["type"] for e in receiver.accepted] == [E.ITEM_CREATED, E.ITEM_ASSIGNED]
    rows = list(WebhookDelivery.objects.order_by("pk"))
    assert [r.status for r in rows] == [DeliveryStatus.SENT] * 2
    assert [r.last_response_status for r in rows] == [200, 200]
    headers, body = receiver.raw[1]
    assert headers["X-Duban-Event"] == E.ITEM_ASSIGNED
    assert headers["X-Duban-Delivery"] == str(rows[1].delivery_id)
    assert headers["X-Duban-Signature"] == webhook_signature(sub.secret, headers["X-Duban-Timestamp"], body)
    assert abs(int(headers["X-Duban-Timestamp"]) - time.time()) < 60
    event = json.loads(body)
    assigned = AuditEvent.objects.get(action="item_assigned", item=item)
    assert event["id"] == f"evt-{assigned.seq}"
    assert event["occurred_at"] == assigned.occurred_at.isoformat()
    assert event["item"] == {
        "id": item.pk,
        "code": item.code,
        "title": "校舍改造",
        "status": "assigned",
        "deadline": item.deadline.isoformat(),
        "lead_unit": {"id": world.edu.pk, "name": "县教育局"},
        "light": "green",
    }
    assert event["instruction"] == {"id": item.instruction_id, "document_number": "", "external_id": None}
    assert event["change"] == {"action": "item_assigned", "from": "draft", "to": "assigned", "comment": ""}


def test_tampered_old_and_replayed_requests_are_rejected_by_the_receiver(
    drain, world, webhook_queue, django_capture_on_commit_callbacks
):
    issued = make_client(world)
    with VerifyingReceiver() as receiver:
        sub = subscribe(world, issued.client, receiver.url, [E.ITEM_CREATED])
        receiver.secret = sub.secret
        with django_capture_on_commit_callbacks(execute=True):
            make_item(ItemStatus.DRAFT, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
        drain()
        assert len(receiver.accepted) == 1
        headers, body = receiver.raw[0]
        captured = {k: v for k, v in headers.items() if k.startswith("X-Duban") or k == "Content-Type"}

        # Replayed as captured: signature and time are fine, but the delivery was processed already.
        assert post(receiver.url, captured, body) == 200
        assert receiver.duplicates == [headers["X-Duban-Delivery"]]
        # Tampered body under the captured signature.
        assert post(receiver.url, captured, body.replace("督办事项".encode(), "已办结事项".encode())) == 401
        # Re-signed with an old timestamp (as if captured six minutes ago): the signature is right but stale.
        old = str(int(time.time()) - 360)
        stale = {**captured, "X-Duban-Timestamp": old, "X-Duban-Signature": webhook_signature(sub.secret, old, body)}
        assert post(receiver.url, stale, body) == 401
        # A fresh timestamp without the secret cannot be signed.
        now = str(int(time.time()))
        forged = {**captured, "X-Duban-Timestamp": now, "X-Duban-Signature": webhook_signature("guess", now, body)}
        assert post(receiver.url, forged, body) == 401
        # The same signed body under another delivery id, to slip past de-duplication.
        assert post(receiver.url, {**captured, "X-Duban-Delivery": "00000000-0000-0000-0000-000000000000"}, body) == 401
    assert receiver.rejected == [
        "signature mismatch",
        "timestamp outside the tolerance window",
        "signature mismatch",
        "X-Duban-Delivery does not match the signed body",
    ]
    assert len(receiver.accepted) == 1


def test_nothing_is_written_or_sent_when_the_change_rolls_back(world, webhook_queue, django_capture_on_commit_callbacks):
    issued = make_client(world)
    subscribe(world, issued.client, "http://127.0.0.1:9/never")
    item = make_item(ItemStatus.DRAFT, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    webhook_queue.clear()
    before = WebhookDelivery.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                services.item_assign(actor=world.office, item=item)
                assert WebhookDelivery.objects.count() == before + 1  # written with the change…
                assert webhook_queue == []  # …but queued only after commit
                raise RuntimeError("the change fails after the audit event")
    assert callbacks == [] and webhook_queue == []
    assert WebhookDelivery.objects.count() == before
    assert Item.objects.get(pk=item.pk).status == ItemStatus.DRAFT


def test_receiver_down_then_back_gets_every_event_once_in_order_per_item(
    drain, world, webhook_queue, django_capture_on_commit_callbacks
):
    issued = make_client(world)
    port = free_port()
    sub = subscribe(world, issued.client, f"http://127.0.0.1:{port}/duban/events")
    with django_capture_on_commit_callbacks(execute=True):
        first = item_in_progress(world, title="事项甲", supporting_units=[world.env])
        second = item_in_progress(world, title="事项乙")
        services.progress_report_create(actor=world.edu_handler, item=first, progress_text="第二次进展", progress=80)
    expected = {
        first: [E.ITEM_CREATED, E.ITEM_ASSIGNED, E.ITEM_ACKNOWLEDGED, E.ITEM_ACKNOWLEDGED, E.REPORT_FILED, E.REPORT_FILED],
        second: [E.ITEM_CREATED, E.ITEM_ASSIGNED, E.ITEM_ACKNOWLEDGED, E.REPORT_FILED],
    }
    assert len(webhook_queue) == 10

    # Down: connection refused. Only the first event of each item is tried; the rest wait their turn.
    ran = 0
    for delivery_id in list(webhook_queue):
        webhook_queue.remove(delivery_id)
        try:
            deliver_webhook(delivery_id)
        except TransientDeliveryError:
            webhook_queue.append(delivery_id)
        ran += 1
    heads = list(WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED).order_by("pk"))
    assert [(h.item_id, h.event_type, h.attempts) for h in heads] == [
        (first.pk, E.ITEM_CREATED, 1),
        (second.pk, E.ITEM_CREATED, 1),
    ]
    assert "unreachable" in heads[0].last_error and heads[0].next_attempt_at > timezone.now()
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, attempts=0).count() == 8
    assert sorted(webhook_queue) == [h.pk for h in heads]
    WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED).update(next_attempt_at=timezone.now())  # time passes

    # Back on the same port, but answering 503 and 429 at first, then healthy.
    with VerifyingReceiver(port=port) as receiver:
        receiver.secret = sub.secret
        receiver.outage.extend([503, 429])
        drain()
    assert receiver.rejected == [] and receiver.duplicates == []
    for item, types in expected.items():
        assert types_for(receiver.accepted, item) == types
        rows = WebhookDelivery.objects.filter(item=item).order_by("pk")
        assert [e["id"] for e in receiver.accepted if e["item"]["id"] == item.pk] == [r.event_key for r in rows]
    assert len({e["delivery_id"] for e in receiver.accepted}) == 10
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert sorted(WebhookDelivery.objects.filter(event_type=E.ITEM_CREATED).values_list("attempts", flat=True)) == [3, 3]


def test_dead_letter_after_the_last_try_then_operator_replay_delivers(
    drain, world, settings, webhook_queue, django_capture_on_commit_callbacks
):
    settings.DUBAN_WEBHOOK_MAX_ATTEMPTS = 3
    issued = make_client(world)
    with VerifyingReceiver() as receiver:
        sub = subscribe(world, issued.client, receiver.url, [E.ITEM_CREATED, E.ITEM_ASSIGNED])
        receiver.secret = sub.secret
        receiver.always = 500
        with django_capture_on_commit_callbacks(execute=True):
            item = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
        created, assigned = WebhookDelivery.objects.order_by("pk")
        with django_capture_on_commit_callbacks(execute=True):
            drain()
        created.refresh_from_db()
        assigned.refresh_from_db()
        # The first dies after three tries; then the second gets its turn, and dies too.
        assert (created.status, created.attempts, created.last_response_status) == (DeliveryStatus.DEAD, 3, 500)
        assert (assigned.status, assigned.attempts) == (DeliveryStatus.DEAD, 3)
        assert len(receiver.raw) == 6 and receiver.accepted == []

        # The operator's dead-letter list and replay.
        office = client_for(world.office)
        dead = office.get("/api/v1/webhooks/deliveries/", {"status": "dead"}).json()
        assert [row["id"] for row in dead["results"]] == [assigned.pk, created.pk]  # newest failure first
        assert dead["results"][0]["delivery_id"] == str(assigned.delivery_id)
        assert_error(client_for(world.edu_handler).post(f"/api/v1/webhooks/deliveries/{created.pk}/replay/"), 403)
        assert_error(key_client(issued.key).post(f"/api/v1/webhooks/deliveries/{created.pk}/replay/"), 403, code="office_only")

        receiver.always = None
        webhook_queue.clear()
        with django_capture_on_commit_callbacks(execute=True):
            for row in (created, assigned):
                response = office.post(f"/api/v1/webhooks/deliveries/{row.pk}/replay/")
                assert response.status_code == 200, response.json()
                assert response.json()["status"] == "pending" and response.json()["replay_count"] == 1
        assert webhook_queue == [created.pk, assigned.pk]
        drain()
        assert_error(office.post(f"/api/v1/webhooks/deliveries/{created.pk}/replay/"), 409, code="delivery_not_dead")
    assert [e["delivery_id"] for e in receiver.accepted] == [str(created.delivery_id), str(assigned.delivery_id)]
    assert [e["type"] for e in receiver.accepted] == [E.ITEM_CREATED, E.ITEM_ASSIGNED]
    replayed = AuditEvent.objects.filter(action="webhook_delivery_replayed").order_by("seq")
    assert [(e.actor_id, e.item_id, e.data["status"]) for e in replayed] == [(world.office.pk, item.pk, "dead")] * 2


def test_client_errors_are_dead_at_once_and_let_the_next_event_through(
    drain, world, webhook_queue, django_capture_on_commit_callbacks
):
    issued = make_client(world)
    with VerifyingReceiver() as receiver:
        sub = subscribe(world, issued.client, receiver.url, [E.ITEM_CREATED, E.ITEM_ASSIGNED])
        receiver.secret = sub.secret
        receiver.outage.extend([410])  # "gone": retrying cannot help
        with django_capture_on_commit_callbacks(execute=True):
            make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
        with django_capture_on_commit_callbacks(execute=True):
            drain()
    created, assigned = WebhookDelivery.objects.order_by("pk")
    assert (created.status, created.attempts, created.last_response_status) == (DeliveryStatus.DEAD, 1, 410)
    assert assigned.status == DeliveryStatus.SENT
    assert [e["type"] for e in receiver.accepted] == [E.ITEM_ASSIGNED]


def test_redirects_are_not_followed(drain, world, webhook_queue, django_capture_on_commit_callbacks):
    issued = make_client(world)
    with VerifyingReceiver() as receiver:
        sub = subscribe(world, issued.client, receiver.url, [E.ITEM_CREATED])
        receiver.secret = sub.secret
        receiver.outage.extend([302])
        with django_capture_on_commit_callbacks(execute=True):
            make_item(ItemStatus.DRAFT, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
        drain()
    row = WebhookDelivery.objects.get()
    assert (row.status, row.last_response_status) == (DeliveryStatus.DEAD, 302)
    assert len(receiver.raw) == 1


def test_stuck_deliveries_are_requeued_only_when_it_is_their_turn(world, webhook_queue, django_capture_on_commit_callbacks):
    issued = make_client(world)
    subscribe(world, issued.client, "http://127.0.0.1:9/x", [E.ITEM_CREATED, E.ITEM_ASSIGNED])
    with django_capture_on_commit_callbacks(execute=True):
        make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    created, assigned = WebhookDelivery.objects.order_by("pk")
    webhook_queue.clear()  # the tasks were "lost"
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    WebhookDelivery.objects.update(next_attempt_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_stuck_webhooks() == 1
    assert webhook_queue == [created.pk]  # the second waits for the first
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_stuck_webhooks() == 0  # pushed forward: not re-queued again at once

    # A retry that arrives long before its row is due (a broker redelivery) sends nothing.
    later = timezone.now() + datetime.timedelta(hours=1)
    WebhookDelivery.objects.filter(pk=created.pk).update(status=DeliveryStatus.FAILED, attempts=1, next_attempt_at=later)
    assert deliver_webhook(created.pk) == DeliveryStatus.FAILED
    created.refresh_from_db()
    assert (created.attempts, created.next_attempt_at) == (1, later)


# ---------------------------------------------------------------------------------------------
# Events and who gets them


def test_a_client_never_gets_events_for_items_it_may_not_see(drain, world, webhook_queue, django_capture_on_commit_callbacks):
    low = make_client(world, "低密级OA", clearance=Classification.INTERNAL)
    high = make_client(world, "高密级OA", clearance=Classification.CONFIDENTIAL)
    with VerifyingReceiver() as low_rx, VerifyingReceiver() as high_rx:
        low_sub = subscribe(world, low.client, low_rx.url)
        high_sub = subscribe(world, high.client, high_rx.url)
        low_rx.secret, high_rx.secret = low_sub.secret, high_sub.secret
        with django_capture_on_commit_callbacks(execute=True):
            secret_item = make_item(
                ItemStatus.ASSIGNED,
                office=world.office,
                lead_unit=world.edu,
                owner=world.edu_head,
                classification=Classification.SECRET,
                title="涉密事项",
            )
            public_item = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
        assert not WebhookDelivery.objects.filter(subscription__client=low.client, item=secret_item).exists()
        # Reclassified after the event but before it was sent: the row is dead-lettered unsent.
        Item.objects.filter(pk=public_item.pk).update(classification=Classification.SECRET)
        drain()
    assert low_rx.raw == []
    assert {e["item"]["id"] for e in high_rx.accepted} == {secret_item.pk, public_item.pk}
    refused = WebhookDelivery.objects.filter(subscription__client=low.client)
    assert {(r.item_id, r.status) for r in refused} == {(public_item.pk, DeliveryStatus.DEAD)}
    assert "无权查看" in refused[0].last_error
    # Its own delivery list does not show the item any more either.
    assert key_client(low.key).get("/api/v1/webhooks/deliveries/").json()["count"] == 0
    assert key_client(high.key).get("/api/v1/webhooks/deliveries/").json()["count"] == 4


def test_disabled_client_or_subscription_gets_nothing(drain, world, webhook_queue, django_capture_on_commit_callbacks):
    issued = make_client(world)
    sub = subscribe(world, issued.client, "http://127.0.0.1:9/x", [E.ITEM_CREATED, E.ITEM_ASSIGNED])
    with django_capture_on_commit_callbacks(execute=True):
        item = make_item(ItemStatus.DRAFT, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    webhooks.webhook_subscription_update(actor=world.admin, subscription=sub.subscription, is_active=False)
    drain()
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.DEAD, 0, "订阅已停用。")
    integration_client_update(actor=world.admin, client=issued.client, is_active=False)
    webhooks.webhook_subscription_update(actor=world.admin, subscription=sub.subscription, is_active=True)
    services.item_assign(actor=world.office, item=item)
    assert WebhookDelivery.objects.count() == 1


def test_overdue_is_one_event_per_deadline_and_notices_one_per_visible_item(world, webhook_queue):
    issued = make_client(world, clearance=Classification.INTERNAL)
    subscribe(world, issued.client, "http://127.0.0.1:9/x", [E.ITEM_OVERDUE, E.NOTICE_ISSUED, E.ITEM_EXTENDED])
    item = item_in_progress(world, supporting_units=[world.env])
    past = timezone.localdate() - datetime.timedelta(days=5)
    Item.objects.filter(pk=item.pk).update(deadline=past, original_deadline=past)
    assert len(overdue_explanations_open(item=item)) == 2  # one per unit, each audited…
    assert overdue_explanations_open(item=item) == []
    overdue = WebhookDelivery.objects.get(event_type=E.ITEM_OVERDUE)  # …but one event
    assert overdue.event_key == f"item-{item.pk}-overdue-{past.isoformat()}"
    assert overdue.payload["item"]["light"] == "overdue" and overdue.payload["change"]["deadline"] == past.isoformat()
    # Publishing the same audit events again adds nothing; the constraint refuses a duplicate row outright.
    assert webhooks.webhook_events_publish(list(AuditEvent.objects.filter(item=item).order_by("seq"))) == []
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.create(
            subscription=overdue.subscription,
            event_type=E.ITEM_OVERDUE,
            event_key=overdue.event_key,
            audit_event=overdue.audit_event,
            item=item,
            payload={},
        )
    assert WebhookDelivery.objects.filter(event_type=E.ITEM_OVERDUE).count() == 1

    secret_item = make_item(
        ItemStatus.ASSIGNED, office=world.office, lead_unit=world.env, owner=world.env_head, classification=Classification.SECRET
    )
    other = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.env, owner=world.env_handler)
    plain = notice_create(
        actor=world.office,
        kind=NoticeKind.CRITICISM,
        title="关于落实不力的通报",
        body="现予通报。",
        entries=[(item, world.edu, "超期"), (other, world.env, "进展慢")],
    )
    notice_issue(actor=world.office, notice=plain)
    above = notice_create(
        actor=world.office,
        kind=NoticeKind.CRITICISM,
        title="涉密通报",
        body="现予通报。",
        entries=[(secret_item, world.env, "超期")],
    )
    notice_issue(actor=world.office, notice=above)
    rows = WebhookDelivery.objects.filter(event_type=E.NOTICE_ISSUED).order_by("pk")
    assert [r.item_id for r in rows] == [item.pk, other.pk]  # nothing about the notice above its clearance
    plain.refresh_from_db()
    assert rows[0].payload["notice"] == {
        "id": plain.pk,
        "number": plain.number,
        "kind": "criticism",
        "title": "关于落实不力的通报",
    }


def test_extension_closure_and_reopening_events(world, webhook_queue):
    issued = make_client(world)
    subscribe(world, issued.client, "http://127.0.0.1:9/x", [E.ITEM_EXTENDED, E.ITEM_CLOSED, E.ITEM_REOPENED])
    item = item_in_progress(world)
    new_deadline = item.deadline + datetime.timedelta(days=10)
    request = services.item_request_create(
        actor=world.edu_handler, item=item, kind="extension", reason="需要协调", requested_deadline=new_deadline
    )
    services.item_request_decide(actor=world.office, request=endorsed(request), approve=True, comment="同意")
    item = advance_item(item, ItemStatus.CLOSED, office=world.office)
    services.return_visit_create(actor=world.office, item=item, result="failed", findings="问题反弹")
    rows = list(WebhookDelivery.objects.order_by("pk"))
    assert [r.event_type for r in rows] == [E.ITEM_EXTENDED, E.ITEM_CLOSED, E.ITEM_REOPENED]
    assert rows[0].payload["change"]["deadline"] == new_deadline.isoformat()
    assert rows[1].payload["change"]["to"] == "closed" and rows[2].payload["change"]["to"] == "in_progress"


# ---------------------------------------------------------------------------------------------
# The subscription API


def test_subscription_api_for_the_client_itself(world, settings):
    settings.DUBAN_WEBHOOK_ALLOW_LOOPBACK = False
    issued = make_client(world)
    other = make_client(world, "另一OA")
    api = key_client(issued.key)
    response = api.post(
        "/api/v1/webhooks/subscriptions/",
        {"target_url": "https://oa.example.gov.cn/duban", "event_types": ["item.assigned", "item.closed"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["client"]["id"] == issued.client.pk
    sub = WebhookSubscription.objects.get(pk=created["id"])
    assert sub.secret == secret  # kept to sign…
    detail = api.get(f"/api/v1/webhooks/subscriptions/{sub.pk}/")
    assert "secret" not in detail.json() and secret not in detail.content.decode()  # …never returned again
    assert secret not in api.get("/api/v1/webhooks/subscriptions/").content.decode()
    event = AuditEvent.objects.get(action="webhook_subscription_created")
    assert event.actor_id == issued.client.user_id and secret not in json.dumps(event.data)

    patched = api.patch(f"/api/v1/webhooks/subscriptions/{sub.pk}/", {"event_types": ["notice.issued"]}, format="json")
    assert patched.status_code == 200 and patched.json()["event_types"] == ["notice.issued"]
    rotated = api.post(f"/api/v1/webhooks/subscriptions/{sub.pk}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] not in (secret, "")
    sub.refresh_from_db()
    assert sub.secret == rotated.json()["secret"] and sub.secret_rotated_at is not None

    # Another client's subscription does not exist for this one.
    theirs = subscribe(world, other.client, "https://other.example.gov.cn/hook").subscription
    assert [row["id"] for row in api.get("/api/v1/webhooks/subscriptions/").json()["results"]] == [sub.pk]
    assert_error(api.get(f"/api/v1/webhooks/subscriptions/{theirs.pk}/"), 404)
    assert_error(api.patch(f"/api/v1/webhooks/subscriptions/{theirs.pk}/", {"is_active": False}, format="json"), 404)
    assert_error(api.post(f"/api/v1/webhooks/subscriptions/{theirs.pk}/rotate-secret/"), 404)

    # Bad input: Chinese messages per field; refused targets.
    for body, field in (
        ({"target_url": "ftp://oa.example.gov.cn/x", "event_types": ["item.closed"]}, "target_url"),
        ({"target_url": "https://user:pw@oa.example.gov.cn/x", "event_types": ["item.closed"]}, "target_url"),
        ({"target_url": "http://127.0.0.1:8000/api/", "event_types": ["item.closed"]}, "target_url"),
        ({"target_url": "http://169.254.169.254/latest/meta-data", "event_types": ["item.closed"]}, "target_url"),
        ({"target_url": "https://oa.example.gov.cn/x", "event_types": ["item.exploded"]}, "event_types.0"),
        ({"target_url": "https://oa.example.gov.cn/x", "event_types": []}, "event_types"),
        ({"event_types": ["item.closed"]}, "target_url"),
    ):
        assert_error(api.post("/api/v1/webhooks/subscriptions/", body, format="json"), 400, field=field)
    assert WebhookSubscription.objects.filter(client=issued.client).count() == 1


def test_subscription_api_refuses_keys_without_webhooks_and_people(world):
    no_webhooks = make_client(world, "只读OA", operations=[IntegrationOperation.READ_LEDGER])
    api = key_client(no_webhooks.key)
    body = {"target_url": "https://oa.example.gov.cn/x", "event_types": ["item.closed"]}
    assert_error(api.get("/api/v1/webhooks/subscriptions/"), 403)
    assert_error(api.post("/api/v1/webhooks/subscriptions/", body, format="json"), 403)
    assert_error(api.get("/api/v1/webhooks/deliveries/"), 403)
    assert_error(client_for(world.office).post("/api/v1/webhooks/subscriptions/", body, format="json"), 403, code="client_only")
    assert client_for(world.office).get("/api/v1/webhooks/subscriptions/").json()["count"] == 0
    assert_error(client_for(world.edu_handler).get("/api/v1/webhooks/deliveries/"), 403)
    assert WebhookSubscription.objects.count() == 0


def test_a_client_lists_only_its_own_deliveries(world, webhook_queue):
    mine, theirs = make_client(world, "甲OA"), make_client(world, "乙OA")
    subscribe(world, mine.client, "http://127.0.0.1:9/a", [E.ITEM_CREATED])
    subscribe(world, theirs.client, "http://127.0.0.1:9/b", [E.ITEM_CREATED, E.ITEM_ASSIGNED])
    make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    rows = key_client(mine.key).get("/api/v1/webhooks/deliveries/").json()["results"]
    assert [(r["client"]["id"], r["event_type"]) for r in rows] == [(mine.client.pk, E.ITEM_CREATED)]
    other_row = WebhookDelivery.objects.filter(subscription__client=theirs.client).first()
    assert_error(key_client(mine.key).get(f"/api/v1/webhooks/deliveries/{other_row.pk}/"), 404)
    assert client_for(world.office).get("/api/v1/webhooks/deliveries/").json()["count"] == 3


def readme_receiver_example() -> dict:
    """The Python example of the README's "Webhook 事件 / Webhooks" section, executed."""
    from pathlib import Path

    from django.conf import settings as django_settings

    readme = (Path(django_settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Webhook 事件 / Webhooks", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def test_readme_example_verifies_a_real_delivery_and_rejects_forgeries(
    drain, world, webhook_queue, django_capture_on_commit_callbacks
):
    example = readme_receiver_example()
    issued = make_client(world)
    with VerifyingReceiver() as receiver:
        sub = subscribe(world, issued.client, receiver.url, [E.ITEM_CREATED])
        receiver.secret = sub.secret
        with django_capture_on_commit_callbacks(execute=True):
            make_item(ItemStatus.DRAFT, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
        drain()
    headers, body = receiver.raw[0]
    example["SECRET"] = sub.secret
    assert example["receive"](headers, body) == 200
    assert example["processed"] == {str(WebhookDelivery.objects.get().delivery_id)}
    assert example["receive"](headers, body) == 200 and len(example["processed"]) == 1  # a repeat is not processed twice
    assert example["receive"](headers, body.replace(b'"item.created"', b'"item.closed"')) == 401
    old = str(int(time.time()) - 301)
    assert (
        example["receive"](
            {**headers, "X-Duban-Timestamp": old, "X-Duban-Signature": webhook_signature(sub.secret, old, body)}, body
        )
        == 401
    )
    example["SECRET"] = "whsec_wrong"
    assert example["receive"](headers, body) == 401


# ---------------------------------------------------------------------------------------------
# With a real Celery worker (embedded, solo pool) consuming from real Redis (this checkout's db,
# a queue of its own), retries by countdown, the next event queued when the previous one settles.


@pytest.fixture
def webhook_worker(settings):
    import uuid

    import redis
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    from config.celery import app

    assert not app.conf.task_always_eager

    def close_connections(**kwargs):
        connections.close_all()  # the worker thread's connection must not outlive the test DB

    task_postrun.connect(close_connections, weak=False, dispatch_uid="webhook-test-close")
    broker = settings.REDIS_URL if getattr(settings, "REDIS_URL", "") else "redis://127.0.0.1:6379/6"
    queue = f"duban-webhook-test-{uuid.uuid4().hex[:12]}"
    saved = {key: app.conf[key] for key in ("broker_url", "task_default_queue", "worker_hijack_root_logger")}
    app.conf.update(broker_url=broker, task_default_queue=queue, worker_hijack_root_logger=False)
    app._pool = None
    app.__dict__.pop("amqp", None)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30, loglevel="WARNING"):
            yield app
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
        redis.Redis.from_url(broker).delete(f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        app.conf.update(saved)
        app._pool = None
        app.__dict__.pop("amqp", None)
        task_postrun.disconnect(dispatch_uid="webhook-test-close")


@pytest.mark.django_db(transaction=True)
@pytest.mark.real_worker
def test_real_worker_delivers_every_event_in_order_after_an_outage(world, settings, webhook_worker):
    settings.DUBAN_DELIVERY_RETRY_BASE_SECONDS = 1  # retries after 0.5–1 s, 1–2 s, …
    issued = make_client(world)
    with VerifyingReceiver() as receiver:
        sub = subscribe(
            world, issued.client, receiver.url, [E.ITEM_CREATED, E.ITEM_ASSIGNED, E.ITEM_ACKNOWLEDGED, E.REPORT_FILED]
        )
        receiver.secret = sub.secret
        receiver.outage.extend([503, 503, 503])
        first = item_in_progress(world, title="事项甲")
        second = item_in_progress(world, title="事项乙")
        deadline = time.monotonic() + 90
        while WebhookDelivery.objects.exclude(status=DeliveryStatus.SENT).exists():
            assert time.monotonic() < deadline, list(
                WebhookDelivery.objects.values_list("pk", "status", "attempts", "last_error")
            )
            time.sleep(0.1)
    order = [E.ITEM_CREATED, E.ITEM_ASSIGNED, E.ITEM_ACKNOWLEDGED, E.REPORT_FILED]
    assert types_for(receiver.accepted, first) == order and types_for(receiver.accepted, second) == order
    assert receiver.rejected == [] and len(receiver.accepted) == 8
    assert max(WebhookDelivery.objects.values_list("attempts", flat=True)) >= 2  # the outage was retried


# ---------------------------------------------------------------------------------------------
# The admin


def test_admin_creates_with_the_secret_shown_once_and_replays_dead_letters(
    settings, world, webhook_queue, django_capture_on_commit_callbacks
):
    from django.contrib.messages import get_messages
    from django.test import Client

    settings.DUBAN_WEBHOOK_ALLOW_LOOPBACK = False
    issued = make_client(world)
    browser = Client()
    browser.force_login(world.admin)
    response = browser.post(
        "/admin/tasks/webhooksubscription/add/",
        {
            "client": issued.client.pk,
            "target_url": "https://oa.example.gov.cn/duban",
            "event_types": ["item.created"],
            "description": "县委办OA",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    sub = WebhookSubscription.objects.get()
    assert any(sub.secret in str(m) for m in get_messages(response.wsgi_request))
    assert sub.secret in browser.get(response["Location"]).content.decode()  # the message, displayed once…
    assert sub.secret not in browser.get(f"/admin/tasks/webhooksubscription/{sub.pk}/change/").content.decode()  # …then never
    assert AuditEvent.objects.filter(action="webhook_subscription_created", actor=world.admin).count() == 1
    refused = browser.post(
        "/admin/tasks/webhooksubscription/add/",
        {"client": issued.client.pk, "target_url": "http://169.254.169.254/", "event_types": ["item.created"]},
    )
    assert refused.status_code == 200 and "保留地址" in refused.content.decode()  # shown on the form, nothing saved
    assert WebhookSubscription.objects.count() == 1

    make_item(ItemStatus.DRAFT, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    row = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.DEAD, attempts=12, last_error="HTTP 500")
    webhook_queue.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/admin/tasks/webhookdelivery/", {"action": "replay", "_selected_action": [row.pk]}, follow=True)
    assert response.status_code == 200
    row.refresh_from_db()
    assert (row.status, row.attempts, row.replay_count) == (DeliveryStatus.PENDING, 0, 1)
    assert webhook_queue == [row.pk]
    assert AuditEvent.objects.filter(action="webhook_delivery_replayed", actor=world.admin).count() == 1


def test_delivery_list_filters_refuse_nonsense_with_400(world):
    office = client_for(world.office)
    assert_error(office.get("/api/v1/webhooks/deliveries/", {"item": str(2**70)}), 400, field="item")
    assert_error(office.get("/api/v1/webhooks/deliveries/", {"status": "lost"}), 400, field="status")
    assert office.get("/api/v1/webhooks/deliveries/", {"status": "dead", "event_type": "item.closed"}).json()["count"] == 0


def test_bulk_audited_changes_publish_too(world, webhook_queue, django_capture_on_commit_callbacks):
    """audit_record_many (the Excel import's bulk path) goes through the same hook as audit_record."""
    from supervision.audit import PendingEvent, audit_record_many

    issued = make_client(world)
    subscribe(world, issued.client, "http://127.0.0.1:9/x", [E.ITEM_CREATED])
    items = [make_item(ItemStatus.DRAFT, office=world.office, lead_unit=world.edu, owner=world.edu_handler) for _ in range(2)]
    before = WebhookDelivery.objects.count()
    webhook_queue.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events = audit_record_many(
            actor=world.office,
            events=[
                PendingEvent(action="item_created", object_type="item", object_id=i.pk, item_id=i.pk, to_status="draft")
                for i in items
            ],
        )
    rows = list(WebhookDelivery.objects.order_by("pk")[before:])
    assert [(r.audit_event_id, r.item_id) for r in rows] == [(e.seq, i.pk) for e, i in zip(events, items, strict=True)]
    assert webhook_queue == [r.pk for r in rows]


def test_events_on_an_instruction_pushed_in_by_the_client_carry_its_own_external_id(
    drain, world, webhook_queue, django_capture_on_commit_callbacks
):
    """An OA system that pushed an instruction in (OA intake) matches our events to its records."""
    from tests.supervision.exchange.test_intake import push_body

    issued = make_client(world, operations=(IntegrationOperation.WEBHOOKS, IntegrationOperation.INTAKE))
    with VerifyingReceiver() as receiver:
        sub = subscribe(world, issued.client, receiver.url, [E.ITEM_CREATED, E.ITEM_ASSIGNED])
        receiver.secret = sub.secret
        with django_capture_on_commit_callbacks(execute=True):
            response = key_client(issued.key).post("/api/v1/intake/instructions/", push_body(world), format="json")
        assert response.status_code == 201, response.content
        drain()
    assert receiver.rejected == []
    assert [e["type"] for e in receiver.accepted] == [E.ITEM_CREATED, E.ITEM_CREATED, E.ITEM_ASSIGNED]
    assert {e["instruction"]["external_id"] for e in receiver.accepted} == {"OA-2026-0815"}
