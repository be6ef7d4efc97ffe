"""The 挂图作战 pages with Django's test client: login, the figures equal the stats API's for the
same user and filters, every figure's link lists exactly the items it counts, a bad filter is a
Chinese message (400, never a 500), and nothing above the viewer's clearance is counted or listed.
The ledger is in tests/e2e/ledger.py (hand counts in its docstring)."""

from __future__ import annotations

import html as html_lib
import io
import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.core.serializers.json import DjangoJSONEncoder
from openpyxl import load_workbook

from supervision.exchange.columns import LEDGER_COLUMNS
from supervision.exchange.export import XLSX_CONTENT_TYPE
from supervision.exchange.export.writers import HEADER_ROW
from supervision.models import AuditEvent
from supervision.stats.presenter import page_url, with_page_links
from tests.api_helpers import CJK, client_for
from tests.e2e.ledger import VIEWER_PASSWORD, build_dashboard_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(world):
    return build_dashboard_ledger(world)


@pytest.fixture
def viewer_client(client, ledger):
    client.force_login(ledger.viewer)
    return client


class Links(HTMLParser):
    """Every element with data-figure / data-rate and every item row code, from the page's HTML."""

    def __init__(self):
        super().__init__()
        self.figures: list[dict] = []
        self.rates: list[dict] = []
        self.codes: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-figure" in a:
            self.figures.append({"key": a["data-figure"], "count": a["data-count"], "href": a.get("href")})
        if "data-rate" in a:
            self.rates.append({"key": a["data-rate"], "value": a["data-value"]})
        if tag == "tr" and "data-item-code" in a:
            self.codes.append(a["data-item-code"])


def parsed(response) -> Links:
    links = Links()
    links.feed(response.content.decode())
    return links


def api(user, path, params=None):
    response = client_for(user).get(path, params or {})
    assert response.status_code == 200, response.content[:500]
    return response.json()


def strip_links(node):
    """The page's stats data without what the page adds (links, percentage texts), as JSON."""

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "link" and not (k.endswith("_text") and "_rate" in k)}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return json.loads(json.dumps(strip(node), cls=DjangoJSONEncoder))


# ---------------------------------------------------------------------------------------------
# Login


