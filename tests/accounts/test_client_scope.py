"""OA client keys read their own unit's items only (issue 11 finding 5, DOMAIN.md rule 13): lists,
item reads, explanations and webhook events; whole-ledger reach is an administrator's explicit,
audited grant, shown in the admin."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.choices import Classification, IntegrationOperation
from supervision.choices import ItemStatus
from supervision.errors import NotPermitted
from supervision.models import AuditEvent
from supervision.services import integration_client_create, integration_client_update
from tasks.models import WebhookDelivery
from tasks.outbox import webhooks
from tests.api_helpers import assert_error
from tests.factories import make_item

pytestmark = pytest.mark.django_db

OPS = [IntegrationOperation.READ_LEDGER, IntegrationOperation.WEBHOOKS]


def key_client(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return api


@pytest.fixture
def scoped(world, django_capture_on_commit_callbacks):
    """发改委's stand-in: a client of 县教育局; items led by 教育局, supported by it, and 环保局's own."""
    issued = integration_client_create(
        actor=world.admin, name="教育局OA", unit=world.edu, operations=OPS, clearance=Classification.SECRET
    )
    webhooks.webhook_subscription_create(
        actor=world.admin, client=issued.client, target_url="https://oa.example/hook", event_types=["item.assigned"]
    )
    with django_capture_on_commit_callbacks(execute=False):
        world.own = make_item(
            ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="教育局事项"
        )
        world.supporting = make_item(
            ItemStatus.ASSIGNED,
            office=world.office,
            lead_unit=world.env,
            supporting_units=[world.edu],
            owner=world.env_handler,
            title="配合事项",
        )
        world.other = make_item(
            ItemStatus.ASSIGNED, office=world.office, lead_unit=world.env, owner=world.env_handler, title="OTHER-UNIT"
        )
        world.draft = make_item(office=world.office, lead_unit=world.env, owner=world.env_handler, title="OTHER-DRAFT")
    world.issued = issued
    return world


def test_a_key_reads_only_its_units_items(scoped):
    api = key_client(scoped.issued.key)
    listed = api.get("/api/v1/items/?page_size=100")
    assert {row["id"] for row in listed.json()["results"]} == {scoped.own.pk, scoped.supporting.pk}
    assert "OTHER-" not in listed.content.decode()
    for item in (scoped.other, scoped.draft):
        assert_error(api.get(f"/api/v1/items/{item.pk}/"), 404, code="not_found")
        assert_error(api.get(f"/api/v1/items/{item.pk}/history/"), 404, code="not_found")
    assert api.get(f"/api/v1/items/{scoped.supporting.pk}/").status_code == 200
    assert "OTHER-" not in api.get("/api/v1/instructions/?page_size=100").content.decode()


def test_webhook_events_only_for_its_units_items(scoped):
    delivered = set(WebhookDelivery.objects.filter(subscription__client=scoped.issued.client).values_list("item_id", flat=True))
    assert delivered == {scoped.own.pk, scoped.supporting.pk}


def test_whole_ledger_is_an_audited_grant_by_an_administrator(scoped):
    with pytest.raises(NotPermitted):
        integration_client_update(actor=scoped.office, client=scoped.issued.client, whole_ledger=True)
    integration_client_update(actor=scoped.admin, client=scoped.issued.client, whole_ledger=True)
    event = AuditEvent.objects.get(action="integration_client_whole_ledger_granted")
    assert event.actor == scoped.admin and event.data["after"]["whole_ledger"] is True
    api = key_client(scoped.issued.key)
    assert api.get(f"/api/v1/items/{scoped.other.pk}/").status_code == 200
    assert api.get(f"/api/v1/items/{scoped.draft.pk}/").status_code == 200
    integration_client_update(actor=scoped.admin, client=scoped.issued.client, whole_ledger=False)
    assert AuditEvent.objects.filter(action="integration_client_whole_ledger_withdrawn").count() == 1
    assert api.get(f"/api/v1/items/{scoped.other.pk}/").status_code == 404


def test_the_admin_shows_the_grant(scoped):
    browser = Client()
    browser.force_login(scoped.admin)
    page = browser.get("/admin/accounts/integrationclient/").content.decode()
    assert "全台账读取" in page
    form = browser.get(f"/admin/accounts/integrationclient/{scoped.issued.client.pk}/change/").content.decode()
    assert 'name="whole_ledger"' in form
