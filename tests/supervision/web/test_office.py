"""The office's queues (/office/…) with Django's test client: each list is the visibility rule's,
each button one service call with its audit event; bad input is a Chinese field message (400), a
stale or overtaken form says so (412 / 409) and shows the current list, others get 403, records
the user may not see 404 — never a 500."""

from __future__ import annotations

import datetime
import io

import pytest
from django.test import Client
from django.utils import timezone
from docx import Document

from accounts.choices import Classification, Role
from supervision import services
from supervision.choices import ExplanationStatus, ItemStatus, RequestKind, RequestStatus, Ruling
from supervision.models import (
    AuditEvent,
    ExportApproval,
    Item,
    ItemRequest,
    Notice,
    OfficeSettings,
    OverdueExplanation,
    Referral,
)
from tests.api_helpers import CJK
from tests.factories import UserFactory, make_item

pytestmark = pytest.mark.django_db

OFFICE_PAGES = (
    "/office/requests/",
    "/office/return-visits/",
    "/office/explanations/",
    "/office/notices/",
    "/office/export-approvals/",
)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_text(response) -> str:
    return response.content.decode()


@pytest.fixture
def extension(world):
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="扩建食堂")
    request = services.item_request_create(
        actor=world.edu_handler,
        item=item,
        kind=RequestKind.EXTENSION,
        reason="施工受雨季影响",
        requested_deadline=item.deadline + datetime.timedelta(days=15),
    )
    # Signed inside the unit first (签字就是责任): only then does it reach the office.
    services.item_request_endorse(actor=world.edu_head, request=request)
    return ItemRequest.objects.get(pk=request.pk)


@pytest.mark.parametrize("who", ["edu_handler", "edu_head", "leader", "discipline", "organization"])
def test_office_pages_are_for_the_office_only(world, who):
    client = signed_in(getattr(world, who))
    for path in OFFICE_PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post("/office/requests/1/decide/", {}).status_code == 403


def test_office_pages_open(world):
    client = signed_in(world.office)
    for path in OFFICE_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "待审批申请" in page_text(response)  # the office nav


