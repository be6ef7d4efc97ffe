"""批示件登记 + 分解立项 in a real browser (Debian's chromium, Playwright, live server): office staff
sign in, fill the instruction, add a second item row (htmx), pick each lead unit and see its
owners offered (and withdrawn when the classification rises above an owner's clearance), give one
deadline as working days and see the computed date, then register and assign at once. The office
queues, the instructions pages and 移交线索 open without sideways scrolling at 1366 and at 375 px;
screenshots go to var/screenshots/. Any page error or console error fails the test.

Database work happens before and after the browser (Django refuses ORM calls inside Playwright's
event loop)."""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

from supervision import services
from supervision.choices import ItemStatus, RequestKind, SuspicionSource
from supervision.models import Instruction, Item
from supervision.workcalendar import add_workdays
from tests.factories import CategoryFactory, make_instruction, make_item

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 375, "height": 667}
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PAGES = {
    "instructions": "/instructions/",
    "office-approvals": "/office/approvals/",
    "office-requests": "/office/requests/",
    "office-return-visits": "/office/return-visits/",
    "office-explanations": "/office/explanations/",
    "office-notices": "/office/notices/",
    "office-export-approvals": "/office/export-approvals/",
    "office-duplicates": "/office/duplicates/",
    "referrals": "/referrals/",
}


def no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def owner_values(page, row: int) -> list[str]:
    return page.eval_on_selector_all(f"#id_items-{row}-owner option", "os => os.map(o => o.value).filter(Boolean)")


def queues_with_rows(world) -> None:
    """Something in every queue, so the screenshots and the width checks see real rows."""
    working = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_handler,
        supporting_units=[world.env],
        title="校舍安全隐患排查整治（含周边道路、围墙和消防通道）",
    )
    request = services.item_request_create(
        actor=world.edu_handler,
        item=working,
        kind=RequestKind.EXTENSION,
        reason="汛期施工受限，围墙加固需延后两周完成。",
        requested_deadline=working.deadline + datetime.timedelta(days=14),
    )
    services.item_request_endorse(actor=world.edu_head, request=request)
    make_item(ItemStatus.CLOSED, office=world.office, lead_unit=world.env, owner=world.env_handler, title="河道垃圾清理")
    late = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="控辍保学")
    Item.objects.filter(pk=late.pk).update(deadline=timezone.localdate() - datetime.timedelta(days=5))
    (opened,) = services.overdue_explanations_open(item=Item.objects.get(pk=late.pk))
    services.overdue_explanation_submit(
        actor=world.edu_handler, explanation=opened, reason_kind="objective", text="学生随父母外出务工，需跨省核查。"
    )
    services.overdue_explanation_endorse(actor=world.edu_head, explanation=opened)
    services.notice_create(
        actor=world.office,
        kind="criticism",
        title="关于控辍保学工作推进迟缓的通报",
        body="现将有关情况通报如下。",
        entries=[(late, world.edu, "")],
    )
    services.referral_create(actor=world.office, item=late, department="discipline", reason="多次催办仍未落实")
    # 疑似重复: an imported item for a matter already on the ledger at the same unit.
    river = {"lead_unit": world.env, "owner": world.env_handler, "requirement": "清淤疏浚城北河道，年底前消除黑臭水体"}
    make_item(ItemStatus.IN_PROGRESS, office=world.office, title="城北河道综合整治工程", **river)
    imported = make_item(
        ItemStatus.ASSIGNED,
        office=world.office,
        title="城北河道综合整治",
        instruction=make_instruction(office=world.office),
        **river,
    )
    with transaction.atomic():  # as intake and import call it: inside their own transaction
        assert services.suspicions_raise(actor=world.office, items=[imported], source=SuspicionSource.IMPORT)


