"""工作台 by role: what each user owes, each entry linking to its item with what and by when; a
constant number of queries whatever the number of entries. The header (base.html): full name,
roles, the unread count of visible messages, links by role. The inbox: unread first, mark read."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.choices import Role
from supervision import selectors, services
from supervision.choices import ItemStatus, ReportingCycle, RequestKind
from supervision.models import Item, OverdueExplanation
from supervision.selectors import counting
from tasks.models import Notification
from tests.api_helpers import client_for
from tests.factories import UserFactory, make_instruction, make_item
from tests.supervision.web.helpers import hx_post, page_client

pytestmark = pytest.mark.django_db


def sections(html: str) -> dict[str, int]:
    return {k: int(n) for k, n in re.findall(r'data-section="(\w+)" data-count="(\d+)"', html)}


def entries(html: str, section: str) -> list[str]:
    block = re.search(rf'data-section="{section}".*?</section>', html, re.S).group(0)
    return re.findall(r'<li data-item-id="(\d+)">', block)


def test_handler_workbench(world):
    to_sign = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="待签")
    cycle = make_item(
        ItemStatus.ACKNOWLEDGED,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_handler,
        reporting_cycle=ReportingCycle.WEEKLY,
        title="周报事项",
    )
    overdue = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    Item.objects.filter(pk=overdue.pk).update(deadline=timezone.localdate() - datetime.timedelta(days=2))
    services.overdue_explanations_open(item=Item.objects.get(pk=overdue.pk))
    make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.env, owner=world.env_handler)  # another unit's
    html = page_client(world.edu_handler).get("/").content.decode()
    counts = sections(html)
    assert counts["to_sign"] == 1 and entries(html, "to_sign") == [str(to_sign.pk)]
    assert entries(html, "reports_due") == [str(cycle.pk)]
    assert "每周进展反馈" in html
    assert entries(html, "explanations") == [str(overdue.pk)]
    # Its own unit's open items, the overdue one first.
    assert entries(html, "unit_items")[0] == str(overdue.pk)
    assert "requests" not in counts and "return_visits" not in counts
    # The office watches every overdue item.
    assert entries(page_client(world.office).get("/").content.decode(), "overdue") == [str(overdue.pk)]
    # A report this week clears the cycle's entry.
    services.progress_report_create(actor=world.edu_handler, item=cycle, progress_text="本周进展")
    assert sections(page_client(world.edu_handler).get("/").content.decode())["reports_due"] == 0


def test_reports_due_per_cycle_counts_from_the_start_of_its_own_period(world):
    """本期应反馈: an item owes a report when its unit filed none since the start of the current period
    of the item's own cycle. On Thursday 2026-11-26 (ISO week 48) the four periods start on four
    different days; a report a minute before its item's start leaves the item owing, one at the
    start clears it, whatever the other cycles' starts are."""
    today = datetime.date(2026, 11, 26)
    periods = {
        ReportingCycle.WEEKLY: (datetime.date(2026, 11, 23), datetime.date(2026, 11, 29)),
        ReportingCycle.BIWEEKLY: (datetime.date(2026, 11, 16), datetime.date(2026, 11, 29)),
        ReportingCycle.MONTHLY: (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)),
        ReportingCycle.QUARTERLY: (datetime.date(2026, 10, 1), datetime.date(2026, 12, 31)),
    }
    owing, cleared = {}, set()
    for cycle, (start, _end) in periods.items():
        midnight = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
        for filed_at in (midnight - datetime.timedelta(minutes=1), midnight):
            item = make_item(
                ItemStatus.ACKNOWLEDGED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, reporting_cycle=cycle
            )
            report = services.progress_report_create(actor=world.edu_handler, item=item, progress_text="进展")
            type(report).objects.filter(pk=report.pk).update(submitted_at=filed_at)
            if filed_at < midnight:
                owing[item.pk] = cycle
            else:
                cleared.add(item.pk)
    due = {i.pk: i.period_end for i in selectors.todo_reports_due(user=world.edu_handler, today=today)}
    assert set(due) & cleared == set()
    assert {pk: due.get(pk) for pk in owing} == {pk: periods[cycle][1] for pk, cycle in owing.items()}


