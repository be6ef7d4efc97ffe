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
from supervision.models import CommentRead, Item, ItemRequest, LeaderComment, OverdueExplanation, ProgressReport, Referral
from tests.factories import audit_mark, make_item, new_events
from tests.supervision.web.helpers import CJK, field_errors, hx_get, hx_post, page_client, problem

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def act_url(item, action):
    return f"/items/{item.pk}/act/{action}/"


def request_url(item, request, action):
    return f"/items/{item.pk}/requests/{request.pk}/{action}/"


def explanation_url(item, explanation, action):
    return f"/items/{item.pk}/explanations/{explanation.pk}/{action}/"


def flash(client, item) -> str:
    """The item page after an action, with its one-time message."""
    return client.get(f"/items/{item.pk}/").content.decode()


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
    # Rule 14: the unit head signs before the office sees it; the page says where it went.
    assert ItemRequest.objects.get(item=item, kind=RequestKind.EXTENSION).status == RequestStatus.AWAITING_ENDORSEMENT
    page = flash(handler, item)
    assert "延期申请已提交，等待单位负责人签字。" in page and 'data-request-status="awaiting_endorsement"' in page
    # While it waits, the page does not offer a second one (the service would refuse it: 409).
    assert 'data-action="extension"' not in page


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
    assert ItemRequest.objects.filter(item=item, kind=kind, status=RequestStatus.AWAITING_ENDORSEMENT).exists()
    # The unit head files one himself: his request is signed in the same step and goes to the office.
    other = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    head = page_client(world.edu_head)
    assert_done(hx_post(head, act_url(other, kind), {"reason": "政策调整"}), other)
    request = ItemRequest.objects.get(item=other, kind=kind)
    assert (request.status, request.self_endorsed, request.endorsed_by) == (RequestStatus.PENDING, True, world.edu_head)
    assert "等待督查室审批" in flash(head, other)


def test_decision_form(world, item):
    extension = services.item_request_create(
        actor=world.edu_handler,
        item=item,
        kind=RequestKind.EXTENSION,
        reason="需协调资金",
        requested_deadline=item.deadline + datetime.timedelta(days=15),
    )
    url = f"/items/{item.pk}/requests/{extension.pk}/decide/"
    office = page_client(world.office)
    # Not signed by the unit head yet: the office does not see the request at all.
    assert hx_get(office, url).status_code == 404
    assert 'data-action="decide"' not in office.get(f"/items/{item.pk}/").content.decode()
    # The unit head signs on the item page, as he would.
    assert_done(hx_post(page_client(world.edu_head), request_url(item, extension, "endorse"), {"decision": "endorse"}), item)
    item.refresh_from_db()
    assert 'data-action="decide"' in office.get(f"/items/{item.pk}/").content.decode()
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
def overdue(world, item):
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
    # Rule 14: the unit head signs before the office may rule on it.
    assert overdue.status == ExplanationStatus.AWAITING_ENDORSEMENT and overdue.attachment_links.count() == 1
    assert "超期说明已提交，等待单位负责人签字。" in flash(handler, item)
    assert 'data-action="rule"' not in page_client(world.office).get(f"/items/{item.pk}/").content.decode()
    assert_done(hx_post(page_client(world.edu_head), explanation_url(item, overdue, "endorse"), {"decision": "endorse"}), item)
    overdue.refresh_from_db()
    assert overdue.status == ExplanationStatus.SUBMITTED and overdue.endorsed_by == world.edu_head
    assert 'data-action="rule"' in page_client(world.office).get(f"/items/{item.pk}/").content.decode()
    link = overdue.attachment_links.get()
    page = handler.get(f"/items/{item.pk}/").content.decode()
    href = f"/api/v1/explanations/{overdue.pk}/attachments/{link.attachment_id}/"
    assert href in page and "photo.jpg" in page
    assert handler.get(href).status_code == 200
    assert page_client(world.env_handler).get(href).status_code == 404  # not the supporting unit's to read
    # Nor in the timeline: the history leaves out events about a record the reader may not read
    # (selectors.audit_history), so the supporting unit sees neither the text nor the signature.
    env_page = page_client(world.env_handler).get(f"/items/{item.pk}/").content.decode()
    assert "连续暴雨停工" in page and 'data-event="overdue_explanation_submitted"' in page
    assert "连续暴雨停工" not in env_page
    assert 'data-event="overdue_explanation_submitted"' not in env_page
    assert 'data-event="overdue_explanation_endorsed"' not in env_page


