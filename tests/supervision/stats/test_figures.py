"""Statistics (/api/v1/stats/…): every rate checked on a small ledger whose figures were worked
out by hand (below, not by the code under test), the visibility of counts, the filters, the
drill-downs (each list's count equals its figure), the 400s and the query budget.

The clock stands at Monday 2026-11-16 10:00 (Asia/Shanghai). Working days follow the seeded 2026
calendar: 中秋 09-25..09-27 off, 09-20 (Sunday) on, 国庆 10-01..10-07 off, 10-10 (Saturday) on.

    item  lead/support  instr (kind, leader)   cat  status         deadline (orig)    assigned  closed  created
    I1    edu / env     A (meeting, L1)        A    verified       08-14              07-01     08-10   06-30
    I2    edu           A                      A    closed         09-30 (09-15)      09-01     09-28   08-31
    I3    env / edu     B (leader_instr, L2)   B    closed         09-10              08-03     09-14   07-31
    I4    env           B                      A    in_progress    09-20              08-20     -       08-19
    I5    edu           A                      B    in_progress    07-31 (reopened)   07-01     -       06-15
    I6    edu           C (meeting, L1)        A    acknowledged   12-18 (warn 12-01) 11-03     -       11-02
    I7    env           B                      B    in_progress    11-16 (today)      10-16     -       10-15
    I8    edu           C                      -    assigned       11-20 (warn 11-12) 11-11     -       11-10
    I9    edu           C                      -    cancelled      08-31              07-21     -       07-20
    I10   env           B                      -    suspended      09-25              08-03     -       08-01
    I11   edu           D (leader_instr, L1)   A    closed, 秘密    09-30              09-01     09-29   08-31
    I12   edu           C                      -    draft          12-31              -         -       11-12
    I13   env           B                      B    verified       10-30              10-08     10-20   10-07

Working days from assignment to closure, (assigned, closed]:
    I1 07-01→08-10: Jul 2–31 = 22, Aug 3–7 = 5, Aug 10 = 1 → 28
    I2 09-01→09-28: Sep 2–4 = 3, 7–11 = 5, 14–18 = 5, 20 (Sun, 调休) = 1, 21–24 = 4, 25 off, 28 = 1 → 19
    I3 08-03→09-14: Aug 4–31 = 20, Sep 1–4 = 4, 7–11 = 5, 14 = 1 → 30
    I11 09-01→09-29: as I2 plus 09-29 → 20
    I13 10-08→10-20: Oct 9 = 1, 10 (Sat, 调休) = 1, 12–16 = 5, 19–20 = 2 → 9
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.choices import Classification, Role
from supervision import services
from supervision.choices import InstructionKind, ItemStatus, ReturnVisitResult
from supervision.models import Item, ReturnVisit
from tests.api_helpers import assert_error, client_for
from tests.factories import CategoryFactory, UnitFactory, UserFactory, make_instruction, make_item
from tests.module_data import clocked_ledger_fixtures, reread

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = datetime.date
NOW = datetime.datetime(2026, 11, 16, 10, 0, tzinfo=SHANGHAI)
Q3 = {"quarter": "2026Q3"}


def at(month: int, day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock(monkeypatch):
    """Set the service clock (timezone.now) to a given Shanghai time."""

    def set_to(moment: datetime.datetime):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


def build_ledger(w, clock) -> SimpleNamespace:
    """The ledger in the module docstring, built through the services on 2026-06-01, then back-dated."""
    clock(at(6, 1))
    L = SimpleNamespace(
        l1=w.leader,
        l2=UserFactory(username="leader2", full_name="副书记", roles=[Role.LEADER], clearance=Classification.CONFIDENTIAL),
    )
    L.cat_a, L.cat_b = CategoryFactory(name="重点项目"), CategoryFactory(name="民生实事")
    A = make_instruction(office=w.office, kind=InstructionKind.MEETING_DECISION, issuing_leader=L.l1, title="常委会议定事项")
    B = make_instruction(office=w.office, kind=InstructionKind.LEADER_INSTRUCTION, issuing_leader=L.l2, title="副书记批示")
    C = make_instruction(office=w.office, kind=InstructionKind.MEETING_DECISION, issuing_leader=L.l1, title="专题会议定事项")
    Dd = make_instruction(
        office=w.office,
        kind=InstructionKind.LEADER_INSTRUCTION,
        issuing_leader=L.l1,
        title="涉密批示",
        classification=Classification.SECRET,
    )
    edu = {"lead_unit": w.edu, "owner": w.edu_handler}
    env = {"lead_unit": w.env, "owner": w.env_handler}

    def item(name, state, unit, instruction, deadline, category=None, **kw):
        obj = make_item(
            state, office=w.office, instruction=instruction, deadline=deadline, category=category, title=name, **unit, **kw
        )
        setattr(L, name, obj)
        return obj

    item("i1", ItemStatus.VERIFIED, edu, A, D(2026, 8, 14), L.cat_a, supporting_units=[w.env])
    item("i2", ItemStatus.CLOSED, edu, A, D(2026, 9, 15), L.cat_a)
    item("i3", ItemStatus.CLOSED, env, B, D(2026, 9, 10), L.cat_b, supporting_units=[w.edu])
    item("i4", ItemStatus.IN_PROGRESS, env, B, D(2026, 9, 20), L.cat_a)
    item("i5", ItemStatus.CLOSED, edu, A, D(2026, 7, 31), L.cat_b)
    services.return_visit_create(actor=w.office, item=L.i5, result=ReturnVisitResult.FAILED, findings="问题反弹，重新整改")
    item("i6", ItemStatus.ACKNOWLEDGED, edu, C, D(2026, 12, 18), L.cat_a)
    item("i7", ItemStatus.IN_PROGRESS, env, B, D(2026, 11, 16), L.cat_b)
    item("i8", ItemStatus.ASSIGNED, edu, C, D(2026, 11, 20))
    item("i9", ItemStatus.CANCELLED, edu, C, D(2026, 8, 31))
    item("i10", ItemStatus.SUSPENDED, env, B, D(2026, 9, 25))
    item("i11", ItemStatus.CLOSED, {**edu, "owner": w.edu_head}, Dd, D(2026, 9, 30), L.cat_a)  # 秘密: the head is cleared
    item("i12", ItemStatus.DRAFT, edu, C, D(2026, 12, 31))
    item("i13", ItemStatus.VERIFIED, env, B, D(2026, 10, 30), L.cat_b)

    # Back-date to the table: (assigned, closed, created) and the odd field.
    dates = {
        "i1": (at(7, 1), at(8, 10), at(6, 30)),
        "i2": (at(9, 1), at(9, 28), at(8, 31)),
        "i3": (at(8, 3), at(9, 14), at(7, 31)),
        "i4": (at(8, 20), None, at(8, 19)),
        "i5": (at(7, 1), None, at(6, 15)),
        "i6": (at(11, 3), None, at(11, 2)),
        "i7": (at(10, 16), None, at(10, 15)),
        "i8": (at(11, 11), None, at(11, 10)),
        "i9": (at(7, 21), None, at(7, 20)),
        "i10": (at(8, 3), None, at(8, 1)),
        "i11": (at(9, 1), at(9, 29), at(8, 31)),
        "i12": (None, None, at(11, 12)),
        "i13": (at(10, 8), at(10, 20), at(10, 7)),
    }
    for name, (assigned, closed, created) in dates.items():
        Item.objects.filter(pk=getattr(L, name).pk).update(assigned_at=assigned, closed_at=closed, created_at=created)
    # I5 was closed on 07-20 and reopened by the failed return visit of 08-05: the closure stays in history.
    ReturnVisit.objects.filter(item=L.i5).update(reopened_closure_at=at(7, 20), visited_on=D(2026, 8, 5), created_at=at(8, 5))
    Item.objects.filter(pk=L.i2.pk).update(deadline=D(2026, 9, 30), extension_count=1)  # extended from 09-15
    Item.objects.filter(pk=L.i6.pk).update(warning_date=D(2026, 12, 1))
    Item.objects.filter(pk=L.i8.pk).update(warning_date=D(2026, 11, 12))
    Item.objects.filter(pk=L.i7.pk).update(warning_date=D(2026, 11, 10))
    clock(NOW)
    return L


_built, world = clocked_ledger_fixtures(build_ledger)


@pytest.fixture
def ledger(_built, world, clock):
    clock(NOW)
    return reread(_built.ledger)


def get(user, path, params=None, status=200):
    response = client_for(user).get(path, params or {})
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.json()


def counts(rows, key):
    return {row[key]: row["count"] for row in rows}


def figures(body):
    """Every {count, drilldown} in a response, with its place."""
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            if set(node) == {"count", "drilldown"} or {"count", "drilldown"} <= set(node) and "label" in node:
                found.append((where, node))
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(body, "")
    return found


# ---------------------------------------------------------------------------------------------
# Every rate on the hand-checked ledger


def test_summary_for_a_quarter_matches_the_hand_count(world, ledger):
    body = get(world.office, "/api/v1/stats/summary/", Q3)
    assert body["period"] == {"start": "2026-07-01", "end": "2026-09-30", "quarter": "2026Q3"}
    assert body["total"]["count"] == 13
    assert counts(body["by_status"], "status") == {
        "draft": 1,
        "awaiting_approval": 0,
        "assigned": 1,
        "acknowledged": 1,
        "in_progress": 3,
        "pending_review": 0,
        "closed": 3,
        "verified": 2,
        "suspended": 1,
        "cancelled": 1,
    }
    assert counts(body["by_light"], "light") == {"none": 8, "green": 1, "yellow": 1, "red": 1, "overdue": 2}
    # Due in Q3: I1 I2 I3 I4 I5 I10 I11 (I9 cancelled; I10 suspended still due).
    assert body["due"]["count"] == 7
    assert body["closed"]["count"] == 4  # I1 I2 I3 I11
    assert body["implementation_rate"] == 0.5714  # 4 / 7
    assert body["closed_on_time_original"]["count"] == 2  # I1, I11 (I2 closed 09-28 after its original 09-15)
    assert body["on_time_rate_original"] == 0.2857  # 2 / 7
    assert body["closed_on_time_extended"]["count"] == 3  # I1, I2, I11
    assert body["on_time_rate_extended"] == 0.4286  # 3 / 7
    assert body["overdue"]["count"] == 2  # I4, I5 (I10 is suspended: no running deadline)
    assert body["open_with_deadline"]["count"] == 5  # I4 I5 I6 I7 I8
    assert body["overdue_rate"] == 0.4
    # I5's closure of 07-20, undone by the failed return visit of 08-05, stays in history.
    assert body["closed_in_period"]["count"] == 5  # I1 I2 I3 I11 + I5
    assert body["relapsed"]["count"] == 1  # I5, its return visit failed on 08-05
    assert body["average_workdays_to_close"] == 24.25  # (28 + 19 + 30 + 20) / 4
    assert body["reopened"]["count"] == 1  # I5


def test_summary_as_of_today_by_default(world, ledger):
    body = get(world.office, "/api/v1/stats/summary/")
    assert body["period"] == {"start": None, "end": "2026-11-16", "quarter": None}
    # Due by today: the Q3 seven plus I7 (due today) and I13.
    assert body["due"]["count"] == 9
    assert body["closed"]["count"] == 5 and body["implementation_rate"] == 0.5556
    assert body["closed_on_time_original"]["count"] == 3 and body["on_time_rate_original"] == 0.3333  # I1 I11 I13
    assert body["closed_on_time_extended"]["count"] == 4 and body["on_time_rate_extended"] == 0.4444  # + I2
    assert body["closed_in_period"]["count"] == 6  # + I5's undone closure
    assert body["average_workdays_to_close"] == 21.2  # (97 + 9) / 5


def test_explicit_period_and_open_ends(world, ledger):
    body = get(world.office, "/api/v1/stats/summary/", {"period_start": "2026-09-01", "period_end": "2026-09-30"})
    # Deadlines in September: I2 I3 I4 I10 I11; closed I2 I3 I11; closed in September the same three.
    assert body["due"]["count"] == 5 and body["closed"]["count"] == 3 and body["implementation_rate"] == 0.6
    assert body["average_workdays_to_close"] == 23.0  # (19 + 30 + 20) / 3
    body = get(world.office, "/api/v1/stats/summary/", {"period_start": "2026-10-01"})
    assert body["period"]["end"] is None
    # Deadlines from October on: I6 I7 I8 I13 (I12 is a draft); closed: I13.
    assert body["due"]["count"] == 4 and body["closed"]["count"] == 1 and body["implementation_rate"] == 0.25


def test_rates_are_null_not_zero_without_a_denominator(world, ledger):
    body = get(world.office, "/api/v1/stats/summary/", {"quarter": "2025Q1"})
    assert body["due"]["count"] == 0
    assert body["implementation_rate"] is None
    assert body["on_time_rate_original"] is None and body["on_time_rate_extended"] is None
    assert body["average_workdays_to_close"] is None
    # Overdue rate keeps its denominator (open with a deadline, now).
    assert body["overdue_rate"] == 0.4
    # A unit with no open item at all.
    body = get(world.office, "/api/v1/stats/summary/", {"lead_unit": world.town.pk})
    assert body["total"]["count"] == 0 and body["overdue_rate"] is None and body["implementation_rate"] is None
    # A zero numerator stays 0, not null.
    row = next(r for r in get(world.office, "/api/v1/stats/categories/", Q3)["results"] if r["category"] is None)
    assert row["due"]["count"] == 1 and row["implementation_rate"] == 0.0  # I10, suspended


def test_units_lead_and_supporting_apart(world, ledger):
    body = get(world.office, "/api/v1/stats/units/", Q3)
    assert body["order"] == "implementation_rate"
    rows = {r["unit"]["name"]: r for r in body["results"]}
    assert [r["unit"]["name"] for r in body["results"]] == ["县环保局", "县教育局"]  # 0.3333 before 0.75
    edu, env = rows["县教育局"], rows["县环保局"]
    # 教育局 leads I1 I2 I5 I6 I8 I9 I11 I12; due in Q3: I1 I2 I5 I11; closed I1 I2 I11; on time (original) I1 I11.
    assert edu["lead"]["total"]["count"] == 8
    assert (edu["lead"]["due"]["count"], edu["lead"]["closed"]["count"], edu["lead"]["implementation_rate"]) == (4, 3, 0.75)
    assert edu["lead"]["on_time_rate_original"] == 0.5 and edu["lead"]["on_time_rate_extended"] == 0.75
    assert edu["lead"]["overdue"]["count"] == 1  # I5
    # 教育局 supports I3 (closed late).
    assert (edu["supporting"]["total"]["count"], edu["supporting"]["due"]["count"], edu["supporting"]["closed"]["count"]) == (
        1,
        1,
        1,
    )
    assert edu["supporting"]["implementation_rate"] == 1.0 and edu["supporting"]["on_time_rate_original"] == 0.0
    # 环保局 leads I3 I4 I7 I10 I13; due in Q3: I3 I4 I10; closed I3; overdue I4.
    assert env["lead"]["total"]["count"] == 5
    assert (env["lead"]["due"]["count"], env["lead"]["closed"]["count"], env["lead"]["implementation_rate"]) == (3, 1, 0.3333)
    assert env["lead"]["on_time_rate_original"] == 0.0 and env["lead"]["overdue"]["count"] == 1
    # 环保局 supports I1 (on time).
    assert env["supporting"]["implementation_rate"] == 1.0 and env["supporting"]["on_time_rate_original"] == 1.0
    by_name = get(world.office, "/api/v1/stats/units/", {**Q3, "order": "name"})["results"]
    assert [r["unit"]["name"] for r in by_name] == ["县教育局", "县环保局"]
    by_due = get(world.office, "/api/v1/stats/units/", {**Q3, "order": "due"})["results"]
    assert [r["unit"]["name"] for r in by_due] == ["县教育局", "县环保局"]  # 4 before 3


def test_leaders_kinds_and_categories(world, ledger):
    leaders = {r["leader"]["name"]: r for r in get(world.office, "/api/v1/stats/leaders/", Q3)["results"]}
    # L1 (instructions A, C, D): due I1 I2 I5 I11, closed I1 I2 I11. L2 (B): due I3 I4 I10, closed I3.
    assert (
        leaders["leader"]["due"]["count"],
        leaders["leader"]["closed"]["count"],
        leaders["leader"]["implementation_rate"],
    ) == (4, 3, 0.75)
    assert (
        leaders["副书记"]["due"]["count"],
        leaders["副书记"]["closed"]["count"],
        leaders["副书记"]["implementation_rate"],
    ) == (3, 1, 0.3333)
    kinds = {r["kind"]: r for r in get(world.office, "/api/v1/stats/kinds/", Q3)["results"]}
    assert set(kinds) == set(InstructionKind.values)  # every kind listed
    # Meeting decisions due in Q3: I1 I2 I5, two implemented (the figure one speaker counted by hand).
    meeting = kinds["meeting_decision"]
    assert (meeting["due"]["count"], meeting["closed"]["count"], meeting["implementation_rate"]) == (3, 2, 0.6667)
    assert meeting["label"] == "会议议定事项"
    assert (kinds["leader_instruction"]["due"]["count"], kinds["leader_instruction"]["implementation_rate"]) == (4, 0.5)
    assert kinds["public_report"]["due"]["count"] == 0 and kinds["public_report"]["implementation_rate"] is None
    categories = {(r["category"] or {}).get("name"): r for r in get(world.office, "/api/v1/stats/categories/", Q3)["results"]}
    assert (categories["重点项目"]["due"]["count"], categories["重点项目"]["implementation_rate"]) == (4, 0.75)  # I1 I2 I4 I11
    assert (categories["民生实事"]["due"]["count"], categories["民生实事"]["implementation_rate"]) == (2, 0.5)  # I3 I5
    assert categories[None]["due"]["count"] == 1 and categories[None]["due"]["drilldown"] is None


def test_monthly_trend(world, ledger):
    body = get(world.office, "/api/v1/stats/trend/", {"period_start": "2026-07-01", "period_end": "2026-11-30"})
    months = {m["month"]: m for m in body["months"]}
    assert list(months) == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert {k: m["created"]["count"] for k, m in months.items()} == {
        "2026-07": 2,
        "2026-08": 4,
        "2026-09": 0,
        "2026-10": 2,
        "2026-11": 3,  # I3 I9 | I2 I4 I10 I11 | - | I7 I13 | I6 I8 I12
    }
    # July: I5's closure of 07-20, undone by the failed return visit of 08-05, is still a closure of July.
    assert {k: m["closed"]["count"] for k, m in months.items()} == {
        "2026-07": 1,
        "2026-08": 1,
        "2026-09": 3,
        "2026-10": 1,
        "2026-11": 0,
    }
    # Month ends: 07-31 none (I5 closed then, and due that very day); 08-31 I5 (reopened on 08-05); 09-30 I4 I5 I10; 10-31 the same;
    # November (the current month) is the light rule now: I4 I5 (I10 is suspended).
    assert {k: m["overdue_at_month_end"]["count"] for k, m in months.items()} == {
        "2026-07": 0,
        "2026-08": 1,
        "2026-09": 3,
        "2026-10": 3,
        "2026-11": 2,
    }
    assert months["2026-09"]["overdue_at_month_end"]["drilldown"] is None
    assert months["2026-11"]["overdue_at_month_end"]["count"] == get(world.office, "/api/v1/stats/summary/")["overdue"]["count"]
    body = get(world.office, "/api/v1/stats/trend/")
    assert body["period"] == {"start": "2025-12-01", "end": "2026-11-30", "quarter": None}
    default = body["months"]
    assert [m["month"] for m in default][0] == "2025-12" and default[-1]["month"] == "2026-11" and len(default) == 12
    three = get(world.office, "/api/v1/stats/trend/", {"months": 3})["months"]
    assert [m["month"] for m in three] == ["2026-09", "2026-10", "2026-11"]
    future = get(world.office, "/api/v1/stats/trend/", {"period_start": "2026-11-01", "period_end": "2026-12-31"})["months"]
    assert future[-1]["month"] == "2026-12" and future[-1]["overdue_at_month_end"] == {"count": None, "drilldown": None}


# ---------------------------------------------------------------------------------------------
# Visibility of counts


def test_a_unit_handler_counts_only_its_units_items(world, ledger):
    body = get(world.edu_handler, "/api/v1/stats/summary/", Q3)
    # 教育局 is lead or supporting on I1 I2 I3 I5 I6 I8 I9 (I11 is 秘密, above 内部; I12 is a draft).
    assert body["total"]["count"] == 7
    assert counts(body["by_status"], "status") == {
        "draft": 0,
        "awaiting_approval": 0,
        "assigned": 1,
        "acknowledged": 1,
        "in_progress": 1,
        "pending_review": 0,
        "closed": 2,
        "verified": 1,
        "suspended": 0,
        "cancelled": 1,
    }
    assert (body["due"]["count"], body["closed"]["count"], body["implementation_rate"]) == (4, 3, 0.75)  # I1 I2 I3 I5
    assert body["on_time_rate_original"] == 0.25 and body["on_time_rate_extended"] == 0.5
    assert (body["overdue"]["count"], body["open_with_deadline"]["count"], body["overdue_rate"]) == (1, 3, 0.3333)
    assert body["average_workdays_to_close"] == 25.67  # (28 + 19 + 30) / 3
    # The ranking shows other units only through the items the handler may see.
    units = {r["unit"]["name"]: r for r in get(world.edu_handler, "/api/v1/stats/units/", Q3)["results"]}
    assert units["县环保局"]["lead"]["total"]["count"] == 1  # I3 only, where 教育局 supports
    assert units["县环保局"]["supporting"]["total"]["count"] == 1  # I1
    # Another unit's handler sees none of 教育局's own items.
    env_body = get(world.env_handler, "/api/v1/stats/summary/", Q3)
    assert env_body["total"]["count"] == 6  # I1 (supporting) I3 I4 I7 I10 I13
    assert env_body["due"]["count"] == 4  # I1 I3 I4 I10


def test_an_item_above_clearance_is_not_counted(world, ledger):
    full = get(world.office, "/api/v1/stats/summary/", Q3)
    low = get(world.office_low, "/api/v1/stats/summary/", Q3)  # 内部 clearance: I11 (秘密) does not exist for them
    assert full["total"]["count"] - low["total"]["count"] == 1
    assert (low["due"]["count"], low["closed"]["count"], low["implementation_rate"]) == (6, 3, 0.5)
    assert low["closed_on_time_original"]["count"] == 1
    assert low["average_workdays_to_close"] == 25.67  # I1 I2 I3
    low_leaders = {r["leader"]["name"]: r for r in get(world.office_low, "/api/v1/stats/leaders/", Q3)["results"]}
    assert low_leaders["leader"]["due"]["count"] == 3  # I11 gone from L1's figures too


def test_a_leader_sees_everything_within_clearance_but_no_drafts(world, ledger):
    body = get(world.leader, "/api/v1/stats/summary/", Q3)
    assert body["total"]["count"] == 12  # all but the draft I12; I11 (秘密) within 机密 clearance
    assert counts(body["by_status"], "status")["draft"] == 0
    assert (body["due"]["count"], body["implementation_rate"]) == (7, 0.5714)


def test_anonymous_and_out_of_scope_users(world, ledger):
    assert_error(client_for(None).get("/api/v1/stats/summary/"), 401)
    body = get(world.discipline, "/api/v1/stats/summary/")  # nothing referred to 纪检 yet
    assert body["total"]["count"] == 0 and body["implementation_rate"] is None


# ---------------------------------------------------------------------------------------------
# Filters narrow the figures


def test_filters_narrow_every_figure(world, ledger):
    body = get(world.office, "/api/v1/stats/summary/", {**Q3, "lead_unit": world.env.pk})
    # 环保局 leads I3 I4 I7 I10 I13; due in Q3 I3 I4 I10; closed I3 (late).
    assert body["total"]["count"] == 5
    assert (body["due"]["count"], body["closed"]["count"], body["implementation_rate"]) == (3, 1, 0.3333)
    assert body["on_time_rate_original"] == 0.0 and body["overdue"]["count"] == 1
    body = get(world.office, "/api/v1/stats/summary/", {**Q3, "instruction_kind": "meeting_decision"})
    assert (body["due"]["count"], body["closed"]["count"], body["implementation_rate"]) == (3, 2, 0.6667)
    body = get(world.office, "/api/v1/stats/summary/", {**Q3, "issuing_leader": ledger.l2.pk, "category": ledger.cat_a.pk})
    assert (body["total"]["count"], body["due"]["count"], body["overdue"]["count"]) == (1, 1, 1)  # I4
    body = get(world.office, "/api/v1/stats/summary/", {**Q3, "unit": world.edu.pk})  # lead or supporting
    assert (body["total"]["count"], body["due"]["count"]) == (9, 5)  # its 8 as lead + I3; due I1 I2 I3 I5 I11
    body = get(world.office, "/api/v1/stats/summary/", {"deadline_after": "2026-11-01"})
    assert counts(body["by_light"], "light") == {"none": 1, "green": 1, "yellow": 1, "red": 1, "overdue": 0}  # I12 draft
    body = get(world.office, "/api/v1/stats/summary/", {**Q3, "status": ["closed", "verified"]})
    assert body["due"]["count"] == 4 and body["implementation_rate"] == 1.0
    assert counts(body["by_status"], "status")["in_progress"] == 0
    # The unit subtree also limits the ranking's rows.
    rows = get(world.office, "/api/v1/stats/units/", {**Q3, "unit": world.edu.pk})["results"]
    assert [r["unit"]["name"] for r in rows] == ["县教育局"]


# ---------------------------------------------------------------------------------------------
# Drill-down: the number and the list always agree


def _assert_drilldowns_agree(user, body):
    checked = 0
    client = client_for(user)
    for where, figure in figures(body):
        if figure["drilldown"] is None:
            continue
        url = urlsplit(figure["drilldown"])
        assert url.path == "/api/v1/items/", where
        listed = client.get(url.path, {**parse_qs(url.query), "page_size": 1})
        assert listed.status_code == 200, (where, listed.content[:300])
        assert listed.json()["count"] == figure["count"], (where, figure)
        checked += 1
    return checked


@pytest.mark.parametrize(
    "who, params",
    [
        ("office", Q3),
        ("office", {}),
        ("edu_handler", Q3),
        ("office", {**Q3, "unit": "edu", "urgency": "normal", "status": ["closed", "in_progress", "verified"]}),
        (
            "office",
            {"period_start": "2026-09-01", "period_end": "2026-09-30", "overdue": "true", "deadline_before": "2026-09-20"},
        ),
    ],
)
def test_every_figure_drills_down_to_a_list_of_that_many_items(world, ledger, who, params):
    params = {k: (getattr(world, v).pk if k == "unit" else v) for k, v in params.items()}
    user = getattr(world, who)
    checked = 0
    for path in ("summary", "units", "leaders", "kinds", "categories"):
        checked += _assert_drilldowns_agree(user, get(user, f"/api/v1/stats/{path}/", params))
    trend_params = {k: v for k, v in params.items() if k not in ("quarter", "period_start", "period_end")}
    checked += _assert_drilldowns_agree(user, get(user, "/api/v1/stats/trend/", {**trend_params, "months": 6}))
    assert checked > 40


def test_drilldown_urls_carry_the_request_filters_and_the_figures_own(world, ledger):
    body = get(world.office, "/api/v1/stats/summary/", {**Q3, "lead_unit": world.edu.pk})
    query = parse_qs(urlsplit(body["overdue"]["drilldown"]).query)
    assert query == {"lead_unit": [str(world.edu.pk)], "overdue": ["true"]}
    query = parse_qs(urlsplit(body["closed_on_time_original"]["drilldown"]).query)
    assert query == {
        "lead_unit": [str(world.edu.pk)],
        "status": ["closed", "verified"],
        "original_deadline_after": ["2026-07-01"],
        "original_deadline_before": ["2026-09-30"],
        "closed_on_time": ["original"],
    }
    # A figure that contradicts the request's own filter has no list behind it, and is 0.
    body = get(world.office, "/api/v1/stats/summary/", {"overdue": "false"})
    assert body["overdue"] == {"count": 0, "drilldown": None}
    body = get(world.office, "/api/v1/stats/summary/", {"status": "closed"})
    by_status = {row["status"]: row for row in body["by_status"]}
    assert by_status["draft"]["drilldown"] is None and by_status["closed"]["count"] == 3


@pytest.mark.parametrize(
    "params",
    [{}, Q3, {"lead_unit": "edu"}, {"supporting_unit": "edu", "status": ["closed", "verified"]}, {"overdue": "false"}],
)
def test_a_rankings_drilldowns_are_the_figures_own_urls(world, params):
    """Scope.group_drilldown (and group_links) write each figure's URL once around a placeholder for the group's value;
    every URL is the one `drilldown` writes whole, a request filtering on the group's own parameter
    (None for the other groups) and a contradicting figure (None for every group) included."""
    from django.http import QueryDict

    from supervision import stats

    params = {k: (str(getattr(world, v).pk) if v in ("edu", "env") else v) for k, v in params.items()}
    query = QueryDict(mutable=True)
    for key, value in params.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    scope = stats.stats_scope(user=world.office, params=query, period=stats.period_from(quarter="2026Q3"))
    figures = [
        {},
        scope.due_drill(),
        scope.closed_drill(),
        {**scope.closed_current_drill(), "closed_on_time": "extended"},
        {"overdue": True},
        {"relapsed": (scope.period.start, scope.period.end)},
        {**scope.assigned_drill(), "stale": True},
    ]
    groups = [{"lead_unit": unit.pk} for unit in (world.edu, world.env)] + [{"supporting_unit": world.env.pk}]
    groups += [{"category": 1}, {"instruction_kind": ["meeting_decision"]}]
    checked = 0
    for _ in range(2):  # the second round reads the templates written in the first
        for group in groups:
            for constraints in figures:
                whole = scope.drilldown(**group, **constraints)
                assert scope.group_drilldown(group, **constraints) == whole, (group, constraints)
                checked += whole is not None
            # Scope.group_links: every figure of one group at once, keyed by the figure's name.
            links = scope.group_links(group, {f"f{index}": constraints for index, constraints in enumerate(figures)})
            assert links == {f"f{index}": scope.drilldown(**group, **c) for index, c in enumerate(figures)}, group
    assert checked > 20


# ---------------------------------------------------------------------------------------------
# Bad input: 400 in the API's error shape, in Chinese


@pytest.mark.parametrize(
    "path, params, field",
    [
        ("summary", {"quarter": "2026Q5"}, "quarter"),
        ("summary", {"quarter": "2026Q3", "period_start": "2026-07-01"}, "quarter"),
        ("summary", {"period_start": "2026-10-01", "period_end": "2026-09-30"}, "period_end"),
        ("summary", {"period_start": "2026-13-01"}, "period_start"),
        ("summary", {"status": "finished"}, "status"),
        ("summary", {"deadline_after": "yesterday"}, "deadline"),
        ("units", {"order": "best"}, "order"),
        ("leaders", {"issuing_leader": "abc"}, "issuing_leader"),
        ("trend", {"months": "0"}, "months"),
        ("trend", {"period_start": "2020-01-01", "period_end": "2026-11-30"}, "period_start"),
        # Found by schemathesis: these were 500s (year 0 has no first day, 9999-12-31 no day after).
        ("summary", {"quarter": "0000Q1"}, "quarter"),
        ("kinds", {"quarter": "9999Q4"}, "quarter"),
        ("summary", {"period_end": "9999-12-31"}, "period_end"),
        ("trend", {"period_end": "9999-12-31"}, "period_end"),
        ("units", {"period_start": "0001-01-01"}, "period_start"),
    ],
)
def test_invalid_parameters_are_400_with_chinese_messages(world, path, params, field):
    response = client_for(world.office).get(f"/api/v1/stats/{path}/", params)
    assert_error(response, 400, code="invalid", field=field)


def test_an_empty_choice_parameter_means_no_filter_on_figures_and_lists(world, ledger):
    """`?urgency=` (an empty form field, an OA system sending every key) filters nothing, as an empty
    `unit=` already did, on the figures and on the list they drill down to; a wrong value is still a 400."""
    client = client_for(world.office)
    everything = client.get("/api/v1/stats/summary/", Q3).json()
    empty = client.get("/api/v1/stats/summary/", {**Q3, "urgency": "", "status": "", "instruction_kind": ""}).json()
    assert empty["total"]["count"] == everything["total"]["count"] > 0
    listed = client.get("/api/v1/items/", {"urgency": "", "light": ""})
    assert listed.status_code == 200 and listed.json()["count"] == client.get("/api/v1/items/").json()["count"]
    mixed = client.get("/api/v1/items/", {"status": ["", "in_progress"]}).json()["results"]
    assert mixed and {row["status"] for row in mixed} == {"in_progress"}
    assert_error(client.get("/api/v1/items/", {"urgency": ["", "soon"]}), 400, code="invalid", field="urgency")


# ---------------------------------------------------------------------------------------------
# Cost: a constant number of queries whatever the ledger size


def _query_count(user, path, params):
    client = client_for(user)
    client.get(path, params)  # warm the token
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


PATHS = ["summary", "units", "leaders", "kinds", "categories", "trend"]


def test_query_count_does_not_grow_with_the_ledger(world, ledger, clock):
    cases = [(world.office, {**Q3}), (world.edu_handler, {"unit": world.edu.pk, "quarter": "2026Q3"})]
    before = {(p, u.username): _query_count(u, f"/api/v1/stats/{p}/", params) for p in PATHS for u, params in cases}
    # A bigger ledger: more units, leaders, categories, items in every state, closed in many months.
    clock(datetime.datetime(2026, 6, 1, 10, tzinfo=SHANGHAI))
    units = [UnitFactory(name=f"扩展单位{i}") for i in range(4)]
    leaders = [UserFactory(username=f"lead{i}", roles=[Role.LEADER], clearance=Classification.CONFIDENTIAL) for i in range(3)]
    categories = [CategoryFactory(name=f"扩展类别{i}") for i in range(3)]
    states = [ItemStatus.CLOSED, ItemStatus.IN_PROGRESS, ItemStatus.VERIFIED, ItemStatus.ASSIGNED, ItemStatus.SUSPENDED]
    for n in range(15):
        unit = units[n % 4]
        instruction = make_instruction(
            office=world.office, issuing_leader=leaders[n % 3], kind=list(InstructionKind)[n % len(InstructionKind)]
        )
        item = make_item(
            states[n % len(states)],
            office=world.office,
            lead_unit=unit,
            owner=UserFactory(unit=unit, roles=[Role.UNIT_HANDLER]),
            supporting_units=[world.edu, units[(n + 1) % 4]],
            instruction=instruction,
            category=categories[n % 3],
            deadline=D(2026, 7, 1) + datetime.timedelta(days=7 * n),
            title=f"扩展{n}",
        )
        Item.objects.filter(pk=item.pk, closed_at__isnull=False).update(closed_at=at(7 + n % 5, 1 + n))
    clock(NOW)
    after = {(p, u.username): _query_count(u, f"/api/v1/stats/{p}/", params) for p in PATHS for u, params in cases}
    assert get(world.office, "/api/v1/stats/summary/", Q3)["total"]["count"] == 13 + 15
    assert before == after, (before, after)
    assert max(after.values()) <= 10, after


def test_schema_documents_the_stats_endpoints(world):
    from django.test import Client

    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for name in PATHS:
        operation = schema["paths"][f"/api/v1/stats/{name}/"]["get"]
        params = {p["name"] for p in operation["parameters"]}
        assert {
            "period_start",
            "period_end",
            "quarter",
            "unit",
            "lead_unit",
            "issuing_leader",
            "instruction_kind",
            "category",
            "urgency",
            "deadline_after",
            "deadline_before",
        } <= params, name
        assert "ordering" not in params
        assert operation["security"]
    summary = schema["paths"]["/api/v1/stats/summary/"]["get"]["description"]
    assert "落实率 = 已办结 ÷ 应办结" in summary and "null" in summary
