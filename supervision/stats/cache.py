"""Cached statistics: the dashboard's figures without re-reading a million items on every load.

A leader's dashboard counts every item they may see; at province scale (1,000,000 items) one
summary reads the whole ledger (0.6-2.5 s on 2 cores, bench/dashboard.py), and twenty leaders
opening the page at 9 a.m. would queue behind each other. The figures are the same for everyone
whose scope is the same, and they change only when the ledger changes or the clock moves. So:

- The key is the exact SQL (with parameters) of the viewer's scoped item query, plus the figure,
  its arguments, the period and today's date. Two viewers share an entry only if
  `Item.objects.visible_to(user)` + their filters compile to the same query, i.e. they see exactly
  the same items: the visibility rule is not re-implemented here and cannot leak through the cache.
- Every committed ledger write moves a generation counter (`ledger_changed`, called after commit
  by audit_record, which every state change passes through). Figures computed before a write are
  served for at most DUBAN_STATS_MAX_LAG_SECONDS (30 s) after they were computed; then the next
  request recomputes them. In office hours the ledger changes every second or so, and invalidating
  on each write made every dashboard load a full scan (bench/dashboard_load.py, 20 leaders and one
  write a second: p95 2.7 s, against 110 ms without writes). Each recomputation of the three
  dashboard figures takes 2 cores for about a second at a million items, so the bound is also what
  the refreshes cost: with 10 s the figures' p95 was 0.9-1.1 s, with 30 s 79-180 ms. 0 means a
  write is seen at once.
- Lights move with the clock (a deadline passes at midnight, a 特急 item's hour passes): figures
  older than DUBAN_STATS_CACHE_SECONDS (60 s) are recomputed even without writes.
- One request recomputes an entry. While it does, the others are served the previous figures if
  there are any (they are at most a computation late), or wait for it (single flight) instead of
  starting twenty identical full scans.
- Every answer says when its figures were computed (`as_of`), and the page shows it, so nobody
  mistakes a figure for one taken after their last change.

DUBAN_STATS_CACHE_SECONDS = 0 turns caching off (the tests do, except the tests of this module).
Exports (the quarterly workbook) always compute afresh."""

from __future__ import annotations

import datetime
import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import EmptyResultSet
from django.db import transaction
from django.utils import timezone

from supervision.stats import Scope

GENERATION_KEY = "duban:stats:generation"
WAIT_SECONDS = 15.0  # how long a request waits for another one computing the same entry


def _generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        value = cache.get(GENERATION_KEY) or 1
    return int(value)


def _bump() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # not there yet (or evicted): any new value invalidates what was cached
        cache.add(GENERATION_KEY, int(time.time() * 1000), timeout=None)


def ledger_changed() -> None:
    """The ledger changed: cached figures must not be served again. Runs after the surrounding
    transaction commits (a reader between the write and its commit would otherwise cache the old
    figures under the new generation)."""
    transaction.on_commit(_bump)


def on_ledger_change(events) -> None:
    """Subscribed to every recorded change (supervision/apps.py): only changes of items and
    instructions move the figures."""
    if any(e.item_id or e.object_type == "instruction" for e in events):
        ledger_changed()


def shared() -> bool:
    """Figures are shared between processes: caching is on and the cache is not one process's memory
    (the embedded default without Redis has a cache per process)."""
    return settings.DUBAN_STATS_CACHE_SECONDS > 0 and not isinstance(caches["default"], LocMemCache)


def _key(scope: Scope, name: str, args: tuple, kwargs: dict) -> str | None:
    try:
        sql, params = scope.items.query.sql_with_params()
    except EmptyResultSet:
        return None  # nothing visible: cheap to compute, nothing to share
    # The raw filter texts too: drill-down links repeat them as given.
    raw = sorted((k, tuple(v)) for k, v in scope._raw.items())
    blob = repr((name, args, sorted(kwargs.items()), sql, params, scope.period, scope.today, raw))
    return "duban:stats:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _usable(entry: dict | None, generation: int, now: float) -> bool:
    """Fresh enough to serve without recomputing."""
    if entry is None:
        return False
    age = now - entry["at"]
    if age >= settings.DUBAN_STATS_CACHE_SECONDS:
        return False
    return entry["generation"] == generation or age < settings.DUBAN_STATS_MAX_LAG_SECONDS


def _compute(scope: Scope, compute: Callable[..., Any], args, kwargs) -> tuple[Any, float]:
    """The figures and when their computation started (what `as_of` says), on the one clock."""
    started = time.time()
    return compute(scope, *args, **kwargs), started


def cached(scope: Scope, compute: Callable[..., Any], *args, **kwargs) -> tuple[Any, datetime.datetime]:
    """(compute(scope, *args, **kwargs), when it was computed), shared across viewers of the same
    scope as described above."""
    lifetime = settings.DUBAN_STATS_CACHE_SECONDS
    key = _key(scope, compute.__qualname__, args, kwargs) if lifetime > 0 else None
    if key is None:
        value, started = _compute(scope, compute, args, kwargs)
        return value, _as_datetime(started)
    # Read the generation before computing: a write committed during the computation moves it, and
    # the entry stored below then counts as older than that write.
    generation = _generation()
    entry = cache.get(key)
    if _usable(entry, generation, time.time()):
        return entry["value"], _as_datetime(entry["at"])
    lock = key + ":computing"
    if cache.add(lock, 1, timeout=int(WAIT_SECONDS * 2)):
        try:
            value, started = _compute(scope, compute, args, kwargs)
            # Kept twice its lifetime so that, while one request recomputes it, the others still have
            # the previous figures to show.
            cache.set(key, {"generation": generation, "at": started, "value": value}, lifetime * 2)
            return value, _as_datetime(started)
        finally:
            cache.delete(lock)
    if entry is not None:
        return entry["value"], _as_datetime(entry["at"])  # being recomputed: the previous figures
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        entry = cache.get(key)
        if entry is not None:
            return entry["value"], _as_datetime(entry["at"])
        if cache.get(lock) is None:  # the other request failed: compute ourselves
            break
    value, started = _compute(scope, compute, args, kwargs)
    return value, _as_datetime(started)


def _as_datetime(epoch: float) -> datetime.datetime:
    return timezone.localtime(datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC))
