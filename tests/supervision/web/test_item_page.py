"""The 事项 page and 台账 through DOMAIN.md rule 13, with the API's own matrix (role × own/other
unit × cleared/not, tests/supervision/api/test_visibility.py): an item the viewer may not see is a
404 on its page and on every action's form and post, and absent from the ledger list and its
search; one they see shows only the records they may read, and the buttons of their role."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from supervision import services
from supervision.choices import ItemStatus
from supervision.models import Item
from supervision.selectors import counting
from supervision.web.actions import LABELS
from tests.api_helpers import client_for
from tests.factories import make_item
from tests.supervision.api.test_visibility import ACTORS, EXPECTED, build_ledger
from tests.supervision.web.helpers import hx_get, hx_post, page_client

pytestmark = pytest.mark.django_db

ITEM_ACTIONS = [key for key in LABELS if key not in ("decide", "explain", "rule")]


def codes_listed(client, **params) -> set[str]:
    html = client.get("/items/", {"page_size": 100, **params}).content.decode()
    return set(re.findall(r'data-item-code="([^"]+)"', html))


@pytest.fixture
def ledger(db):
    """The API visibility tests' ledger (role × own/other unit × cleared/not), built for each test."""
    return build_ledger()


@pytest.mark.parametrize("actor", ACTORS)
def test_item_pages_follow_the_matrix(ledger, actor):
    users, items = ledger
    client = page_client(users[actor])
    expected_codes = {items[key].code for key, viewers in EXPECTED.items() if actor in viewers}
    assert codes_listed(client) == expected_codes
    # The page's list is the API's list for the same user.
    api = client_for(users[actor]).get("/api/v1/items/", {"page_size": 100}).json()
    assert {row["code"] for row in api["results"]} == expected_codes
    for key, item in items.items():
        visible = actor in EXPECTED[key]
        assert client.get(f"/items/{item.pk}/").status_code == (200 if visible else 404), key
        assert codes_listed(client, q=item.code) == ({item.code} if visible else set()), key
        if not visible:
            # Neither the form nor the post of any action reveals that the item exists.
            for action in ITEM_ACTIONS:
                assert hx_get(client, f"/items/{item.pk}/act/{action}/").status_code == 404, (key, action)
                assert hx_post(client, f"/items/{item.pk}/act/{action}/", {"reason": "x"}).status_code == 404, (key, action)


def buttons(client, item) -> list[str]:
    html = client.get(f"/items/{item.pk}/").content.decode()
    return re.findall(r'data-action="(\w+)"', html)


def test_buttons_by_role_and_unit(world):
    item = make_item(
        ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, supporting_units=[world.env], owner=world.edu_handler
    )
    assert buttons(page_client(world.edu_handler), item) == ["acknowledge", "suspension", "cancellation"]
    assert buttons(page_client(world.env_handler), item) == ["acknowledge"]
    assert buttons(page_client(world.office), item) == ["suspension", "cancellation", "referral"]
    assert buttons(page_client(world.leader), item) == []
    services.item_acknowledge(actor=world.edu_handler, item=item)
    assert buttons(page_client(world.edu_handler), item) == ["report", "extension", "suspension", "cancellation"]
    # A button the page offers is one the service accepts (and the form of one it does not, a 403).
    assert hx_get(page_client(world.edu_handler), f"/items/{item.pk}/act/report/").status_code == 200
    assert hx_get(page_client(world.env_handler), f"/items/{item.pk}/act/extension/").status_code == 403


def test_item_page_header_and_timeline_in_chinese(world):
    item = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_head,
        classification=2,
        title="校舍安全隐患整改",
    )
    html = page_client(world.office).get(f"/items/{item.pk}/").content.decode()
    assert 'id="classification-mark"' in html and "秘密" in html
    assert item.code in html and "县教育局" in html
    assert re.search(r'id="item-owner">edu_head<', html)
    assert 'data-workdays="' in html and "个工作日" in html
    # The timeline: every audit event of the item, by whom, in Chinese words.
    events = re.findall(r'<li data-event="(\w+)"><div><strong>([^<]+)</strong> ([^<]+)', html)
    assert [e[0] for e in events] == ["item_created", "item_assigned", "item_acknowledged", "report_filed"]
    assert events[1][1] == "office" and events[1][2].startswith("交办")
    assert all(re.search(r"[\u4e00-\u9fff]", e[2]) for e in events)
    # Not cleared for 秘密: the edu handler does not see it at all.
    assert page_client(world.edu_handler).get(f"/items/{item.pk}/").status_code == 404
    # The handler of a supporting unit reads its own unit's reports only (no sideways copying).
    item = make_item(
        ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, supporting_units=[world.env], owner=world.edu_handler
    )
    html = page_client(world.office).get(f"/items/{item.pk}/").content.decode()
    assert "县环保局" in html
    env_html = page_client(world.env_handler).get(f"/items/{item.pk}/").content.decode()
    assert "已召开专题会议部署" in html and "已召开专题会议部署" not in env_html