def test_office_leader_and_discipline_workbenches(world):
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    request = services.item_request_create(
        actor=world.edu_handler,
        item=item,
        kind=RequestKind.EXTENSION,
        reason="需延期",
        requested_deadline=item.deadline + datetime.timedelta(days=5),
    )
    closed = make_item(ItemStatus.CLOSED, office=world.office, lead_unit=world.env, owner=world.env_handler)
    # Rule 14: the request waits for the unit head's signature; until then the office has nothing to decide.
    assert entries(page_client(world.office).get("/").content.decode(), "requests") == []
    services.item_request_endorse(actor=world.edu_head, request=request, comment="情况属实")
    html = page_client(world.office).get("/").content.decode()
    assert entries(html, "requests") == [str(item.pk)] and "审批延期申请" in html
    assert entries(html, "return_visits") == [str(closed.pk)]
    assert "to_sign" not in sections(html)
    # The leader: items of the instructions they issued, and the dashboard link.
    mine = make_instruction(office=world.office, issuing_leader=world.leader)
    own = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, instruction=mine)
    html = page_client(world.leader).get("/").content.decode()
    # (make_item's instructions are issued by the one leader too; the closed item is done.)
    assert set(entries(html, "leader_items")) == {str(own.pk), str(item.pk)}
    assert 'id="dashboard-link"' in html
    # 纪检: the referrals received.
    services.referral_create(actor=world.office, item=item, department="discipline", reason="慢作为")
    html = page_client(world.discipline).get("/").content.decode()
    assert entries(html, "referrals") == [str(item.pk)] and "慢作为" in html
    assert entries(page_client(world.organization).get("/").content.decode(), "referrals") == []


@pytest.mark.parametrize("who", ["edu_handler", "office", "leader", "discipline"])
def test_workbench_queries_do_not_grow_with_entries(world, who):
    user = getattr(world, who)
    client = page_client(user)
    instruction = make_instruction(office=world.office, issuing_leader=world.leader)

    def add(n):
        for _ in range(n):
            item = make_item(
                ItemStatus.ASSIGNED,
                office=world.office,
                lead_unit=world.edu,
                owner=world.edu_handler,
                instruction=instruction,
                reporting_cycle=ReportingCycle.MONTHLY,
            )
            services.referral_create(actor=world.office, item=item, department="discipline", reason="x")
            Item.objects.filter(pk=item.pk).update(deadline=timezone.localdate() - datetime.timedelta(days=1))
            services.overdue_explanations_open(item=Item.objects.get(pk=item.pk))
            services.item_request_create(actor=world.office, item=item, kind=RequestKind.SUSPENSION, reason="x")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        return len(queries)

    add(1)
    client.get("/")
    few = count()
    add(12)  # more than a section shows
    assert OverdueExplanation.objects.count() >= 13
    assert count() == few


def test_workbench_counts_exactly_up_to_the_cap_and_says_more_beyond(world, monkeypatch):
    """Counts are exact up to COUNT_CAP, "超过 N 项" beyond (the office's lists at a million items
    hold hundreds of thousands), in a number of queries that does not depend on the cap either."""
    monkeypatch.setattr(counting, "COUNT_CAP", 3)
    client = page_client(world.edu_handler)

    def add(n):
        for _ in range(n):
            make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)

    def read():
        with CaptureQueriesContext(connection) as queries:
            html = client.get("/").content.decode()
        return html, len(queries)

    add(3)
    client.get("/")
    html, at_cap = read()
    assert re.search(r'data-section="to_sign" data-count="3">', html)  # exact: no data-over
    assert re.search(r'data-todo="to_sign" data-count="3">待签收 <strong class="count">3</strong>', html)
    assert re.search(r'id="owed-total" data-count="3">3</strong>', html)
    add(2)
    html, over = read()
    assert over == at_cap
    assert re.search(r'data-section="to_sign" data-count="3" data-over="true">\s*<h2>待签收 <small>超过 3 项</small>', html)
    assert re.search(r'data-todo="to_sign" data-count="3" data-over="true">待签收 <strong class="count">3\+</strong>', html)
    assert re.search(r'待办超过 <strong id="owed-total" data-count="3" data-over="true">3</strong> 项', html)
    # The rows shown are still the most urgent of all five, and the list says there are more.
    assert len(entries(html, "to_sign")) == 5 and "超过 3 项，以上为最紧迫的" in html
    assert sections(html)["unit_items"] == 3
    # With the real cap, the same list is counted exactly.
    monkeypatch.setattr(counting, "COUNT_CAP", 1000)
    html, exact = read()
    assert exact == at_cap and 'data-section="to_sign" data-count="5">' in html and "data-over" not in html