def test_ruling_form(world, item, overdue):
    services.overdue_explanation_submit(actor=world.edu_handler, explanation=overdue, reason_kind="subjective", text="重视不够")
    url = f"/items/{item.pk}/explanations/{overdue.pk}/rule/"
    office = page_client(world.office)
    # Not yet signed by the unit head: the office may not rule (the form says so).
    refused = hx_get(office, url)
    assert refused.status_code == 403 and CJK.search(problem(refused))
    services.overdue_explanation_endorse(actor=world.edu_head, explanation=overdue, comment="情况属实")
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
# The unit head's signature (rule 14: 签字就是责任) on requests and overdue explanations


def test_unit_head_signs_a_request_on_the_item_page(world, item):
    later = (item.deadline + datetime.timedelta(days=10)).isoformat()
    handler = page_client(world.edu_handler)
    assert_done(hx_post(handler, act_url(item, "extension"), {"reason": "需协调资金", "requested_deadline": later}), item)
    request = ItemRequest.objects.get(item=item, kind=RequestKind.EXTENSION)
    url = request_url(item, request, "endorse")
    # Only the head (or a named deputy) of the requesting unit signs: the handler may read, not sign.
    assert 'data-action="endorse"' not in handler.get(f"/items/{item.pk}/").content.decode()
    assert hx_get(handler, url).status_code == 403
    refused = hx_post(handler, url, {"decision": "endorse"})
    assert refused.status_code == 403 and "只有本单位负责人" in problem(refused)
    # Another unit's head, and the office before the signature, do not see the request at all.
    assert hx_get(page_client(world.env_head), url).status_code == 404
    assert hx_post(page_client(world.office), url, {"decision": "endorse"}).status_code == 404
    head = page_client(world.edu_head)
    page = head.get(f"/items/{item.pk}/").content.decode()
    assert 'data-action="endorse"' in page and "待单位负责人签字" in page
    form = hx_get(head, url)
    assert form.status_code == 200 and "签字同意" in form.content.decode() and "退回" in form.content.decode()
    assert_field_error(hx_post(head, url, {"decision": "maybe"}), "decision")
    # Sending back needs a reason: the service's message, next to the comment.
    assert "退回申请须说明理由" in assert_field_error(hx_post(head, url, {"decision": "return", "comment": " "}), "comment")[0]
    mark = audit_mark()
    assert_done(hx_post(head, url, {"decision": "endorse", "comment": "情况属实，同意延期"}), item)
    assert [(e.action, e.actor_id) for e in new_events(mark)] == [("extension_endorsed", world.edu_head.pk)]
    request.refresh_from_db()
    assert (request.status, request.endorsed_by, request.endorsement_comment) == (
        RequestStatus.PENDING,
        world.edu_head,
        "情况属实，同意延期",
    )
    page = flash(head, item)
    assert "已签字，申请已报督查室。" in page and 'data-action="endorse"' not in page
    # The office now sees who signed and when, and may decide; the timeline names the signature.
    office_page = page_client(world.office).get(f"/items/{item.pk}/").content.decode()
    assert f'data-endorsed-by="{world.edu_head.pk}"' in office_page and 'data-action="decide"' in office_page
    assert "单位负责人签字" in office_page and 'data-event="extension_endorsed"' in office_page
    # Signing twice: no longer waiting for a signature (409), said in Chinese with the current state.
    again = hx_post(head, url, {"decision": "endorse"})
    assert again.status_code == 409 and "不在待单位签字环节" in problem(again)