def test_pages_require_login_and_root_is_the_workbench(client, ledger):
    assert client.get("/").headers["Location"] == "/login/?next=/"
    for path in ("/dashboard/", "/dashboard/items/?overdue=true"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login/?next=/dashboard/")


def test_login_form_in_chinese_and_wrong_password_refused(client, ledger):
    page = client.get("/login/?next=/dashboard/")
    assert page.status_code == 200
    assert "督查台账 · 登录" in page.content.decode()
    wrong = client.post("/login/", {"username": "fenguan", "password": "wrong", "next": "/dashboard/"})
    assert wrong.status_code == 200
    assert "用户名或密码不正确" in wrong.content.decode()
    assert client.get("/dashboard/").status_code == 302
    ok = client.post("/login/", {"username": "fenguan", "password": VIEWER_PASSWORD, "next": "/dashboard/"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    client.post("/logout/")
    assert client.get("/dashboard/").status_code == 302


def test_page_login_shares_the_api_logins_rate_limit(client, ledger):
    """Twenty tries a minute per address, whether through the page or POST /api/v1/auth/token/."""
    from django.core.cache import cache

    cache.delete("throttle_login_127.0.0.1")
    from rest_framework.throttling import ScopedRateThrottle

    ScopedRateThrottle.THROTTLE_RATES = {"login": "3/min"}  # read at import; the test's rate
    try:
        client.post("/api/v1/auth/token/", {"username": "fenguan", "password": "wrong"})
        for _ in range(2):
            assert "用户名或密码不正确" in client.post("/login/", {"username": "fenguan", "password": "wrong"}).content.decode()
        refused = client.post("/login/", {"username": "fenguan", "password": VIEWER_PASSWORD})
        assert refused.status_code == 200 and "登录尝试过于频繁" in refused.content.decode()
        assert client.get("/dashboard/").status_code == 302  # not signed in, even with the right password
    finally:
        from rest_framework.settings import api_settings

        ScopedRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        cache.delete("throttle_login_127.0.0.1")


# ---------------------------------------------------------------------------------------------
# The figures are the API's


@pytest.mark.parametrize("params", [{}, {"quarter": "2026Q3"}, {"unit": "edu"}, {"urgency": "urgent", "order": "overdue"}])
def test_dashboard_figures_equal_the_stats_api(viewer_client, ledger, world, params):
    params = {k: str(getattr(world, v).pk) if k == "unit" else v for k, v in params.items()}
    response = viewer_client.get("/dashboard/", params)
    assert response.status_code == 200
    context = response.context
    summary_api = api(ledger.viewer, "/api/v1/stats/summary/", params)
    # When the figures were computed: on the page too (here computed per request, so the page's
    # are no later than the API's that came after).
    as_of = summary_api.pop("as_of")
    assert context["as_of"].isoformat() <= as_of
    assert f"数据截至 {context['as_of']:%Y-%m-%d %H:%M:%S}" in response.content.decode()
    assert strip_links(context["summary"]) == summary_api
    units_api = api(ledger.viewer, "/api/v1/stats/units/", params)
    assert strip_links(context["units"]) == units_api["results"]
    trend_api = api(ledger.viewer, "/api/v1/stats/trend/", params)
    assert strip_links(context["trend"]) == trend_api["months"]
    # And what the HTML shows is that data: every figure's number and link.
    page = parsed(response)
    shown = {f["key"]: f for f in page.figures if not f["key"].startswith(("lead.", "supporting."))}
    summary = context["summary"]
    for key in (
        "total",
        "due",
        "closed",
        "overdue",
        "open_with_deadline",
        "closed_in_period",
        "reopened",
        "relapsed",
        "overdue_original",
        "due_current",
    ):
        assert shown[key]["count"] == str(summary[key]["count"]), key
        assert shown[key]["href"] == page_url(summary[key]["drilldown"]), key
    for row in summary["by_light"]:
        assert shown[f"light.{row['light']}"]["count"] == str(row["count"])
    rows = re.findall(r'<tr data-unit-id="(\d+)"', response.content.decode())
    assert rows == [str(r["unit"]["id"]) for r in units_api["results"]]


def test_the_ranking_on_time_column_is_filled_for_every_unit(viewer_client, ledger):
    """按时办结率 (on_time_rate_original) was blank: only keys ending in _rate got a text."""
    response = viewer_client.get("/dashboard/")
    units = response.context["units"]
    assert units
    html = response.content.decode()
    for row in units:
        lead = row["lead"]
        value = lead["on_time_rate_original"]
        expected = "—" if value is None else f"{value * 100:.2f}%"
        assert lead["on_time_rate_original_text"] == expected
        cell = re.search(
            rf'<tr data-unit-id="{row["unit"]["id"]}">.*?data-rate="lead.on_time_rate_original"[^>]*>([^<]*)</td>', html, re.S
        )
        assert cell and cell.group(1) == expected, row["unit"]
    assert any(u["lead"]["on_time_rate_original"] is not None for u in units)


def test_the_definitions_panel_states_the_honest_rules(viewer_client, ledger):
    from supervision.stats.definitions import DEFINITIONS, PRINCIPLES

    html = html_lib.unescape(viewer_client.get("/dashboard/").content.decode())
    assert "口径说明" in html
    for title, text in PRINCIPLES:
        assert title in html and text in html
    assert DEFINITIONS["due"] in html


def test_the_viewer_counts_only_what_they_may_see(viewer_client, ledger, world):
    body = viewer_client.get("/dashboard/").context
    assert body["summary"]["total"]["count"] == 6  # not the 秘密 item, not the draft
    assert body["summary"]["overdue"]["count"] == 3
    assert {r.code for r in body["overdue"]["rows"]} == {
        ledger.overdue_long.code,
        ledger.overdue_short.code,
        ledger.overdue_town.code,
    }
    # Most overdue first.
    assert [r.code for r in body["overdue"]["rows"]] == [
        ledger.overdue_long.code,
        ledger.overdue_short.code,
        ledger.overdue_town.code,
    ]
    assert [r.overdue_days for r in body["overdue"]["rows"]] == [20, 5, 2]
    html = viewer_client.get("/dashboard/").content.decode()
    assert ledger.secret.code not in html and ledger.draft.code not in html
    # The office (cleared for 机密) counts the 秘密 item and the draft.
    office = client_for(None)
    office.force_login(world.office)
    assert office.get("/dashboard/").context["summary"]["total"]["count"] == 8


def test_filters_narrow_the_figures(viewer_client, ledger, world):
    edu = viewer_client.get("/dashboard/", {"unit": world.edu.pk}).context
    # edu leads overdue_long, green, verified and supports overdue_short.
    assert edu["summary"]["total"]["count"] == 4
    assert edu["summary"]["overdue"]["count"] == 2
    assert {u["unit"]["id"] for u in edu["units"]} == {world.edu.pk}
    town = viewer_client.get("/dashboard/", {"unit": world.town.pk}).context  # subtree: town_sub
    assert town["summary"]["total"]["count"] == 1
    urgent = viewer_client.get("/dashboard/", {"urgency": "urgent"}).context
    assert urgent["summary"]["total"]["count"] == 1
    category = viewer_client.get("/dashboard/", {"category": ledger.category.pk}).context
    assert category["summary"]["total"]["count"] == 2
    leader = viewer_client.get("/dashboard/", {"issuing_leader": ledger.overdue_long.instruction.issuing_leader_id}).context
    assert leader["summary"]["total"]["count"] == 6
    kind = viewer_client.get("/dashboard/", {"instruction_kind": "public_report"}).context
    assert kind["summary"]["total"]["count"] == 0


def test_every_figure_link_lists_exactly_the_items_it_counts(viewer_client, ledger, world):
    for params in ({}, {"unit": world.edu.pk}):
        page = parsed(viewer_client.get("/dashboard/", params))
        linked = [f for f in page.figures if f["href"]]
        assert len(linked) > 30
        for figure in linked:
            href = figure["href"].replace("&amp;", "&")
            listed = viewer_client.get(href)
            assert listed.status_code == 200, href
            assert listed.context["count"] == int(figure["count"]), (figure, href)
            # The same list as the API's drill-down.
            # (A data dict would replace the URL's query string, so page_size is appended.)
            api_url = href.replace("/dashboard/items/", "/api/v1/items/")
            api_body = client_for(ledger.viewer).get(f"{api_url}{'&' if '?' in api_url else '?'}page_size=100").json()
            assert api_body["count"] == listed.context["count"]
            if listed.context["count"] <= 20:
                assert sorted(parsed(listed).codes) == sorted(r["code"] for r in api_body["results"])
            assert ledger.secret.code not in listed.content.decode()


def test_drilldown_list_pages_and_shows_the_columns(viewer_client, ledger, world):
    response = viewer_client.get("/dashboard/items/")
    assert response.status_code == 200
    html = response.content.decode()
    assert set(parsed(response).codes) == ledger.visible_codes
    assert 'data-count="6"' in html
    for text in ("台账编号", "牵头单位", "责任人", "办理时限", "红黄绿灯", "县教育局", world.edu_handler.full_name):
        assert text in html
    # Each row opens the item's page (not the API's JSON), and names people by full name.
    assert f'href="/items/{ledger.overdue_long.pk}/"' in html and "/api/v1/items/" not in html.split("export-link")[0]
    assert viewer_client.get(f"/items/{ledger.overdue_long.pk}/").status_code == 200
    assert 'data-light="overdue"' in html and 'data-light="green"' in html
    done = viewer_client.get("/dashboard/items/", {"status": ["closed", "verified"]})
    assert set(parsed(done).codes) == {ledger.closed.code, ledger.verified.code}


def test_drilldown_list_exports_exactly_its_items_as_the_ledger_workbook(viewer_client, ledger):
    """The list a figure opened can be taken away as the ledger workbook: same filters, same items
    (the export's own rule: visibility, approvals for classified items, audited)."""
    page = viewer_client.get("/dashboard/items/", {"overdue": "true", "urgency": ""})
    href = html_lib.unescape(re.search(r'id="export-link" href="([^"]+)"', page.content.decode()).group(1))
    assert href.startswith("/api/v1/items/export/?") and "overdue=true" in href and href.endswith("format=xlsx")
    response = viewer_client.get(href)  # the page's session is enough
    assert response.status_code == 200 and response["Content-Type"] == XLSX_CONTENT_TYPE
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    code = [c.key for c in LEDGER_COLUMNS].index("code")
    codes = {row[code] for row in sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True) if row[code]}
    assert codes == set(parsed(page).codes) and codes
    assert AuditEvent.objects.filter(action="ledger_exported", actor=ledger.viewer).count() == 1


def test_drilldown_list_is_paged_and_keeps_its_filters(viewer_client, ledger, world, monkeypatch):
    monkeypatch.setattr("supervision.stats.presenter.PAGE_SIZE", 4)
    first = viewer_client.get("/dashboard/items/", {"ordering": "code"})
    second = viewer_client.get("/dashboard/items/", {"ordering": "code", "page": 2})
    codes = parsed(first).codes + parsed(second).codes
    assert codes == sorted(ledger.visible_codes)
    assert "ordering=code&amp;page=2" in first.content.decode()


# ---------------------------------------------------------------------------------------------
# Bad input: a Chinese message, 400, never a 500


@pytest.mark.parametrize(
    "path, params, label",
    [
        ("/dashboard/", {"quarter": "2026Q5"}, "季度"),
        ("/dashboard/", {"quarter": "2026Q3", "period_start": "2026-07-01"}, "季度"),
        ("/dashboard/", {"period_start": "2026-09-01", "period_end": "2026-08-01"}, "统计期止"),
        ("/dashboard/", {"period_start": "not-a-date"}, "统计期起"),
        ("/dashboard/", {"unit": "abc"}, "责任单位"),
        ("/dashboard/", {"urgency": "whenever"}, "紧急程度"),
        ("/dashboard/", {"order": "random"}, "单位排名"),
        ("/dashboard/", {"period_start": "2000-01-01", "period_end": "2026-01-01"}, "统计期起"),
        ("/dashboard/items/", {"status": "bogus"}, "状态"),
        ("/dashboard/items/", {"deadline_after": "yesterday"}, "办理时限"),
    ],
)
def test_bad_filters_show_a_chinese_message(viewer_client, ledger, path, params, label):
    response = viewer_client.get(path, params)
    assert response.status_code == 400
    html = response.content.decode()
    errors = re.search(r'<div class="errors" role="alert">(.*?)</div>', html, re.S).group(1)
    assert label in errors
    assert all(CJK.search(m) for m in response.context["errors"])
    assert "Traceback" not in html


def test_unknown_unit_counts_nothing_rather_than_failing(viewer_client, ledger):
    response = viewer_client.get("/dashboard/", {"unit": 999999})
    assert response.status_code == 200
    assert response.context["summary"]["total"]["count"] == 0


# ---------------------------------------------------------------------------------------------
# Links and assets


def test_workbook_link_carries_the_selected_quarter_and_filters(viewer_client, ledger, world):
    context = viewer_client.get("/dashboard/", {"quarter": "2026q3", "unit": world.edu.pk, "order": "name"}).context
    url = urlsplit(context["workbook_url"])
    assert url.path == "/api/v1/stats/quarterly-workbook/"
    assert parse_qs(url.query) == {"quarter": ["2026Q3"], "unit": [str(world.edu.pk)]}
    # Without a quarter: this quarter, and no period parameters.
    context = viewer_client.get("/dashboard/", {"period_start": "2026-01-01", "period_end": "2026-03-31"}).context
    today = ledger.today
    assert parse_qs(urlsplit(context["workbook_url"]).query) == {"quarter": [f"{today.year}Q{(today.month - 1) // 3 + 1}"]}


def test_page_url_turns_api_drilldowns_into_page_links():
    assert page_url("/api/v1/items/?overdue=true&unit=3") == "/dashboard/items/?overdue=true&unit=3"
    assert page_url("/api/v1/items/") == "/dashboard/items/"
    assert page_url(None) is None
    with pytest.raises(ValueError):
        page_url("/api/v1/instructions/?x=1")
    data = with_page_links({"a": {"count": 1, "drilldown": "/api/v1/items/?x=1"}, "b": [{"count": 2, "drilldown": None}]})
    assert data["a"]["link"] == "/dashboard/items/?x=1" and data["b"][0]["link"] is None


def test_echarts_is_served_from_our_static_files(viewer_client, ledger):
    assert finders.find("vendor/echarts/echarts.min.js"), "run scripts/_node.sh ensure_node_modules (npm ci)"
    html = viewer_client.get("/dashboard/").content.decode()
    assert '<script src="/static/vendor/echarts/echarts.min.js"></script>' in html
    assert "//" not in "".join(re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html))  # nothing from a CDN


def test_empty_form_fields_mean_no_filter(viewer_client, ledger):
    # A browser without the page's script submits every field, empty ones included.
    blank = {name: "" for name in ("quarter", "period_start", "period_end", "unit", "issuing_leader", "instruction_kind")}
    response = viewer_client.get("/dashboard/", {**blank, "category": "", "urgency": "", "order": "implementation_rate"})
    assert response.status_code == 200
    assert response.context["summary"]["total"]["count"] == 6
    assert viewer_client.get("/dashboard/items/", {"urgency": "", "status": ""}).context["count"] == 6
