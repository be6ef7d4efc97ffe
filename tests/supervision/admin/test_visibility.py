"""Every admin changelist and search applies the visibility rule (issue 11 finding 6): an office
user cleared 内部, even a superuser, finds nothing of a 机密 item in the back office; and export
approvals of 机密 are the business of those cleared for it (finding 11)."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from accounts.choices import Classification
from supervision import services
from supervision.choices import ItemStatus
from supervision.models import AuditEvent, ExportApproval
from tasks.outbox import notifications
from tests.api_helpers import client_for
from tests.factories import make_instruction, make_item

pytestmark = pytest.mark.django_db

MARKER = "ZZCONFIDENTIALMARKER"


def admin_client(user):
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def confidential(world):
    # The owner must be cleared for the item (guards.py): 教育局's head holds 机密 clearance here.
    # office_low (内部) stays below it: that is what the tests are about.
    world.edu_head.clearance = Classification.CONFIDENTIAL
    world.edu_head.save(update_fields=["clearance"])
    instruction = make_instruction(office=world.office, classification=Classification.CONFIDENTIAL, title=f"{MARKER}批示")
    item = make_item(
        ItemStatus.ASSIGNED,
        office=world.office,
        instruction=instruction,
        lead_unit=world.edu,
        owner=world.edu_head,
        title=f"{MARKER}事项",
        classification=Classification.CONFIDENTIAL,
    )
    notifications.notification_send(
        recipients=[world.office_low, world.edu_head], title=f"催办 {MARKER}", kind="reminder", dedup_key="c1", item=item
    )
    approval = services.export_approval_grant(
        actor=world.office,
        grantee=world.leader,
        classification=Classification.CONFIDENTIAL,
        reason=f"{MARKER} 导出理由",
        valid_until=timezone.localdate() + datetime.timedelta(days=10),
    )
    world.item, world.instruction, world.approval = item, instruction, approval
    return world


CHANGELISTS = [
    "/admin/supervision/auditevent/",
    "/admin/supervision/item/",
    "/admin/supervision/instruction/",
    "/admin/supervision/exportapproval/",
    "/admin/supervision/intakerecord/",
    "/admin/tasks/notification/",
    "/admin/tasks/delivery/",
]


@pytest.mark.parametrize("url", CHANGELISTS)
def test_changelists_and_searches_hide_what_is_above_clearance(confidential, url):
    low = admin_client(confidential.office_low)
    for query in ("", f"?q={MARKER[2:]}"):  # a part of it: the search box echoes the query
        response = low.get(url + query)
        assert response.status_code == 200, url
        assert MARKER not in response.content.decode(), url + query
    high = admin_client(confidential.office)
    assert high.get(url).status_code == 200


def test_change_pages_of_hidden_rows_are_not_shown(confidential):
    low = admin_client(confidential.office_low)
    event = AuditEvent.objects.filter(item=confidential.item).first()
    for url in (
        f"/admin/supervision/auditevent/{event.pk}/change/",
        f"/admin/supervision/item/{confidential.item.pk}/change/",
        f"/admin/supervision/exportapproval/{confidential.approval.pk}/change/",
    ):
        response = low.get(url, follow=True)
        assert MARKER not in response.content.decode(), url
    unattached = AuditEvent.objects.get(object_type="instruction", object_id=confidential.instruction.pk)
    assert MARKER not in low.get(f"/admin/supervision/auditevent/{unattached.pk}/change/", follow=True).content.decode()


def test_export_approvals_of_a_higher_classification_are_not_listed(confidential):
    assert client_for(confidential.office_low).get("/api/v1/export-approvals/").json()["count"] == 0
    assert client_for(confidential.office_low).get(f"/api/v1/export-approvals/{confidential.approval.pk}/").status_code == 404
    assert client_for(confidential.office).get("/api/v1/export-approvals/").json()["count"] == 1
    assert client_for(confidential.leader).get("/api/v1/export-approvals/").json()["count"] == 1  # the grantee
    assert not ExportApproval.objects.visible_to(confidential.office_low).exists()
