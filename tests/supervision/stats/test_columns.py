"""The figures' column store (supervision/stats/columns.py) stays equal to the ledger as it changes:
the triggers of migration 0030 mark what each write touched, and the next request reads only that.
(Every figure of the columns equals a recount: test_recount.py runs each case on both paths.)"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from accounts.choices import Classification
from supervision import services, stats
from supervision.choices import InstructionKind, ItemStatus, RequestKind, ReturnVisitResult
from supervision.models import Instruction, Item, ItemAssignment
from supervision.stats import columns
from tests.factories import advance_item, endorsed, make_instruction, make_item

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_columns():
    columns.forget()
    yield
    columns.forget()


def figures(user, params: dict, *, engine: str, settings) -> dict:
    """Summary, the four rankings and the trend for `params` (filters and period)."""
    settings.STATS_COLUMNS = "always" if engine == "columns" else False
    query = QueryDict(mutable=True)
    query.update(params)
    period = stats.period_from(quarter=params.get("quarter"), today=timezone.localdate())
    scope = stats.stats_scope(user=user, params=query, period=period)
    assert (scope.columns is not None) == (engine == "columns")
    months = stats.trend_months(period=period, months=12, today=timezone.localdate())
    return {
        "summary": stats.summary(scope),
        "units": stats.by_unit(scope),
        "leaders": stats.by_leader(scope),
        "kinds": stats.by_kind(scope),
        "categories": stats.by_category(scope),
        "trend": stats.trend(scope, months),
    }


def assert_same(world, settings, cases) -> None:
    """Each case's figures equal on both paths, and the columns as kept equal a fresh read."""
    for user, params in cases:
        assert figures(user, params, engine="columns", settings=settings) == figures(
            user, params, engine="sql", settings=settings
        ), (user.username, params)
    settings.STATS_COLUMNS = "always"
    assert columns.drift() == []


def test_every_kind_of_write_reaches_the_columns(world, settings):
    w = world
    cases = [
        (w.leader, {}),
        (w.leader, {"unit": str(w.town.pk)}),
        (w.office, {"instruction_kind": InstructionKind.MEETING_DECISION}),
        (w.edu_handler, {"quarter": f"{timezone.localdate().year}Q{(timezone.localdate().month - 1) // 3 + 1}"}),
        (w.town_handler, {}),
        (w.leader, {"lead_unit": str(w.edu.pk), "urgency": "normal"}),
    ]
    first = make_item(ItemStatus.IN_PROGRESS, office=w.office, lead_unit=w.edu, owner=w.edu_handler, supporting_units=[w.town])
    make_item(ItemStatus.ASSIGNED, office=w.office, lead_unit=w.town, owner=w.town_handler)
    draft = make_item(ItemStatus.DRAFT, office=w.office, lead_unit=w.env, owner=w.env_handler)
    assert_same(w, settings, cases)
    settings.STATS_COLUMNS = "always"
    ledger = columns.ledger_for()
    loads = ledger.loads

    # A progress report, an extension, a closure and a failed return visit: updates of known items.
    services.progress_report_create(actor=w.edu_handler, item=first, progress_text="按计划推进", progress=40)
    first = Item.objects.get(pk=first.pk)
    request = services.item_request_create(
        actor=w.edu_handler,
        item=first,
        kind=RequestKind.EXTENSION,
        reason="客观原因",
        requested_deadline=first.deadline + datetime.timedelta(days=20),
    )
    services.item_request_decide(actor=w.office, request=endorsed(request), approve=True, comment="同意")
    assert_same(w, settings, cases)
    closed = advance_item(first, ItemStatus.CLOSED, office=w.office)
    services.return_visit_create(
        actor=w.office, item=closed, result=ReturnVisitResult.FAILED, findings="问题反弹", new_deadline=None
    )
    assert_same(w, settings, cases)

    # A new item; a supporting unit added to a draft, then the draft assigned; a change behind the
    # services' back (QuerySet.update) of the instruction's kind, and of an item's category.
    make_item(
        ItemStatus.IN_PROGRESS, office=w.office, lead_unit=w.env, owner=w.env_handler, classification=Classification.INTERNAL
    )
    ItemAssignment.objects.create(item=draft, unit=w.town, role="supporting")
    advance_item(draft, ItemStatus.ASSIGNED, office=w.office)
    Instruction.objects.filter(pk=first.instruction_id).update(kind=InstructionKind.MEETING_DECISION)
    assert_same(w, settings, cases)
    assert ledger.loads == loads, "an update was read by reloading everything"

    # An item committed after one with a higher id (two transactions out of order): the columns
    # already hold items after it, which move. (A copy of an item, under an id below every other.)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE copied AS SELECT * FROM supervision_item WHERE id = %s;"
            "UPDATE copied SET id = -1, code = 'X-' || code;"
            "INSERT INTO supervision_item SELECT * FROM copied;",
            [first.pk],
        )
    ItemAssignment.objects.create(item_id=-1, unit=w.town, role="lead")
    assert_same(w, settings, cases)
    assert ledger.items["id"][0] == -1
    assert ledger.loads == loads

    # Items are never deleted (their audit events protect them); a truncation (a test run's flush)
    # is seen, and everything read again.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE supervision_item CASCADE")
    assert_same(w, settings, cases)
    assert ledger.loads == loads + 1
    assert len(ledger.items["id"]) == 0