def test_request_queue_lists_and_approves_an_extension(world, extension):
    client = signed_in(world.office)
    response = client.get("/office/requests/")
    assert [r.pk for r in response.context["page"]] == [extension.pk]
    assert "施工受雨季影响" in page_text(response) and "edu_handler" in page_text(response)
    # The nav says what waits in each queue (the workbench's counts).
    assert '<span class="badge" data-waiting="1">1</span>' in page_text(response).split("待回访复核")[0]
    mark = AuditEvent.objects.count()
    response = client.post(
        f"/office/requests/{extension.pk}/decide/",
        {
            f"r{extension.pk}-decision": "approve",
            f"r{extension.pk}-comment": "同意",
            f"r{extension.pk}-version": extension.item.version,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/office/requests/"
    extension.refresh_from_db()
    item = Item.objects.get(pk=extension.item_id)
    assert extension.status == RequestStatus.APPROVED and item.deadline == extension.requested_deadline
    assert list(AuditEvent.objects.filter(seq__gt=mark).values_list("action", flat=True)) == ["extension_approved"]
    # Deciding it again: the API's 409, in Chinese, the list (now empty) shown.
    again = client.post(
        f"/office/requests/{extension.pk}/decide/", {f"r{extension.pk}-decision": "reject", f"r{extension.pk}-comment": "退回"}
    )
    assert again.status_code == 409 and "不能重复审批" in page_text(again) and not list(again.context["page"])


def test_send_back_needs_a_reason_and_a_stale_form_is_refused(world, extension):
    client = signed_in(world.office)
    prefix = f"r{extension.pk}"
    response = client.post(f"/office/requests/{extension.pk}/decide/", {f"{prefix}-decision": "reject", f"{prefix}-comment": ""})
    assert response.status_code == 400 and "退回申请须说明理由。" in page_text(response)
    # Someone acted on the item since the page was read: 412, nothing decided.
    stale = client.post(
        f"/office/requests/{extension.pk}/decide/",
        {f"{prefix}-decision": "approve", f"{prefix}-version": extension.item.version - 1},
    )
    assert stale.status_code == 412 and "记录已被他人修改" in page_text(stale)
    extension.refresh_from_db()
    assert extension.status == RequestStatus.PENDING


def test_request_on_an_item_above_clearance_is_not_found(world):
    item = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_head,
        classification=Classification.SECRET,
    )
    request = services.item_request_create(
        actor=world.edu_head,
        item=item,
        kind=RequestKind.EXTENSION,
        reason="理由",
        requested_deadline=item.deadline + datetime.timedelta(days=5),
    )
    low = signed_in(world.office_low)  # office staff cleared 内部
    assert not list(low.get("/office/requests/").context["page"])
    response = low.post(f"/office/requests/{request.pk}/decide/", {f"r{request.pk}-decision": "approve"})
    assert response.status_code == 404


def test_return_visit_passes_and_bad_input_is_chinese(world):
    item = make_item(ItemStatus.CLOSED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="校舍维修")
    client = signed_in(world.office)
    assert [i.pk for i in client.get("/office/return-visits/").context["page"]] == [item.pk]
    prefix = f"v{item.pk}"
    response = client.post(f"/office/return-visits/{item.pk}/", {f"{prefix}-result": "passed", f"{prefix}-findings": ""})
    assert response.status_code == 400 and "请填写此项。" in page_text(response)
    past = (timezone.localdate() - datetime.timedelta(days=3)).isoformat()
    response = client.post(
        f"/office/return-visits/{item.pk}/",
        {f"{prefix}-result": "failed", f"{prefix}-findings": "问题反弹", f"{prefix}-new_deadline": past},
    )
    assert response.status_code == 400 and "整改时限不能早于今天。" in page_text(response)
    assert Item.objects.get(pk=item.pk).status == ItemStatus.CLOSED
    response = client.post(f"/office/return-visits/{item.pk}/", {f"{prefix}-result": "passed", f"{prefix}-findings": "整改到位"})
    assert response.status_code == 302
    assert Item.objects.get(pk=item.pk).status == ItemStatus.VERIFIED
    # The form of a page read before: the item is no longer closed (409), the list is current.
    again = client.post(f"/office/return-visits/{item.pk}/", {f"{prefix}-result": "passed", f"{prefix}-findings": "再次"})
    assert again.status_code == 409 and CJK.search(again.context["refusals"][0]) and not list(again.context["page"])


@pytest.fixture
def explanation(world):
    """An overdue item of 教育局 whose handler explained it with a subjective reason."""
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="控辍保学")
    Item.objects.filter(pk=item.pk).update(deadline=timezone.localdate() - datetime.timedelta(days=5))
    (opened,) = services.overdue_explanations_open(item=Item.objects.get(pk=item.pk))
    services.overdue_explanation_submit(actor=world.edu_handler, explanation=opened, reason_kind="subjective", text="重视不够")
    return services.overdue_explanation_endorse(actor=world.edu_head, explanation=opened)


def test_ruling_on_an_explanation_refers_accountability_to_discipline(world, explanation):
    client = signed_in(world.office)
    assert [e.pk for e in client.get("/office/explanations/").context["page"]] == [explanation.pk]
    prefix = f"e{explanation.pk}"
    url = f"/office/explanations/{explanation.pk}/rule/"
    response = client.post(url, {f"{prefix}-ruling": Ruling.EXEMPTION})
    assert response.status_code == 400 and "主观原因造成超期的，应当问责，不能免责。" in page_text(response)
    response = client.post(url, {f"{prefix}-ruling": Ruling.ACCOUNTABILITY, f"{prefix}-comment": ""})
    assert response.status_code == 400 and "问责须写明认定意见" in page_text(response)
    response = client.post(url, {f"{prefix}-ruling": Ruling.ACCOUNTABILITY, f"{prefix}-comment": "主观原因，问责"})
    assert response.status_code == 302
    explanation.refresh_from_db()
    assert explanation.status == ExplanationStatus.RULED and explanation.ruling == Ruling.ACCOUNTABILITY
    assert Referral.objects.get(item=explanation.item).department == "discipline"
    assert client.post(url, {f"{prefix}-ruling": Ruling.ACCOUNTABILITY, f"{prefix}-comment": "再次"}).status_code == 409


