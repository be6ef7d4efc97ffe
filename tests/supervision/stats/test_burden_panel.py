"""减负 (issue 15): the office's 减负 panel on the dashboard and the 基层负担 sheet of the quarterly
workbook show the same figures as the burden API, flag units over the office's limits, and are not
shown to units (the API gives them 403)."""

from __future__ import annotations

import io

import openpyxl
from django.test import Client
from django.utils import timezone

from supervision import outbox
from supervision.choices import ItemStatus
from supervision.models import BurdenLimit
from supervision.stats.burden import burden_weeks, week_start
from supervision.stats.quarterly import quarterly_review_workbook
from tests.factories import make_item


def _quarter(day) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def _chase(w):
    item = make_item(ItemStatus.IN_PROGRESS, office=w.office, lead_unit=w.env, owner=w.env_handler, title="城北河道综合整治")
    for n in range(3):
        outbox.notify(recipients=[w.env_handler, w.env_head], title=f"催办{n}", kind="deadline", dedup_key=f"p:{n}", item=item)
    outbox.notify(recipients=[w.edu_handler], title="教育局催办", kind="deadline", dedup_key="p:edu")
    BurdenLimit.objects.create(metric="reminders", weekly_limit=2)
    return item


def _page(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_dashboard_panel_shows_the_apis_figures_and_flags_units_over_a_limit(world):
    w = world
    _chase(w)
    expected = {r["unit_id"]: r for r in burden_weeks(user=w.office)}
    assert expected[w.env.pk]["reminders"] == 3 and expected[w.env.pk]["over_limits"] == ["reminders"]
    html = _page(w.office)
    assert 'id="burden"' in html
    env_row = html.split(f'data-unit="{w.env.pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="warn"' in env_row.split(">", 1)[0] + ">"
    assert f'data-metric="reminders" class="warn">{expected[w.env.pk]["reminders"]}<' in env_row
    assert f'data-metric="messages" class="">{expected[w.env.pk]["messages"]}<' in env_row
    edu_row = html.split(f'data-unit="{w.edu.pk}"', 1)[1].split("</tr>", 1)[0]
    assert f'data-metric="reminders" class="">{expected[w.edu.pk]["reminders"]}<' in edu_row
    assert "超过上限" in env_row and "超过上限" not in edu_row
    # A unit does not get the office's panel.
    assert 'id="burden"' not in _page(w.env_head)


def test_the_quarterly_workbook_has_the_burden_sheet_for_the_office_only(world):
    w = world
    _chase(w)
    today = timezone.localdate()
    wb = openpyxl.load_workbook(io.BytesIO(quarterly_review_workbook(user=w.office, params={"quarter": _quarter(today)})))
    assert "基层负担" in wb.sheetnames
    ws = wb["基层负担"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    this_week = week_start(today).isoformat()
    env = next(r for r in rows if r[0] == this_week and r[1] == "县环保局")
    expected = next(r for r in burden_weeks(user=w.office) if r["unit_id"] == w.env.pk)
    assert env[2:6] == [expected["messages"], expected["reminders"], expected["reports_asked"], expected["reports_filed"]]
    assert env[8] == "催办"
    unit_wb = openpyxl.load_workbook(io.BytesIO(quarterly_review_workbook(user=w.env_head, params={"quarter": _quarter(today)})))
    assert "基层负担" not in unit_wb.sheetnames
