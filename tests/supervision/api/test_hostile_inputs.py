"""Inputs that used to answer 500 (issue 11 finding 8): each is a 400 or 413 in the API's error
shape now, never Django's HTML page or a traceback."""

from __future__ import annotations

import json

import pytest

from tests.api_helpers import assert_error, client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/items/?created_after=0001-01-01",
        "/api/v1/items/?created_before=0001-01-01",
        "/api/v1/items/?closed_after=0001-01-01",
        "/api/v1/items/export/?created_after=0001-01-01",
        "/api/v1/stats/summary/?created_after=0001-01-01",
        "/api/v1/items/?created_after=9999-12-31",
    ],
)
def test_dates_at_the_edge_of_the_calendar(world, url):
    assert_error(client_for(world.office).get(url), 400, code="invalid")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/requests/?item=99999999999999999999",
        "/api/v1/items/?owner=99999999999999999999",
        "/api/v1/explanations/?item=-99999999999999999999",
        "/api/v1/notices/?year=99999999999999999999",
    ],
)
def test_ids_beyond_bigint(world, url):
    assert_error(client_for(world.office).get(url), 400, code="invalid")


def test_json_nested_5000_deep(world):
    body = "[" * 5000 + "]" * 5000
    r = client_for(world.office).post("/api/v1/instructions/", data=body, content_type="application/json")
    assert_error(r, 400, code="parse_error")
    nested = json.dumps({"title": "x"})
    for _ in range(3000):
        nested = '{"a":' + nested + "}"
    assert_error(client_for(world.office).post("/api/v1/items/", data=nested, content_type="application/json"), 400)


def test_body_over_the_size_limit(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"title": "x" * 5000})
    r = client_for(world.office).post("/api/v1/instructions/", data=body, content_type="application/json")
    body = assert_error(r, 413, code="request_too_large")
    assert r["Content-Type"].startswith("application/json")
