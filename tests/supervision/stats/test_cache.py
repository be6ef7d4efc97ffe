"""Cached dashboard figures (supervision/stats_cache.py): shared only between viewers who see
exactly the same items, at most DUBAN_STATS_MAX_LAG_SECONDS behind a committed ledger write, while
being recomputed the previous figures rather than a queue of full scans, every answer saying when
its figures were computed, and the same numbers as computing afresh."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.choices import Classification, Role
from supervision import stats
from supervision.choices import ItemStatus
from supervision.stats import cache as stats_cache
from tests.api_helpers import client_for
from tests.factories import UserFactory, make_item

pytestmark = pytest.mark.django_db

SUMMARY = "/api/v1/stats/summary/"


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.DUBAN_STATS_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def item_queries(captured: CaptureQueriesContext) -> list[str]:
    """The SQL of the captured queries that read the items."""
    return [q["sql"] for q in captured.captured_queries if "supervision_item" in q["sql"]]


def summary_of(user, params="") -> tuple[dict, int]:
    api = client_for(user)
    with CaptureQueriesContext(connection) as queries:
        response = api.get(SUMMARY + params)
    assert response.status_code == 200, response.content
    return response.json(), len(item_queries(queries))


def test_viewers_of_the_same_scope_share_figures_and_get_the_same_numbers(world, settings):
    make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    other_leader = UserFactory(
        username="leader2", unit=world.party_office, roles=[Role.LEADER], clearance=Classification.CONFIDENTIAL
    )
    first, first_queries = summary_of(world.leader)
    second, second_queries = summary_of(other_leader)
    assert first_queries > 0 and second_queries == 0  # served from the cache
    assert second == first
    settings.DUBAN_STATS_CACHE_SECONDS = 0
    fresh, _ = summary_of(other_leader)
    assert fresh.pop("as_of") >= first.pop("as_of")
    assert fresh == first


def test_a_narrower_scope_never_gets_a_wider_scopes_figures(world):
    make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.env, owner=world.env_handler)
    make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_head,
        classification=Classification.SECRET,
    )
    low_leader = UserFactory(
        username="leader_low", unit=world.party_office, roles=[Role.LEADER], clearance=Classification.INTERNAL
    )
    assert summary_of(world.leader)[0]["total"]["count"] == 3
    low, low_queries = summary_of(low_leader)
    assert low_queries > 0 and low["total"]["count"] == 2
    unit, unit_queries = summary_of(world.edu_handler)
    assert unit_queries > 0 and unit["total"]["count"] == 1  # 内部 handler: not the 秘密 item


def test_with_no_lag_allowed_a_committed_write_is_seen_at_once(world, django_capture_on_commit_callbacks, settings):
    settings.DUBAN_STATS_MAX_LAG_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    before, _ = summary_of(world.leader)
    assert summary_of(world.leader)[1] == 0  # cached
    with django_capture_on_commit_callbacks(execute=True):
        make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.env, owner=world.env_handler)
    after, queries = summary_of(world.leader)
    assert queries > 0
    assert after["total"]["count"] == before["total"]["count"] + 1


def test_filters_and_their_spelling_are_part_of_the_key(world):
    make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler, urgency="urgent")
    make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.env, owner=world.env_handler)
    everything, _ = summary_of(world.leader)
    urgent, queries = summary_of(world.leader, "?urgency=urgent")
    assert queries > 0
    assert (everything["total"]["count"], urgent["total"]["count"]) == (2, 1)
    assert "urgency=urgent" in urgent["total"]["drilldown"]


class Clock:
    """time.time() as stats_cache sees it, moved by hand."""

    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(stats_cache.time, "time", fake)
    return fake


def test_figures_lag_a_write_at_most_the_allowed_seconds_and_say_when_they_were_computed(
    world, django_capture_on_commit_callbacks, settings, clock
):
    settings.DUBAN_STATS_MAX_LAG_SECONDS = 10
    with django_capture_on_commit_callbacks(execute=True):
        make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    first, queries = summary_of(world.leader)
    assert queries > 0 and first["total"]["count"] == 1
    as_of = datetime.datetime.fromisoformat(first["as_of"])
    assert abs(as_of.timestamp() - clock.now) < 1  # when the figures were computed, in local time
    assert as_of.utcoffset() == datetime.timedelta(hours=8)
    with django_capture_on_commit_callbacks(execute=True):
        make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.env, owner=world.env_handler)
    clock.now += 9  # within the lag: the figures from before the write, saying so
    served, queries = summary_of(world.leader)
    assert queries == 0 and served["total"]["count"] == 1 and served["as_of"] == first["as_of"]
    clock.now += 2  # 11 s after they were computed, and a write since: recomputed
    later, queries = summary_of(world.leader)
    assert queries > 0 and later["total"]["count"] == 2
    assert datetime.datetime.fromisoformat(later["as_of"]) > as_of
    # No write since: served until DUBAN_STATS_CACHE_SECONDS, then recomputed for the clock's sake.
    clock.now += 59
    assert summary_of(world.leader)[1] == 0
    clock.now += 2
    assert summary_of(world.leader)[1] > 0


def test_while_one_request_recomputes_the_others_get_the_previous_figures(world, settings, clock):
    """Twenty leaders at once after a write must not start twenty full scans, nor wait for one."""
    make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    scope = stats.stats_scope(user=world.leader, params={}, period=stats.period_from(today=datetime.date.today()))
    previous, previous_at = stats_cache.cached(scope, stats.summary)
    stats_cache._bump()
    clock.now += 61
    started, release = threading.Event(), threading.Event()

    def slow_summary(s):
        started.set()
        release.wait(10)
        return stats.summary(s)

    slow_summary.__qualname__ = stats.summary.__qualname__  # the same entry as stats.summary
    results = {}

    def recompute_in_another_request():
        try:
            results["fresh"] = stats_cache.cached(scope, slow_summary)
        finally:
            connection.close()  # the thread's own connection

    recompute = threading.Thread(target=recompute_in_another_request)
    recompute.start()
    try:
        assert started.wait(10)
        called = []

        def must_not_compute(s):
            called.append(s)

        must_not_compute.__qualname__ = stats.summary.__qualname__
        value, at = stats_cache.cached(scope, must_not_compute)
        assert called == [] and value == previous and at == previous_at
    finally:
        release.set()
        recompute.join(10)
    # (The recomputing thread has its own connection, outside this test's transaction, so its
    # numbers differ; what matters is that its figures, newer, are what is served next.)
    _fresh, fresh_at = results["fresh"]
    assert fresh_at > previous_at
    assert stats_cache.cached(scope, must_not_compute)[1] == fresh_at and called == []
