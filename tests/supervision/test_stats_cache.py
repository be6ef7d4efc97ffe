"""Cached dashboard figures (supervision/stats_cache.py): shared only between viewers who see
exactly the same items, never served after a committed ledger write, and the same numbers as
computing afresh."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.choices import Classification, Role
from supervision.choices import ItemStatus
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


def summary_of(user, params="") -> tuple[dict, int]:
    api = client_for(user)
    with CaptureQueriesContext(connection) as queries:
        response = api.get(SUMMARY + params)
    assert response.status_code == 200, response.content
    counted = [q for q in queries.captured_queries if "supervision_item" in q["sql"]]
    return response.json(), len(counted)


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


def test_a_committed_write_is_seen_at_once(world, django_capture_on_commit_callbacks):
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
