"""The 挂图作战 page in a real browser: Debian's chromium driven by Playwright against the live
server. A leader signs in through the form; the headline figures and the unit ranking on the page
equal the stats API's for the same session and filters; the ECharts trend chart draws; clicking a
figure opens the list of exactly the items the API's drill-down returns; a tablet in portrait
has no sideways scrolling. Screenshots (laptop and tablet) go to var/screenshots/.

All database work happens before the browser starts: Playwright's sync API runs an event loop in
this thread, in which Django refuses ORM calls; the API is read over HTTP with the page's session."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import Page, sync_playwright

from tests.e2e.ledger import VIEWER_PASSWORD, build_dashboard_ledger

# live_server needs committed rows (transactional); tests/conftest.py restores what migrations seed after a flush.
pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
SUMMARY_COUNTS = ("total", "due", "closed", "closed_on_time_original", "closed_on_time_extended", "overdue")
SUMMARY_COUNTS += ("open_with_deadline", "closed_in_period", "reopened")
# Issue 14: the honest figures beside them.
SUMMARY_COUNTS += ("relapsed", "overdue_original", "due_current", "assigned", "completed", "in_progress", "stale")
SUMMARY_RATES = ("implementation_rate", "on_time_rate_original", "on_time_rate_extended", "overdue_rate")
SUMMARY_RATES += ("completion_rate", "in_progress_rate", "stale_rate")

# Canvas drawn: an ECharts instance on the element, and a canvas with at least one painted pixel.
CHART_DRAWN = """(id) => {
    const el = document.getElementById(id);
    const chart = el && window.echarts && echarts.getInstanceByDom(el);
    const canvas = el && el.querySelector("canvas");
    if (!chart || !canvas || !canvas.width || !canvas.height) return false;
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
    return false;
}"""


@pytest.fixture
def ledger(world):
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)"
    return build_dashboard_ledger(world)


def percent(value):
    return "—" if value is None else f"{value * 100:.2f}%"


def as_page_link(drilldown):
    return None if drilldown is None else drilldown.replace("/api/v1/items/", "/dashboard/items/", 1)


def api_get(page: Page, base: str, path: str, query: str = "") -> dict:
    """The API with the browser's own session cookie."""
    response = page.request.get(f"{base}{path}{'?' + query if query else ''}")
    assert response.ok, (path, query, response.status, response.text()[:300])
    return response.json()


def check_summary(page: Page, base: str, query: str) -> dict:
    """Every headline figure on the page equals /api/v1/stats/summary/ for the same session and query."""
    api = api_get(page, base, "/api/v1/stats/summary/", query)
    shown = page.eval_on_selector_all(
        "#summary [data-figure]",
        "els => els.map(e => ({key: e.dataset.figure, count: e.dataset.count, text: e.textContent.trim(), href: e.getAttribute('href')}))",
    )
    shown = {f["key"]: f for f in shown}
    expected = {key: api[key] for key in SUMMARY_COUNTS}
    expected.update({f"status.{row['status']}": row for row in api["by_status"]})
    expected.update({f"light.{row['light']}": row for row in api["by_light"]})
    assert set(shown) == set(expected)
    for key, figure in expected.items():
        assert shown[key]["count"] == str(figure["count"]), key
        assert shown[key]["text"] == str(figure["count"]), key
        assert shown[key]["href"] == as_page_link(figure["drilldown"]), key
    rates = page.eval_on_selector_all(
        "#summary [data-rate]", "els => els.map(e => ({key: e.dataset.rate, value: e.dataset.value, text: e.textContent.trim()}))"
    )
    rates = {r["key"]: r for r in rates}
    for key in SUMMARY_RATES:
        value = api[key]
        assert rates[key]["value"] == ("" if value is None else str(value)), key
        assert rates[key]["text"] == percent(value), key
    average = api["average_workdays_to_close"]
    assert rates["average_workdays_to_close"]["text"] == ("—" if average is None else str(average))
    return api


