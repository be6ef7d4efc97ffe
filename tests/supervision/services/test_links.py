"""合并督办 (issue 15 B): duplicates linked to one lead item are answered by one sign-off, one report
and one request on the lead; each linked item records them by reference; one chase, not several."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from supervision import services
from supervision.choices import ItemStatus, RequestKind
from supervision.errors import InvalidInput, NotPermitted, TransitionNotAllowed
from supervision.models import AuditEvent, ItemLink, ItemRequest, ProgressReport
from supervision.reminders import schedule
from tests.api_helpers import assert_error, client_for
from tests.factories import make_instruction, make_item, upload


@pytest.fixture
def pair(world):
    w = world
    lead = make_item(ItemStatus.ASSIGNED, office=w.office, lead_unit=w.env, owner=w.env_handler, title="城北河道综合整治工程")
    other = make_item(
        ItemStatus.ASSIGNED,
        office=w.office,
        lead_unit=w.env,
        owner=w.env_handler,
        title="城北河道整治",
        instruction=make_instruction(office=w.office, title="市里转来的交办件"),
    )
    link = services.item_link(actor=w.office, item=other, lead=lead, comment="同一河段，合并督办")
    return w, lead, other, link


def test_link_is_audited_on_both_items_and_silences_the_linked_items_reminders(pair):
    w, lead, other, link = pair
    assert AuditEvent.objects.filter(item=other, action="item_linked", data__lead_id=lead.pk).exists()
    assert AuditEvent.objects.filter(item=lead, action="item_linked_as_lead").exists()
    other.refresh_from_db()
    assert other.next_reminder_at is None
    assert schedule(other) == [] and schedule(lead) != []


def test_linked_items_are_answered_by_one_report_on_the_lead(pair):
    w, lead, other, link = pair
    services.item_acknowledge(actor=w.env_handler, item=lead)
    other.refresh_from_db()
    assert other.status == ItemStatus.ACKNOWLEDGED
    assert other.assignments.get().acknowledged_by == w.env_handler
    report = services.progress_report_create(actor=w.env_handler, item=lead, progress_text="已完成清淤 3 公里", progress=40)
    other.refresh_from_db()
    assert other.status == ItemStatus.IN_PROGRESS and other.progress == 40
    # Evidence shared, not copied: no report row on the linked item; its history names the lead's report.
    assert not ProgressReport.objects.filter(item=other).exists()
    event = AuditEvent.objects.get(item=other, action="linked_report_filed")
    assert event.data["report_id"] == report.pk and event.data["lead_item_id"] == lead.pk
    assert event.object_type == "progressreport" and event.object_id == report.pk
    assert lead.code in event.comment
    # One completion request on the lead closes both once approved.
    evidence = upload(w.env_handler)
    request = services.item_request_create(
        actor=w.env_handler,
        item=lead,
        kind=RequestKind.COMPLETION,
        reason="已整治完成",
        outcome="河道水质达标",
        attachment_ids=[evidence.pk],
    )
    # 单位负责人签字 (rule 14) before the office decides.
    request = services.item_request_endorse(actor=w.env_head, request=request, comment="情况属实")
    services.item_request_decide(actor=w.office, request=request, approve=True, comment="同意销号")
    other.refresh_from_db()
    assert other.status == ItemStatus.CLOSED and other.closed_at is not None
    assert not ItemRequest.objects.filter(item=other).exists()
    assert AuditEvent.objects.filter(item=other, action="linked_completion_approved", data__request_id=request.pk).exists()


def test_units_act_on_the_lead_not_on_the_linked_item(pair):
    w, lead, other, link = pair
    with pytest.raises(TransitionNotAllowed) as caught:
        services.item_acknowledge(actor=w.env_handler, item=other)
    assert caught.value.code == "item_linked" and lead.code in str(caught.value.message)
    response = client_for(w.env_handler).post(f"/api/v1/items/{other.pk}/acknowledge/", {}, format="json")
    assert_error(response, 409, code="item_linked")


def test_unlink_is_audited_and_the_item_is_chased_on_its_own_again(pair):
    w, lead, other, link = pair
    services.item_unlink(actor=w.office, link=link, comment="核实后为两件事")
    link.refresh_from_db()
    assert link.unlinked_by == w.office and link.unlinked_at is not None
    assert AuditEvent.objects.filter(item=other, action="item_unlinked").exists()
    assert AuditEvent.objects.filter(item=lead, action="item_unlinked_from_lead").exists()
    other.refresh_from_db()
    assert schedule(other) != [] and other.next_reminder_at is not None
    services.item_acknowledge(actor=w.env_handler, item=other)  # its own sign-off again
    with pytest.raises(TransitionNotAllowed):
        services.item_unlink(actor=w.office, link=link)


def test_link_rules(pair):
    w, lead, other, link = pair
    third = make_item(ItemStatus.ASSIGNED, office=w.office, lead_unit=w.env, owner=w.env_handler, title="河道保洁")
    with pytest.raises(TransitionNotAllowed) as caught:  # no chains: the lead of a lead
        services.item_link(actor=w.office, item=third, lead=other)
    assert caught.value.code == "link_chain"
    with pytest.raises(TransitionNotAllowed):  # already linked
        services.item_link(actor=w.office, item=other, lead=third)
    elsewhere = make_item(ItemStatus.ASSIGNED, office=w.office, lead_unit=w.edu, owner=w.edu_handler)
    with pytest.raises(InvalidInput):
        services.item_link(actor=w.office, item=elsewhere, lead=lead)
    with pytest.raises(NotPermitted):
        services.item_link(actor=w.env_handler, item=third, lead=lead)


def test_api_link_list_and_unlink(world):
    w = world
    lead = make_item(ItemStatus.ASSIGNED, office=w.office, lead_unit=w.env, owner=w.env_handler, title="城北河道综合整治工程")
    other = make_item(ItemStatus.ASSIGNED, office=w.office, lead_unit=w.env, owner=w.env_handler, title="城北河道整治")
    client = client_for(w.office)
    created = client.post("/api/v1/item-links/", {"item_id": other.pk, "lead_id": lead.pk, "count_once": True}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["lead"]["code"] == lead.code and body["is_active"] and body["count_once"]
    assert client.get(f"/api/v1/item-links/?lead={lead.pk}&active=true").json()["count"] == 1
    # The unit sees the link of its own items too (it reports on the lead).
    assert client_for(w.env_handler).get("/api/v1/item-links/").json()["count"] == 1
    ended = client.post(f"/api/v1/item-links/{body['id']}/unlink/", {"comment": "分开办理"}, format="json")
    assert ended.status_code == 200 and not ended.json()["is_active"]
    assert ItemLink.objects.get().unlinked_at <= timezone.now()
    assert_error(client.post(f"/api/v1/item-links/{body['id']}/unlink/", {}, format="json"), 409, code="link_ended")


def test_statistics_count_the_matter_once_where_the_office_says_so(pair):
    w, lead, other, link = pair
    client = client_for(w.leader)
    period = f"period_start={timezone.localdate()}&period_end={timezone.localdate() + datetime.timedelta(days=60)}"
    every = client.get(f"/api/v1/stats/summary/?{period}").json()
    once = client.get(f"/api/v1/stats/summary/?merged=false&{period}").json()
    assert every["due"]["count"] - once["due"]["count"] == 1
    assert "merged=false" in once["due"]["drilldown"]
    listed = client.get(once["due"]["drilldown"]).json()
    assert other.pk not in {row["id"] for row in listed["results"]} and lead.pk in {row["id"] for row in listed["results"]}
    assert [row["id"] for row in client.get("/api/v1/items/?merged=true").json()["results"]] == [other.pk]
    ItemLink.objects.filter(pk=link.pk).update(count_once=False)  # the office says: count both
    assert client.get(f"/api/v1/stats/summary/?merged=false&{period}").json()["due"]["count"] == every["due"]["count"]
