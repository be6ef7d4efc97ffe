"""Records whose visibility is an OR of their item's and something else's (a message without an item,
a comment on an instruction, an audit event about an instruction or a notice) ask for the item with
a correlated EXISTS, never `item_id IN (visible items)`: PostgreSQL cannot make such an IN a join, so
it reads the whole visible set (every item, for office staff) for the rows it filters. At a million
items the header's unread count of office staff with 300 unread messages took 11 s that way
(bench/unread_count.py). What each list returns is asserted by the visibility tests; this asserts
the shape, which no small test database would make slow."""

from __future__ import annotations

import pytest
from django.db.models import Exists
from django.db.models.lookups import In
from django.db.models.sql import Query
from django.db.models.sql.where import OR, WhereNode

from supervision.querysets import audit_events_visible_to, comments_visible_to
from tasks import selectors as inbox

pytestmark = pytest.mark.django_db


def or_ed_in_subqueries(node, under_or: bool = False) -> list[str]:
    """`x IN (subquery)` conditions under an OR, in a where tree and in the subqueries it holds."""
    found = []
    if isinstance(node, WhereNode):
        for child in node.children:
            found += or_ed_in_subqueries(child, under_or or node.connector == OR)
    elif isinstance(node, In) and isinstance(node.rhs, Query):
        found += [str(node.lhs.target)] if under_or else []
        found += or_ed_in_subqueries(node.rhs.where)
    elif isinstance(node, Exists):
        found += or_ed_in_subqueries(node.query.where)
    return found


def test_the_check_finds_the_shape_it_forbids(world):
    from django.db.models import Q

    from supervision.models import Item
    from tasks.models import Notification

    shape = Q(item__isnull=True) | Q(item__in=Item.objects.visible_to(world.office).values("pk"))
    assert or_ed_in_subqueries(Notification.objects.filter(shape).query.where) == ["tasks.Notification.item"]


LISTINGS = {
    "inbox": lambda user: inbox.inbox_list(user=user),
    "comments": lambda user: comments_visible_to(user),
    "audit": lambda user: audit_events_visible_to(user),
}


@pytest.mark.parametrize("who", ["office", "town_handler", "leader", "discipline"])
@pytest.mark.parametrize("listing", list(LISTINGS))
def test_or_ed_visibility_asks_for_the_item_by_its_key(world, who, listing):
    qs = LISTINGS[listing](getattr(world, who))
    assert or_ed_in_subqueries(qs.query.where) == []
    sql = str(qs.query)
    # By its key: a correlated EXISTS, or a scalar subquery that is never hashed (among_row_by_row:
    # the comments of whole-ledger readers).
    assert "EXISTS" in sql or "LIMIT 1) IS NOT NULL" in sql


@pytest.mark.parametrize("who", ["office", "leader"])
def test_whole_ledger_readers_comments_are_tested_row_by_row(world, who):
    """Not EXISTS, which PostgreSQL may hash over the whole visible set (every instruction) though the
    list stops after a thousand rows."""
    sql = str(comments_visible_to(getattr(world, who)).query)
    assert sql.count("LIMIT 1) IS NOT NULL") == 2 and "EXISTS" not in sql


def test_a_units_comments_are_gathered_from_its_items(world):
    """One IN over a UNION of the comments on the unit's items and on their instructions, never an
    OR that tests every comment of the ledger."""
    where = comments_visible_to(world.town_handler).query.where
    assert where.connector != OR
    [gathered] = [c for c in where.children if isinstance(c, In) and isinstance(c.rhs, Query)]
    assert gathered.rhs.combinator == "union" and len(gathered.rhs.combined_queries) == 2


def test_deliveries_ask_for_the_item_by_its_key(world):
    qs = inbox.delivery_list(user=world.office)
    assert or_ed_in_subqueries(qs.query.where) == []
    assert "EXISTS" in str(qs.query)