def test_item_page_queries_do_not_grow_with_records(world):
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    client = page_client(world.office)
    client.get(f"/items/{item.pk}/")  # warm the session and content types

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/items/{item.pk}/").status_code == 200
        return len(queries)

    before = count()
    for n in range(4):
        services.progress_report_create(actor=world.edu_handler, item=item, progress_text=f"第{n}次进展")
    services.referral_create(actor=world.office, item=item, department="discipline", reason="慢作为")
    assert count() <= before + 1  # the referrals' list becomes non-empty: at most its prefetch


def test_ledger_filters_sorting_and_pages_in_the_url(world):
    today = timezone.localdate()
    for n in range(5):
        make_item(
            ItemStatus.ASSIGNED,
            office=world.office,
            lead_unit=world.town_sub if n % 2 else world.edu,
            owner=world.town_sub_handler if n % 2 else world.edu_handler,
            deadline=today + datetime.timedelta(days=10 + n),
            title=f"事项{n}",
        )
    Item.objects.filter(title="事项0").update(deadline=today - datetime.timedelta(days=1))
    office = page_client(world.office)
    html = office.get("/items/", {"ordering": "deadline", "page_size": 20}).content.decode()
    titles = re.findall(r'<td class="title"><a [^>]+>([^<]+)</a>', html)
    assert titles == ["事项0", "事项1", "事项2", "事项3", "事项4"]
    # Unit with its sub-units: 黄庄乡 finds the items of 黄庄乡农业服务中心.
    assert len(codes_listed(office, unit=world.town.pk)) == 2
    assert len(codes_listed(office, overdue="true")) == 1
    assert len(codes_listed(office, light="overdue")) == 1
    assert len(codes_listed(office, owner=world.edu_handler.pk)) == 3
    assert len(codes_listed(office, deadline_after=(today + datetime.timedelta(days=12)).isoformat())) == 3
    # A bad filter is a Chinese message, not a 500.
    bad = office.get("/items/", {"deadline_after": "明天"})
    assert bad.status_code == 400 and "办理时限" in bad.content.decode()
    # The export link carries the same filters.
    page = office.get("/items/", {"status": "assigned", "ordering": "deadline"}).content.decode()
    link = re.search(r'id="export-link" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "status=assigned" in link and "ordering=deadline" in link and link.endswith("format=xlsx")
    assert office.get(link).status_code == 200
    # Pagination keeps the filters.
    two = office.get("/items/", {"page_size": 20, "status": "assigned"}).content.decode()
    assert "page=2" not in two


def test_ledger_queries_constant_in_page_size(world):
    for n in range(12):
        make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title=f"事项{n}")
    client = page_client(world.edu_handler)
    client.get("/items/")

    def count(size):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/items/", {"page_size": size}).status_code == 200
        return len(queries)

    assert count(20) == count(50) == count(100)


def ledger_read(client, params) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/items/", params)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_ledger_total_is_capped_and_exact_on_demand_as_the_api_count(world, monkeypatch):
    """The total is counted up to COUNT_CAP or one row past the page, whichever is further ("超过
    N 件" beyond); "显示确切数目" (?count=exact) counts all, the API's `count`; the same number of
    queries either way."""
    monkeypatch.setattr(counting, "COUNT_CAP", 3)
    for n in range(22):
        make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title=f"事项{n}")
    make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.env, owner=world.env_handler, title="他单位")
    for user, total in ((world.edu_handler, 22), (world.office, 23)):
        client = page_client(user)
        client.get("/items/")
        html, capped_queries = ledger_read(client, {})
        # 20 rows shown; counted to the 21st: more than 20, and a next page, its number unknown.
        assert re.search(r'超过 <strong id="item-count" data-count="20" data-over="true">20</strong> 件', html)
        assert len(re.findall(r"data-item-code=", html)) == 20
        assert 'rel="next"' in html and "第 1 页" in html and "第 1 / " not in html
        link = re.search(r'<a href="\?([^"]+)" id="exact-count" hx-get="\?([^"]+)"', html)
        assert link and link.group(1) == link.group(2) == "count=exact"
        exact, exact_queries = ledger_read(client, {"count": "exact"})
        api = client_for(user).get("/api/v1/items/").json()["count"]
        assert re.search(rf'共 <strong id="item-count" data-count="{total}">{total}</strong> 件', exact)
        assert api == total and "exact-count" not in exact and "第 1 / 2 页" in exact
        assert exact_queries == capped_queries
        # htmx swaps the exact total in place of the capped one.
        swapped = hx_get(client, f"/items/?{link.group(2)}").content.decode()
        assert f'<span class="total" id="item-total">共 <strong id="item-count" data-count="{total}">' in swapped
        # The export carries the filters, not the way of counting.
        export = re.search(r'id="export-link" href="([^"]+)"', exact).group(1)
        assert "count=" not in export
    # Page 2 is counted one row past its end: the whole list here, exactly.
    client = page_client(world.edu_handler)
    two = client.get("/items/", {"page": 2}).content.decode()
    assert 'data-count="22">22</strong>' in two and "第 2 / 2 页" in two and "显示确切数目" not in two
    assert len(re.findall(r"data-item-code=", two)) == 2
    # Filtered below the cap: exact.
    few = client.get("/items/", {"q": "事项1"}).content.decode()  # 事项1, 事项10…事项19
    assert 'data-count="11">11</strong>' in few and "data-over" not in few
