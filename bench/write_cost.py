"""Benchmark: what the figure columns' triggers (migration 0030) add to a ledger write (issue 14).

    .venv/bin/python bench/write_cost.py [--database duban_bench_1m] [--reports 300]

Files progress reports through the service (`progress_report_create`, each in its own committed
transaction, as a request does) on open items of the bench ledger, by their lead unit's handler, in
blocks of 20 alternately with the triggers that mark changed items disabled ("before": the write as
it was before migration 0030) and enabled ("after"), so both see the same machine. Then it times
what the next figures request pays for those writes: a column refresh after 1, 10 and 100 changed
items, against a refresh that finds nothing. Prints p50/p95 and the ratio; asserts nothing. The
triggers are left enabled.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRIGGERS = {
    "supervision_item": ("item_stats_inserted", "item_stats_updated"),
    "supervision_itemassignment": ("assignment_stats_changed",),
    "supervision_deadlinespan": ("deadline_span_stats_changed",),
    "supervision_returnvisit": ("return_visit_stats_changed",),
    "supervision_instruction": ("instruction_stats_changed",),
}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="duban_bench_1m")
    parser.add_argument("--reports", type=int, default=300, help="progress reports per side")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost")
    os.environ["DATABASE_URL"] = f"{os.environ.get('BENCH_PG', 'postgres://postgres@127.0.0.1:5432')}/{args.database}"
    import django

    django.setup()
    from django.db import connection, transaction

    from accounts.models import User
    from supervision import services
    from supervision.models import Item
    from supervision.stats import columns

    def set_triggers(enabled: bool) -> None:
        with connection.cursor() as cursor:
            for table, names in TRIGGERS.items():
                for name in names:
                    cursor.execute(f"ALTER TABLE {table} {'ENABLE' if enabled else 'DISABLE'} TRIGGER {name}")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ON (i.id) i.id, u.id FROM supervision_item i "
            "JOIN supervision_itemassignment a ON a.item_id = i.id AND a.role = 'lead' AND a.acknowledged_at IS NOT NULL "
            "JOIN accounts_user u ON u.unit_id = i.lead_unit_id AND u.is_active AND u.clearance >= i.classification "
            "JOIN accounts_roleassignment r ON r.user_id = u.id AND r.role = 'unit_handler' "
            "WHERE i.status IN ('acknowledged', 'in_progress') AND NOT EXISTS "
            "(SELECT 1 FROM supervision_itemlink l WHERE l.item_id = i.id AND l.unlinked_at IS NULL) "
            "ORDER BY i.id, u.id LIMIT %s",
            [500],
        )
        pairs = cursor.fetchall()
    people = {user.pk: user for user in User.objects.filter(pk__in={u for _i, u in pairs})}
    pending = itertools.cycle(pairs)  # an item takes any number of reports

    def report() -> float:
        item_id, user_id = next(pending)
        started = time.perf_counter()
        with transaction.atomic():
            services.progress_report_create(
                actor=people[user_id],
                item=Item.objects.get(pk=item_id),
                progress_text="按计划推进，本周完成现场核查",
                progress=60,
            )
        return (time.perf_counter() - started) * 1000

    times: dict[str, list[float]] = {"before": [], "after": []}
    report()  # connection, caches
    try:
        while len(times["after"]) < args.reports:
            for side, enabled in (("before", False), ("after", True)):
                set_triggers(enabled)
                times[side] += [report() for _ in range(20)]
    finally:
        set_triggers(True)
    print(f"{args.database}: progress report through the service, committed, {args.reports} per side, ms")
    for side, values in times.items():
        print(
            f"  {side:7} triggers {'off' if side == 'before' else 'on '}  p50 {statistics.median(values):7.2f}  p95 {p95(values):7.2f}"
        )
    print(
        f"  ratio after ÷ before: p50 ×{statistics.median(times['after']) / statistics.median(times['before']):.2f}, "
        f"p95 ×{p95(times['after']) / p95(times['before']):.2f}"
    )

    # What the next figures request pays: a refresh of this process's columns after n writes.
    started = time.perf_counter()
    columns.ledger_for()
    print(f"columns read whole: {time.perf_counter() - started:.1f} s")
    for n in (0, 1, 10, 100):
        samples = []
        for _ in range(5):
            for _ in range(n):
                report()
            started = time.perf_counter()
            columns.ledger_for()
            samples.append((time.perf_counter() - started) * 1000)
        print(f"  refresh after {n:3} changed items: median {statistics.median(samples):7.1f} ms, max {max(samples):7.1f} ms")


if __name__ == "__main__":
    main()
