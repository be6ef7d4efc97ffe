"""Benchmark: the reminder sweep at ledger scale (issue 3, "Performance").

    .venv/bin/python bench/reminder_sweep.py [--sizes 100000,300000,1000000] [--due 10000] [--repeat 7]

Fills its own PostgreSQL database (BENCH_DATABASE_URL, default duban_bench) with items by
generate_series — 60% closed, 35% open, 5% drafts; open items have future next_reminder_at except
exactly --due of them, which are due now — and grows it size by size. At each size it measures,
over --repeat runs (resetting the due rows between runs, outside the timing):

1. the real sweep `tasks.reminders.sweep_due_reminders(limit=due)` inside a transaction, including
   the commit and the on-commit enqueue of every `remind_items` chunk to real Redis (db 13, purged);
2. the sweep's selection query as the ORM issues it (rolled back);
3. the same selection written by hand in SQL (rolled back), and the ratio ORM / hand.

It prints medians and p95 in ms, the sweep's query count, the plan of the selection, and how the
sweep's time grows from the smallest to the largest size next to the growth of the ledger. Targets:
1M items with 10k due → sweep < 5 s; selection ≤ 1.5× the hand-written SQL. A benchmark prints; it
does not assert."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/duban_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ["CELERY_BROKER_URL"] = os.environ["REDIS_URL"]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


ensure_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.choices import Role  # noqa: E402
from accounts.models import RoleAssignment, Unit, User  # noqa: E402
from supervision.choices import OPEN_STATUSES  # noqa: E402
from supervision.models import Instruction, Item  # noqa: E402

# The open statuses as an SQL literal list (constants, as a hand-written query would spell them).
OPEN_SQL = "(" + ",".join(f"'{s}'" for s in OPEN_STATUSES) + ")"


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def base_rows():
    unit, _ = Unit.objects.get_or_create(name="基准测试单位")
    user, created = User.objects.get_or_create(username="bench", defaults={"full_name": "基准", "unit": unit, "clearance": 3})
    if created:
        RoleAssignment.objects.create(user=user, role=Role.UNIT_HANDLER)
    instruction = Instruction.objects.filter(title="基准批示").first() or Instruction.objects.create(
        title="基准批示",
        kind="leader_instruction",
        issuing_leader=None,
        issuer_name="基准",
        issued_on="2024-01-01",
        text="基准",
        created_by=user,
    )
    return unit, user, instruction


def fill_to(size: int, unit, user, instruction) -> float:
    """Add items until the table holds `size` rows; returns seconds spent."""
    have = Item.objects.count()
    if have >= size:
        return 0.0
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO supervision_item (
                code, title, requirement, category_id, instruction_id, lead_unit_id, owner_id,
                deadline, deadline_time, deadline_workdays, original_deadline, warning_date,
                next_reminder_at, listed_for_supervision_at, urgency, reporting_cycle, classification,
                status, status_before_suspension, progress, extension_count, reopen_count,
                assigned_at, closed_at, created_by_id, created_at, updated_at, version)
            SELECT 'BENCH-' || g, '基准事项 ' || g, '', NULL, %(instruction)s, %(unit)s, %(user)s,
                   d, NULL, NULL, d, d - 5,
                   CASE WHEN g %% 20 BETWEEN 12 AND 18 THEN now() + ((g %% 2000) + 60) * interval '1 minute' END,
                   NULL,
                   (ARRAY['normal','urgent','extra_urgent'])[1 + g %% 3], 'none', g %% 3,
                   CASE WHEN g %% 20 < 12 THEN 'closed' WHEN g %% 20 < 19 THEN 'in_progress' ELSE 'draft' END,
                   '', 50, 0, 0,
                   CASE WHEN g %% 20 < 19 THEN now() - interval '30 days' END,
                   CASE WHEN g %% 20 < 12 THEN now() - interval '3 days' END,
                   %(user)s, now() - interval '40 days', now(), 1
            FROM generate_series(%(start)s, %(stop)s) AS g,
                 LATERAL (SELECT DATE '2023-01-01' + (g %% 1400) AS d) AS dd
            """,
            {"instruction": instruction.pk, "unit": unit.pk, "user": user.pk, "start": have + 1, "stop": size},
        )
        cur.execute("ANALYZE supervision_item")
    return time.perf_counter() - started


def mark_due(due: int) -> list[int]:
    """Exactly `due` open items due now (the rest of the open ones are in the future)."""
    past = timezone.now() - timezone.timedelta(minutes=1)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE supervision_item SET next_reminder_at = now() + interval '1 day' "
            f"WHERE status IN {OPEN_SQL} AND next_reminder_at <= now() + interval '30 minutes'"
        )
        cur.execute(f"SELECT id FROM supervision_item WHERE status IN {OPEN_SQL} ORDER BY id DESC LIMIT %s", [due])
        ids = [row[0] for row in cur.fetchall()]
        cur.execute("UPDATE supervision_item SET next_reminder_at = %s WHERE id = ANY(%s)", [past, ids])
    return ids