def test_unit_head_workbench_lists_what_waits_for_the_signature(world):
    """Rule 14: the unit's requests and overdue explanations wait for its head (or a named deputy);
    the head's workbench lists them, the handler's and the other unit's do not."""
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    request = services.item_request_create(
        actor=world.edu_handler,
        item=item,
        kind=RequestKind.EXTENSION,
        reason="需延期",
        requested_deadline=item.deadline + datetime.timedelta(days=5),
    )
    late = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    Item.objects.filter(pk=late.pk).update(deadline=timezone.localdate() - datetime.timedelta(days=2))
    (explanation,) = services.overdue_explanations_open(item=Item.objects.get(pk=late.pk))
    services.overdue_explanation_submit(actor=world.edu_handler, explanation=explanation, reason_kind="objective", text="暴雨")
    html = page_client(world.edu_head).get("/").content.decode()
    assert entries(html, "requests_to_endorse") == [str(item.pk)] and "签字：延期申请" in html
    assert entries(html, "explanations_to_endorse") == [str(late.pk)]
    assert 'data-todo="requests_to_endorse" data-count="1"' in html
    for other in (world.edu_handler, world.office):  # they sign for no unit: no such list
        counts = sections(page_client(other).get("/").content.decode())
        assert "requests_to_endorse" not in counts and "explanations_to_endorse" not in counts, other
    # Another unit's head signs for that unit only.
    counts = sections(page_client(world.env_head).get("/").content.decode())
    assert counts["requests_to_endorse"] == counts["explanations_to_endorse"] == 0
    # Signed: the entry leaves the head's list.
    services.item_request_endorse(actor=world.edu_head, request=request)
    html = page_client(world.edu_head).get("/").content.decode()
    assert entries(html, "requests_to_endorse") == [] and entries(html, "explanations_to_endorse") == [str(late.pk)]


def test_header_names_roles_and_unread_count_of_visible_messages(world):
    item = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    hidden = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.env, owner=world.env_handler)
    person = UserFactory(username="wangmin", full_name="王敏", unit=world.edu, roles=[Role.UNIT_HANDLER, Role.UNIT_HEAD])
    for n, about in enumerate([item, item, None, hidden]):
        Notification.objects.create(recipient=person, kind="reminder", title=f"催办{n}", item=about, dedup_key=f"k{n}")
    html = page_client(person).get("/").content.decode()
    assert "<strong>王敏</strong>" in html and "承办人" in html and "单位负责人" in html and "县教育局" in html
    # The message about an item of another unit is not counted (nor listed).
    assert re.search(r'id="inbox-unread" data-count="3"', html)
    nav = re.findall(r'data-nav="(\w+)"', html)
    assert nav == ["workbench", "items"]
    office_nav = re.findall(r'data-nav="(\w+)"', page_client(world.office).get("/").content.decode())
    assert office_nav == ["workbench", "items", "instructions", "office", "referrals", "dashboard", "admin"]
    leader_nav = re.findall(r'data-nav="(\w+)"', page_client(world.leader).get("/").content.decode())
    assert leader_nav == ["workbench", "items", "instructions", "dashboard"]
    assert re.findall(r'data-nav="(\w+)"', page_client(world.discipline).get("/").content.decode()) == [
        "workbench",
        "items",
        "referrals",
    ]
    # htmx comes from our own static files.
    assert "/static/vendor/htmx/htmx.min.js" in html


def test_htmx_is_served_from_our_static_files(client):
    from django.contrib.staticfiles import finders

    path = finders.find("vendor/htmx/htmx.min.js")
    assert path and "htmx" in open(path, encoding="utf-8").read(2000)


