"""The README's demo county: loaded through the services, its audit chain verifies, and the
leaders' figures have something honest to show (closed items due, some late, some overdue).

The demo is loaded once for the module (`demo_county`, tests/supervision/conftest.py)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import User
from supervision.audit import audit_verify
from supervision.choices import ItemStatus
from supervision.demo import load_demo
from supervision.models import Item
from supervision.stats import period_from, stats_scope, summary
from tests.api_helpers import client_for
from tests.supervision.admin.test_office_staff import MAINTAINED, signed_in

pytestmark = pytest.mark.django_db


def test_demo_loads_once_with_every_state_and_honest_rates(demo_county):
    assert demo_county.first_load is True
    assert load_demo() is False  # a second load changes nothing
    assert set(Item.objects.values_list("status", flat=True)) == set(ItemStatus.values)
    assert audit_verify().ok

    today = timezone.localdate()
    done = Item.objects.filter(status__in=(ItemStatus.CLOSED, ItemStatus.VERIFIED), deadline__isnull=False)
    assert done.exists()
    for item in done:
        assert item.deadline < today and item.closed_at.date() < today
        assert item.created_at.date() <= item.closed_at.date()

    leader = User.objects.get(username="shuji")
    scope = stats_scope(user=leader, params={}, period=period_from(today=today))
    figures = summary(scope)
    assert figures["due"]["count"] > figures["closed"]["count"] > 0
    assert 0 < figures["implementation_rate"] < 1
    # Some closures came late: on time by the original deadline is strictly fewer than closed.
    assert figures["closed_on_time_original"]["count"] < figures["closed"]["count"]
    assert figures["overdue"]["count"] > 0

    # The README's sign-off examples: 黄涛 has a request to sign, 赵志刚 an item to approve.
    from supervision.choices import RequestStatus
    from supervision.models import ItemRequest
    from tasks.models import Notification

    waiting = ItemRequest.objects.get(status=RequestStatus.AWAITING_ENDORSEMENT)
    assert (waiting.requested_by.username, waiting.item.title) == ("luoyan", "东关街道老旧小区雨污分流改造")
    huangtao = User.objects.get(username="huangtao")
    assert Notification.objects.filter(
        recipient=huangtao, dedup_key=f"handoff:request-{waiting.pk}:awaiting-endorsement"
    ).exists()
    awaiting = Item.objects.get(status=ItemStatus.AWAITING_APPROVAL)
    assert awaiting.title == "农贸市场长效管理机制"
    assert Notification.objects.filter(recipient__username="zhaozhigang", item=awaiting).exists()


def test_demo_shows_a_leader_comment_and_decided_referrals(demo_county):
    from supervision.models import LeaderComment, Referral

    comment = LeaderComment.objects.get()
    assert comment.author.username == "shuji" and comment.item is not None
    decided = {r.department: r.get_outcome_display() for r in Referral.objects.exclude(outcome="")}
    assert decided == {"discipline": "谈话提醒", "organization": "推荐"}
    assert all(r.outcome_attachment_id for r in Referral.objects.exclude(outcome=""))


def test_demo_holds_a_duplicate_pair_for_the_office_and_a_linked_matter(demo_county):
    from supervision.choices import SuspicionSource, SuspicionStatus
    from supervision.models import DuplicateSuspicion, ItemLink
    from supervision.stats.burden import burden_weeks

    waiting = DuplicateSuspicion.objects.get(status=SuspicionStatus.PENDING)
    assert waiting.source == SuspicionSource.INTAKE
    assert {waiting.item.title, waiting.candidate.title} == {"城区建筑工地扬尘污染治理整改", "城区建筑工地扬尘治理整改"}
    assert waiting.score >= 0.5 and waiting.reason_text
    link = ItemLink.objects.get(unlinked_at__isnull=True)
    assert (link.item.title, link.lead.title, link.count_once) == ("黄庄乡至县城村道破损路段修复", "黄庄乡至县城村道修复", True)
    # The office's 待确认 list shows the pair, and the burden counts the road repair once for 交通局.
    office = User.objects.get(username="liuyang")
    body = client_for(office).get("/api/v1/duplicate-suspicions/?status=pending").json()
    listed = body["results"] if isinstance(body, dict) else body
    assert [row["id"] for row in listed] == [waiting.pk]
    jtj = next(r for r in burden_weeks(user=office) if r["unit_id"] == link.lead.lead_unit_id)
    assert jtj["open_items"] == jtj["matters"] + 1
    # …and on the pages the README names: the office's 疑似重复 queue, the linked item's history.
    from django.test import Client

    pages = Client()
    pages.force_login(office)
    queue = pages.get("/office/duplicates/").content.decode()
    assert waiting.item.title in queue and waiting.candidate.title in queue
    assert "并入主办事项（合并督办）" in pages.get(f"/items/{link.item_id}/").content.decode()


def test_every_demo_login_reaches_a_useful_workbench(demo_county):
    """The README's promise: sign in with any demo account and the 工作台 has work to show — at
    least one list with entries — and the links of the role (the back office for the office, the
    dashboard for leaders and the office)."""
    import re

    from django.test import Client

    from accounts.choices import Role
    from supervision.demo import DEMO_PASSWORD, USERS

    form = Client()
    landed = form.post("/login/", {"username": "luoyan", "password": DEMO_PASSWORD})
    assert (landed.status_code, landed["Location"]) == (302, "/")
    for username, _name, _unit, _title, roles, *_ in USERS:
        client = Client()
        client.force_login(User.objects.get(username=username))
        response = client.get("/")
        assert response.status_code == 200, username
        html = response.content.decode()
        counts = {key: int(n) for key, n in re.findall(r'data-section="(\w+)" data-count="(\d+)"', html)}
        assert any(counts.values()), (username, counts)
        links = set(re.findall(r'class="button" href="([^"]+)"', html))
        office = bool({Role.OFFICE_STAFF, Role.ADMINISTRATOR} & set(roles))
        assert ("/admin/" in links) == office, (username, links)
        assert ("/dashboard/" in links) == (office or Role.LEADER in roles), (username, links)


def test_demo_office_staff_open_what_they_maintain_and_others_cannot_enter(demo_county):
    """The back office as the demo's 督查员 sees it (tests/supervision/admin/test_office_staff.py
    checks it on a county of its own)."""
    duchashi = User.objects.get(username="duchashi")
    assert not duchashi.is_staff and not duchashi.is_superuser
    client = signed_in("duchashi")
    index = client.get("/admin/")
    assert index.status_code == 200
    for path in MAINTAINED:
        assert client.get(path).status_code == 200, path
        assert path in index.content.decode(), path  # linked from the admin's index
    units = {u.name for u in client.get("/admin/accounts/unit/").context["cl"].result_list}
    assert "县教育局" in units and "黄庄乡" in units
    # A unit handler, a unit head, a leader, 纪检: not the back office's people.
    for username in ("sunli", "zhouqiang", "shuji", "jijian"):
        other = signed_in(username)
        response = other.get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"], username
        assert other.get("/admin/accounts/user/").status_code == 302, username
