"""Benchmark: the unread count in every page's header (tasks.selectors.inbox_unread_count) when
people have unread messages, at a million items, next to hand-written SQL in the same run.

    .venv/bin/python bench/unread_count.py [--database duban_bench_1m] [--unread 30 300] [--repeat 20]

The generated ledger (bench/generate_ledger.py) has no messages, so bench/pages.py never counts
any. Here, for a township handler, the largest township's handler and an office staff member
(bench/pages.py's people), `--unread` messages about items they may see are added inside one
transaction, which is rolled back at the end: the database is left as it was. For each it times:

- the header's count as the pages run it (the selector: the visibility rule as a correlated EXISTS);
- the shape it had before, `item IS NULL OR item IN (visible items)`, built with the same ORM calls
  (at most 5 calls: at a million items it can take seconds);
- the hand-written SQL of the count (an EXISTS on the item's key).

A benchmark prints; it does not assert."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard import ms, p95, pg_url  # noqa: E402


def timed(call, repeat: int) -> tuple[list[float], object]:
    result, times = None, []
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append(ms(time.perf_counter() - start))
    return times, result


def measure(person, unread: int, repeat: int) -> str:
    """One line: `unread` messages about items the person may see, added and rolled back."""
    from django.db import connection, transaction
    from django.db.models import Q

    from accounts.models import User
    from supervision.models import Item
    from tasks.models import Notification
    from tasks.selectors import inbox_unread_count

    user = User.objects.get(pk=person.user_id)
    scope = person.scope()

    def header():
        return inbox_unread_count(user=user)

    def before():
        shape = Q(item__isnull=True) | Q(item__in=Item.objects.visible_to(user).values("pk"))
        return Notification.objects.filter(shape, recipient_id=user.pk, read_at__isnull=True).count()

    def hand():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM tasks_notification n WHERE n.recipient_id = {int(user.pk)} AND n.read_at IS NULL "
                f"AND (n.item_id IS NULL OR EXISTS (SELECT 1 FROM supervision_item i WHERE i.id = n.item_id AND {scope}))"
            )
            return cursor.fetchone()[0]

    with transaction.atomic():
        visible = Item.objects.visible_to(user).order_by("-pk").values_list("pk", flat=True)[:unread]
        Notification.objects.bulk_create(
            Notification(kind="reminder", title="催办", body="", dedup_key=f"bench-{pk}", item_id=pk, recipient=user)
            for pk in visible
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tasks_notification")
        for call in (header, hand):
            timed(call, 2)
        header_ms, n = timed(header, repeat)
        hand_ms, hand_n = timed(hand, repeat)
        before_ms, before_n = timed(before, min(repeat, 5))
        assert n == hand_n == before_n, (n, hand_n, before_n)
        transaction.set_rollback(True)
    ratio = statistics.median(header_ms) / statistics.median(hand_ms)
    return (
        f"{unread:>7}  {person.label:<18} {statistics.median(header_ms):>10.1f} {p95(header_ms):>7.1f} "
        f"{statistics.median(hand_ms):>9.1f} {ratio:>5.2f}   {statistics.median(before_ms):>10.1f} {p95(before_ms):>8.1f}  {n}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="duban_bench_1m")
    parser.add_argument("--unread", type=int, nargs="+", default=[30, 300])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = pg_url(args.database).replace("postgresql://", "postgres://")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    import django

    django.setup()
    import psycopg

    from bench.pages import people
    from supervision.models import Item

    with psycopg.connect(pg_url(args.database)) as conn:
        persons = people(conn)
    items = Item.objects.count()
    print(f"{items:,} items; {args.repeat} timed calls each after 2 warm-up calls (the shape before: at most 5)\n")
    print(f"{'unread':>7}  {'who':<18} {'header p50':>10} {'p95':>7} {'hand p50':>9} {'×':>5}   {'before p50':>10} {'p95':>8}  n")
    for unread in args.unread:
        for person in persons:
            print(measure(person, unread, args.repeat))


if __name__ == "__main__":
    main()
