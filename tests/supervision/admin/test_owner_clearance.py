"""Issue 12, clearance at assignment: lowering a person's clearance in the admin below an open item
they own is refused (they would get 404 on their own item) until the owner is changed."""

from __future__ import annotations

import pytest
from django.contrib import admin

from accounts.choices import Classification
from accounts.models import User
from supervision.choices import ItemStatus
from supervision.models import Item
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def clearance_form(rf, actor, person, clearance):
    request = rf.get("/admin/")
    request.user = actor
    form_class = admin.site._registry[User].get_form(request, person, fields=["clearance"])
    return form_class(data={"clearance": str(clearance)}, instance=person)


def test_lowering_an_owners_clearance_below_their_item_is_refused(world, rf):
    item = make_item(
        ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_head, classification=Classification.SECRET
    )
    form = clearance_form(rf, world.admin, world.edu_head, Classification.INTERNAL)
    assert not form.is_valid()
    message = form.errors["clearance"][0]
    assert item.code in message and "edu_head" in message and "内部" in message

    # Still cleared for it, or no longer its owner: allowed.
    assert clearance_form(rf, world.admin, world.edu_head, Classification.SECRET).is_valid()
    Item.objects.filter(pk=item.pk).update(owner=world.edu_handler)
    assert clearance_form(rf, world.admin, world.edu_head, Classification.INTERNAL).is_valid()
