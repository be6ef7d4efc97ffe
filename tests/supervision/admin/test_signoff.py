"""The office names a unit's deputies (单位签字人) and switches the 督查室主任's approval in the
admin; each save is an audit event; a deputy from another unit is refused on the form."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.choices import Role
from supervision.models import AuditEvent, OfficeSettings, UnitApprover
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def admin_client(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def test_office_names_a_deputy_and_it_is_audited(world):
    deputy = UserFactory(username="edu_deputy", unit=world.edu, roles=[Role.UNIT_HANDLER])
    client = admin_client(world.office)
    r = client.post("/admin/supervision/unitapprover/add/", {"unit": world.edu.pk, "user": deputy.pk, "note": "分管副局长"})
    assert r.status_code == 302, r.content.decode()[:2000]
    approver = UnitApprover.objects.get(unit=world.edu, user=deputy)
    event = AuditEvent.objects.get(action="unit_approver_saved")
    assert (event.actor_id, event.object_id, event.data["user_id"]) == (world.office.pk, approver.pk, deputy.pk)

    # Someone from another unit cannot sign for 教育局.
    r = client.post("/admin/supervision/unitapprover/add/", {"unit": world.edu.pk, "user": world.env_handler.pk})
    assert r.status_code == 200 and "签字人必须是本单位人员" in r.content.decode()
    # A unit user may not change who signs.
    r = admin_client(world.edu_head).post("/admin/supervision/unitapprover/add/", {"unit": world.edu.pk, "user": deputy.pk})
    assert r.status_code == 403


def test_office_switches_director_approval_with_an_audit_event(world):
    client = admin_client(world.office)
    r = client.post("/admin/supervision/officesettings/add/", {"director_approval_required": "on"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert OfficeSettings.current().director_approval_required is True
    event = AuditEvent.objects.get(action="office_settings_changed")
    assert event.data == {"director_approval_required": True} and event.actor_id == world.office.pk
    assert client.get("/admin/supervision/officesettings/add/").status_code == 403  # one row only
