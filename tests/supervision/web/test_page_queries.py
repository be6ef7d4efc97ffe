"""The office's lists, the instructions pages and 移交线索 read in a constant number of queries
whatever the number of rows: measured with one row of each kind, then again with three."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from supervision import services
from supervision.choices import ItemStatus, RequestKind, Ruling
from supervision.models import Item
from tests.factories import make_instruction, make_item

pytestmark = pytest.mark.django_db

PATHS = (
    "/instructions/",
    "/office/requests/",
    "/office/return-visits/",
    "/office/explanations/",
    "/office/notices/",
    "/office/export-approvals/",
    "/referrals/",
)


def add_one_of_each(world, instruction, n: int) -> None:
    """Per row kind one more: an instruction, an item on `instruction`, a pending request, a
    closed item, a ruled explanation with its referral, a notice, an export approval."""
    make_instruction(office=world.office, title=f"批示 {n}")
    working = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        instruction=instruction,
        lead_unit=world.edu,
        owner=world.edu_handler,
        supporting_units=[world.env],
        title=f"事项 {n}",
    )
    request = services.item_request_create(
        actor=world.edu_handler,
        item=working,
        kind=RequestKind.EXTENSION,
        reason="理由",
        requested_deadline=working.deadline + datetime.timedelta(days=9),
    )
    services.item_request_endorse(actor=world.edu_head, request=request)
    make_item(ItemStatus.CLOSED, office=world.office, lead_unit=world.env, owner=world.env_handler, title=f"已销号 {n}")
    late = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title=f"超期 {n}")
    Item.objects.filter(pk=late.pk).update(deadline=timezone.localdate() - datetime.timedelta(days=5))
    (opened,) = services.overdue_explanations_open(item=Item.objects.get(pk=late.pk))
    services.overdue_explanation_submit(actor=world.edu_handler, explanation=opened, reason_kind="subjective", text="原因")
    services.overdue_explanation_endorse(actor=world.edu_head, explanation=opened)
    late2 = make_item(
        ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.env, owner=world.env_handler, title=f"超期乙 {n}"
    )
    Item.objects.filter(pk=late2.pk).update(deadline=timezone.localdate() - datetime.timedelta(days=5))
    (ruled,) = services.overdue_explanations_open(item=Item.objects.get(pk=late2.pk))
    services.overdue_explanation_submit(actor=world.env_handler, explanation=ruled, reason_kind="subjective", text="原因")
    services.overdue_explanation_endorse(actor=world.env_head, explanation=ruled)
    services.overdue_explanation_rule(actor=world.office, explanation=ruled, ruling=Ruling.ACCOUNTABILITY, comment="问责")
    services.notice_create(actor=world.office, kind="criticism", title=f"通报 {n}", body="正文", entries=[(late, world.edu, "")])
    services.export_approval_grant(
        actor=world.office,
        grantee=world.edu_head,
        classification=2,
        reason="盘点",
        valid_until=timezone.localdate() + datetime.timedelta(days=n),
    )


def counts(client, paths) -> dict[str, int]:
    out = {}
    for path in paths:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200, path
        out[path] = len(queries)
    return out


def test_pages_read_in_a_constant_number_of_queries(world):
    instruction = make_instruction(office=world.office, title="分解事项的批示")
    add_one_of_each(world, instruction, 1)
    office, discipline = Client(), Client()
    office.force_login(world.office)
    discipline.force_login(world.discipline)
    paths = (*PATHS, f"/instructions/{instruction.pk}/")
    one = counts(office, paths), counts(discipline, ("/referrals/",))
    add_one_of_each(world, instruction, 2)
    add_one_of_each(world, instruction, 3)
    three = counts(office, paths), counts(discipline, ("/referrals/",))
    assert three == one
    # And the lists did grow (the measurement is not of empty pages).
    assert len(office.get("/office/requests/").context["page"].object_list) == 3
    assert len(discipline.get("/referrals/").context["page"].object_list) == 3
