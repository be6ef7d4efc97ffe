"""One digest a day (issue 15): digested messages wait for the person's one digest per channel and
working day, made once the office's time has come; two runs make one; urgent messages are never
digested; the office's policy bounds the person's choice. Times are explicit; nothing sleeps."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.choices import Classification
from supervision.choices import ItemStatus
from supervision.errors import InvalidInput, NotPermitted
from supervision.models import AuditEvent
from tasks.choices import Channel, DeliveryMode, DeliveryStatus
from tasks.models import ChannelPolicy, Delivery, Digest, DigestSetting, NotificationPreference
from tasks.outbox import digests, notifications, preferences
from tests.factories import make_item
from tests.tasks.conftest import reachable_user

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 12, 7)
TUESDAY = MONDAY + datetime.timedelta(days=1)
SATURDAY = datetime.date(2026, 12, 5)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def send(user, key, *, now, **kwargs):
    kwargs.setdefault("title", f"催办：{key}")
    kwargs.setdefault("kind", "reminder")
    return notifications.notification_send(recipients=[user], dedup_key=key, now=now, **kwargs)


@pytest.fixture
def alice(world):
    user = reachable_user("alice", unit=world.edu)
    user.clearance = Classification.SECRET
    user.save(update_fields=["clearance"])
    NotificationPreference.objects.create(user=user, channel=Channel.EMAIL, mode=DeliveryMode.DIGEST)
    return user


def test_digested_messages_wait_and_the_day_makes_one_digest_even_with_two_runs(
    world, alice, queued, django_capture_on_commit_callbacks
):
    DigestSetting.objects.create(send_time=datetime.time(8, 30))
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=alice, title="城北河道整治")
    secret = make_item(
        ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=alice, classification=Classification.SECRET
    )
    # The assignment hand-offs (supervision/services/handoffs.py) are not what this test counts.
    from tasks.models import Notification

    Notification.objects.filter(dedup_key__startswith="handoff:").delete()
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        send(alice, "r1", now=at(MONDAY, 10), item=item)
        send(alice, "r2", now=at(MONDAY, 11))
    email = Delivery.objects.exclude(notification__dedup_key__startswith="handoff:").filter(
        notification__recipient=alice, channel=Channel.EMAIL
    )
    assert set(email.values_list("status", flat=True)) == {DeliveryStatus.DIGESTED}
    sms = Delivery.objects.exclude(notification__dedup_key__startswith="handoff:").filter(
        notification__recipient=alice, channel=Channel.SMS
    )
    assert set(sms.values_list("status", flat=True)) == {DeliveryStatus.PENDING}  # SMS stays immediate
    assert sorted(queued) == sorted(sms.values_list("pk", flat=True))

    assert digests.digests_make_due(now=at(TUESDAY, 8, 29)) == []  # before the office's time
    with django_capture_on_commit_callbacks(execute=True):
        made = digests.digests_make_due(now=at(TUESDAY, 8, 30))
        again = digests.digests_make_due(now=at(TUESDAY, 8, 31))  # a second beat
    assert len(made) == 1 and again == []
    digest = Digest.objects.get()
    assert (digest.recipient, digest.channel, digest.workday) == (alice, Channel.EMAIL, TUESDAY)
    assert set(email.values_list("digest", flat=True)) == {digest.pk}
    assert "新消息 2 条" in digest.title
    assert f"/items/{item.pk}/" in digest.body and "城北河道整治" in digest.body
    assert "[绿灯]" in digest.body  # the owed item with its light
    assert secret.title not in digest.body and "涉密事项" in digest.body  # rule 13 over email
    assert {o["item_id"] for o in digest.payload["owed_items"]} == {item.pk, secret.pk}

    # The unique constraint is the guarantee, whoever inserts.
    with pytest.raises(IntegrityError), transaction.atomic():
        Digest.objects.create(recipient=alice, channel=Channel.EMAIL, workday=TUESDAY, title="x", body="x")

    # Sent through the outbox machinery, once.
    mail.outbox.clear()
    digests.digest_attempt(delivery_id=digest.pk)
    digests.digest_attempt(delivery_id=digest.pk)
    digest.refresh_from_db()
    assert digest.status == DeliveryStatus.SENT and len(mail.outbox) == 1
    assert mail.outbox[0].subject == digest.title
    assert mail.outbox[0].extra_headers["Message-ID"].startswith(f"<duban-digest-{digest.pk}@")


def test_a_message_after_the_days_digest_waits_for_the_next_working_day(world, alice):
    send(alice, "r1", now=at(MONDAY, 7))
    assert len(digests.digests_make_due(now=at(MONDAY, 9))) == 1
    send(alice, "r2", now=at(MONDAY, 10))
    assert digests.digests_make_due(now=at(MONDAY, 16)) == []
    assert digests.digests_make_due(now=at(SATURDAY + datetime.timedelta(days=7), 9)) == []  # a rest day
    assert len(digests.digests_make_due(now=at(TUESDAY, 9))) == 1
    assert list(Digest.objects.order_by("workday").values_list("workday", flat=True)) == [MONDAY, TUESDAY]
    late = Delivery.objects.get(notification__dedup_key="r2", channel=Channel.EMAIL)
    assert late.digest.workday == TUESDAY


def test_nothing_waiting_makes_no_digest(world, alice):
    send(alice, "urgent", now=at(MONDAY, 10), urgent=True)
    assert digests.digests_make_due(now=at(TUESDAY, 9)) == []
    assert not Digest.objects.exists()


def test_urgent_messages_and_items_due_today_are_not_digested(world, alice):
    due_today = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=alice, deadline=MONDAY)
    send(alice, "urgent", now=at(MONDAY, 10), urgent=True)
    send(alice, "today", now=at(MONDAY, 10), item=due_today)
    email = Delivery.objects.exclude(notification__dedup_key__startswith="handoff:").filter(
        notification__recipient=alice, channel=Channel.EMAIL
    )
    assert set(email.values_list("status", flat=True)) == {DeliveryStatus.PENDING}


def test_the_office_policy_bounds_the_persons_choice(world, alice):
    bob = reachable_user("bob", unit=world.edu)
    # The office decides e-mail for everyone: digest; alice's own choice no longer counts, and bob's default is digest.
    ChannelPolicy.objects.create(channel=Channel.SMS, default_mode=DeliveryMode.DIGEST, person_may_choose=False)
    NotificationPreference.objects.create(user=bob, channel=Channel.SMS, mode=DeliveryMode.IMMEDIATE)
    ChannelPolicy.objects.create(channel=Channel.EMAIL, default_mode=DeliveryMode.IMMEDIATE, person_may_choose=True)
    send(alice, "r1", now=at(MONDAY, 10))
    send(bob, "r1", now=at(MONDAY, 10))
    status = dict(
        ((d.notification.recipient.username, d.channel), d.status)
        for d in Delivery.objects.select_related("notification__recipient").exclude(channel=Channel.INBOX)
    )
    assert status == {
        ("alice", "email"): DeliveryStatus.DIGESTED,  # her choice, allowed
        ("alice", "sms"): DeliveryStatus.DIGESTED,  # the office's rule
        ("bob", "email"): DeliveryStatus.PENDING,  # the default
        ("bob", "sms"): DeliveryStatus.DIGESTED,  # his "immediate" is outside what the office allows
    }


def test_preferences_service_refuses_what_the_office_decides(world, alice):
    ChannelPolicy.objects.create(channel=Channel.SMS, default_mode=DeliveryMode.DIGEST, person_may_choose=False)
    with pytest.raises(InvalidInput) as refused:
        preferences.notification_preferences_set(actor=alice, user=alice, modes={"sms": "immediate"})
    assert "督查室统一设置" in refused.value.fields["sms"][0]
    with pytest.raises(InvalidInput):
        preferences.notification_preferences_set(actor=alice, user=alice, modes={"inbox": "digest"})
    with pytest.raises(NotPermitted):
        preferences.notification_preferences_set(actor=world.office, user=alice, modes={"email": "immediate"})
    result = preferences.notification_preferences_set(actor=alice, user=alice, modes={"email": "immediate", "wecom": "digest"})
    modes = {c.channel: (c.mode, c.may_choose) for c in result}
    assert modes["email"] == ("immediate", True) and modes["wecom"] == ("digest", True) and modes["sms"] == ("digest", False)
    event = AuditEvent.objects.filter(action="notification_preferences_changed").get()
    assert event.data["after"]["wecom"] == "digest" and event.actor == alice


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_the_same_moment_make_one_digest(world, alice):
    import threading

    from django.db import connection

    for n in range(3):
        send(alice, f"r{n}", now=at(MONDAY, 10))
    barrier = threading.Barrier(2)
    results: list[list[int]] = []

    def beat():
        try:
            barrier.wait()
            results.append(digests.digests_make_due(now=at(TUESDAY, 9)))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in results) == [0, 1]
    digest = Digest.objects.get()
    assert Delivery.objects.filter(digest=digest).count() == 3


# ---------------------------------------------------------------------------------------------
# The API: GET/PUT /api/v1/me/notification-preferences/


def test_preferences_api_reads_and_sets_own_modes(world):
    from tests.api_helpers import assert_error, client_for

    ChannelPolicy.objects.create(channel=Channel.SMS, default_mode=DeliveryMode.DIGEST, person_may_choose=False)
    DigestSetting.objects.create(send_time=datetime.time(9, 15))
    client = client_for(world.edu_handler)
    body = client.get("/api/v1/me/notification-preferences/").json()
    assert body["digest_time"] == "09:15"
    sms = next(c for c in body["channels"] if c["channel"] == "sms")
    assert (sms["mode"], sms["may_choose"], sms["channel_label"]) == ("digest", False, "短信")

    response = client.put("/api/v1/me/notification-preferences/", {"modes": {"email": "digest"}}, format="json")
    assert response.status_code == 200
    email = next(c for c in response.json()["channels"] if c["channel"] == "email")
    assert (email["mode"], email["chosen"]) == ("digest", "digest")
    assert NotificationPreference.objects.get(user=world.edu_handler, channel="email").mode == "digest"

    refused = client.put("/api/v1/me/notification-preferences/", {"modes": {"sms": "immediate"}}, format="json")
    assert_error(refused, 400, field="sms")
    assert_error(
        client.put("/api/v1/me/notification-preferences/", {"modes": {"email": "often"}}, format="json"), 400, field="email"
    )
    assert_error(client_for(None).get("/api/v1/me/notification-preferences/"), 401)


def test_the_office_sets_the_digest_time_in_the_admin_audited(world, client):
    client.force_login(world.admin)
    response = client.post("/admin/tasks/digestsetting/add/", {"send_time": "07:45"})
    assert response.status_code == 302, response.content[:500]
    assert DigestSetting.current().send_time == datetime.time(7, 45)
    assert AuditEvent.objects.filter(action="messaging_setting_changed", actor=world.admin).exists()
    response = client.post(
        "/admin/tasks/channelpolicy/add/", {"channel": "sms", "default_mode": "digest", "person_may_choose": ""}
    )
    assert response.status_code == 302
    assert ChannelPolicy.objects.get(channel="sms").person_may_choose is False
    for page in ("digestsetting", "channelpolicy", "notificationpreference", "digest"):
        assert client.get(f"/admin/tasks/{page}/").status_code == 200
    with pytest.raises(NotPermitted):
        preferences.messaging_setting_save(actor=world.edu_handler, setting=DigestSetting.current())


def test_a_message_about_an_item_the_person_can_no_longer_see_is_left_out(world, alice):
    from supervision.models import Item

    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=alice, title="县城北片区改造")
    send(alice, "r1", now=at(MONDAY, 10), item=item)
    send(alice, "r2", now=at(MONDAY, 10))
    Item.objects.filter(pk=item.pk).update(classification=Classification.CONFIDENTIAL)  # above alice's 秘密
    [digest_id] = digests.digests_make_due(now=at(TUESDAY, 9))
    digest = Digest.objects.get(pk=digest_id)
    assert "县城北片区改造" not in digest.body and f"/items/{item.pk}/" not in digest.body
    assert len(digest.payload["messages"]) == 1 and digest.payload["owed_items"] == []