def reset(ids: list[int]) -> None:
    with connection.cursor() as cur:
        cur.execute("UPDATE supervision_item SET next_reminder_at = now() - interval '1 minute' WHERE id = ANY(%s)", [ids])


HAND_SQL = (
    f"SELECT id FROM supervision_item WHERE status IN {OPEN_SQL} AND next_reminder_at <= %s "
    "ORDER BY next_reminder_at LIMIT %s FOR UPDATE SKIP LOCKED"
)


def orm_selection(due: int):
    return (
        Item.objects.filter(status__in=OPEN_STATUSES, next_reminder_at__lte=timezone.now())
        .order_by("next_reminder_at")
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)[:due]
    )


class Rollback(Exception):
    pass


def timed_rolled_back(fn) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        with transaction.atomic():
            n = fn()
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return elapsed, n


def measure(size: int, due: int, repeat: int) -> dict:
    from tasks.reminders import sweep_due_reminders

    ids = mark_due(due)
    sweep, orm, hand, queries, claimed = [], [], [], [], []
    for _ in range(repeat):
        reset(ids)
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            with transaction.atomic():
                claimed.append(sweep_due_reminders(limit=due))  # enqueues after commit, to real Redis
            sweep.append(time.perf_counter() - started)
        queries.append(len([q for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]))
        reset(ids)
        orm.append(timed_rolled_back(lambda: len(list(orm_selection(due))))[0])

        def hand_select():
            with connection.cursor() as cur:
                cur.execute(HAND_SQL, [timezone.now(), due])
                return len(cur.fetchall())

        hand.append(timed_rolled_back(hand_select)[0])
    return {"size": size, "due": due, "sweep": sweep, "orm": orm, "hand": hand, "queries": max(queries), "claimed": claimed}


def explain(due: int) -> list[str]:
    with transaction.atomic(), connection.cursor() as cur:
        sql, params = orm_selection(due).query.sql_with_params()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        lines = [row[0] for row in cur.fetchall()]
        transaction.set_rollback(True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--due", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="drop the bench items and start over")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    call_command("migrate", verbosity=0)
    unit, user, instruction = base_rows()
    if args.rebuild:
        with connection.cursor() as cur:
            cur.execute("DELETE FROM supervision_item WHERE code LIKE 'BENCH-%%'")
    results = []
    for size in sizes:
        spent = fill_to(size, unit, user, instruction)
        print(f"filled to {size:,} items in {spent:.1f} s", flush=True)
        results.append(measure(size, args.due, args.repeat))
    plan = explain(args.due)

    print()
    print(
        f"{'items':>10} {'due':>6} {'sweep p50':>10} {'sweep p95':>10} {'queries':>8} "
        f"{'ORM sel p50':>12} {'hand SQL p50':>13} {'ORM/hand':>9}"
    )
    for r in results:
        orm50, hand50 = statistics.median(r["orm"]), statistics.median(r["hand"])
        print(
            f"{r['size']:>10,} {r['due']:>6,} {ms(statistics.median(r['sweep'])):>10} {ms(p95(r['sweep'])):>10} "
            f"{r['queries']:>8} {ms(orm50):>12} {ms(hand50):>13} {orm50 / hand50:>9.2f}"
        )
    first, last = results[0], results[-1]
    growth = statistics.median(last["sweep"]) / statistics.median(first["sweep"])
    print()
    print(
        f"sweep time {first['size']:,} → {last['size']:,} items: ×{growth:.2f} "
        f"(ledger ×{last['size'] / first['size']:.0f}, due count ×{last['due'] / first['due']:.0f})"
    )
    print(f"items claimed per sweep at {last['size']:,}: {sorted(set(last['claimed']))}")
    print("selection plan at the largest size:")
    for line in plan[:14]:
        print("   ", line)
    big = last
    print()
    print(
        f"target sweep < 5 s at {big['size']:,} with {big['due']:,} due: "
        f"{'PASS' if p95(big['sweep']) < 5 else 'FAIL'} (p95 {ms(p95(big['sweep']))} ms)"
    )
    ratio = statistics.median(big["orm"]) / statistics.median(big["hand"])
    print(f"target selection ≤ 1.5× hand SQL: {'PASS' if ratio <= 1.5 else 'FAIL'} (×{ratio:.2f})")

    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


if __name__ == "__main__":
    main()