def test_register_and_assign_two_items_in_chromium(live_server, world):
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    CategoryFactory(name="民生实事")
    queues_with_rows(world)
    base = live_server.url
    today = timezone.localdate()
    in_ten_workdays = add_workdays(today, 10).isoformat()
    ids = {name: str(getattr(world, name).pk) for name in ("edu", "env", "edu_handler", "edu_head", "env_handler", "leader")}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            laptop = browser.new_context(viewport=LAPTOP, locale="zh-CN")
            page = laptop.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            # A failed load is reported by URL below (browsers ask for /favicon.ico on their own).
            page.on(
                "console",
                lambda msg: (
                    problems.append(msg.text)
                    if msg.type == "error" and not msg.text.startswith("Failed to load resource")
                    else None
                ),
            )
            page.on(
                "response",
                lambda r: (
                    problems.append(f"{r.status} {r.url}") if r.status >= 400 and not r.url.endswith("/favicon.ico") else None
                ),
            )

            page.goto(f"{base}/login/?next=/instructions/new/")
            for size, shot in ((PHONE, "phone"), (LAPTOP, "laptop")):  # the sign-in page, as everyone first sees it
                page.set_viewport_size(size)
                assert no_sideways_scroll(page), ("login", shot)
                page.screenshot(path=str(SCREENSHOTS / f"login-{shot}.png"), full_page=True)
            page.fill("#id_username", "office")
            page.fill("#id_password", "pass-1234")
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/instructions/new/")
            page.wait_for_function("() => window.htmx !== undefined")

            # Sent empty: the page comes back (htmx) with the Chinese message beside the field.
            page.click("button[name=assign]")
            page.wait_for_selector("#field-title .field-error")
            assert page.inner_text("#field-title .field-error") == "请填写此项。"
            assert page.url == f"{base}/instructions/new/"
            assert problems == [f"400 {base}/instructions/new/"]  # the refusal itself, and nothing else
            problems.clear()

            page.select_option("#id_kind", "leader_instruction")
            page.fill("#id_title", "关于整治校园周边环境的批示")
            page.select_option("#id_issuing_leader", ids["leader"])
            page.fill("#id_document_number", "县委督〔2026〕12号")
            page.fill("#id_text", "请教育局、环保局抓紧整治，按时反馈。")
            page.set_input_files(
                "#id_attachments", [{"name": "批示件扫描.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 scan"}]
            )

            # Item 1: the owner list follows the lead unit.
            page.fill("#id_items-0-title", "校园周边交通整治")
            page.select_option("#id_items-0-lead_unit", ids["edu"])
            page.wait_for_function(
                "() => document.querySelectorAll('#id_items-0-owner option[value]:not([value=\"\"])').length >= 2"
            )
            assert set(owner_values(page, 0)) == {ids["edu_handler"], ids["edu_head"]}
            page.select_option("#id_items-0-owner", ids["edu_handler"])
            page.select_option("#id_items-0-supporting_units", [ids["env"]])
            page.fill("#id_items-0-deadline", (today + datetime.timedelta(days=20)).isoformat())

            # Item 2, added with htmx: deadline in working days, its date shown live.
            page.click("#add-item")
            page.wait_for_selector("#id_items-1-title")
            assert page.input_value("#id_items-TOTAL_FORMS") == "2"
            page.fill("#id_items-1-title", "校园周边噪声治理")
            page.select_option("#id_items-1-lead_unit", ids["env"])
            page.wait_for_function(
                "() => document.querySelectorAll('#id_items-1-owner option[value]:not([value=\"\"])').length >= 1"
            )
            page.select_option("#id_items-1-owner", ids["env_handler"])
            page.check("#id_items-1-deadline_mode_1")
            assert page.is_hidden("#id_items-1-deadline")
            page.fill("#id_items-1-deadline_workdays", "10")
            page.wait_for_selector(f'#items-1-workdays-preview [data-deadline="{in_ten_workdays}"]')

            # 秘密: the handlers (cleared 内部) are no longer offered; back to 公开, they are again.
            page.select_option("#id_classification", "2")
            page.wait_for_function(f"() => !document.querySelector('#id_items-0-owner option[value=\"{ids['edu_handler']}\"]')")
            assert owner_values(page, 0) == [ids["edu_head"]]
            page.select_option("#id_classification", "0")
            page.wait_for_function(f"() => !!document.querySelector('#id_items-1-owner option[value=\"{ids['env_handler']}\"]')")
            page.wait_for_function(f"() => !!document.querySelector('#id_items-0-owner option[value=\"{ids['edu_handler']}\"]')")
            page.select_option("#id_items-0-owner", ids["edu_handler"])
            page.select_option("#id_items-1-owner", ids["env_handler"])
            assert no_sideways_scroll(page)
            page.screenshot(path=str(SCREENSHOTS / "registration-filled-laptop.png"), full_page=True)

            page.click("button[name=assign]")
            try:
                page.wait_for_url(re.compile(r"/instructions/\d+/$"), timeout=15000)
            except PlaywrightTimeoutError as exc:
                shown = page.eval_on_selector_all(".errors, .field-error", "els => els.map(e => e.textContent.trim())")
                raise AssertionError(f"not registered: {shown}") from exc
            statuses = page.eval_on_selector_all(
                "tr[data-item-code] td:nth-child(7)", "tds => tds.map(td => td.textContent.trim())"
            )
            assert statuses == ["已交办", "已交办"]
            page.screenshot(path=str(SCREENSHOTS / "instruction-laptop.png"), full_page=True)
            detail_path = page.url.removeprefix(base)

            # The office's pages at laptop and phone width: no sideways scrolling.
            phone = browser.new_context(viewport=PHONE, locale="zh-CN", storage_state=laptop.storage_state(), is_mobile=True)
            mobile = phone.new_page()
            mobile.on("pageerror", lambda exc: problems.append(str(exc)))
            for name, path in {**PAGES, "instruction": detail_path, "registration": "/instructions/new/"}.items():
                for tab, shot in ((page, "laptop"), (mobile, "phone")):
                    response = tab.goto(f"{base}{path}")
                    assert response.status == 200, (name, response.status)
                    assert no_sideways_scroll(tab), (name, shot)
                    tab.screenshot(path=str(SCREENSHOTS / f"{name}-{shot}.png"), full_page=True)
            assert problems == []
        finally:
            browser.close()

    instruction = Instruction.objects.get(title="关于整治校园周边环境的批示")
    items = list(Item.objects.filter(instruction=instruction).order_by("id"))
    assert [i.status for i in items] == [ItemStatus.ASSIGNED, ItemStatus.ASSIGNED]
    assert items[0].owner == world.edu_handler and items[1].deadline.isoformat() == in_ten_workdays
    assert [a.original_name for a in instruction.attachments.all()] == ["批示件扫描.pdf"]