def test_explanation_on_an_invisible_item_is_not_found(world):
    item = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_head,
        classification=Classification.SECRET,
    )
    Item.objects.filter(pk=item.pk).update(deadline=timezone.localdate() - datetime.timedelta(days=5))
    (opened,) = services.overdue_explanations_open(item=Item.objects.get(pk=item.pk))
    response = signed_in(world.office_low).post(
        f"/office/explanations/{opened.pk}/rule/", {f"e{opened.pk}-ruling": "accountability"}
    )
    assert response.status_code == 404
    assert OverdueExplanation.objects.get(pk=opened.pk).status == ExplanationStatus.AWAITING


def test_notice_drafted_from_codes_issued_and_downloaded(world):
    first = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="甲事项")
    second = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.env, owner=world.env_handler, title="乙事项")
    client = signed_in(world.office)
    data = {
        "kind": "criticism",
        "title": "关于落实不力问题的通报",
        "body": "现将有关情况通报如下。",
        "codes": f"{first.code}，DB-1999-9999",
    }
    response = client.post("/office/notices/new/", data)
    assert response.status_code == 400 and "台账编号不存在：DB-1999-9999" in page_text(response)
    data["codes"] = f"{first.code}\n{second.code.lower()}"
    assert client.post("/office/notices/new/", data).status_code == 302
    notice = Notice.objects.get()
    assert list(notice.entries.order_by("position").values_list("unit__name", flat=True)) == ["县教育局", "县环保局"]
    assert client.post(f"/office/notices/{notice.pk}/issue/").status_code == 302
    notice.refresh_from_db()
    assert notice.number and notice.status == "issued"
    again = client.post(f"/office/notices/{notice.pk}/issue/")
    assert again.status_code == 409 and "不能重复印发" in page_text(again)
    download = client.get(f"/office/notices/{notice.pk}/docx/")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    text = "\n".join(p.text for p in Document(io.BytesIO(download.content)).paragraphs)
    assert "关于落实不力问题的通报" in text
    # A notice naming a 秘密 item does not exist for office staff cleared 内部.
    secret = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_head,
        classification=Classification.SECRET,
    )
    services.notice_create(actor=world.office, kind="criticism", title="涉密通报", body="正文", entries=[(secret, world.edu, "")])
    hidden = Notice.objects.get(title="涉密通报")
    low = signed_in(world.office_low)
    assert low.get(f"/office/notices/{hidden.pk}/docx/").status_code == 404
    assert low.post(f"/office/notices/{hidden.pk}/issue/").status_code == 404


