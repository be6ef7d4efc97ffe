"""移交线索 (/referrals/): 纪检 reads what was referred to 纪检 (the item, the explanations, the
ruling), 组织部门 what was referred to it, the office everything; a case outside one's department
or above one's clearance is a 404, and the page is not for units or leaders (403)."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.choices import Classification, Role
from supervision import services
from supervision.choices import ItemStatus, Ruling
from supervision.models import Item, Referral
from tests.factories import UserFactory, make_item

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def cases(world):
    """An overdue 教育局 item ruled accountable (→ 纪检), a praised 环保局 item (→ 组织部门) and a
    机密 item referred to 纪检."""
    late = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="控辍保学")
    Item.objects.filter(pk=late.pk).update(deadline=timezone.localdate() - datetime.timedelta(days=5))
    (opened,) = services.overdue_explanations_open(item=Item.objects.get(pk=late.pk))
    services.overdue_explanation_submit(
        actor=world.edu_handler, explanation=opened, reason_kind="subjective", text="重视不够，推进迟缓"
    )
    services.overdue_explanation_endorse(actor=world.edu_head, explanation=opened)
    services.overdue_explanation_rule(
        actor=world.office, explanation=opened, ruling=Ruling.ACCOUNTABILITY, comment="主观原因，问责"
    )
    good = make_item(ItemStatus.CLOSED, office=world.office, lead_unit=world.env, owner=world.env_handler, title="河道整治")
    services.referral_create(actor=world.office, item=good, department="organization", reason="成效突出，推荐表扬")
    cleared = UserFactory(username="env_deputy", unit=world.env, roles=[Role.UNIT_HEAD], clearance=Classification.CONFIDENTIAL)
    secret = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.env,
        owner=cleared,
        classification=Classification.CONFIDENTIAL,
    )
    services.referral_create(actor=world.office, item=secret, department="discipline", reason="机密线索")
    return {
        "late": Referral.objects.get(item=late),
        "good": Referral.objects.get(item=good),
        "secret": Referral.objects.get(item=secret),
    }


@pytest.mark.parametrize(
    ("who", "listed"),
    [
        ("office", {"late", "good", "secret"}),
        ("office_low", {"late", "good"}),  # cleared 内部
        ("discipline", {"late"}),  # cleared 秘密: not the 机密 one, nor 组织部门's
        ("organization", {"good"}),
    ],
)
def test_each_reader_lists_the_cases_of_their_department(world, cases, who, listed):
    response = signed_in(getattr(world, who)).get("/referrals/")
    assert response.status_code == 200
    assert {r.pk for r in response.context["page"]} == {cases[k].pk for k in listed}
    for key, referral in cases.items():
        status = 200 if key in listed else 404
        assert signed_in(getattr(world, who)).get(f"/referrals/{referral.pk}/").status_code == status, key


def test_discipline_reads_the_case_with_explanation_and_ruling(world, cases):
    response = signed_in(world.discipline).get(f"/referrals/{cases['late'].pk}/")
    page = response.content.decode()
    for text in ("控辍保学", "县教育局", "主观原因", "重视不够，推进迟缓", "问责", "主观原因，问责", "office", "edu_handler"):
        assert text in page, text
    assert f'href="/items/{cases["late"].item_id}/"' in page


@pytest.mark.parametrize("who", ["edu_handler", "edu_head", "leader"])
def test_not_a_page_for_units_or_leaders(world, cases, who):
    client = signed_in(getattr(world, who))
    assert client.get("/referrals/").status_code == 403
    assert client.get(f"/referrals/{cases['late'].pk}/").status_code == 403


def test_office_filters_by_department(world, cases):
    response = signed_in(world.office).get("/referrals/", {"department": "organization"})
    assert [r.pk for r in response.context["page"]] == [cases["good"].pk]


def test_discipline_takes_a_case_up_and_records_its_outcome(world, cases):
    client = signed_in(world.discipline)
    late = cases["late"]
    page = client.get(f"/referrals/{late.pk}/")
    assert page.context["ack_form"] is not None and page.context["outcome_form"] is None
    # An outcome before 受理: the service's 409, in Chinese.
    early = client.post(f"/referrals/{late.pk}/outcome/", {"outcome": "talk_reminder", "text": "已谈话"})
    assert early.status_code == 409 and "请先受理该移交" in early.content.decode()
    assert client.post(f"/referrals/{late.pk}/acknowledge/", {"comment": "已受理"}).status_code == 302
    late.refresh_from_db()
    assert late.acknowledged_by == world.discipline
    again = client.post(f"/referrals/{late.pk}/acknowledge/", {})
    assert again.status_code == 409 and "已于" in again.content.decode()
    # 纪检 records accountability only; praise is not among its choices.
    wrong = client.post(f"/referrals/{late.pk}/outcome/", {"outcome": "praise", "text": "表扬"})
    assert wrong.status_code == 400 and wrong.context["outcome_form"].errors["outcome"]
    empty = client.post(f"/referrals/{late.pk}/outcome/", {"outcome": "talk_reminder", "text": ""})
    assert empty.status_code == 400 and empty.context["outcome_form"].errors["text"] == ["请填写此项。"]
    document = SimpleUploadedFile("谈话记录.pdf", b"%PDF-1.4 record", content_type="application/pdf")
    done = client.post(
        f"/referrals/{late.pk}/outcome/", {"outcome": "talk_reminder", "text": "已对责任人谈话提醒", "document": document}
    )
    assert done.status_code == 302
    late.refresh_from_db()
    assert late.outcome == "talk_reminder" and late.outcome_attachment.original_name == "谈话记录.pdf"
    shown = signed_in(world.office).get(f"/referrals/{late.pk}/").content.decode()
    assert "谈话提醒" in shown and "已对责任人谈话提醒" in shown
    twice = client.post(f"/referrals/{late.pk}/outcome/", {"outcome": "criticism", "text": "再次"})
    assert twice.status_code == 409


def test_only_the_receiving_department_acts(world, cases):
    # The office reads the case but does not take it up: 403; another department does not see it: 404.
    office = signed_in(world.office)
    assert office.get(f"/referrals/{cases['late'].pk}/").context["ack_form"] is None
    assert office.post(f"/referrals/{cases['late'].pk}/acknowledge/", {}).status_code == 403
    assert signed_in(world.organization).post(f"/referrals/{cases['late'].pk}/acknowledge/", {}).status_code == 404
    assert signed_in(world.edu_head).post(f"/referrals/{cases['late'].pk}/acknowledge/", {}).status_code == 403
    # 组织部门 may record praise on its own case.
    organization = signed_in(world.organization)
    good = cases["good"]
    assert organization.post(f"/referrals/{good.pk}/acknowledge/", {}).status_code == 302
    assert organization.post(f"/referrals/{good.pk}/outcome/", {"outcome": "praise", "text": "予以表扬"}).status_code == 302
    good.refresh_from_db()
    assert good.outcome == "praise"
