"""Every figure equals a full recount (issue 14): a random ledger, built through the services on a
moving clock (so the deadline history and the return visits are what the application writes:
extensions approved late, failed return visits with and without a rectification deadline, closures
undone and closed again), and random filters and periods for a leader and a unit user. Each case
counts the summary, the four rankings and the trend with the code under test, and recounts every
figure here, item by item in Python, from the definitions in supervision/stats/__init__.py. The
items counted are the scope's own (visibility and the list filters are not what this checks); every
condition on them is recounted here from the item's fields, its return visits and its deadline spans.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.http import QueryDict
from django.utils import timezone

from accounts.choices import Classification, Role
from accounts.models import Unit
from supervision import services, stats
from supervision.choices import (
    COUNTED_STATUSES,
    DONE_STATUSES,
    OPEN_STATUSES,
    REPORTING_STATUSES,
    WORKING_STATUSES,
    AssignmentRole,
    InstructionKind,
    ItemStatus,
    Light,
    ReportingCycle,
    RequestKind,
    ReturnVisitResult,
    Urgency,
)
from supervision.conditions import CYCLE_DAYS
from supervision.models import DeadlineSpan, FigureRules, Item, ItemAssignment, ReturnVisit
from supervision.stats import columns
from supervision.workcalendar import workdays_between
from tests.conftest import build_world
from tests.factories import CategoryFactory, UserFactory, advance_item, endorsed, make_instruction, make_item, unit_actor
from tests.module_data import module_transaction, reread
from tests.supervision.stats.test_figures import _assert_drilldowns_agree, get

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = datetime.date
NOW = datetime.datetime(2026, 11, 16, 10, 0, tzinfo=SHANGHAI)
SEED = 14
ITEMS = 40


def local(moment: datetime.datetime | None) -> D | None:
    return None if moment is None else timezone.localtime(moment, SHANGHAI).date()


def day_start(day: D) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=SHANGHAI)


# ---------------------------------------------------------------------------------------------
# The random ledger


def build_random_ledger(w, clock, rng: random.Random) -> SimpleNamespace:
    """ITEMS items, each walked through its own random life on the clock; the times of one item
    only move forward, and nothing happens after NOW."""
    clock(datetime.datetime(2026, 1, 2, 9, tzinfo=SHANGHAI))
    units = [w.edu, w.env, w.town, w.town_sub]
    leader_b = UserFactory(username="leader_b", full_name="副县长", roles=[Role.LEADER], clearance=Classification.CONFIDENTIAL)
    categories = [CategoryFactory(name="重点项目"), CategoryFactory(name="民生实事"), None]
    instructions = [
        make_instruction(office=w.office, kind=kind, issuing_leader=leader, title=f"{kind}-{leader.username}")
        for kind in (InstructionKind.MEETING_DECISION, InstructionKind.LEADER_INSTRUCTION)
        for leader in (w.leader, leader_b)
    ]
    last = NOW - datetime.timedelta(hours=1)

    def moment(after: datetime.datetime, low: int, high: int) -> datetime.datetime | None:
        """A time `low`..`high` days after `after`, at an hour that puts some events near local
        midnight (local dates, not UTC ones, decide the periods); None if it would be after NOW."""
        day = local(after) + datetime.timedelta(days=rng.randint(low, high))
        at = datetime.datetime.combine(day, datetime.time(rng.choice((0, 9, 15, 23)), 30), tzinfo=SHANGHAI)
        if at <= after:
            at = after + datetime.timedelta(minutes=30)
        return at if at <= last else None

    def visit(item: Item, at: datetime.datetime, failed: bool) -> Item:
        clock(at)
        rectification = None
        if failed and rng.random() < 0.6:
            rectification = local(at) + datetime.timedelta(days=rng.randint(0, 60))
        created = services.return_visit_create(
            actor=w.office,
            item=Item.objects.get(pk=item.pk),
            result=ReturnVisitResult.FAILED if failed else ReturnVisitResult.PASSED,
            findings="问题反弹" if failed else "整改成效巩固",
            new_deadline=rectification,
        )
        # The model's default clock is not the test's: the visit was recorded when it was made.
        ReturnVisit.objects.filter(pk=created.pk).update(created_at=at)
        return Item.objects.get(pk=item.pk)

    for n in range(ITEMS):
        start = datetime.datetime(2026, 1, 5, 9, tzinfo=SHANGHAI) + datetime.timedelta(days=rng.randint(0, 270))
        clock(start)
        lead = rng.choice(units)
        supporting = rng.sample([u for u in units if u != lead], rng.randint(0, 2))
        fate = rng.choice(
            [ItemStatus.DRAFT, ItemStatus.ASSIGNED, ItemStatus.ACKNOWLEDGED, ItemStatus.SUSPENDED, ItemStatus.CANCELLED]
            + ["open"] * 4
            + ["closed"] * 4
            + ["relapsed"] * 6
        )
        first = fate if fate in ItemStatus.values else ItemStatus.IN_PROGRESS
        item = make_item(
            first,
            office=w.office,
            instruction=rng.choice(instructions),
            lead_unit=lead,
            owner=unit_actor(lead),
            supporting_units=supporting,
            category=rng.choice(categories),
            deadline=local(start) + datetime.timedelta(days=rng.randint(3, 100)),
            urgency=rng.choice(list(Urgency)),
            reporting_cycle=rng.choice(list(ReportingCycle)),
            title=f"随机事项{n}",
        )
        if first != ItemStatus.IN_PROGRESS:
            continue
        at = start
        # Reports with an unchanged percent (停滞), now and then.
        for _ in range(rng.choice((0, 0, 1, 3))):
            at = moment(at, 1, 20) or at
            clock(at)
            services.progress_report_create(actor=unit_actor(lead), item=item, progress_text="按计划推进", progress=50)
        # An extension, approved on time or late (after the deadline).
        when = moment(at, 1, 110) if rng.random() < 0.4 else None
        if when is not None:
            at = when
            clock(at)
            item = Item.objects.get(pk=item.pk)
            request = services.item_request_create(
                actor=unit_actor(lead),
                item=item,
                kind=RequestKind.EXTENSION,
                reason="客观原因",
                requested_deadline=max(item.deadline, local(at)) + datetime.timedelta(days=rng.randint(5, 60)),
            )
            services.item_request_decide(actor=w.office, request=endorsed(request), approve=True, comment="同意延期")
        if fate == "open":
            if rng.random() < 0.3 and (when := moment(at, 1, 30)):
                clock(when)
                advance_item(item, ItemStatus.PENDING_REVIEW, office=w.office)
            continue
        # Closed, then return visits: passed (verified) or failed (reopened), closed again, …
        for round_ in range(3):
            when = moment(at, 1, 90)
            if when is None:
                break
            at = when
            clock(at)
            item = advance_item(item, ItemStatus.CLOSED, office=w.office)
            if fate == "closed" and rng.random() < 0.5:
                break
            when = moment(at, 0, 60)
            if when is None:
                break
            at = when
            failed = fate == "relapsed" and (round_ == 0 or rng.random() < 0.5)
            item = visit(item, at, failed)
            if not failed or rng.random() < 0.3:
                break
    clock(NOW)
    return SimpleNamespace(leader_b=leader_b, categories=[c for c in categories if c], instructions=instructions)


@pytest.fixture(scope="module")
def _built(django_db_setup, django_db_blocker, tmp_path_factory):
    media_root = tmp_path_factory.mktemp("media")
    with module_transaction(django_db_blocker, media_root):
        with pytest.MonkeyPatch.context() as patch:
            w = build_world()
            L = build_random_ledger(w, lambda moment: patch.setattr(timezone, "now", lambda: moment), random.Random(SEED))
        yield SimpleNamespace(world=w, ledger=L, media_root=media_root)


@pytest.fixture(params=["sql", "columns"])
def world(_built, db, settings, monkeypatch, request):
    """Each test twice: the figures counted in SQL, and from the column store (stats/columns.py),
    loaded afresh from this module's ledger (built in a transaction never committed)."""
    settings.STATS_COLUMNS = "always" if request.param == "columns" else False
    columns.forget()
    request.addfinalizer(columns.forget)
    settings.MEDIA_ROOT = _built.media_root
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return reread(_built.world)