def test_inbox_unread_first_and_mark_read(world):
    item = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    hidden = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.env, owner=world.env_handler)
    user = world.edu_handler
    old = Notification.objects.create(recipient=user, kind="reminder", title="旧消息", item=item, dedup_key="a")
    Notification.objects.filter(pk=old.pk).update(read_at=timezone.now())
    unread = Notification.objects.create(recipient=user, kind="reminder", title="请签收", item=item, dedup_key="b")
    Notification.objects.create(recipient=user, kind="reminder", title="别的单位", item=hidden, dedup_key="c")
    other = Notification.objects.create(recipient=world.env_handler, kind="reminder", title="不是你的", dedup_key="d")
    # The hand-off message of the assignment (交办) is in the handler's inbox too, unread.
    (assigned,) = Notification.objects.filter(recipient=user, kind="handoff", item=item)
    client = page_client(user)
    html = client.get("/inbox/").content.decode()
    assert re.findall(r'data-notification="(\d+)"', html) == [str(unread.pk), str(assigned.pk), str(old.pk)]
    assert f'href="/items/{item.pk}/"' in html
    # The API's inbox is the same selector: the message about another unit's item is not there either.
    api = client_for(user)
    assert {n["id"] for n in api.get("/api/v1/inbox/").json()["results"]} == {unread.pk, assigned.pk, old.pk}
    assert api.get("/api/v1/inbox/unread-count/").json() == {"unread": 2}
    response = hx_post(client, f"/inbox/{unread.pk}/read/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-read="1"' in body and 'id="inbox-unread" data-count="1" hx-swap-oob="true"' in body
    unread.refresh_from_db()
    assert unread.read_at is not None
    # The last unread one read: the header's count goes to zero.
    body = hx_post(client, f"/inbox/{assigned.pk}/read/").content.decode()
    assert 'data-read="1"' in body and 'id="inbox-unread" data-count="0" hx-swap-oob="true"' in body
    # Someone else's message, or one about an item no longer visible: 404.
    assert hx_post(client, f"/inbox/{other.pk}/read/").status_code == 404
    assert client.post("/inbox/read-all/").status_code == 302
    assert client.get(f"/inbox/{unread.pk}/read/").status_code == 405


def test_comments_to_read_until_marked_read_on_the_item_page(world):
    """批示待阅: a leader's comment on an item reaches the unit's and the office's workbench, each
    reader's own until they mark it 已阅 on the item page; never the author's, never another unit's."""
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="控辍保学")
    make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.env, owner=world.env_handler)
    comment = services.comment_create(actor=world.leader, item=item, text="抓紧推进，月底前见成效")
    handler = page_client(world.edu_handler)
    html = handler.get("/").content.decode()
    assert entries(html, "comments") == [str(item.pk)] and "阅批示" in html and "抓紧推进" in html
    assert entries(page_client(world.office).get("/").content.decode(), "comments") == [str(item.pk)]
    assert sections(page_client(world.env_handler).get("/").content.decode())["comments"] == 0
    assert "comments" not in sections(page_client(world.leader).get("/").content.decode())  # the author
    assert hx_post(handler, f"/items/{item.pk}/comments/{comment.pk}/read/").status_code == 200
    assert sections(handler.get("/").content.decode())["comments"] == 0
    assert entries(page_client(world.office).get("/").content.decode(), "comments") == [str(item.pk)]  # read per reader


def test_an_item_linked_to_a_lead_owes_no_signature_or_report_of_its_own(world):
    """合并督办: the unit signs and reports on the lead item; the linked one leaves its to-do lists."""
    lead = make_item(
        ItemStatus.ASSIGNED,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_handler,
        reporting_cycle=ReportingCycle.WEEKLY,
    )
    linked = make_item(
        ItemStatus.ASSIGNED,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_handler,
        reporting_cycle=ReportingCycle.WEEKLY,
        instruction=make_instruction(office=world.office),
    )
    link = services.item_link(actor=world.office, item=linked, lead=lead)
    html = page_client(world.edu_handler).get("/").content.decode()
    assert entries(html, "to_sign") == [str(lead.pk)]
    services.item_acknowledge(actor=world.edu_handler, item=Item.objects.get(pk=lead.pk))  # followed by the linked item
    html = page_client(world.edu_handler).get("/").content.decode()
    assert entries(html, "reports_due") == [str(lead.pk)] and sections(html)["to_sign"] == 0
    services.item_unlink(actor=world.office, link=link)  # on its own again: it owes its own report
    assert set(entries(page_client(world.edu_handler).get("/").content.decode(), "reports_due")) == {str(lead.pk), str(linked.pk)}


def test_a_comment_on_a_whole_instruction_is_read_on_the_instruction_page(world):
    """A leader's comment on an instruction concerns all its items: it reaches 批示待阅 of the units
    on them, leads to the instruction page, and leaves the list once marked 已阅 there."""
    instruction = make_instruction(office=world.office, title="关于推进校园安全整治的批示")
    make_item(ItemStatus.IN_PROGRESS, office=world.office, instruction=instruction, lead_unit=world.edu, owner=world.edu_handler)
    make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.env, owner=world.env_handler)
    comment = services.comment_create(actor=world.leader, instruction=instruction, text="各单位要抓紧落实")
    handler = page_client(world.edu_handler)
    html = handler.get("/").content.decode()
    block = re.search(r'data-section="comments".*?</section>', html, re.S).group(0)
    assert f'href="/instructions/{instruction.pk}/#comments"' in block and "关于推进校园安全整治的批示" in block
    assert sections(page_client(world.env_handler).get("/").content.decode())["comments"] == 0  # not its instruction
    page = handler.get(f"/instructions/{instruction.pk}/").content.decode()
    read_url = f"/instructions/{instruction.pk}/comments/{comment.pk}/read/"
    assert "各单位要抓紧落实" in page and f'action="{read_url}"' in page
    assert page_client(world.env_handler).post(read_url).status_code == 404  # cannot see the instruction
    swapped = hx_post(handler, read_url)
    assert swapped.status_code == 200 and 'data-read="1"' in swapped.content.decode()
    assert sections(handler.get("/").content.decode())["comments"] == 0
