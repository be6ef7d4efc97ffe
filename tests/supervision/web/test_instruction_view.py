"""One instruction or meeting on the dashboard (issue 14): the picker offers the instructions the
viewer may see, found by 文号 or title; `?instruction=<id>` narrows every figure exactly as the
stats API does; the per-instruction page lists its items with lights and marks the stale ones."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from accounts.choices import Classification, Role
from supervision.choices import InstructionKind, ItemStatus
from supervision.models import Item
from tests.api_helpers import client_for
from tests.factories import UserFactory, make_instruction, make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(world):
    viewer = UserFactory(username="fenguan2", unit=world.party_office, roles=[Role.LEADER], clearance=Classification.INTERNAL)
    instruction = make_instruction(
        office=world.office,
        kind=InstructionKind.MEETING_DECISION,
        title="县委常委会第12次会议议定事项",
        document_number="县委纪〔2026〕12号",
    )
    secret = make_instruction(
        office=world.office, title="涉密批示", document_number="县委密〔2026〕3号", classification=Classification.SECRET
    )
    unit = {"lead_unit": world.edu, "owner": world.edu_handler}
    items = [
        make_item(ItemStatus.CLOSED, office=world.office, instruction=instruction, title="议定一", **unit),
        make_item(ItemStatus.IN_PROGRESS, office=world.office, instruction=instruction, title="议定二", **unit),
        make_item(ItemStatus.IN_PROGRESS, office=world.office, instruction=instruction, title="议定三", **unit),
        make_item(ItemStatus.ASSIGNED, office=world.office, instruction=instruction, title="议定四", **unit),
    ]
    make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        instruction=secret,
        title="涉密事项",
        lead_unit=world.edu,
        owner=world.edu_head,
    )
    make_item(ItemStatus.IN_PROGRESS, office=world.office, title="其他批示的事项", **unit)
    # 议定三 has been silent for 60 days (past the default 30-day cycle + 7 days' grace).
    Item.objects.filter(pk=items[2].pk).update(last_report_at=timezone.now() - datetime.timedelta(days=60))
    client = Client()
    client.force_login(viewer)
    return viewer, client, instruction, secret, items


def test_the_picker_offers_visible_instructions_by_number_or_title(meeting):
    viewer, client, instruction, secret, _items = meeting
    html = client.get("/dashboard/").content.decode()
    assert 'list="instruction-options"' in html
    assert f'value="{instruction.pk}" label="县委纪〔2026〕12号 县委常委会第12次会议议定事项"' in html
    assert "县委密〔2026〕3号" not in html  # above the viewer's clearance
    for q in ("纪〔2026〕12", "第12次会议"):
        options = client.get("/dashboard/instructions/options/", {"q": q}).content.decode()
        assert re.findall(r'value="(\d+)"', options) == [str(instruction.pk)]
    assert client.get("/dashboard/instructions/options/", {"q": "县委密"}).content.decode().strip() == ""


def test_the_instruction_filter_narrows_every_figure_as_the_api(meeting):
    viewer, client, instruction, _secret, _items = meeting
    response = client.get("/dashboard/", {"instruction": instruction.pk})
    assert response.status_code == 200
    summary = response.context["summary"]
    api = client_for(viewer).get("/api/v1/stats/summary/", {"instruction": instruction.pk}).json()
    for key in ("total", "assigned", "completed", "in_progress", "stale"):
        assert summary[key]["count"] == api[key]["count"], key
    assert (api["total"]["count"], api["completed"]["count"], api["in_progress"]["count"], api["stale"]["count"]) == (4, 1, 2, 1)
    html = response.content.decode()
    assert "县委常委会第12次会议议定事项" in html and f"/dashboard/instructions/{instruction.pk}/" in html


def test_the_instruction_page_lists_its_items_with_lights_and_the_stale_ones(meeting):
    viewer, client, instruction, secret, items = meeting
    response = client.get(f"/dashboard/instructions/{instruction.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    rows = dict(re.findall(r'<tr data-item-code="([^"]+)" data-stale="(\d)"', html))
    assert rows == {item.code: ("1" if item.title == "议定三" else "0") for item in items}
    assert len(re.findall(r'data-light="[a-z]+"', html)) == 4
    context = response.context
    assert (context["summary"]["completion_rate"], context["summary"]["in_progress_rate"], context["summary"]["stale_rate"]) == (
        0.25,
        0.5,
        0.5,
    )
    # Not visible: 404, not a page that says what it is.
    assert client.get(f"/dashboard/instructions/{secret.pk}/").status_code == 404


def test_the_instruction_pages_item_links_open_the_item_page_not_the_api(meeting):
    _viewer, client, instruction, _secret, items = meeting
    html = client.get(f"/dashboard/instructions/{instruction.pk}/").content.decode()
    assert "/api/v1/" not in html
    linked = set(re.findall(r'href="/items/(\d+)/"', html))
    assert linked == {str(item.pk) for item in items}
