"""The shared helpers in tests/factories.py reach every state through the real services."""

import pytest

from supervision.audit import audit_verify
from supervision.choices import ItemStatus, RequestStatus
from supervision.models import AuditEvent, ItemRequest
from tests.factories import advance_item, make_item

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("state", list(ItemStatus.values))
def test_make_item_reaches_every_state(world, state):
    item = make_item(state, office=world.office, lead_unit=world.edu, supporting_units=[world.env], owner=world.edu_handler)
    assert item.status == state
    assert item.code.startswith("DB-") and item.assignments.count() == 2
    # Built by services: every step is in the audit trail and the chain holds.
    assert AuditEvent.objects.filter(item=item, action="item_created").count() == 1
    assert AuditEvent.objects.filter(item=item).count() == item.version
    assert not ItemRequest.objects.filter(item=item, status=RequestStatus.PENDING).exclude(kind="completion").exists()
    assert audit_verify().ok


def test_advance_item_continues_and_refuses_going_back(world):
    item = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.town, owner=world.town_handler)
    item = advance_item(item, ItemStatus.CLOSED, office=world.office)
    assert item.status == ItemStatus.CLOSED and item.closed_at is not None
    with pytest.raises(ValueError):
        advance_item(item, ItemStatus.ASSIGNED, office=world.office)