def test_changes_that_touch_no_figure_do_not_mark_the_item(world, settings):
    """The reminder sweep's bookkeeping (next reminder) changes no figure, so it does not send the
    item to every process again."""
    item = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)

    def marked():
        with connection.cursor() as cursor:
            cursor.execute("SELECT stats_xid FROM supervision_item WHERE id = %s", [item.pk])
            return cursor.fetchone()[0]

    assert marked() is not None
    with connection.cursor() as cursor:
        cursor.execute("UPDATE supervision_item SET stats_xid = NULL WHERE id = %s", [item.pk])
    Item.objects.filter(pk=item.pk).update(next_reminder_at=timezone.now())
    assert marked() is None
    Item.objects.filter(pk=item.pk).update(progress_streak=3)
    assert marked() is not None


def test_a_transaction_that_wrote_counts_in_sql(world, settings):
    """By default a request inside a transaction that has written counts in SQL: its own writes are
    not yet committed, and must neither be missed nor left in the columns."""
    settings.STATS_COLUMNS = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")
        wrote = cursor.fetchone()[0]
    assert wrote  # the world was written in this test's transaction
    assert columns.ledger_for() is None
    make_instruction(office=world.office)
    assert columns.ledger_for() is None


def test_the_nightly_check_finds_a_write_the_triggers_missed(world, settings, caplog):
    from tasks.stats import check_figure_columns

    settings.STATS_COLUMNS = "always"
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    other = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.town, owner=world.town_handler)
    columns.ledger_for()
    services.progress_report_create(actor=world.edu_handler, item=item, progress_text="按计划推进", progress=30)
    assert columns.drift() == []
    assert check_figure_columns.apply().get() == 0

    # A write behind the triggers' back (as a restore of a table, or a trigger dropped by hand would).
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # no triggers fire
        # …and marked as written long ago (this test's own transaction is still running: its rows are read
        # again at every refresh, as a transaction not yet committed must be)
        cursor.execute("UPDATE supervision_item SET urgency = 'extra_urgent', stats_xid = 1 WHERE id = %s", [other.pk])
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    assert columns.drift() == [other.pk]
    with caplog.at_level("ERROR", logger="tasks.stats"):
        assert check_figure_columns.apply().get() == 1
    assert f"[{other.pk}]" in caplog.text
    assert columns.drift() == []  # read afresh after the report


def test_the_beat_schedule_runs_the_nightly_check():
    from config.celery import app

    entry = app.conf.beat_schedule["check-figure-columns"]
    assert entry["task"] == "tasks.stats.check_figure_columns"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {47})


def test_a_small_scope_is_counted_over_its_own_items(world, settings):
    """A scope of a part of the ledger is gathered into arrays of its own (its cost follows its size,
    not the ledger's); the whole ledger is counted in place."""
    settings.STATS_COLUMNS = "always"
    for unit, owner in ((world.edu, world.edu_handler), (world.town, world.town_handler), (world.town, world.town_handler)):
        make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=unit, owner=owner)

    def selection(params):
        query = QueryDict(mutable=True)
        query.update(params)
        period = stats.period_from(today=timezone.localdate())
        return stats.stats_scope(user=world.leader, params=query, period=period).columns

    whole = selection({})
    assert whole.index is None and whole.mask.sum() == 3
    part = selection({"lead_unit": str(world.edu.pk)})
    assert part.index is not None and len(part.index) == 1
    assert part.col("lead_unit").tolist() == [world.edu.pk]
    assignments, positions = part.child("assignments")
    assert set(assignments["unit"].tolist()) == {world.edu.pk} and positions.tolist() == [0]
