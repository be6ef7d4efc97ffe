"""Taking numbers of a yearly series (ledger codes, notice numbers): one counter row per series
and year, locked until the caller's transaction ends, so concurrent issuers queue and numbers
never collide or skip."""

from __future__ import annotations

from supervision.models import YearlyCounter


def counter_take(*, series: str, year: int, count: int = 1) -> int:
    """Reserve `count` consecutive numbers of the series for the year; returns the first.
    Two queries and an update whatever `count` is (a bulk import takes its whole block at once).
    Must run inside the caller's transaction."""
    # Insert-if-missing, then lock: a concurrent first taker of the year does not fail either.
    YearlyCounter.objects.bulk_create([YearlyCounter(series=series, year=year)], ignore_conflicts=True)
    counter = YearlyCounter.objects.select_for_update().get(series=series, year=year)
    first = counter.last_number + 1
    counter.last_number += count
    counter.save(update_fields=["last_number"])
    return first
