"""The pages in a real browser (Debian's chromium, Playwright), signing in as each role in turn
through the login form. At every step the item page shows what the API says for the same session,
and any console or script error fails the walk. Screenshots of every page at 1366×768 and 375×667
go to var/screenshots/.

Walk 1: the office registers an instruction with two items for two units on the 批示件登记 page
(drafts), then assigns both from their pages; the leader comments (批示) and the handler marks it
read; each handler signs for receipt; a handler on a phone (375×667) reports with a photo and asks
for completion with evidence; the unit head signs the request on his phone (rule 14: 签字就是责任)
before the office sees it; the office approves (销号); the return visit passes.
Walk 2: an overdue item: the handler asks for an extension, the unit head signs it, the office
sends it back; the handler explains the delay, the unit head sends the explanation back once and
signs the rewrite; the office rules accountability, which refers the item to 纪检; 纪检 reads it
from the workbench and takes it up (受理) on the item page.

All database work happens before and after the browser: Playwright's sync API runs an event loop in
this thread, in which Django refuses ORM calls."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import sync_playwright

from supervision import services
from supervision.choices import ExplanationStatus, ItemStatus, RequestStatus
from supervision.models import CommentRead, Instruction, Item, ItemRequest, OverdueExplanation, Referral
from tests.e2e.pages import CHROMIUM, CHROMIUM_ARGS, PHONE, Walk, chromium_present, evidence, no_sideways_scroll
from tests.factories import make_item

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _chromium():
    assert chromium_present(), f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)"


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def register_two_drafts(walk: Walk, office, ids: dict, deadline: str) -> dict[str, int]:
    """批示件登记 with two items for two units, saved as drafts; the item ids by title."""
    office.goto(f"{walk.base}/instructions/new/")
    office.wait_for_function("() => window.htmx !== undefined")
    office.select_option("#id_kind", "leader_instruction")
    office.fill("#id_title", "关于校园及周边安全整治的批示")
    office.select_option("#id_issuing_leader", ids["leader"])
    office.fill("#id_text", "请教育局、黄庄乡抓紧整治，按时反馈。")
    rows = (("校舍安全隐患整改", "edu", "edu_handler"), ("校园周边道路整治", "town", "town_handler"))
    for row, (title, unit, owner) in enumerate(rows):
        if row:
            office.click("#add-item")
            office.wait_for_selector(f"#id_items-{row}-title")
        office.fill(f"#id_items-{row}-title", title)
        office.select_option(f"#id_items-{row}-lead_unit", ids[unit])
        office.wait_for_function(f"() => !!document.querySelector('#id_items-{row}-owner option[value=\"{ids[owner]}\"]')")
        office.select_option(f"#id_items-{row}-owner", ids[owner])
        office.fill(f"#id_items-{row}-deadline", deadline)
    walk.shot(office, "registration-office")
    office.click("button[name=draft]")
    office.wait_for_url(re.compile(r"/instructions/\d+/$"))
    listed = office.eval_on_selector_all(
        "tr[data-item-code] td.title a", "as => as.map(a => [a.textContent.trim(), a.getAttribute('href')])"
    )
    statuses = office.eval_on_selector_all("tr[data-item-code] td:nth-child(7)", "tds => tds.map(td => td.textContent.trim())")
    assert statuses == ["草稿", "草稿"], statuses
    return {title: int(href.strip("/").split("/")[-1]) for title, href in listed}


def test_walk_one_item_from_assignment_to_return_visit(live_server, world):
    ids = {name: str(getattr(world, name).pk) for name in ("edu", "town", "edu_handler", "town_handler", "leader")}
    deadline = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    base = live_server.url

    with sync_playwright() as playwright:
        browser = launch(playwright)
        walk = Walk(browser, base)
        try:
            # The office registers the instruction and its two items, then assigns both from their pages.
            office = walk.sign_in("office")
            walk.shot(office, "workbench-office")
            registered = register_two_drafts(walk, office, ids, deadline)
            school, road = registered["校舍安全隐患整改"], registered["校园周边道路整治"]
            for item in (school, road):
                walk.open_item(office, item)
                assert walk.check_item(office, item)["status"] == "draft"
                walk.act(office, "assign", fill={"#id_comment": "请抓紧落实"})
                assert walk.check_item(office, item)["status"] == "assigned"
            walk.shot(office, "item-assigned-office")
            office.goto(f"{base}/items/?status=assigned")
            listed = office.eval_on_selector_all("tr[data-item-id]", "rs => rs.map(r => Number(r.dataset.itemId))")
            api_listed = [r["id"] for r in walk.api(office, "/api/v1/items/", status="assigned")["results"]]
            assert sorted(listed) == sorted(api_listed) == sorted([school, road])
            walk.shot(office, "items-office")

            # The leader comments on the item (批示); the comment is on the page for everyone who sees it.
            leader = walk.sign_in("leader")
            walk.open_item(leader, school)
            leader.fill("#id_comment-text", "务必在汛期前完成整改")
            with leader.expect_navigation():
                leader.click("#comment-form button[type=submit]")
            assert leader.locator(".message.success").count() == 1
            assert "务必在汛期前完成整改" in leader.inner_text("#comments")
            walk.shot(leader, "item-comment-leader")

            # Each handler finds the item on the workbench and signs for it.
            town = walk.sign_in("town_handler", PHONE)
            assert walk.workbench_entries(town, "to_sign") == [road]
            town.click(f'[data-section="to_sign"] a[href="/items/{road}/"]')
            walk.check_item(town, road)
            walk.act(town, "acknowledge")
            assert walk.check_item(town, road)["status"] == "acknowledged"
            assert walk.workbench_entries(town, "to_sign") == []

            phone = walk.sign_in("edu_handler", PHONE)
            assert walk.workbench_entries(phone, "to_sign") == [school]
            walk.shot(phone, "workbench-handler")
            walk.open_item(phone, school)
            # The leader's comment, unread: the handler marks it read (已阅), in place (htmx).
            comment = phone.locator('#comments li[data-comment][data-read="0"]')
            assert comment.count() == 1 and "务必在汛期前完成整改" in comment.inner_text()
            comment.locator("button[type=submit]").click()
            phone.wait_for_selector('#comments li[data-comment][data-read="1"]')
            walk.shot(phone, "item-handler")
            walk.act(phone, "acknowledge", fill={"#id_comment": "已收到"})
            assert walk.check_item(phone, school)["status"] == "acknowledged"

            # A progress report with a photo, on the phone.
            phone.click('#actions [data-action="report"]')
            phone.wait_for_selector("#action-form form")
            assert no_sideways_scroll(phone)
            assert phone.get_attribute("#id_photos", "capture") == "environment"
            walk.shot(phone, "form-report-handler")
            phone.select_option("#id_kind", "stage")
            phone.fill("#id_progress", "60")
            phone.fill("#id_progress_text", "已完成全县校舍排查，发现隐患 12 处")
            phone.set_input_files("#id_photos", [evidence("现场照片.png")])
            with phone.expect_navigation():
                phone.click("#action-form button[type=submit]")
            api = walk.check_item(phone, school)
            assert api["status"] == "in_progress" and api["progress"] == 60
            reports = walk.api(phone, f"/api/v1/items/{school}/reports/")["results"]
            assert len(reports) == 1 and [a["name"] for a in reports[0]["attachments"]] == ["现场照片.png"]
            assert phone.locator(f'#reports [data-report="{reports[0]["id"]}"]').inner_text().count("现场照片.png") == 1
            href = phone.get_attribute("#reports a[data-evidence]", "href")
            assert phone.request.get(f"{base}{href}").ok

            # Completion with its outcome and evidence.
            walk.act(
                phone,
                "completion",
                fill={"#id_outcome": "12 处隐患全部整改，验收合格", "#id_reason": "已按期完成"},
                files={"#id_files": [evidence("验收报告.pdf", b"%PDF-1.4 report")]},
            )
            assert walk.check_item(phone, school)["status"] == "pending_review"
            requests = walk.api(phone, "/api/v1/requests/", item=school)["results"]
            assert [(r["kind"], r["status"]) for r in requests] == [("completion", "awaiting_endorsement")]
            assert "等待单位负责人签字" in phone.inner_text(".message.success")
            walk.shot(phone, "item-pending-review-handler")
            # Until the unit head signs, the office has nothing to decide.
            assert school not in walk.workbench_entries(office, "requests")

            # The unit head finds the request on his workbench and signs it on his phone (签字就是责任).
            head = walk.sign_in("edu_head", PHONE)
            assert walk.workbench_entries(head, "requests_to_endorse") == [school]
            walk.shot(head, "workbench-unit-head")
            head.click(f'[data-section="requests_to_endorse"] a[href="/items/{school}/"]')
            walk.check_item(head, school)
            head.click('#requests [data-action="endorse"]')
            head.wait_for_selector("#action-form form")
            assert no_sideways_scroll(head)
            walk.shot(head, "form-endorse-unit-head")
            head.check('input[name="decision"][value="endorse"]')
            head.fill("#id_comment", "情况属实，同意报督查室销号")
            with head.expect_navigation():
                head.click("#action-form button[type=submit]")
            assert head.locator(".message.success").count() == 1
            (request,) = walk.api(head, "/api/v1/requests/", item=school)["results"]
            assert request["status"] == "pending" and request["endorsement_comment"] == "情况属实，同意报督查室销号"
            assert "单位负责人签字" in head.inner_text("#timeline")
            assert walk.workbench_entries(head, "requests_to_endorse") == []

            # The office approves (销号) from the request on the item page, then the return visit passes.
            assert school in walk.workbench_entries(office, "requests")
            walk.open_item(office, school)
            walk.act(office, "decide", choose={'input[name="decision"][value="approve"]': True}, fill={"#id_comment": "同意销号"})
            api = walk.check_item(office, school)
            assert api["status"] == "closed" and api["closed_at"]
            requests = walk.api(office, "/api/v1/requests/", item=school)["results"]
            assert [(r["kind"], r["status"]) for r in requests] == [("completion", "approved")]
            assert school in walk.workbench_entries(office, "return_visits")
            walk.open_item(office, school)
            office.click('#actions [data-action="return_visit"]')
            office.wait_for_selector("#action-form form")
            walk.shot(office, "form-return-visit-office")
            office.check('input[name="result"][value="passed"]')
            office.fill("#id_findings", "实地回访，整改成效巩固")
            with office.expect_navigation():
                office.click("#action-form button[type=submit]")
            assert walk.check_item(office, school)["status"] == "verified"
            # The timeline names every step in Chinese, by person.
            history = walk.api(office, f"/api/v1/items/{school}/history/")["results"]
            shown = office.eval_on_selector_all("#timeline li[data-event]", "els => els.map(e => e.dataset.event)")
            assert shown == [e["action"] for e in history]
            assert "回访复核通过" in office.inner_text("#timeline")
            walk.shot(office, "item-office")
            office.goto(f"{base}/inbox/")
            walk.shot(office, "inbox-office")
        finally:
            browser.close()
    assert walk.errors == []
    assert Item.objects.get(pk=school).status == ItemStatus.VERIFIED
    assert Instruction.objects.get(title="关于校园及周边安全整治的批示").items.count() == 2
    completion = ItemRequest.objects.get(item_id=school)
    assert (completion.status, completion.endorsed_by) == (RequestStatus.APPROVED, world.edu_head)
    assert CommentRead.objects.filter(user=world.edu_handler, comment__item_id=school).count() == 1


def test_walk_two_extension_sent_back_explanation_ruling_referral(live_server, world):
    item = make_item(
        ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="学校食堂提质改造"
    )
    # Three days overdue: the sweep has asked the unit for an explanation.
    Item.objects.filter(pk=item.pk).update(deadline=timezone.localdate() - datetime.timedelta(days=3))
    services.overdue_explanations_open(item=Item.objects.get(pk=item.pk))
    base = live_server.url
    later = (timezone.localdate() + datetime.timedelta(days=20)).isoformat()

    with sync_playwright() as playwright:
        browser = launch(playwright)
        walk = Walk(browser, base)
        try:
            phone = walk.sign_in("edu_handler", PHONE)
            assert walk.workbench_entries(phone, "explanations") == [item.pk]
            walk.open_item(phone, item.pk)
            assert walk.check_item(phone, item.pk)["light"] == "overdue"
            walk.act(phone, "extension", fill={"#id_requested_deadline": later, "#id_reason": "资金未到位"})
            assert walk.api(phone, "/api/v1/requests/", item=item.pk)["results"][0]["status"] == "awaiting_endorsement"

            # The unit head signs the extension request before it reaches the office.
            head = walk.sign_in("edu_head", PHONE)
            assert walk.workbench_entries(head, "requests_to_endorse") == [item.pk]
            walk.open_item(head, item.pk)
            walk.act(head, "endorse", choose={'input[name="decision"][value="endorse"]': True}, fill={"#id_comment": "同意延期"})
            assert walk.api(head, "/api/v1/requests/", item=item.pk)["results"][0]["status"] == "pending"

            office = walk.sign_in("office")
            walk.open_item(office, item.pk)
            # A second tab opens the same decision form before the first one sends it back.
            other_tab = office.context.new_page()
            other_tab.on("console", lambda msg: walk.errors.append(f"tab: {msg.text}") if msg.type == "error" else None)
            other_tab.goto(f"{base}/items/{item.pk}/")
            other_tab.click('#requests [data-action="decide"]')
            other_tab.wait_for_selector("#action-form form")
            walk.act(
                office, "decide", choose={'input[name="decision"][value="reject"]': True}, fill={"#id_comment": "理由不充分"}
            )
            request = walk.api(office, "/api/v1/requests/", item=item.pk)["results"][0]
            assert (request["status"], request["decision_comment"]) == ("rejected", "理由不充分")
            assert "理由不充分" in office.inner_text("#requests")
            walk.check_item(office, item.pk)
            # The stale tab approves: the page says someone acted first and shows the current state.
            other_tab.check('input[name="decision"][value="approve"]')
            other_tab.click("#action-form button[type=submit]")
            other_tab.wait_for_selector("#action-problem")
            problem = other_tab.inner_text("#action-problem")
            assert "已被他人修改" in problem and "办理中" in problem, problem
            # …and the rest of the page is the item as it is now: the request shows as sent back.
            assert other_tab.get_attribute(f'#requests [data-request="{request["id"]}"]', "data-request-status") == "rejected"
            walk.shot(other_tab, "form-stale-office")
            assert walk.api(office, "/api/v1/requests/", item=item.pk)["results"][0]["status"] == "rejected"
            # The browser logs the refused request (412) as a failed resource: expected, and the only one.
            assert [e for e in walk.errors if "412" in e] and all("412" in e for e in walk.errors), walk.errors
            walk.errors.clear()
            other_tab.close()

            # The handler explains; the office rules accountability, which refers the item to 纪检.
            walk.open_item(phone, item.pk)
            walk.act(
                phone,
                "explain",
                choose={'input[name="reason_kind"][value="subjective"]': True},
                fill={"#id_text": "对工作重视不够，推进迟缓"},
            )
            explanation = walk.api(phone, "/api/v1/explanations/", item=item.pk)["results"][0]
            assert explanation["status"] == "awaiting_endorsement"
            assert item.pk not in walk.workbench_entries(office, "explanations")

            # The unit head sends it back once with a reason; the handler rewrites it; the head signs.
            assert walk.workbench_entries(head, "explanations_to_endorse") == [item.pk]
            walk.open_item(head, item.pk)
            walk.act(
                head,
                "endorse",
                choose={'input[name="decision"][value="return"]': True},
                fill={"#id_comment": "请写明具体原因和整改措施"},
            )
            assert walk.api(head, f"/api/v1/explanations/{explanation['id']}/")["status"] == "awaiting"
            walk.open_item(phone, item.pk)
            assert "请写明具体原因和整改措施" in phone.inner_text("#explanations")
            phone.click('#explanations [data-action="explain"]')
            phone.wait_for_selector("#action-form form")
            assert phone.input_value("#id_text") == "对工作重视不够，推进迟缓"  # kept for the rewrite
            phone.fill("#id_text", "对工作重视不够，推进迟缓；已调整专人负责，两周内完成")
            with phone.expect_navigation():
                phone.click("#action-form button[type=submit]")
            walk.shot(phone, "item-overdue-handler")
            walk.open_item(head, item.pk)
            walk.act(head, "endorse", choose={'input[name="decision"][value="endorse"]': True})
            explanation = walk.api(head, f"/api/v1/explanations/{explanation['id']}/")
            assert explanation["status"] == "submitted"

            assert item.pk in walk.workbench_entries(office, "explanations")
            walk.open_item(office, item.pk)
            office.click('#explanations [data-action="rule"]')
            office.wait_for_selector("#action-form form")
            walk.shot(office, "form-ruling-office")
            office.check('input[name="ruling"][value="accountability"]')
            office.fill("#id_comment", "主观原因造成超期，予以问责")
            office.check('input[name="departments"][value="discipline"]')
            with office.expect_navigation():
                office.click("#action-form button[type=submit]")
            explanation = walk.api(office, f"/api/v1/explanations/{explanation['id']}/")
            assert explanation["ruling"] == "accountability"
            referrals = walk.api(office, f"/api/v1/items/{item.pk}/referrals/")["results"]
            assert [r["department"] for r in referrals] == ["discipline"]

            # 纪检 reads the case: the item, the explanation, the ruling.
            discipline = walk.sign_in("discipline")
            assert walk.workbench_entries(discipline, "referrals") == [item.pk]
            walk.shot(discipline, "workbench-discipline")
            discipline.click(f'[data-section="referrals"] a[href="/items/{item.pk}/"]')
            walk.check_item(discipline, item.pk)
            text = discipline.inner_text("#explanations")
            assert "对工作重视不够" in text and "问责" in text
            assert "纪检监察机关" in discipline.inner_text("#referrals")
            assert walk.api(discipline, f"/api/v1/items/{item.pk}/referrals/")["count"] == 1
            # 纪检 takes the case up (受理) on the item page.
            walk.act(discipline, "referral_acknowledge", fill={"#id_comment": "已受理，启动核查"})
            assert "已受理" in discipline.inner_text("#referrals")
            assert discipline.locator('#referrals [data-action="referral_outcome"]').count() == 1
            walk.shot(discipline, "item-discipline")
            # The referral's own page (/referrals/<id>/): the case as the department reads it.
            referral_id = referrals[0]["id"]
            discipline.goto(f"{walk.base}/referrals/{referral_id}/")
            body = discipline.inner_text("body")
            assert "对工作重视不够" in body and "问责" in body and "尚未受理" not in body  # taken up just above
            walk.shot(discipline, "referral-discipline")
        finally:
            browser.close()
    assert walk.errors == []
    stored = OverdueExplanation.objects.get(item=item, unit=world.edu)
    assert (stored.status, stored.endorsed_by) == (ExplanationStatus.RULED, world.edu_head)
    assert Referral.objects.get(item=item).acknowledged_by == world.discipline