@pytest.fixture
def ledger(_built, world):
    return reread(_built.ledger)


def test_the_random_ledger_has_every_path_the_figures_read(world, ledger):
    """The ledger is worth recounting: failed visits (with and without a new deadline, some items
    reopened twice), closures undone and closed again, extensions (some after the deadline), every
    kind of status."""
    failed = ReturnVisit.objects.filter(result=ReturnVisitResult.FAILED)
    assert failed.count() >= 8
    assert failed.values("item").distinct().count() < failed.count() or Item.objects.filter(reopen_count__gte=2).exists()
    assert Item.objects.filter(reopen_count__gt=0, status__in=DONE_STATUSES).exists()  # closed again
    assert DeadlineSpan.objects.filter(source="rectification").count() >= 3
    extensions = DeadlineSpan.objects.filter(source="extension")
    assert extensions.count() >= 4
    late = [s for s in extensions.select_related("item") if local(s.valid_from) > s.item.original_deadline]
    assert late, "no extension approved after the deadline"
    statuses = set(Item.objects.values_list("status", flat=True))
    assert statuses >= {"draft", "assigned", "in_progress", "closed", "verified", "suspended", "cancelled"}, statuses


# ---------------------------------------------------------------------------------------------
# The recount


def in_range(day: D | None, start: D | None, end: D | None) -> bool:
    return day is not None and (start is None or day >= start) and (end is None or day <= end)


