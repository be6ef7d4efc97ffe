"""A to-do list's first rows and capped count in one query (selectors/counting.py) give what its
rows query and its capped count give apart: the same rows in the same order with their annotations,
the same count, below, at and above the cap."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supervision.choices import ItemStatus
from supervision.lights import light_rank
from supervision.models import Item, ItemAssignment, OverdueExplanation
from supervision.selectors.counting import CappedCount, _with_records, capped_count, first_rows_and_capped_count
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def _items(world, n: int) -> None:
    # Deadlines repeat, so the order's tie-break (pk) decides too.
    for i in range(n):
        make_item(
            ItemStatus.ASSIGNED,
            office=world.office,
            lead_unit=world.edu,
            owner=world.edu_handler,
            deadline=datetime.date(2026, 12, 10) + datetime.timedelta(days=i % 3),
        )


def _lists(user):
    visible = Item.objects.visible_to(user).with_light()
    return {
        "by deadline": visible.order_by("deadline", "pk"),
        "newest first": visible.order_by("-pk"),
        "by light, an expression": visible.order_by(light_rank(), "-deadline", "pk"),
    }


@pytest.mark.parametrize("n", [0, 2, 5, 7])
def test_one_query_gives_the_rows_and_the_count_of_two(world, n):
    _items(world, n)
    for name, qs in _lists(world.office).items():
        with CaptureQueriesContext(connection) as queries:
            rows, count = first_rows_and_capped_count(qs, 3, cap=5)
        assert len(queries) == 1, name
        expected = list(qs[:3])
        assert [(r.pk, r.light, r.deadline) for r in rows] == [(r.pk, r.light, r.deadline) for r in expected], name
        assert count == capped_count(qs, cap=5) == CappedCount(min(n, 5), n > 5), name


def test_a_cap_below_the_rows_shown_still_shows_them_all(world):
    _items(world, 5)
    rows, count = first_rows_and_capped_count(Item.objects.order_by("pk"), 8, cap=3)
    assert [r.pk for r in rows] == list(Item.objects.order_by("pk").values_list("pk", flat=True))
    assert count == CappedCount(3, over=True)


def test_a_list_that_joins_its_records_keeps_them(world):
    _items(world, 2)
    for item in Item.objects.all():
        OverdueExplanation.objects.create(item=item, unit=world.edu, deadline=item.deadline, due_by=item.deadline)
    qs = OverdueExplanation.objects.select_related("item", "unit").order_by("-pk")
    with CaptureQueriesContext(connection) as queries:
        rows, count = first_rows_and_capped_count(qs, 1, cap=5)
        # The records came with the rows: reading them asks nothing more.
        shown = [(r.pk, r.item.code, r.unit.name, r.due_by) for r in rows]
    # Numbered on the rows' own keys; then the rows shown, joined to their records.
    assert len(queries) == 2
    assert "JOIN" not in queries[0]["sql"] and "LIMIT" not in queries[1]["sql"]
    first = qs[0]
    assert shown == [(first.pk, first.item.code, first.unit.name, first.due_by)]
    assert count == CappedCount(2)


def test_an_empty_list_reads_nothing(world):
    with CaptureQueriesContext(connection) as queries:
        assert first_rows_and_capped_count(Item.objects.none(), 8) == ([], CappedCount(0))
    assert len(queries) == 0


def test_without_an_order_the_models_own_order_is_kept(world):
    """OverdueExplanation orders newest first by its Meta; numbered by key instead, the rows would
    come oldest first."""
    _items(world, 4)
    for item in Item.objects.order_by("pk"):
        OverdueExplanation.objects.create(item=item, unit=world.edu, deadline=item.deadline, due_by=item.deadline)
    qs = OverdueExplanation.objects.all()
    rows, count = first_rows_and_capped_count(qs, 3)
    assert [r.pk for r in rows] == [e.pk for e in qs[:3]] and rows[0].pk > rows[-1].pk
    assert count == CappedCount(4)


def test_a_distinct_list_still_folds_its_duplicates(world):
    """Joined to its two assignments, an item matches twice; DISTINCT folds it, and a row number on
    each match must not stop that."""
    _items(world, 2)
    item = Item.objects.order_by("pk").first()
    ItemAssignment.objects.create(item=item, unit=world.env, role="supporting")
    qs = Item.objects.filter(assignments__unit__in=[world.edu, world.env]).distinct().order_by("pk")
    assert qs.count() == 2
    rows, count = first_rows_and_capped_count(qs, 8)
    assert [r.pk for r in rows] == list(qs.values_list("pk", flat=True))
    assert count == CappedCount(2)


def test_a_row_deleted_between_the_two_reads_is_left_out(world):
    """A joined list's rows are numbered first and read with their records after; one deleted in
    between is not shown (and is no error)."""
    _items(world, 2)
    for item in Item.objects.all():
        OverdueExplanation.objects.create(item=item, unit=world.edu, deadline=item.deadline, due_by=item.deadline)
    qs = OverdueExplanation.objects.select_related("item").order_by("pk")
    numbered = list(qs.select_related(None))
    OverdueExplanation.objects.filter(pk=numbered[0].pk).delete()
    assert [r.pk for r in _with_records(qs, numbered)] == [numbered[1].pk]
