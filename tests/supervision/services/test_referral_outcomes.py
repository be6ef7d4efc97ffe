"""Referral outcomes (issue 12 B): the receiving department accepts (受理) then records the outcome;
409 out of order or twice; the office and the item's history see it; counts by outcome."""

import pytest

from supervision import selectors, services
from supervision.choices import ItemStatus, ReferralDepartment, ReferralOutcome
from supervision.errors import DomainError, InvalidInput, TransitionNotAllowed
from supervision.models import Referral
from tests.api_helpers import assert_error, client_for
from tests.factories import assert_one_event, audit_mark, make_item, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral(world):
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    return services.referral_create(actor=world.office, item=item, department=ReferralDepartment.DISCIPLINE, reason="慢作为")


def test_acknowledge_then_record_the_outcome_audited_in_the_items_history(world, referral):
    mark = audit_mark()
    services.referral_acknowledge(actor=world.discipline, referral=referral)
    assert_one_event(mark, action="referral_acknowledged", actor=world.discipline, item=referral.item)
    evidence = upload(world.discipline, name="处理决定.pdf")
    mark = audit_mark()
    services.referral_outcome_record(
        actor=world.discipline,
        referral=referral,
        outcome=ReferralOutcome.ADMONITION,
        text="对责任人诫勉谈话",
        attachment_id=evidence.pk,
    )
    event = assert_one_event(mark, action="referral_outcome_recorded", actor=world.discipline, item=referral.item)
    assert event.data["outcome"] == "admonition" and event.comment == "对责任人诫勉谈话"
    stored = Referral.objects.get(pk=referral.pk)
    assert stored.outcome == ReferralOutcome.ADMONITION and stored.outcome_attachment == evidence
    assert stored.acknowledged_by == world.discipline and stored.outcome_recorded_by == world.discipline
    for reader in (world.office, world.discipline):
        actions = [e.action for e in selectors.audit_history(user=reader, item=referral.item)]
        assert "referral_acknowledged" in actions and "referral_outcome_recorded" in actions, reader


def test_outcome_before_acknowledgement_or_twice_is_409(world, referral):
    with pytest.raises(TransitionNotAllowed) as info:
        services.referral_outcome_record(actor=world.discipline, referral=referral, outcome="talk_reminder", text="谈话提醒")
    assert info.value.code == "referral_not_acknowledged"
    services.referral_acknowledge(actor=world.discipline, referral=referral)
    with pytest.raises(TransitionNotAllowed):
        services.referral_acknowledge(actor=world.discipline, referral=referral)
    services.referral_outcome_record(actor=world.discipline, referral=referral, outcome="talk_reminder", text="谈话提醒")
    with pytest.raises(TransitionNotAllowed) as info:
        services.referral_outcome_record(actor=world.discipline, referral=referral, outcome="no_action", text="改判")
    assert info.value.code == "referral_outcome_already_recorded"
    assert Referral.objects.get(pk=referral.pk).outcome == "talk_reminder"


@pytest.mark.parametrize("who", ["office", "organization", "edu_head"])
def test_only_the_receiving_department_acts(world, referral, who):
    with pytest.raises(DomainError) as info:
        services.referral_acknowledge(actor=getattr(world, who), referral=referral)
    assert info.value.status_code in (403, 404)
    assert Referral.objects.get(pk=referral.pk).acknowledged_at is None


def test_discipline_records_accountability_outcomes_only(world, referral):
    services.referral_acknowledge(actor=world.discipline, referral=referral)
    with pytest.raises(InvalidInput) as info:
        services.referral_outcome_record(actor=world.discipline, referral=referral, outcome=ReferralOutcome.PRAISE, text="表扬")
    assert "outcome" in info.value.fields


def test_organization_records_a_commendation(world):
    item = make_item(ItemStatus.CLOSED, office=world.office, lead_unit=world.env, owner=world.env_handler)
    referral = services.referral_create(
        actor=world.office, item=item, department=ReferralDepartment.ORGANIZATION, reason="典型推荐"
    )
    services.referral_acknowledge(actor=world.organization, referral=referral)
    services.referral_outcome_record(actor=world.organization, referral=referral, outcome="recommendation", text="列入推荐名单")
    assert Referral.objects.get(pk=referral.pk).get_outcome_display() == "推荐"


def test_counts_by_outcome_through_the_visibility_rule(world, referral):
    services.referral_acknowledge(actor=world.discipline, referral=referral)
    services.referral_outcome_record(actor=world.discipline, referral=referral, outcome="criticism", text="通报批评")
    other = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.town, owner=world.town_handler)
    services.referral_create(actor=world.office, item=other, department=ReferralDepartment.ORGANIZATION, reason="不作为")
    office = {(r["department"], r["outcome"]): r["count"] for r in selectors.referral_outcome_counts(user=world.office)}
    assert office == {("discipline", "criticism"): 1, ("organization", ""): 1}
    # 组织部门 sees only the item referred to it.
    assert selectors.referral_outcome_counts(user=world.organization) == [
        {"department": "organization", "outcome": "", "count": 1, "acknowledged": 0}
    ]


def test_api_acknowledge_outcome_and_stats(world, referral):
    department = client_for(world.discipline)
    assert [r["id"] for r in department.get("/api/v1/referrals/").json()["results"]] == [referral.pk]
    assert_error(
        department.post(f"/api/v1/referrals/{referral.pk}/outcome/", {"outcome": "admonition", "text": "诫勉"}, format="json"),
        409,
    )
    assert department.post(f"/api/v1/referrals/{referral.pk}/acknowledge/", {}, format="json").status_code == 200
    assert_error(client_for(world.office).post(f"/api/v1/referrals/{referral.pk}/acknowledge/", {}, format="json"), 403)
    evidence = department.post("/api/v1/attachments/", {"file": upload_file()}, format="multipart").json()
    r = department.post(
        f"/api/v1/referrals/{referral.pk}/outcome/",
        {"outcome": "admonition", "text": "诫勉", "attachment_id": evidence["id"]},
        format="json",
    )
    assert (
        r.status_code == 200 and r.json()["outcome_display"] == "诫勉" and r.json()["outcome_attachment"]["id"] == evidence["id"]
    )
    assert_error(
        department.post(f"/api/v1/referrals/{referral.pk}/outcome/", {"outcome": "admonition", "text": "x"}, format="json"), 409
    )
    # The office sees it on the item, and may read the decision document.
    office = client_for(world.office)
    listed = office.get(f"/api/v1/items/{referral.item_id}/referrals/").json()["results"][0]
    assert listed["outcome"] == "admonition" and listed["acknowledged_by"]["id"] == world.discipline.pk
    assert office.get(evidence["download_url"]).status_code == 200
    assert client_for(world.edu_handler).get(evidence["download_url"]).status_code == 404
    stats = office.get("/api/v1/stats/referrals/").json()
    assert {
        "department": "discipline",
        "outcome": "admonition",
        "outcome_display": "诫勉",
        "count": 1,
        "acknowledged": 1,
    } in stats


def upload_file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("处理决定.pdf", b"%PDF-1.4 decision", content_type="application/pdf")