def test_export_approval_granted_refused_and_revoked(world):
    client = signed_in(world.office)
    until = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    # Above the grantee's clearance (秘密): a field message.
    response = client.post(
        "/office/export-approvals/new/",
        {"grantee": world.edu_head.pk, "classification": "3", "reason": "年终盘点", "valid_until": until},
    )
    assert response.status_code == 400 and "不能高于被批准人的密级权限" in page_text(response)
    response = client.post(
        "/office/export-approvals/new/", {"grantee": world.edu_head.pk, "classification": "2", "reason": "", "valid_until": until}
    )
    assert response.status_code == 400 and "请填写此项。" in page_text(response)
    # Never one's own (four eyes): may not act.
    response = client.post(
        "/office/export-approvals/new/",
        {"grantee": world.office.pk, "classification": "2", "reason": "自用", "valid_until": until},
    )
    assert response.status_code == 403
    response = client.post(
        "/office/export-approvals/new/",
        {"grantee": world.edu_head.pk, "classification": "2", "reason": "年终盘点", "valid_until": until},
    )
    assert response.status_code == 302
    approval = ExportApproval.objects.get()
    assert approval.grantee == world.edu_head and approval.approved_by == world.office
    assert "edu_head" in page_text(client.get("/office/export-approvals/"))
    assert (
        client.post(f"/office/export-approvals/{approval.pk}/revoke/", {f"a{approval.pk}-reason": "盘点结束"}).status_code == 302
    )
    approval.refresh_from_db()
    assert approval.revoked_at is not None
    again = client.post(f"/office/export-approvals/{approval.pk}/revoke/", {})
    assert again.status_code == 409 and "已于" in page_text(again)


def test_director_approves_or_returns_items_a_staff_member_assigned(world):
    OfficeSettings.objects.update_or_create(pk=1, defaults={"director_approval_required": True})
    director = UserFactory(
        username="director", full_name="督查室主任", unit=world.office_unit, roles=[Role.OFFICE_DIRECTOR], clearance=3
    )
    first = make_item(ItemStatus.DRAFT, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="待批一")
    second = make_item(ItemStatus.DRAFT, office=world.office, lead_unit=world.env, owner=world.env_handler, title="待批二")
    for item in (first, second):
        services.item_assign(actor=world.office, item=item)
    first, second = Item.objects.get(pk=first.pk), Item.objects.get(pk=second.pk)
    assert first.status == second.status == ItemStatus.AWAITING_APPROVAL
    staff = signed_in(world.office)
    listed = staff.get("/office/approvals/")
    assert {i.pk for i in listed.context["page"]} == {first.pk, second.pk} and "等待督查室主任审批" in page_text(listed)
    # Office staff may see the queue, not decide it.
    assert staff.post(f"/office/approvals/{first.pk}/", {f"i{first.pk}-decision": "approve"}).status_code == 403
    boss = signed_in(director)
    url = f"/office/approvals/{second.pk}/"
    response = boss.post(url, {f"i{second.pk}-decision": "return", f"i{second.pk}-comment": ""})
    assert response.status_code == 400 and "退回须说明理由。" in page_text(response)
    stale = boss.post(url, {f"i{second.pk}-decision": "approve", f"i{second.pk}-version": second.version - 1})
    assert stale.status_code == 412
    assert boss.post(url, {f"i{second.pk}-decision": "return", f"i{second.pk}-comment": "责任人不明确"}).status_code == 302
    ok = boss.post(f"/office/approvals/{first.pk}/", {f"i{first.pk}-decision": "approve", f"i{first.pk}-version": first.version})
    assert ok.status_code == 302
    assert Item.objects.get(pk=first.pk).status == ItemStatus.ASSIGNED
    assert Item.objects.get(pk=second.pk).status == ItemStatus.DRAFT


def test_queue_counts_stop_at_the_cap_and_say_more(world, monkeypatch):
    """The office's nav badges and queue pages count no further than the cap (at a million items
    the return visits alone are hundreds of thousands): exact below it, "N+" beyond."""
    from supervision.selectors import counting

    monkeypatch.setattr(counting, "COUNT_CAP", 2)
    for n in range(3):
        make_item(ItemStatus.CLOSED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title=f"已销号{n}")
    html = signed_in(world.office).get("/office/return-visits/").content.decode()
    assert (
        'href="/office/return-visits/" class="current" aria-current="page">待回访复核 <span class="badge" data-waiting="2+">2+</span>'
        in html
    )
    assert all(f"已销号{n}" in html for n in range(3))  # the page itself lists every row of its page
    assert 'data-waiting="0"' not in html  # an empty queue shows no badge
