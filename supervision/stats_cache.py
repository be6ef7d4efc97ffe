"""Cached statistics: the dashboard's figures without re-reading a million items on every load.

A leader's dashboard counts every item they may see; at province scale (1,000,000 items) one
summary reads the whole ledger (about 1.5-2.5 s on 2 cores, bench/dashboard.py), and twenty leaders
opening the page at 9 a.m. would queue behind each other. The figures are the same for everyone
whose scope is the same, and they change only when the ledger changes or the clock moves. So:

- The key is the exact SQL (with parameters) of the viewer's scoped item query, plus the figure,
  its arguments, the period and today's date. Two viewers share an entry only if
  `Item.objects.visible_to(user)` + their filters compile to the same query, i.e. they see exactly
  the same items: the visibility rule is not re-implemented here and cannot leak through the cache.
- Every committed ledger write moves a generation counter (`ledger_changed`, called after commit
  by audit_record, which every state change passes through), and the generation is in the key:
  a figure computed before a write is never served after it.
- Lights move with the clock (a deadline passes at midnight, a 特急 item's hour passes): entries
  live DUBAN_STATS_CACHE_SECONDS (60 s by default), so a figure is at most that old with respect
  to the clock, and never with respect to a write.
- One request computes a missing entry while the others wait for it (single flight), instead of
  twenty identical full scans at once.

DUBAN_STATS_CACHE_SECONDS = 0 turns caching off (the tests do, except the tests of this module).
Exports (the quarterly workbook) always compute afresh."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import transaction

from .stats import Scope

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


def _key(scope: Scope, name: str, args: tuple, kwargs: dict) -> str | None:
    try:
        sql, params = scope.items.query.sql_with_params()
    except EmptyResultSet:
        return None  # nothing visible: cheap to compute, nothing to share
    # The raw filter texts too: drill-down links repeat them as given.
    raw = sorted((k, tuple(v)) for k, v in scope._raw.items())
    blob = repr((name, args, sorted(kwargs.items()), sql, params, scope.period, scope.today, raw, _generation()))
    return "duban:stats:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def cached(scope: Scope, compute: Callable[..., Any], *args, **kwargs) -> Any:
    """compute(scope, *args, **kwargs), shared across viewers of the same scope as described above."""
    timeout = settings.DUBAN_STATS_CACHE_SECONDS
    key = _key(scope, compute.__qualname__, args, kwargs) if timeout > 0 else None
    if key is None:
        return compute(scope, *args, **kwargs)
    hit = cache.get(key)
    if hit is not None:
        return hit
    lock = key + ":computing"
    if cache.add(lock, 1, timeout=int(WAIT_SECONDS * 2)):
        try:
            value = compute(scope, *args, **kwargs)
            cache.set(key, value, timeout)
            return value
        finally:
            cache.delete(lock)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        hit = cache.get(key)
        if hit is not None:
            return hit
        if cache.get(lock) is None:  # the other request failed: compute ourselves
            break
    return compute(scope, *args, **kwargs)