def light(item: Item, now: datetime.datetime) -> str:
    """The warning-light rule, restated (supervision/lights.py)."""
    today, time_now = local(now), timezone.localtime(now, SHANGHAI).time()
    if item.status not in OPEN_STATUSES or item.deadline is None:
        return Light.NONE
    if item.deadline < today or (item.deadline == today and item.deadline_time and item.deadline_time < time_now):
        return Light.OVERDUE
    if item.deadline == today:
        return Light.RED
    if item.warning_date is not None and item.warning_date <= today:
        return Light.YELLOW
    return Light.GREEN


class Recount:
    """Every figure of one scope, counted item by item."""

    def __init__(self, scope):
        self.scope, self.now, self.today = scope, scope.now, scope.today
        self.start, self.end = scope.period.start, scope.period.end
        pks = set(scope.items.values_list("pk", flat=True))
        self.items = list(Item.objects.filter(pk__in=pks).select_related("instruction").order_by("pk"))
        self.visits = defaultdict(list)
        for visit in ReturnVisit.objects.filter(item__in=pks):
            self.visits[visit.item_id].append(visit)
        self.spans = defaultdict(list)
        for span in DeadlineSpan.objects.filter(item__in=pks):
            self.spans[span.item_id].append(span)
        self.supporting = defaultdict(list)
        for item_id, unit_id in ItemAssignment.objects.filter(item__in=pks, role=AssignmentRole.SUPPORTING).values_list(
            "item_id", "unit_id"
        ):
            self.supporting[item_id].append(unit_id)
        rules = FigureRules.current()
        self.stale_reports = rules.stale_unchanged_reports
        self.cutoffs = {
            cycle: self.now
            - datetime.timedelta(days=CYCLE_DAYS.get(cycle, rules.stale_default_cycle_days) + rules.stale_grace_days)
            for cycle in ReportingCycle
        }

    # One item ----------------------------------------------------------------------------------

    def failed(self, item: Item) -> list[ReturnVisit]:
        return [v for v in self.visits[item.pk] if v.result == ReturnVisitResult.FAILED]

    def stale(self, item: Item) -> bool:
        if item.status not in REPORTING_STATUSES:
            return False
        cutoff = self.cutoffs[item.reporting_cycle]
        if item.last_report_at is not None:
            silent = item.last_report_at < cutoff
        else:
            silent = item.assigned_at is not None and item.assigned_at < cutoff
        return silent or item.progress_streak >= self.stale_reports

    def flags(self, item: Item) -> dict[str, bool]:
        s, e = self.start, self.end
        counted, done, open_ = item.status in COUNTED_STATUSES, item.status in DONE_STATUSES, item.status in OPEN_STATUSES
        closed_on = local(item.closed_at)
        assigned = in_range(local(item.assigned_at), s, e)
        return {
            "total": True,
            "due": counted and in_range(item.original_deadline, s, e),
            "closed": done and in_range(item.original_deadline, s, e),
            "on_time_original": done and in_range(item.original_deadline, s, e) and closed_on <= item.original_deadline,
            "due_current": counted and in_range(item.deadline, s, e),
            "closed_current": done and in_range(item.deadline, s, e),
            "on_time_extended": done and in_range(item.deadline, s, e) and closed_on <= item.deadline,
            "overdue": light(item, self.now) == Light.OVERDUE,
            "overdue_original": open_ and item.original_deadline is not None and item.original_deadline < self.today,
            "open_with_deadline": light(item, self.now) != Light.NONE,
            "closed_in_period": in_range(closed_on, s, e)
            or any(in_range(local(v.reopened_closure_at), s, e) for v in self.failed(item)),
            "relapsed": any(in_range(v.visited_on, s, e) for v in self.failed(item)),
            "reopened": item.reopen_count > 0,
            "assigned": counted and assigned,
            "completed": done and assigned,
            "in_progress": item.status in WORKING_STATUSES and assigned,
            "stale": assigned and self.stale(item),
        }

    def overdue_at_end_of(self, item: Item, day: D) -> bool:
        """At the end of `day`: assigned, not closed (a closure undone only later still closed
        it then), not draft or cancelled, and the deadline then in force before `day`."""
        next_day = day_start(day + datetime.timedelta(days=1))
        if item.status not in COUNTED_STATUSES or item.assigned_at is None or item.assigned_at >= next_day:
            return False
        if item.closed_at is not None and item.closed_at < next_day:
            return False
        if any(v.reopened_closure_at < next_day <= v.created_at for v in self.failed(item)):
            return False
        in_force = [
            s for s in self.spans[item.pk] if s.valid_from < next_day and (s.valid_until is None or s.valid_until >= next_day)
        ]
        return any(s.deadline < day for s in in_force)

    # The figures --------------------------------------------------------------------------------

    def summary(self) -> dict:
        flags = [self.flags(item) for item in self.items]
        n = {key: sum(f[key] for f in flags) for key in flags[0]} if flags else defaultdict(int)
        closed_now = [i for i in self.items if in_range(local(i.closed_at), self.start, self.end) and i.assigned_at]
        workdays = [workdays_between(local(i.assigned_at), local(i.closed_at)) for i in closed_now]
        return {
            **n,
            "by_status": {s.value: sum(i.status == s for i in self.items) for s in ItemStatus},
            "by_light": {lt.value: sum(light(i, self.now) == lt for i in self.items) for lt in Light},
            "average_workdays_to_close": round(sum(workdays) / len(workdays), 2) if workdays else None,
        }

    def groups(self, key) -> dict:
        """GROUP_COUNTS per group; `key(item)` gives the groups an item belongs to."""
        out: dict = defaultdict(lambda: defaultdict(int))
        for item in self.items:
            flags = self.flags(item)
            for group in key(item):
                for name in GROUP_KEYS:
                    out[group][name] += flags[name]
        return out

    def trend(self, months: list[D]) -> list[dict]:
        this_month = self.today.replace(day=1)
        rows = []
        for month in months:
            last = stats.month_last_day(month)
            failed_closures = lambda i: [local(v.reopened_closure_at) for v in self.failed(i)]  # noqa: E731
            if month < this_month:
                overdue = sum(self.overdue_at_end_of(i, last) for i in self.items)
            elif month == this_month:
                overdue = sum(light(i, self.now) == Light.OVERDUE for i in self.items)
            else:
                overdue = None
            rows.append(
                {
                    "month": f"{month:%Y-%m}",
                    "created": sum(in_range(local(i.created_at), month, last) for i in self.items),
                    "closed": sum(
                        in_range(local(i.closed_at), month, last) or any(in_range(d, month, last) for d in failed_closures(i))
                        for i in self.items
                    ),
                    "overdue_at_month_end": overdue,
                }
            )
        return rows