def check_unit_ranking(page: Page, base: str, query: str) -> list[dict]:
    """The ranking table's rows, in order, with every count, equal /api/v1/stats/units/."""
    api = api_get(page, base, "/api/v1/stats/units/", query)["results"]
    rows = page.eval_on_selector_all(
        "#unit-ranking tbody tr[data-unit-id]",
        """rows => rows.map(r => ({
            unit: Number(r.dataset.unitId),
            counts: Object.fromEntries([...r.querySelectorAll('[data-figure]')].map(e => [e.dataset.figure, Number(e.dataset.count)])),
            rates: Object.fromEntries([...r.querySelectorAll('[data-rate]')].map(e => [e.dataset.rate, e.textContent.trim()])),
        }))""",
    )
    assert [r["unit"] for r in rows] == [u["unit"]["id"] for u in api]
    for row, unit in zip(rows, api, strict=True):
        for role in ("lead", "supporting"):
            for key in ("total", "due", "closed", "overdue"):
                assert row["counts"][f"{role}.{key}"] == unit[role][key]["count"], (unit["unit"], role, key)
            assert row["rates"][f"{role}.implementation_rate"] == percent(unit[role]["implementation_rate"])
        # The lead columns issue 14 added (按时办结率 was blank) are the API's.
        for key in ("on_time_rate_original", "completion_rate", "in_progress_rate", "stale_rate"):
            assert row["rates"][f"lead.{key}"] == percent(unit["lead"][key]), (unit["unit"], key)
        for key in ("stale", "relapsed"):
            assert row["counts"][f"lead.{key}"] == unit["lead"][key]["count"], (unit["unit"], key)
    return api


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_dashboard_in_chromium(live_server, ledger, world):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    edu_id, town_id = world.edu.pk, world.town.pk
    hidden = {ledger.secret.code, ledger.draft.code}
    overdue_codes = {ledger.overdue_long.code, ledger.overdue_short.code, ledger.overdue_town.code}
    # Read before the browser starts (no database calls from inside Playwright's event loop).
    instruction_id, secret_instruction_id = ledger.green.instruction_id, ledger.secret.instruction_id

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            laptop = browser.new_context(viewport=LAPTOP, locale="zh-CN")
            page = laptop.new_page()
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            static_loaded: list[str] = []
            page.on("response", lambda r: static_loaded.append(urlsplit(r.url).path) if r.ok and "/static/" in r.url else None)

            # Sign in through the form.
            page.goto(f"{base}/dashboard/")
            page.wait_for_url(f"{base}/login/?next=/dashboard/")
            page.fill("#id_username", ledger.viewer.username)
            page.fill("#id_password", VIEWER_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/dashboard/")

            # Headline figures and the ranking are the API's; the hidden items are not counted.
            summary = check_summary(page, base, "")
            assert summary["total"]["count"] == 6 and summary["overdue"]["count"] == 3
            units = check_unit_ranking(page, base, "")
            assert {u["unit"]["id"] for u in units} >= {edu_id}
            shown_codes = set(
                page.eval_on_selector_all("#overdue-list tr[data-item-code]", "rs => rs.map(r => r.dataset.itemCode)")
            )
            assert shown_codes == overdue_codes
            html = page.content()
            assert not [code for code in hidden if code in html]

            # ECharts from our static files draws both charts.
            page.wait_for_function(CHART_DRAWN, arg="trend-chart")
            page.wait_for_function(CHART_DRAWN, arg="ranking-chart")
            assert page.evaluate("() => echarts.version") == "6.1.0"
            assert "/static/vendor/echarts/echarts.min.js" in static_loaded
            assert no_sideways_scroll(page)
            laptop_shot = SCREENSHOTS / "dashboard-laptop.png"
            page.screenshot(path=str(laptop_shot), full_page=True)

            # Filter by unit with the form: the figures follow, still equal to the API's.
            page.select_option("#id_unit", str(edu_id))
            page.click(".filter-form button[type=submit]")
            page.wait_for_url(f"**/dashboard/?*unit={edu_id}*")
            query = urlsplit(page.url).query
            summary = check_summary(page, base, query)
            assert summary["total"]["count"] == 4 and summary["overdue"]["count"] == 2
            check_unit_ranking(page, base, query)

            # Click the overdue figure: the list holds exactly the API drill-down's items.
            drilldown = api_get(page, base, "/api/v1/items/", urlsplit(summary["overdue"]["drilldown"]).query + "&page_size=100")
            page.click('#summary [data-figure="overdue"]')
            page.wait_for_url("**/dashboard/items/?**")
            listed = page.eval_on_selector_all("tr[data-item-code]", "rs => rs.map(r => r.dataset.itemCode)")
            assert page.get_attribute("#item-count", "data-count") == str(drilldown["count"]) == "2"
            assert sorted(listed) == sorted(r["code"] for r in drilldown["results"])
            assert set(listed) == {ledger.overdue_long.code, ledger.overdue_short.code}
            assert page.eval_on_selector_all("tr[data-item-code] [data-light]", "els => els.map(e => e.dataset.light)") == [
                "overdue",
                "overdue",
            ]
            page.screenshot(path=str(SCREENSHOTS / "drilldown-laptop.png"), full_page=True)

            # The instruction picker: type part of the title, the options come from the server (only
            # instructions the viewer may see), choose one, and every figure narrows to it as the API's.
            page.goto(f"{base}/dashboard/")
            page.fill("#id_instruction", "重点工作")
            page.wait_for_function(
                "id => [...document.querySelectorAll('#instruction-options option')].some(o => o.value === String(id))",
                arg=instruction_id,
            )
            options = page.eval_on_selector_all("#instruction-options option", "os => os.map(o => o.value)")
            assert str(secret_instruction_id) not in options
            page.fill("#id_instruction", str(instruction_id))
            page.click(".filter-form button[type=submit]")
            page.wait_for_url(f"**/dashboard/?*instruction={instruction_id}*")
            query = urlsplit(page.url).query
            summary = check_summary(page, base, query)
            assert summary["total"]["count"] == 1
            page.click("#chosen-instruction a")
            page.wait_for_url(f"**/dashboard/instructions/{instruction_id}/")
            assert page.eval_on_selector_all("tr[data-item-code]", "rs => rs.map(r => r.dataset.itemCode)") == [ledger.green.code]
            assert page.get_attribute('[data-rate="in_progress_rate"]', "data-value") == str(summary["in_progress_rate"])

            # A township subtree from the URL, as a shared link would be.
            page.goto(f"{base}/dashboard/?unit={town_id}")
            assert check_summary(page, base, f"unit={town_id}")["total"]["count"] == 1
            assert page_errors == []

            # Tablet, portrait: no sideways scrolling, tables scroll in their own box, charts fit.
            tablet = browser.new_context(viewport=TABLET, locale="zh-CN", storage_state=laptop.storage_state())
            tab = tablet.new_page()
            tab.goto(f"{base}/dashboard/")
            tab.wait_for_function(CHART_DRAWN, arg="trend-chart")
            check_summary(tab, base, "")
            assert no_sideways_scroll(tab)
            widths = tab.evaluate(
                """() => ['trend-chart', 'ranking-chart'].map(id => document.getElementById(id).querySelector('canvas')
                     .getBoundingClientRect().right)"""
            )
            assert all(0 < right <= TABLET["width"] for right in widths), widths
            box = tab.evaluate(
                """() => { const b = document.querySelector('#unit-ranking').closest('.table-scroll');
                           return {overflow: getComputedStyle(b).overflowX, right: b.getBoundingClientRect().right}; }"""
            )
            assert box["overflow"] == "auto" and box["right"] <= TABLET["width"]
            tablet_shot = SCREENSHOTS / "dashboard-tablet.png"
            tab.screenshot(path=str(tablet_shot), full_page=True)
        finally:
            browser.close()

    print(f"\nscreenshots: {laptop_shot}  {tablet_shot}  {SCREENSHOTS / 'drilldown-laptop.png'}")
    assert laptop_shot.stat().st_size > 10_000 and tablet_shot.stat().st_size > 10_000
