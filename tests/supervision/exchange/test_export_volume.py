"""Ledger export (.xlsx / CSV) on a ledger of bulk-written items only: streamed in pieces, and
queries that do not grow with rows. Apart from test_export.py, whose tests share one ledger."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supervision.exchange.export import rows as export_rows_module
from supervision.exchange.export import writers as export_writers
from supervision.models import Item
from tests.api_helpers import client_for
from tests.supervision.exchange.test_export import COL, EXPORT, body_of, bulk_items, export, grant

pytestmark = pytest.mark.django_db


def test_csv_is_sent_in_pieces_across_chunks(world, monkeypatch):
    """Streamed: several pieces, and chunked reads keep rows and supporting units aligned."""
    items = bulk_items(world, 23, prefix="CH")
    monkeypatch.setattr(export_rows_module, "CHUNK_SIZE", 5)
    monkeypatch.setattr(export_writers, "CSV_PIECE_ROWS", 4)
    response = export(world.office, "csv")
    pieces = list(response.streaming_content)
    assert len(pieces) >= 7  # header + ceil(23 / 4)
    rows = list(csv.reader(io.StringIO(b"".join(pieces).decode("utf-8-sig"))))[1:]
    assert [r[COL["code"]] for r in rows] == [i.code for i in reversed(items)]
    assert {r[COL["supporting_units"]] for r in rows} == {"县环保局"}
    assert {r[COL["progress"]] for r in rows} == {"第2次进展"}


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_queries_do_not_grow_with_rows(world, fmt):
    grant(world, world.office)
    client = client_for(world.office)

    def run() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(EXPORT, {"format": fmt})
            body = body_of(response)
        assert response.status_code == 200
        return len(ctx.captured_queries), len(body)

    bulk_items(world, 20, prefix="Q20")
    small, small_size = run()
    bulk_items(world, 180, prefix="Q200")
    large, large_size = run()
    assert Item.objects.count() == 200
    assert large_size > small_size
    assert small == large, (small, large)
