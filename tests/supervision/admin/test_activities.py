"""统筹督查 in the back office: the office books an inspection activity in the admin; a unit already
booked that week is refused with the clash named (nothing saved) until the office ticks the
confirmation, and the saved activity then shows the warning."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from supervision.choices import ActivityKind
from supervision.models import SupervisionActivity
from tests.supervision.services.test_burden import MONDAY, book

pytestmark = pytest.mark.django_db
ADD = "/admin/supervision/supervisionactivity/add/"


def test_a_clash_in_the_admin_is_refused_until_confirmed(world):
    first, _ = book(world, "河道整治实地督查", MONDAY, MONDAY, [world.env])
    client = Client()
    client.force_login(world.office)
    assert client.get(ADD).status_code == 200
    day = MONDAY.isoformat()
    form = {"kind": ActivityKind.UNANNOUNCED, "title": "安全生产暗访", "start_date": day, "end_date": day}
    form |= {"bodies": "县委督查室", "notes": "", "target_units": [world.env.pk, world.town.pk]}

    refused = client.post(ADD, form)
    assert refused.status_code == 302 and refused["Location"] == ADD
    said = [str(m) for m in get_messages(refused.wsgi_request)]
    assert any("县环保局" in m for m in said), said
    assert list(SupervisionActivity.objects.values_list("pk", flat=True)) == [first.pk]

    saved = client.post(ADD, {**form, "confirm_clash": "on"})
    assert saved.status_code == 302
    second = SupervisionActivity.objects.exclude(pk=first.pk).get()
    assert second.title == "安全生产暗访" and set(second.target_units.all()) == {world.env, world.town}
    said = [str(m) for m in get_messages(saved.wsgi_request)]
    assert any("县环保局" in m and "河道整治实地督查" in m for m in said), said
