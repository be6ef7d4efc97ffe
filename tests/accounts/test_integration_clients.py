"""Integration clients: keys stored hashed and shown once, the service account they act as, the
operations they may call, re-keying and disabling, all audited."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.choices import Classification, IntegrationOperation, Role
from accounts.integration import client_for_key
from accounts.models import IntegrationClient
from supervision.errors import InvalidInput, NotPermitted
from supervision.models import AuditEvent
from supervision.services import integration_client_create, integration_client_rotate_key, integration_client_update
from tests.api_helpers import assert_error
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def issued(world):
    return integration_client_create(
        actor=world.admin,
        name="县委办OA",
        unit=world.office_unit,
        operations=[IntegrationOperation.READ_LEDGER, IntegrationOperation.INTAKE],
        clearance=Classification.INTERNAL,
        whole_ledger=True,  # the office's own OA; a unit-scoped key: tests/accounts/test_client_scope.py
    )


def test_key_is_stored_only_as_a_digest(issued):
    client = IntegrationClient.objects.get(pk=issued.client.pk)
    assert issued.key.startswith(f"dbk_{client.key_prefix}_")
    assert client.key_digest == hashlib.sha256(issued.key.encode()).hexdigest()
    stored = " ".join(str(v) for v in IntegrationClient.objects.values().get(pk=client.pk).values())
    assert issued.key not in stored
    assert client_for_key(issued.key) == client
    assert client_for_key(issued.key + "x") is None
    assert client_for_key(f"dbk_{client.key_prefix}_wrong") is None
    assert client_for_key("garbage") is None


def test_service_account_acts_in_the_clients_unit_with_its_clearance(issued, world):
    user = issued.client.user
    assert user.unit == world.office_unit
    assert user.clearance == Classification.INTERNAL
    assert user.has_role(Role.OFFICE_STAFF)
    assert not user.has_usable_password()
    event = AuditEvent.objects.get(action="integration_client_create")
    assert event.actor == world.admin and event.object_id == issued.client.pk


def test_only_administrators_manage_clients(world):
    with pytest.raises(NotPermitted):
        integration_client_create(actor=world.office, name="x", unit=world.edu, operations=[IntegrationOperation.READ_LEDGER])
    with pytest.raises(InvalidInput) as exc:
        integration_client_create(actor=world.admin, name="y", unit=world.edu, operations=["delete_everything"])
    assert "operations" in exc.value.fields
    assert not IntegrationClient.objects.exists()


def test_a_key_reads_the_ledger_within_its_clearance(issued, world):
    low = make_item(
        office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="公开事项", classification=Classification.PUBLIC
    )
    secret = make_item(
        office=world.office, lead_unit=world.edu, owner=world.edu_head, title="秘密事项", classification=Classification.SECRET
    )
    api = key_client(issued.key)
    response = api.get(reverse("item-list"))
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert low.pk in ids and secret.pk not in ids
    assert api.get(reverse("item-detail", args=[secret.pk])).status_code == 404
    issued.client.refresh_from_db()
    assert issued.client.last_used_at is not None


def test_a_key_may_not_act_on_items_or_call_operations_it_lacks(issued, world):
    item = make_item(office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    api = key_client(issued.key)
    # Ledger views admit keys for reading only.
    assert_error(api.post(reverse("item-assign", args=[item.pk]), {"comment": "x"}, format="json"), 403)
    # The inbox belongs to people; deliveries to operators.
    assert_error(api.get(reverse("inbox-list")), 403)
    read_only = integration_client_create(
        actor=world.admin, name="只读系统", unit=world.edu, operations=[IntegrationOperation.WEBHOOKS]
    )
    assert_error(key_client(read_only.key).get(reverse("item-list")), 403)


def test_bad_disabled_and_rotated_keys_are_refused(issued, world):
    assert_error(key_client("dbk_nothing_here").get(reverse("item-list")), 401)
    old = issued.key
    new = integration_client_rotate_key(actor=world.admin, client=issued.client).key
    assert_error(key_client(old).get(reverse("item-list")), 401)
    assert key_client(new).get(reverse("item-list")).status_code == 200
    integration_client_update(actor=world.admin, client=issued.client, is_active=False)
    assert_error(key_client(new).get(reverse("item-list")), 401)
    assert {e.action for e in AuditEvent.objects.all()} >= {"integration_client_rotate_key", "integration_client_update"}


def test_x_api_key_header_works_too(issued):
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=issued.key)
    assert api.get(reverse("item-list")).status_code == 200


def test_admin_shows_the_key_once_and_stores_only_its_digest(world, client):
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:accounts_integrationclient_add"),
        {"name": "纸房镇OA", "unit": world.town.pk, "operations": [IntegrationOperation.INTAKE], "clearance": 1, "note": ""},
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    created = IntegrationClient.objects.get(name="纸房镇OA")
    shown = [m for m in messages if "dbk_" in m]
    assert len(shown) == 1
    key = shown[0][shown[0].index("dbk_") :].strip()
    assert client_for_key(key) == created
    # The change page never shows it again.
    page = client.get(reverse("admin:accounts_integrationclient_change", args=[created.pk])).content.decode()
    assert key not in page and created.key_prefix in page