def test_unit_head_sends_a_request_back(world, item):
    handler, head = page_client(world.edu_handler), page_client(world.edu_head)
    assert_done(hx_post(handler, act_url(item, "suspension"), {"reason": "政策调整"}), item)
    request = ItemRequest.objects.get(item=item, kind=RequestKind.SUSPENSION)
    assert 'data-action="suspension"' not in handler.get(f"/items/{item.pk}/").content.decode()
    assert_done(hx_post(head, request_url(item, request, "endorse"), {"decision": "return", "comment": "理由不充分"}), item)
    assert "已退回申请人。" in flash(head, item)
    request.refresh_from_db()
    assert request.status == RequestStatus.RETURNED and request.endorsed_at is None
    # The requester reads why, and may ask again; the office never saw it.
    page = handler.get(f"/items/{item.pk}/").content.decode()
    assert "单位负责人退回" in page and "理由不充分" in page and 'data-action="suspension"' in page
    assert f'data-request="{request.pk}"' not in page_client(world.office).get(f"/items/{item.pk}/").content.decode()
    assert Item.objects.get(pk=item.pk).status == ItemStatus.IN_PROGRESS


def test_unit_head_sends_an_explanation_back_and_signs_the_rewrite(world, item, overdue):
    handler, head = page_client(world.edu_handler), page_client(world.edu_head)
    explain, endorse = explanation_url(item, overdue, "explain"), explanation_url(item, overdue, "endorse")
    assert_done(hx_post(handler, explain, {"reason_kind": "objective", "text": "连续暴雨停工"}), item)
    assert hx_get(handler, endorse).status_code == 403
    assert hx_get(page_client(world.env_head), endorse).status_code == 404  # another unit's explanation
    assert 'data-action="endorse"' in head.get(f"/items/{item.pk}/").content.decode()
    assert "退回超期说明须说明理由" in assert_field_error(hx_post(head, endorse, {"decision": "return"}), "comment")[0]
    assert_done(hx_post(head, endorse, {"decision": "return", "comment": "原因写得不实，请补充停工记录"}), item)
    overdue.refresh_from_db()
    assert overdue.status == ExplanationStatus.AWAITING
    # The handler reads why and rewrites it: the form keeps the text the head sent back.
    page = handler.get(f"/items/{item.pk}/").content.decode()
    assert "原因写得不实，请补充停工记录" in page and 'data-action="explain"' in page
    form = hx_get(handler, explain).content.decode()
    assert "连续暴雨停工" in form
    assert_done(hx_post(handler, explain, {"reason_kind": "objective", "text": "连续暴雨停工，附停工记录"}), item)
    assert_done(hx_post(head, endorse, {"decision": "endorse"}), item)
    assert "已签字，超期说明已报督查室。" in flash(head, item)
    overdue.refresh_from_db()
    assert (overdue.status, overdue.endorsed_by, overdue.text) == (
        ExplanationStatus.SUBMITTED,
        world.edu_head,
        "连续暴雨停工，附停工记录",
    )
    again = hx_post(head, endorse, {"decision": "endorse"})
    assert again.status_code == 409 and "不在待单位签字环节" in problem(again)


# ---------------------------------------------------------------------------------------------
# Leader comments (批示、点评) and the departments' handling of a referral


