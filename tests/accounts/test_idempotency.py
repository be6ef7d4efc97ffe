"""Idempotency-Key on every POST: replay of the stored answer, refusal of a reused or busy key,
nothing kept from a crash, expiry and the hourly purge. The guarantee is the unique constraint
(user, key) in PostgreSQL, so the busy-key test uses real threads and connections."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.db import connection, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.choices import Classification, IntegrationOperation
from accounts.idempotency import REPLAYED_HEADER, idempotency_keys_purge, request_digest
from accounts.models import IdempotencyKey
from supervision import services
from supervision.choices import ItemStatus
from supervision.models import Attachment, Item, ProgressReport
from supervision.services import integration_client_create
from tasks.housekeeping import purge_expired_idempotency_keys
from tests.api_helpers import assert_error, client_for
from tests.factories import audit_mark, make_item, new_events

REPORT = {"progress_text": "已完成校园周边排查", "progress": 40}


def report_url(item) -> str:
    return reverse("item-reports", args=[item.pk])


def ack_url(item) -> str:
    return reverse("item-acknowledge", args=[item.pk])


@pytest.fixture
def acknowledged(world):
    return make_item(ItemStatus.ACKNOWLEDGED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)


@pytest.fixture
def assigned(world):
    return make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)


@pytest.mark.django_db
def test_a_repeated_progress_report_is_replayed_not_filed_twice(world, acknowledged):
    api = client_for(world.edu_handler)
    mark = audit_mark()

    first = api.post(report_url(acknowledged), REPORT, format="json", HTTP_IDEMPOTENCY_KEY="rpt-0001")
    again = api.post(report_url(acknowledged), REPORT, format="json", HTTP_IDEMPOTENCY_KEY="rpt-0001")

    assert first.status_code == 201 and REPLAYED_HEADER not in first
    assert again.status_code == 201 and again[REPLAYED_HEADER] == "true"
    assert again.content == first.content and again["Content-Type"] == first["Content-Type"]
    assert ProgressReport.objects.filter(item=acknowledged).count() == 1
    assert [e.action for e in new_events(mark)] == ["report_filed"]
    # Without the key the same body is a second report: the key is what makes a retry safe.
    assert api.post(report_url(acknowledged), REPORT, format="json").status_code == 201
    assert ProgressReport.objects.filter(item=acknowledged).count() == 2


@pytest.mark.django_db
def test_a_repeated_acknowledgement_gets_the_first_answer_and_one_audit_event(world, assigned):
    api = client_for(world.edu_handler)
    mark = audit_mark()

    first = api.post(ack_url(assigned), {"comment": "已签收"}, format="json", HTTP_IDEMPOTENCY_KEY="ack-1")
    replayed = api.post(ack_url(assigned), {"comment": "已签收"}, format="json", HTTP_IDEMPOTENCY_KEY="ack-1")

    assert first.status_code == 200 and first.json()["status"] == "acknowledged"
    assert replayed.status_code == 200 and replayed[REPLAYED_HEADER] == "true"
    assert replayed.json() == first.json() and replayed["ETag"] == first["ETag"]
    assert [e.action for e in new_events(mark)] == ["item_acknowledged"]
    # Run again for real (no key) it would be refused: the replay did not run the view.
    assert_error(api.post(ack_url(assigned), {"comment": "已签收"}, format="json"), 409, code="already_acknowledged")


@pytest.mark.django_db
def test_a_key_reused_for_another_request_is_refused(world, acknowledged):
    api = client_for(world.edu_handler)
    assert api.post(report_url(acknowledged), REPORT, format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    mark = audit_mark()

    other_body = api.post(report_url(acknowledged), {**REPORT, "progress": 60}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other_path = api.post(ack_url(acknowledged), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    body = assert_error(other_body, 409, code="idempotency_key_reused")
    assert "/reports/" in body["detail"]
    assert_error(other_path, 409, code="idempotency_key_reused")
    assert ProgressReport.objects.filter(item=acknowledged).count() == 1 and new_events(mark) == []
    assert Item.objects.get(pk=acknowledged.pk).progress == 40
    # The same JSON with its keys in another order is the same request.
    reordered = '{"progress": 40, "progress_text": "已完成校园周边排查"}'
    same = api.post(report_url(acknowledged), reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert same.status_code == 201 and same[REPLAYED_HEADER] == "true"


@pytest.mark.django_db
def test_client_errors_are_stored_and_replayed(world, acknowledged):
    api = client_for(world.edu_handler)
    bad = {"progress_text": "", "progress": 140}

    first = api.post(report_url(acknowledged), bad, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    again = api.post(report_url(acknowledged), bad, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")

    assert_error(first, 400, field="progress_text")
    assert again.status_code == 400 and again[REPLAYED_HEADER] == "true" and again.json() == first.json()
    # A domain refusal (403: not a unit of the item) is an answer too.
    outsider = client_for(world.env_handler)
    refused = outsider.post(ack_url(acknowledged), {}, format="json", HTTP_IDEMPOTENCY_KEY="ack-x")
    assert refused.status_code in (403, 404)
    replay = outsider.post(ack_url(acknowledged), {}, format="json", HTTP_IDEMPOTENCY_KEY="ack-x")
    assert replay.status_code == refused.status_code and replay[REPLAYED_HEADER] == "true"
    assert IdempotencyKey.objects.filter(key__in=["bad-1", "ack-x"], status="completed").count() == 2


@pytest.mark.django_db
def test_keys_belong_to_their_principal(world, acknowledged):
    """The same key string from two users is two keys; an OA system's key is its service account's."""
    edu = client_for(world.edu_handler)
    head = client_for(world.edu_head)
    assert edu.post(report_url(acknowledged), REPORT, format="json", HTTP_IDEMPOTENCY_KEY="shared").status_code == 201
    second = head.post(report_url(acknowledged), REPORT, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert second.status_code == 201 and REPLAYED_HEADER not in second
    assert ProgressReport.objects.filter(item=acknowledged).count() == 2
    assert set(IdempotencyKey.objects.filter(key="shared").values_list("user_id", flat=True)) == {
        world.edu_handler.pk,
        world.edu_head.pk,
    }


@pytest.mark.django_db
def test_an_unexpected_error_keeps_nothing_and_the_client_may_retry(world, assigned, monkeypatch):
    """A crash after the service wrote is rolled back with the key, so the retry runs for real."""
    real_acknowledge = services.item_acknowledge

    def acknowledge_then_crash(**kwargs):
        real_acknowledge(**kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "item_acknowledge", acknowledge_then_crash)
    api = client_for(world.edu_handler)
    mark = audit_mark()
    with pytest.raises(RuntimeError):
        api.post(ack_url(assigned), {}, format="json", HTTP_IDEMPOTENCY_KEY="crash-1")
    assert not IdempotencyKey.objects.filter(key="crash-1").exists()
    assert Item.objects.get(pk=assigned.pk).status == ItemStatus.ASSIGNED and new_events(mark) == []

    monkeypatch.setattr(services, "item_acknowledge", real_acknowledge)
    retry = api.post(ack_url(assigned), {}, format="json", HTTP_IDEMPOTENCY_KEY="crash-1")
    assert retry.status_code == 200 and REPLAYED_HEADER not in retry
    assert [e.action for e in new_events(mark)] == ["item_acknowledged"]


@pytest.mark.django_db
def test_uploads_are_keyed_by_content_not_by_multipart_framing(world, tmp_path):
    api = client_for(world.edu_handler)
    url = reverse("attachment-list")

    def send(content: bytes):
        path = tmp_path / "evidence.pdf"
        path.write_bytes(content)
        with path.open("rb") as handle:
            return api.post(url, {"file": handle}, format="multipart", HTTP_IDEMPOTENCY_KEY="upload-1")

    first = send(b"%PDF-1.4 evidence")
    again = send(b"%PDF-1.4 evidence")
    other = send(b"%PDF-1.4 other evidence")

    assert first.status_code == 201 and again.status_code == 201 and again[REPLAYED_HEADER] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert_error(other, 409, code="idempotency_key_reused")
    assert Attachment.objects.filter(uploaded_by=world.edu_handler).count() == 1


@pytest.mark.django_db
def test_intake_with_an_api_key_and_an_idempotency_key(world):
    issued = integration_client_create(
        actor=world.admin,
        name="县委办OA",
        unit=world.office_unit,
        operations=[IntegrationOperation.INTAKE],
        clearance=Classification.INTERNAL,
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.key}")
    body = {
        "external_id": "OA-1",
        "title": "关于防汛工作的批示",
        "kind": "leader_instruction",
        "issuer_name": "市委领导",
        "issued_on": timezone.localdate().isoformat(),
        "text": "请做好防汛准备。",
        "items": [],
    }
    first = api.post("/api/v1/intake/instructions/", body, format="json", HTTP_IDEMPOTENCY_KEY="oa-push-1")
    again = api.post("/api/v1/intake/instructions/", body, format="json", HTTP_IDEMPOTENCY_KEY="oa-push-1")
    # The stored 201 is replayed as it was (the external id alone would have answered 200).
    assert first.status_code == 201 and again.status_code == 201 and again[REPLAYED_HEADER] == "true"
    assert IdempotencyKey.objects.get(key="oa-push-1").user == issued.client.user


@pytest.mark.django_db
def test_malformed_keys_are_refused_and_anonymous_posts_are_left_alone(world, acknowledged):
    api = client_for(world.edu_handler)
    for bad in ("x" * 256, "密钥", "two words"):
        body = assert_error(
            api.post(report_url(acknowledged), REPORT, format="json", HTTP_IDEMPOTENCY_KEY=bad),
            400,
            code="invalid_idempotency_key",
            field="Idempotency-Key",
        )
        assert body["fields"]["Idempotency-Key"]
    assert not ProgressReport.objects.filter(item=acknowledged).exists()
    # Signing in has no principal yet: the key is ignored, nothing is stored.
    world.edu_handler.set_password("pass-1234")
    world.edu_handler.save()
    login = {"username": "edu_handler", "password": "pass-1234"}
    assert APIClient().post(reverse("auth-token"), login, format="json", HTTP_IDEMPOTENCY_KEY="login-1").status_code == 200
    assert not IdempotencyKey.objects.filter(key="login-1").exists()
    # A bad token is the view's to refuse (401), not a stored answer.
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token nope")
    assert_error(stranger.post(report_url(acknowledged), REPORT, format="json", HTTP_IDEMPOTENCY_KEY="k"), 401)
    assert not IdempotencyKey.objects.filter(key="k").exists()


@pytest.mark.django_db
def test_expired_keys_are_forgotten_and_purged(world, acknowledged):
    api = client_for(world.edu_handler)
    assert api.post(report_url(acknowledged), REPORT, format="json", HTTP_IDEMPOTENCY_KEY="old").status_code == 201
    assert api.post(report_url(acknowledged), REPORT, format="json", HTTP_IDEMPOTENCY_KEY="fresh").status_code == 201
    old = IdempotencyKey.objects.get(key="old")
    assert old.expires_at - old.created_at == datetime.timedelta(hours=24)
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    # An expired key is free again: this is a new request, not a replay and not a conflict.
    reused = api.post(report_url(acknowledged), {**REPORT, "progress": 70}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert reused.status_code == 201 and REPLAYED_HEADER not in reused
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    assert purge_expired_idempotency_keys() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
    assert idempotency_keys_purge() == 0  # a second run finds nothing
    assert idempotency_keys_purge(now=timezone.now() + datetime.timedelta(hours=25)) == 1


@pytest.mark.django_db
def test_a_claim_abandoned_by_a_dead_request_is_taken_over(world, assigned):
    """A request that died mid-way left its claim (its work was rolled back); after the lock
    timeout a retry runs instead of being told "in progress" forever."""
    api = client_for(world.edu_handler)
    digest = request_digest(RequestFactory().post(ack_url(assigned), {}, content_type="application/json"))
    IdempotencyKey.objects.create(
        user=world.edu_handler,
        key="dead-2",
        method="POST",
        path=ack_url(assigned),
        request_digest=digest,
        claim="dead",
        locked_at=timezone.now(),
        expires_at=timezone.now() + datetime.timedelta(hours=24),
    )
    assert_error(
        api.post(ack_url(assigned), {}, format="json", HTTP_IDEMPOTENCY_KEY="dead-2"), 409, code="idempotency_key_in_progress"
    )
    IdempotencyKey.objects.filter(key="dead-2").update(locked_at=timezone.now() - datetime.timedelta(minutes=6))

    taken_over = api.post(ack_url(assigned), {}, format="json", HTTP_IDEMPOTENCY_KEY="dead-2")
    assert taken_over.status_code == 200 and taken_over.json()["status"] == "acknowledged"
    assert IdempotencyKey.objects.get(key="dead-2").status == "completed"


@pytest.mark.django_db
def test_a_holder_whose_claim_was_taken_over_commits_nothing(world, assigned, monkeypatch):
    """If a slow request outlived its lock and a retry took the key over, the slow one's work
    must not commit as well: its completion finds the claim changed and rolls back."""
    real_acknowledge = services.item_acknowledge

    def acknowledge_while_taken_over(**kwargs):
        result = real_acknowledge(**kwargs)
        IdempotencyKey.objects.filter(key="slow").update(claim="someone-else")
        return result

    monkeypatch.setattr(services, "item_acknowledge", acknowledge_while_taken_over)
    mark = audit_mark()

    response = client_for(world.edu_handler).post(ack_url(assigned), {}, format="json", HTTP_IDEMPOTENCY_KEY="slow")

    assert_error(response, 409, code="idempotency_key_in_progress")
    assert Item.objects.get(pk=assigned.pk).status == ItemStatus.ASSIGNED and new_events(mark) == []


@pytest.mark.django_db(transaction=True)
def test_a_second_request_while_the_first_runs_is_told_it_is_in_progress(world):
    item = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    mark = audit_mark()
    results = {}

    def first_request():
        try:
            results["first"] = client_for(world.edu_handler).post(ack_url(item), {}, format="json", HTTP_IDEMPOTENCY_KEY="busy")
        finally:
            connection.close()

    # The office holds the item's row lock, so the first request waits inside the service with
    # its key claimed (committed); a twin arriving now must not run.
    with transaction.atomic():
        Item.objects.select_for_update().get(pk=item.pk)
        worker = threading.Thread(target=first_request)
        worker.start()
        for _attempt in range(200):  # bounded wait for the claim to be committed
            if IdempotencyKey.objects.filter(key="busy").exists():
                break
            time.sleep(0.05)
        assert IdempotencyKey.objects.get(key="busy").status == "in_progress"
        twin = client_for(world.edu_handler).post(ack_url(item), {}, format="json", HTTP_IDEMPOTENCY_KEY="busy")
    worker.join(timeout=60)

    assert_error(twin, 409, code="idempotency_key_in_progress")
    assert results["first"].status_code == 200
    after = client_for(world.edu_handler).post(ack_url(item), {}, format="json", HTTP_IDEMPOTENCY_KEY="busy")
    assert after.status_code == 200 and after[REPLAYED_HEADER] == "true" and after.json() == results["first"].json()
    assert [e.action for e in new_events(mark)] == ["item_acknowledged"]


@pytest.mark.django_db
def test_the_schema_documents_the_header_on_every_post(client):
    schema = client.get("/api/schema/?format=json").json()
    posts = {path: ops["post"] for path, ops in schema["paths"].items() if "post" in ops}
    assert "/api/v1/intake/instructions/" in posts and len(posts) > 10
    for path, operation in posts.items():
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        if operation.get("security") in ([{}], []):
            assert "Idempotency-Key" not in names, path  # anonymous (sign-in): no principal to key on
            continue
        assert "Idempotency-Key" in names, path
        assert "409" in operation["responses"], path
