"""Every form of the item page: bad input shows the field error in Chinese (400), a user who may
not act gets 403 (the form GET and the POST alike), one who may not see gets 404, a stale form
(someone acted first) says so with the current state (412/409), and a good one calls the service
(the audit event and the new state prove it) and goes back to the item page."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from supervision import services
from supervision.choices import ExplanationStatus, ItemStatus, RequestKind, RequestStatus
from supervision.models import Item, ItemRequest, OverdueExplanation, ProgressReport, Referral
from tests.factories import audit_mark, make_item, new_events
from tests.supervision.web.helpers import CJK, field_errors, hx_get, hx_post, page_client, problem

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def act_url(item, action):
    return f"/items/{item.pk}/act/{action}/"


def photo(name="photo.jpg", content=b"\xff\xd8\xff jpeg bytes"):
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


@pytest.fixture
def item(world):
    """In progress: lead 县教育局 (signed, one report), supporting 县环保局 (signed)."""
    return make_item(
        ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, supporting_units=[world.env], owner=world.edu_handler
    )


def assert_done(response, item):
    """htmx success: no body, the browser goes back to the item page."""
    assert response.status_code == 204, response.content.decode()[:500]
    assert response.headers["HX-Redirect"] == f"/items/{item.pk}/"


def assert_field_error(response, field):
    assert response.status_code == 400, response.content.decode()[:500]
    messages = field_errors(response, field)
    assert messages and all(CJK.search(m) for m in messages), (field, response.content.decode()[:1500])
    return messages


# ---------------------------------------------------------------------------------------------
# Sign for receipt and progress reports (the handler's forms)


def test_acknowledge_form(world):
    item = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    # The leader sees the item but may not sign: 403 on the form and on the post.
    leader = page_client(world.leader)
    assert hx_get(leader, act_url(item, "acknowledge")).status_code == 403
    refused = hx_post(leader, act_url(item, "acknowledge"), {"version": item.version})
    assert refused.status_code == 403 and CJK.search(problem(refused))
    # Another unit does not see it at all.
    assert hx_post(page_client(world.env_handler), act_url(item, "acknowledge")).status_code == 404
    handler = page_client(world.edu_handler)
    assert hx_get(handler, act_url(item, "acknowledge")).status_code == 200
    mark = audit_mark()
    assert_done(hx_post(handler, act_url(item, "acknowledge"), {"version": item.version, "comment": "收到"}), item)
    assert [e.action for e in new_events(mark)] == ["item_acknowledged"]
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ACKNOWLEDGED
    # Signing twice: the state forbids it (409) and the page says so with the current state.
    again = hx_post(handler, act_url(item, "acknowledge"), {"version": item.version + 1})
    assert again.status_code == 409
    assert "已签收" in problem(again)


def test_report_form_with_several_files(world, item):
    handler = page_client(world.edu_handler)
    form = hx_get(handler, act_url(item, "report"))
    assert form.status_code == 200
    html = form.content.decode()
    assert 'accept="image/*"' in html and 'capture="environment"' in html and "multiple" in html
    assert "data-upload-progress" in html
    assert_field_error(hx_post(handler, act_url(item, "report"), {"kind": "stage", "progress_text": ""}), "progress_text")
    assert_field_error(
        hx_post(handler, act_url(item, "report"), {"kind": "stage", "progress_text": "x", "progress": 150}), "progress"
    )
    assert_field_error(hx_post(handler, act_url(item, "report"), {"kind": "nonsense", "progress_text": "x"}), "kind")
    data = {"kind": "thematic", "progress_text": "完成校舍排查", "progress": 70, "photos": [photo()]}
    data["files"] = [photo("a.pdf", b"%PDF-1.4 a"), photo("b.pdf", b"%PDF-1.4 b")]
    assert_done(hx_post(handler, act_url(item, "report"), data), item)
    report = ProgressReport.objects.filter(item=item).order_by("-pk").first()
    assert report.progress_text == "完成校舍排查" and report.kind == "thematic"
    assert sorted(a.original_name for a in report.attachments.all()) == ["a.pdf", "b.pdf", "photo.jpg"]
    assert Item.objects.get(pk=item.pk).progress == 70
    page = handler.get(f"/items/{item.pk}/").content.decode()
    assert "完成校舍排查" in page and "photo.jpg" in page
    # The leader may read but not report.
    assert hx_post(page_client(world.leader), act_url(item, "report"), {"kind": "stage", "progress_text": "x"}).status_code == 403


def test_a_refused_report_keeps_no_file(world, item, settings):
    """Evidence stored before a refusal is deleted with it (storage is not transactional)."""
    services.item_request_create(
        actor=world.office, item=item, kind=RequestKind.SUSPENSION, reason="暂缓"
    )  # pending only: the item still works
    suspended = ItemRequest.objects.get(item=item, kind=RequestKind.SUSPENSION)
    services.item_request_decide(actor=world.office, request=suspended, approve=True)
    response = hx_post(
        page_client(world.edu_handler), act_url(item, "report"), {"kind": "stage", "progress_text": "x", "photos": [photo()]}
    )
    assert response.status_code == 409 and "已暂停" in problem(response)
    media = settings.MEDIA_ROOT
    assert not any(p.is_file() for p in media.rglob("*")) if media.exists() else True


# ---------------------------------------------------------------------------------------------
# Requests: extension, completion, suspension, cancellation, and the office's decision


def test_extension_form(world, item):
    handler = page_client(world.edu_handler)
    assert_field_error(
        hx_post(handler, act_url(item, "extension"), {"reason": "x", "requested_deadline": "不是日期"}), "requested_deadline"
    )
    # The service's refusal lands next to the field it names.
    too_early = assert_field_error(
        hx_post(handler, act_url(item, "extension"), {"reason": "x", "requested_deadline": item.deadline.isoformat()}),
        "requested_deadline",
    )
    assert "须晚于当前办理时限" in too_early[0]
    # The supporting unit may not ask (lead unit only): 403 for the form and the post.
    env = page_client(world.env_handler)
    assert hx_get(env, act_url(item, "extension")).status_code == 403
    later = (item.deadline + datetime.timedelta(days=10)).isoformat()
    assert hx_post(env, act_url(item, "extension"), {"reason": "x", "requested_deadline": later}).status_code == 403
    assert_done(hx_post(handler, act_url(item, "extension"), {"reason": "需协调资金", "requested_deadline": later}), item)
    assert ItemRequest.objects.get(item=item, kind=RequestKind.EXTENSION).status == RequestStatus.PENDING


def test_completion_form_needs_evidence(world, item):
    handler = page_client(world.edu_handler)
    assert_field_error(hx_post(handler, act_url(item, "completion"), {"reason": "已完成", "outcome": ""}), "outcome")
    missing = assert_field_error(
        hx_post(handler, act_url(item, "completion"), {"reason": "已完成", "outcome": "隐患全部消除"}), "files"
    )
    assert "佐证材料" in missing[0]
    data = {"reason": "已完成", "outcome": "隐患全部消除", "files": [photo("验收单.pdf", b"%PDF")]}
    assert_done(hx_post(handler, act_url(item, "completion"), data), item)
    assert Item.objects.get(pk=item.pk).status == ItemStatus.PENDING_REVIEW


@pytest.mark.parametrize("kind", ["suspension", "cancellation"])
def test_suspension_and_cancellation_requests(world, item, kind):
    handler = page_client(world.edu_handler)
    assert_field_error(hx_post(handler, act_url(item, kind), {"reason": "  "}), "reason")
    assert hx_post(page_client(world.env_handler), act_url(item, kind), {"reason": "x"}).status_code == 403
    assert_done(hx_post(handler, act_url(item, kind), {"reason": "政策调整"}), item)
    assert ItemRequest.objects.filter(item=item, kind=kind, status=RequestStatus.PENDING).exists()


def test_decision_form(world, item):
    extension = services.item_request_create(
        actor=world.edu_handler,
        item=item,
        kind=RequestKind.EXTENSION,
        reason="需协调资金",
        requested_deadline=item.deadline + datetime.timedelta(days=15),
    )
    item.refresh_from_db()
    url = f"/items/{item.pk}/requests/{extension.pk}/decide/"
    office = page_client(world.office)
    assert_field_error(hx_post(office, url, {"decision": "maybe", "version": item.version}), "decision")
    # Sending back needs a reason: the service's message, next to the comment.
    assert (
        "退回申请须说明理由"
        in assert_field_error(hx_post(office, url, {"decision": "reject", "comment": "", "version": item.version}), "comment")[0]
    )
    handler = page_client(world.edu_handler)
    assert hx_get(handler, url).status_code == 403
    assert hx_post(handler, url, {"decision": "approve", "version": item.version}).status_code == 403
    assert hx_post(page_client(world.town_handler), url, {"decision": "approve"}).status_code == 404
    assert_done(hx_post(office, url, {"decision": "approve", "version": item.version}), item)
    assert Item.objects.get(pk=item.pk).deadline == extension.requested_deadline
    # A second office tab still shows the old form: the page says someone acted first.
    stale = hx_post(office, url, {"decision": "approve", "version": item.version})
    assert stale.status_code == 412
    # The whole item as it is now replaces the stale page (htmx retargets to <main>).
    assert stale.headers["HX-Retarget"] == "main.page" and 'id="item-header"' in stale.content.decode()
    assert 'data-request-status="approved"' in stale.content.decode()
    text = problem(stale)
    assert "已被他人修改" in text and "办理中" in text
    # Without a version the state itself refuses: decided already (409).
    decided = hx_post(office, url, {"decision": "approve"})
    assert decided.status_code == 409 and "不能重复审批" in problem(decided)


# ---------------------------------------------------------------------------------------------
# The office's item forms: assign, resume, return visit, referral


def test_assign_form(world):
    draft = make_item(ItemStatus.DRAFT, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    office = page_client(world.office)
    assert hx_get(page_client(world.edu_handler), act_url(draft, "assign")).status_code == 404  # drafts are unseen
    assert hx_get(page_client(world.leader), act_url(draft, "assign")).status_code == 404
    assert hx_get(office, act_url(draft, "assign")).status_code == 200
    assert_done(hx_post(office, act_url(draft, "assign"), {"version": draft.version}), draft)
    assert Item.objects.get(pk=draft.pk).status == ItemStatus.ASSIGNED


def test_resume_form(world):
    item = make_item(ItemStatus.SUSPENDED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    office = page_client(world.office)
    assert_field_error(hx_post(office, act_url(item, "resume"), {"comment": ""}), "comment")
    assert hx_post(page_client(world.edu_head), act_url(item, "resume"), {"comment": "x"}).status_code == 403
    assert_done(hx_post(office, act_url(item, "resume"), {"comment": "条件具备", "version": item.version}), item)
    assert Item.objects.get(pk=item.pk).status == ItemStatus.IN_PROGRESS


def test_return_visit_form(world):
    item = make_item(ItemStatus.CLOSED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    office = page_client(world.office)
    assert_field_error(hx_post(office, act_url(item, "return_visit"), {"findings": "x"}), "result")
    past = (TODAY() - datetime.timedelta(days=1)).isoformat()
    assert (
        "只有复核未通过"
        in assert_field_error(
            hx_post(
                office,
                act_url(item, "return_visit"),
                {"result": "passed", "findings": "巩固", "new_deadline": TODAY().isoformat()},
            ),
            "new_deadline",
        )[0]
    )
    assert (
        "不能早于今天"
        in assert_field_error(
            hx_post(office, act_url(item, "return_visit"), {"result": "failed", "findings": "反弹", "new_deadline": past}),
            "new_deadline",
        )[0]
    )
    assert (
        hx_post(page_client(world.edu_handler), act_url(item, "return_visit"), {"result": "passed", "findings": "x"}).status_code
        == 403
    )
    new_deadline = (TODAY() + datetime.timedelta(days=20)).isoformat()
    data = {"result": "failed", "findings": "问题反弹", "new_deadline": new_deadline, "version": item.version}
    assert_done(hx_post(office, act_url(item, "return_visit"), data), item)
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_PROGRESS and item.deadline.isoformat() == new_deadline


def test_referral_form(world, item):
    office = page_client(world.office)
    assert_field_error(hx_post(office, act_url(item, "referral"), {"department": "police", "reason": "x"}), "department")
    assert_field_error(hx_post(office, act_url(item, "referral"), {"department": "discipline", "reason": ""}), "reason")
    assert (
        hx_post(page_client(world.leader), act_url(item, "referral"), {"department": "discipline", "reason": "x"}).status_code
        == 403
    )
    assert_done(hx_post(office, act_url(item, "referral"), {"department": "discipline", "reason": "慢作为"}), item)
    assert Referral.objects.filter(item=item, department="discipline").exists()
    twice = hx_post(office, act_url(item, "referral"), {"department": "discipline", "reason": "再次"})
    assert twice.status_code == 409 and "已移交该部门" in problem(twice)


# ---------------------------------------------------------------------------------------------
# Overdue explanations and their ruling


@pytest.fixture
def overdue(world, item, reference_data):
    Item.objects.filter(pk=item.pk).update(deadline=TODAY() - datetime.timedelta(days=3))
    services.overdue_explanations_open(item=Item.objects.get(pk=item.pk))
    return OverdueExplanation.objects.get(item=item, unit=world.edu)


def test_explanation_form(world, item, overdue):
    url = f"/items/{item.pk}/explanations/{overdue.pk}/explain/"
    handler = page_client(world.edu_handler)
    assert_field_error(hx_post(handler, url, {"reason_kind": "", "text": "x"}), "reason_kind")
    assert_field_error(hx_post(handler, url, {"reason_kind": "objective", "text": ""}), "text")
    # The supporting unit cannot even see the lead unit's explanation (no sideways copying).
    env_expl = OverdueExplanation.objects.get(item=item, unit=world.env)
    assert hx_get(page_client(world.env_handler), url).status_code == 404
    assert hx_get(page_client(world.edu_handler), f"/items/{item.pk}/explanations/{env_expl.pk}/explain/").status_code == 404
    assert hx_get(page_client(world.office), url).status_code == 403
    data = {"reason_kind": "objective", "text": "连续暴雨停工", "photos": [photo()]}
    assert_done(hx_post(handler, url, data), item)
    overdue.refresh_from_db()
    assert overdue.status == ExplanationStatus.SUBMITTED and overdue.attachment_links.count() == 1
    link = overdue.attachment_links.get()
    page = handler.get(f"/items/{item.pk}/").content.decode()
    href = f"/api/v1/explanations/{overdue.pk}/attachments/{link.attachment_id}/"
    assert href in page and "photo.jpg" in page
    assert handler.get(href).status_code == 200
    assert page_client(world.env_handler).get(href).status_code == 404  # not the supporting unit's to read
    # Nor its text in the timeline: the supporting unit sees who explained and when, not what.
    env_page = page_client(world.env_handler).get(f"/items/{item.pk}/").content.decode()
    assert "连续暴雨停工" in page and "连续暴雨停工" not in env_page and "内容仅相关单位可见" in env_page


def test_ruling_form(world, item, overdue):
    services.overdue_explanation_submit(actor=world.edu_handler, explanation=overdue, reason_kind="subjective", text="重视不够")
    url = f"/items/{item.pk}/explanations/{overdue.pk}/rule/"
    office = page_client(world.office)
    assert_field_error(hx_post(office, url, {"ruling": "pardon"}), "ruling")
    assert "不能免责" in assert_field_error(hx_post(office, url, {"ruling": "exemption"}), "ruling")[0]
    assert "作为移交理由" in assert_field_error(hx_post(office, url, {"ruling": "accountability", "comment": ""}), "comment")[0]
    assert hx_post(page_client(world.edu_head), url, {"ruling": "accountability", "comment": "x"}).status_code == 403
    assert hx_get(page_client(world.leader), url).status_code == 403
    assert_done(
        hx_post(office, url, {"ruling": "accountability", "comment": "主观原因，问责", "departments": ["discipline"]}), item
    )
    assert Referral.objects.filter(item=item, department="discipline").exists()
    # The discipline department now sees the item, the explanation and the ruling.
    page = page_client(world.discipline).get(f"/items/{item.pk}/")
    assert page.status_code == 200
    assert "重视不够" in page.content.decode() and "问责" in page.content.decode()


# ---------------------------------------------------------------------------------------------
# Without JavaScript the same forms work as whole pages


def test_forms_work_without_htmx(world, item):
    handler = page_client(world.edu_handler)
    page = handler.get(act_url(item, "report"))
    assert page.status_code == 200 and 'id="item-header"' in page.content.decode() and 'id="action-form"' in page.content.decode()
    bad = handler.post(act_url(item, "report"), {"kind": "stage", "progress_text": ""})
    assert bad.status_code == 400 and field_errors(bad, "progress_text")
    ok = handler.post(act_url(item, "report"), {"kind": "stage", "progress_text": "推进中"})
    assert ok.status_code == 302 and ok.headers["Location"] == f"/items/{item.pk}/"
    assert "进展已反馈" in handler.get(ok.headers["Location"]).content.decode()


def test_unknown_action_and_other_methods(world, item):
    handler = page_client(world.edu_handler)
    assert hx_get(handler, act_url(item, "explode")).status_code == 404
    assert handler.put(act_url(item, "report")).status_code == 405
    assert handler.get(f"/items/{item.pk}/requests/999999/decide/").status_code == 404