GROUP_KEYS = (
    "total",
    "due",
    "closed",
    "on_time_original",
    "due_current",
    "on_time_extended",
    "overdue",
    "assigned",
    "completed",
    "in_progress",
    "stale",
    "relapsed",
)
# The figure each group count is published as.
GROUP_FIGURES = {"on_time_original": "closed_on_time_original", "on_time_extended": "closed_on_time_extended"}
SUMMARY_FIGURES = {
    **GROUP_FIGURES,
    "closed_current": "closed_current",
    "overdue_original": "overdue_original",
    "open_with_deadline": "open_with_deadline",
    "closed_in_period": "closed_in_period",
    "reopened": "reopened",
}


def group_counts(figures: dict) -> dict:
    return {key: figures[GROUP_FIGURES.get(key, key)]["count"] for key in GROUP_KEYS}


# ---------------------------------------------------------------------------------------------
# Random cases


def random_case(world, ledger, case: int) -> tuple:
    """(user, list filters, period parameters) drawn from the case's own seed."""
    rng = random.Random(SEED * 1000 + case)
    user = world.leader if case % 3 else rng.choice([world.town_handler, world.edu_handler])
    filters: dict[str, str] = {}
    choices = {
        "unit": lambda: str(rng.choice([world.edu, world.env, world.town, world.town_sub]).pk),
        "category": lambda: str(rng.choice(ledger.categories).pk),
        "instruction_kind": lambda: rng.choice([InstructionKind.MEETING_DECISION, InstructionKind.LEADER_INSTRUCTION]),
        "issuing_leader": lambda: str(rng.choice([world.leader, ledger.leader_b]).pk),
        "urgency": lambda: rng.choice(list(Urgency)),
        "lead_unit": lambda: str(rng.choice([world.edu, world.env, world.town]).pk),
    }
    for name in rng.sample(sorted(choices), rng.choice((0, 1, 1, 2))):
        filters[name] = choices[name]()
    period_kind = rng.choice(("quarter", "dates", "today", "start"))
    if period_kind == "quarter":
        period = {"quarter": f"2026Q{rng.randint(1, 4)}"}
    elif period_kind == "dates":
        first = D(2026, 1, 1) + datetime.timedelta(days=rng.randint(0, 250))
        period = {
            "period_start": first.isoformat(),
            "period_end": (first + datetime.timedelta(days=rng.randint(0, 120))).isoformat(),
        }
    elif period_kind == "start":
        period = {"period_start": (D(2026, 3, 1) + datetime.timedelta(days=rng.randint(0, 150))).isoformat()}
    else:
        period = {}
    return user, filters, period