def test_leader_comment_form(world, item):
    url = f"/items/{item.pk}/comments/"
    leader = page_client(world.leader)
    page = leader.get(f"/items/{item.pk}/").content.decode()
    assert 'id="comment-form"' in page and 'name="comment-text"' in page
    bad = hx_post(leader, url, {"comment-text": "  "})
    assert bad.status_code == 400 and field_errors(bad, "text") and all(CJK.search(m) for m in field_errors(bad, "text"))
    # A handler reads comments but does not write them; another unit does not see the item.
    handler = page_client(world.edu_handler)
    assert 'id="comment-form"' not in handler.get(f"/items/{item.pk}/").content.decode()
    refused = hx_post(handler, url, {"comment-text": "x"})
    assert refused.status_code == 403 and "只有领导和督查室可以批示、点评" in refused.content.decode()
    assert hx_post(page_client(world.town_handler), url, {"comment-text": "x"}).status_code == 404
    mark = audit_mark()
    assert_done(hx_post(leader, url, {"comment-text": "请加快进度，月底前见成效"}), item)
    assert [e.action for e in new_events(mark)] == ["leader_comment_added"]
    comment = LeaderComment.objects.get(item=item)
    assert comment.author == world.leader
    # The unit reads it on the item page and marks it read (已阅).
    page = handler.get(f"/items/{item.pk}/").content.decode()
    assert "请加快进度，月底前见成效" in page and f'data-comment="{comment.pk}" data-read="0"' in page
    read = hx_post(handler, f"/items/{item.pk}/comments/{comment.pk}/read/")
    assert read.status_code == 200 and 'data-read="1"' in read.content.decode()
    assert CommentRead.objects.filter(comment=comment, user=world.edu_handler).exists()
    assert hx_post(page_client(world.town_handler), f"/items/{item.pk}/comments/{comment.pk}/read/").status_code == 404
    assert "领导批示点评" in page_client(world.office).get(f"/items/{item.pk}/").content.decode()


def test_department_takes_up_a_referral_and_records_its_outcome_on_the_item_page(world, item):
    referral = services.referral_create(actor=world.office, item=item, department="discipline", reason="慢作为")
    base = f"/items/{item.pk}/referrals/{referral.pk}"
    discipline = page_client(world.discipline)
    page = discipline.get(f"/items/{item.pk}/").content.decode()
    assert 'data-action="referral_acknowledge"' in page and 'data-action="referral_outcome"' not in page
    # The office refers; only the receiving department takes it up. 组织部门 does not see the item.
    assert hx_get(page_client(world.office), f"{base}/acknowledge/").status_code == 403
    refused = hx_post(page_client(world.office), f"{base}/acknowledge/", {"comment": "x"})
    assert refused.status_code == 403 and "只有纪检监察机关" in problem(refused)
    assert hx_get(page_client(world.organization), f"{base}/acknowledge/").status_code == 404
    # The outcome comes after 受理 (409, in Chinese).
    early = hx_post(discipline, f"{base}/outcome/", {"outcome": "talk_reminder", "text": "x"})
    assert early.status_code == 409 and "请先受理" in problem(early)
    assert_done(hx_post(discipline, f"{base}/acknowledge/", {"comment": "已受理，启动核查"}), item)
    referral.refresh_from_db()
    assert referral.acknowledged_by == world.discipline
    page = discipline.get(f"/items/{item.pk}/").content.decode()
    assert "已受理" in page and 'data-action="referral_outcome"' in page
    # 纪检 decides on accountability only: a commendation is not among its choices.
    assert_field_error(hx_post(discipline, f"{base}/outcome/", {"outcome": "praise", "text": "x"}), "outcome")
    assert_field_error(hx_post(discipline, f"{base}/outcome/", {"outcome": "talk_reminder", "text": ""}), "text")
    data = {"outcome": "talk_reminder", "text": "对责任人谈话提醒", "document": photo("处理决定.pdf", b"%PDF-1.4 decision")}
    assert_done(hx_post(discipline, f"{base}/outcome/", data), item)
    referral.refresh_from_db()
    assert referral.outcome == "talk_reminder" and referral.outcome_attachment.original_name == "处理决定.pdf"
    office_page = page_client(world.office).get(f"/items/{item.pk}/").content.decode()
    assert 'data-outcome="talk_reminder"' in office_page and "对责任人谈话提醒" in office_page
    twice = hx_post(discipline, f"{base}/outcome/", {"outcome": "criticism", "text": "再次"})
    assert twice.status_code == 409 and "不能重复登记" in problem(twice)


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
    assert handler.get(f"/items/{item.pk}/requests/999999/endorse/").status_code == 404
    assert handler.get(f"/items/{item.pk}/referrals/999999/acknowledge/").status_code == 404
    request = services.item_request_create(actor=world.edu_handler, item=item, kind=RequestKind.SUSPENSION, reason="x")
    assert handler.get(f"/items/{item.pk}/requests/{request.pk}/explode/").status_code == 404
