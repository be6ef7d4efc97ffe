"""One yearly counter serves ledger codes and notice numbers; the migration that merged the two
old counters keeps every number already issued."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from supervision.choices import CounterSeries
from supervision.models import YearlyCounter
from supervision.services.counters import counter_take

BEFORE = [("supervision", "0015_export_jobs")]
AFTER = [("supervision", "0016_yearly_counter")]


@pytest.mark.django_db(transaction=True)
def test_the_merge_keeps_every_number_already_issued():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    old.get_model("supervision", "LedgerCounter").objects.create(year=2025, last_number=412)
    old.get_model("supervision", "LedgerCounter").objects.create(year=2026, last_number=37)
    old.get_model("supervision", "NoticeCounter").objects.create(year=2026, last_number=9)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    rows = set(YearlyCounter.objects.values_list("series", "year", "last_number"))
    assert rows == {("ledger", 2025, 412), ("ledger", 2026, 37), ("notice", 2026, 9)}


@pytest.mark.django_db
def test_series_count_apart_and_a_block_is_consecutive():
    assert counter_take(series=CounterSeries.LEDGER, year=2031) == 1
    assert counter_take(series=CounterSeries.LEDGER, year=2031, count=5) == 2
    assert counter_take(series=CounterSeries.LEDGER, year=2031) == 7
    assert counter_take(series=CounterSeries.NOTICE, year=2031) == 1
    assert counter_take(series=CounterSeries.LEDGER, year=2032) == 1
    assert YearlyCounter.objects.get(series=CounterSeries.LEDGER, year=2031).last_number == 7