CASES = range(12)


@pytest.mark.parametrize("case", CASES)
def test_every_figure_equals_a_recount_over_the_random_ledger(world, ledger, case):
    user, filters, period_params = random_case(world, ledger, case)
    where = (case, user.username, filters, period_params)
    period = stats.period_from(
        quarter=period_params.get("quarter"),
        start=D.fromisoformat(period_params["period_start"]) if "period_start" in period_params else None,
        end=D.fromisoformat(period_params["period_end"]) if "period_end" in period_params else None,
        today=NOW.date(),
    )
    params = QueryDict(mutable=True)
    params.update(filters)
    scope = stats.stats_scope(user=user, params=params, period=period, now=NOW)
    recount = Recount(scope)
    assert (scope.columns is not None) == (django_settings.STATS_COLUMNS == "always"), where

    # Summary
    body, want = stats.summary(scope), recount.summary()
    for key in ("total", "due", "closed", "due_current", "overdue", "relapsed", "assigned", "completed", "in_progress", "stale"):
        assert body[key]["count"] == want[key], (where, key)
    for key, figure in SUMMARY_FIGURES.items():
        assert body[figure]["count"] == want[key], (where, figure)
    assert {row["status"]: row["count"] for row in body["by_status"]} == want["by_status"], where
    assert {row["light"]: row["count"] for row in body["by_light"]} == want["by_light"], where
    assert body["average_workdays_to_close"] == want["average_workdays_to_close"], where
    assert body["implementation_rate"] == stats.rate(want["closed"], want["due"]), where
    assert body["on_time_rate_original"] == stats.rate(want["on_time_original"], want["due"]), where
    assert body["on_time_rate_extended"] == stats.rate(want["on_time_extended"], want["due_current"]), where
    assert body["overdue_rate"] == stats.rate(want["overdue"], want["open_with_deadline"]), where

    # Rankings: units (lead and supporting apart, within the unit filter's subtree), leaders, kinds, categories
    subtree = None
    if "unit" in filters:
        subtree = next(u for u in (world.edu, world.env, world.town, world.town_sub) if str(u.pk) == filters["unit"]).path
    lead = recount.groups(lambda i: [i.lead_unit_id] if i.lead_unit_id else [])
    supporting = recount.groups(lambda i: recount.supporting[i.pk])
    units = {row["unit"]["id"]: row for row in stats.by_unit(scope)}
    paths = dict(Unit.objects.values_list("pk", "path"))
    expected_units = {pk for pk in set(lead) | set(supporting) if subtree is None or paths[pk].startswith(subtree)}
    assert set(units) == expected_units, where
    for pk, row in units.items():
        assert group_counts(row["lead"]) == {k: lead[pk][k] for k in GROUP_KEYS}, (where, pk, "lead")
        assert group_counts(row["supporting"]) == {k: supporting[pk][k] for k in GROUP_KEYS}, (where, pk, "supporting")
    for rows, key, group_of in (
        (stats.by_leader(scope), "leader", lambda i: [i.instruction.issuing_leader_id]),
        (stats.by_category(scope), "category", lambda i: [i.category_id]),
    ):
        want_groups = recount.groups(group_of)
        got = {(row[key] or {}).get("id"): group_counts(row) for row in rows}
        assert got == {g: {k: c[k] for k in GROUP_KEYS} for g, c in want_groups.items()}, (where, key)
    kinds = recount.groups(lambda i: [i.instruction.kind])
    for row in stats.by_kind(scope):
        assert group_counts(row) == {k: kinds[row["kind"]][k] for k in GROUP_KEYS}, (where, row["kind"])

    # Trend, with the deadline then in force at each past month end
    months = stats.trend_months(period=period, months=12, today=NOW.date())
    got = [
        {
            "month": m["month"],
            "created": m["created"]["count"],
            "closed": m["closed"]["count"],
            "overdue_at_month_end": m["overdue_at_month_end"]["count"],
        }
        for m in stats.trend(scope, months)
    ]
    assert got == recount.trend(months), where


def test_the_recounted_figures_drill_down_to_lists_of_that_many(world, ledger):
    """The return-visit figures (反弹, closures undone) and the rest list as many items as counted,
    on the random ledger too."""
    checked = 0
    for case in (1, 3, 5):
        user, filters, period = random_case(world, ledger, case)
        for path in ("summary", "units"):
            checked += _assert_drilldowns_agree(user, get(user, f"/api/v1/stats/{path}/", {**filters, **period}))
    assert checked > 60
