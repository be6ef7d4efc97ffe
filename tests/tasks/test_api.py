"""The inbox and the delivery (dead-letter) API: own messages only, the error shape, operators only."""

from __future__ import annotations

import pytest

from tasks.choices import Channel, DeliveryStatus
from tasks.models import Delivery, Notification
from tasks.outbox import notifications
from tests.api_helpers import assert_error, client_for
from tests.tasks.conftest import reachable_user

pytestmark = pytest.mark.django_db


def send(users, key, title="催办：请按时反馈进展"):
    return notifications.notification_send(recipients=users, title=title, body="请于今日反馈。", kind="reminder", dedup_key=key)


@pytest.fixture
def inbox(world):
    """edu_handler has three messages, env_handler one."""
    for n in range(3):
        send([world.edu_handler], f"k{n}", title=f"催办{n}")
    send([world.env_handler], "k0", title="环保局的催办")
    return world


def test_inbox_lists_only_own_messages(inbox):
    body = client_for(inbox.edu_handler).get("/api/v1/inbox/").json()
    assert body["count"] == 3
    assert {r["title"] for r in body["results"]} == {"催办0", "催办1", "催办2"}
    assert set(body["results"][0]) == {"id", "kind", "title", "body", "item", "created_at", "read_at", "is_read"}
    assert client_for(inbox.office).get("/api/v1/inbox/").json()["count"] == 0


def test_someone_elses_message_is_not_found(inbox):
    other = Notification.objects.get(recipient=inbox.env_handler)
    client = client_for(inbox.edu_handler)
    assert_error(client.get(f"/api/v1/inbox/{other.pk}/"), 404, code="not_found")
    assert_error(client.post(f"/api/v1/inbox/{other.pk}/read/"), 404, code="not_found")
    other.refresh_from_db()
    assert other.read_at is None


def test_read_unread_filter_and_count(inbox):
    client = client_for(inbox.edu_handler)
    assert client.get("/api/v1/inbox/unread-count/").json() == {"unread": 3}
    target = Notification.objects.filter(recipient=inbox.edu_handler).first()

    response = client.post(f"/api/v1/inbox/{target.pk}/read/")
    assert response.status_code == 200 and response.json()["is_read"] is True
    first_read = response.json()["read_at"]
    assert client.post(f"/api/v1/inbox/{target.pk}/read/").json()["read_at"] == first_read  # idempotent

    assert client.get("/api/v1/inbox/unread-count/").json() == {"unread": 2}
    unread = client.get("/api/v1/inbox/?unread=true").json()
    assert unread["count"] == 2 and target.pk not in {r["id"] for r in unread["results"]}
    assert [r["id"] for r in client.get("/api/v1/inbox/?unread=false").json()["results"]] == [target.pk]

    assert client.post("/api/v1/inbox/read-all/").json() == {"marked": 2}
    assert client.get("/api/v1/inbox/unread-count/").json() == {"unread": 0}
    # Nobody else's messages were touched.
    assert client_for(inbox.env_handler).get("/api/v1/inbox/unread-count/").json() == {"unread": 1}


def test_inbox_requires_sign_in(world):
    assert_error(client_for(None).get("/api/v1/inbox/"), 401)


@pytest.fixture
def dead_letter(world):
    alice = reachable_user("alice", unit=world.edu)
    send([alice], "dl")
    sms = Delivery.objects.get(notification__recipient=alice, channel=Channel.SMS)
    Delivery.objects.filter(pk=sms.pk).update(
        status=DeliveryStatus.DEAD, attempts=5, last_error="TransientDeliveryError: 网关超时"
    )
    world.alice, world.dead = alice, sms
    return world


def test_office_sees_the_dead_letter_list(dead_letter):
    w = dead_letter
    body = client_for(w.office).get("/api/v1/deliveries/?status=dead").json()
    assert body["count"] == 1
    [row] = body["results"]
    assert row["id"] == w.dead.pk and row["channel"] == "sms" and row["channel_display"] == "短信"
    assert row["status_display"] == "失败待处理" and row["attempts"] == 5 and "网关超时" in row["last_error"]
    assert row["recipient"]["username"] == "alice"
    assert client_for(w.admin).get("/api/v1/deliveries/").json()["count"] == 3  # inbox, email, sms


@pytest.mark.parametrize("who", ["edu_handler", "leader", "discipline"])
def test_others_may_not_see_or_resend_deliveries(dead_letter, who):
    client = client_for(getattr(dead_letter, who))
    assert_error(client.get("/api/v1/deliveries/?status=dead"), 403, code="office_only")
    assert_error(client.post(f"/api/v1/deliveries/{dead_letter.dead.pk}/resend/"), 403, code="office_only")
    dead_letter.dead.refresh_from_db()
    assert dead_letter.dead.status == DeliveryStatus.DEAD


def test_office_resends_over_the_api(dead_letter, queued, django_capture_on_commit_callbacks):
    w = dead_letter
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(w.office).post(f"/api/v1/deliveries/{w.dead.pk}/resend/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "pending" and response.json()["attempts"] == 0
    assert queued == [w.dead.pk]
    # Sent deliveries are not re-sent: the state forbids it.
    inbox = Delivery.objects.get(notification__recipient=w.alice, channel=Channel.INBOX)
    assert_error(client_for(w.office).post(f"/api/v1/deliveries/{inbox.pk}/resend/"), 409, code="delivery_not_failed")
    assert_error(client_for(w.office).post("/api/v1/deliveries/999999/resend/"), 404)


def test_deliveries_about_items_above_clearance_are_hidden(dead_letter):
    from accounts.choices import Classification
    from tests.factories import make_item

    w = dead_letter
    item = make_item(office=w.office, lead_unit=w.edu, owner=w.edu_head, classification=Classification.SECRET)
    notifications.notification_send(recipients=[w.alice], title="涉密催办", kind="reminder", dedup_key="secret", item=item)
    assert client_for(w.office).get("/api/v1/deliveries/").json()["count"] == 6
    assert client_for(w.office_low).get("/api/v1/deliveries/").json()["count"] == 3


def test_schema_documents_the_outbox(db):
    from django.test import Client

    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in (
        "/api/v1/inbox/",
        "/api/v1/inbox/{id}/read/",
        "/api/v1/inbox/read-all/",
        "/api/v1/inbox/unread-count/",
        "/api/v1/deliveries/",
        "/api/v1/deliveries/{id}/resend/",
    ):
        assert path in schema["paths"], path
    params = {p["name"] for p in schema["paths"]["/api/v1/deliveries/"]["get"]["parameters"]}
    assert {"status", "channel", "page"} <= params
