"""Benchmark: Excel ledger import (issue 5, "Import of a 10,000-row workbook").

    .venv/bin/python bench/ledger_import.py [--sizes 1000,10000] [--repeat 3]

Uses its own PostgreSQL database (BENCH_IMPORT_DATABASE_URL, default duban_bench_import), created and
migrated if missing, with a county of 40 units, a handler per unit, a leader and an office user. For
each size it generates a workbook the way offices keep them (a title row above the header, 10 items
per 文号, every state but 待审核, progress text on reported items, supporting units, Excel dates),
then times `ledger_import` — reading, validating every row, and writing in one transaction — over
--repeat runs (each run's workbook carries new titles and 文号, so every run really creates its rows;
the workbooks are generated outside the timing), and a dry run of the same size. It prints the
median and each run, the time per phase, and the number of queries, which must be the same for
every size (bulk writes). Target: 10,000 rows under 30 s. A benchmark prints; it does not assert."""

from __future__ import annotations

import argparse
import datetime
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get("BENCH_IMPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/duban_bench_import")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
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

import openpyxl  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.choices import Classification, Role  # noqa: E402
from accounts.models import RoleAssignment, Unit, User  # noqa: E402
from supervision.audit import audit_verify  # noqa: E402
from supervision.exchange.columns import LEDGER_COLUMNS  # noqa: E402
from supervision.exchange.importer import ledger_import  # noqa: E402
from supervision.models import Category, Item  # noqa: E402

UNITS = 40
STATES = ["已交办", "已签收", "办理中", "办理中", "已办结", "回访通过", "草稿", "已暂停", "已撤销", "办理中"]
URGENCIES = ["一般", "一般", "急", "特急"]


def county() -> tuple[User, list[Unit]]:
    units = []
    for n in range(UNITS):
        unit, _ = Unit.objects.get_or_create(name=f"基准县第{n + 1}局")
        units.append(unit)
        user, created = User.objects.get_or_create(
            username=f"bench_handler_{n + 1}", defaults={"full_name": f"承办人{n + 1}", "unit": unit, "clearance": 2}
        )
        if created:
            RoleAssignment.objects.create(user=user, role=Role.UNIT_HANDLER)
    office_unit, _ = Unit.objects.get_or_create(name="基准县委督查室")
    office, created = User.objects.get_or_create(
        username="bench_office",
        defaults={"full_name": "基准督查员", "unit": office_unit, "clearance": Classification.CONFIDENTIAL},
    )
    if created:
        RoleAssignment.objects.create(user=office, role=Role.OFFICE_STAFF)
    leader, created = User.objects.get_or_create(
        username="bench_leader", defaults={"full_name": "基准书记", "unit": office_unit, "clearance": Classification.CONFIDENTIAL}
    )
    if created:
        RoleAssignment.objects.create(user=leader, role=Role.LEADER)
    for name in ("重点项目", "生态环保", "民生实事"):
        Category.objects.get_or_create(name=name)
    return office, units


def workbook(size: int, tag: str) -> bytes:
    today = timezone.localdate()
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("督查台账")
    ws.append([f"基准县重点工作督查台账（{tag}）"])
    ws.append([c.header for c in LEDGER_COLUMNS])
    categories = ["重点项目", "生态环保", "民生实事", None]
    for i in range(size):
        lead = i % UNITS
        state = STATES[i % len(STATES)]
        draft = state == "草稿"
        values = {
            "seq": i + 1,
            "title": f"{tag} 第{i + 1}项重点工作",
            "instruction_title": f"{tag} 批示件{i // 10 + 1}",
            "source": "领导批示/基准书记" if (i // 10) % 3 else "会议议定事项/县委常委会",
            "document_number": f"{tag}〔2026〕{i // 10 + 1}号",
            "issued_on": today - datetime.timedelta(days=60 + (i // 10) % 30),
            "lead_unit": f"基准县第{lead + 1}局",
            "supporting_units": "、".join(f"基准县第{(lead + k) % UNITS + 1}局" for k in (1, 2)[: i % 3]) or None,
            "owner": f"承办人{lead + 1}",
            "deadline": today + datetime.timedelta(days=(i % 120) - 20),
            "urgency": URGENCIES[i % len(URGENCIES)],
            "classification": ("公开", "内部", "秘密")[i % 3],
            "category": categories[i % len(categories)],
            "progress": "已召开专题会议部署，正在推进" if state in ("办理中", "已办结", "回访通过", "已暂停", "已撤销") else None,
            "status": state,
        }
        if draft:
            values["owner"] = None if i % 2 else values["owner"]
        ws.append([values.get(c.key) for c in LEDGER_COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def timed(office: User, data: bytes, *, dry_run: bool) -> dict:
    marks: dict[str, float] = {}
    started, cpu = time.perf_counter(), time.process_time()

    def progress(phase: str, done: int, total: int) -> None:
        marks.setdefault(str(phase), time.perf_counter() - started)

    with CaptureQueriesContext(connection) as queries:
        result = ledger_import(actor=office, file=data, dry_run=dry_run, progress=progress, file_name="bench.xlsx")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if result.errors:
        raise SystemExit(f"unexpected errors: {[str(e) for e in result.errors[:5]]}")
    db = sum(float(q["time"]) for q in queries.captured_queries)
    return {
        "seconds": elapsed,
        "cpu": cpu,
        "db": db,
        "queries": len(queries),
        "items": len(result.item_ids) or result.summary["items"],
        "marks": marks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    call_command("migrate", verbosity=0)
    office, _units = county()
    run_id = timezone.now().strftime("%H%M%S")
    rows = []
    for size in sizes:
        generated = time.perf_counter()
        books = [workbook(size, f"R{run_id}-{size}-{n}") for n in range(args.repeat)]
        generated = time.perf_counter() - generated
        print(
            f"{size:,} rows: {args.repeat} workbooks generated in {generated:.1f} s ({len(books[0]) / 1024:.0f} KB each)",
            flush=True,
        )
        dry = timed(office, books[0], dry_run=True)
        runs = [timed(office, book, dry_run=False) for book in books]
        rows.append((size, dry, runs))
        for n, r in enumerate(runs, 1):
            phases = "  ".join(f"{k} @{v:.2f}s" for k, v in r["marks"].items())
            print(
                f"  run {n}: {r['seconds']:.2f} s wall ({r['cpu']:.2f} s Python CPU, {r['db']:.2f} s in SQL), "
                f"{r['queries']} queries, {r['items']:,} items  [{phases}]",
                flush=True,
            )

    print()
    print(
        f"{'rows':>8} {'import p50 (s)':>15} {'runs (s)':>24} {'CPU p50':>8} {'SQL p50':>8} {'queries':>8} "
        f"{'dry run (s)':>12} {'dry queries':>12}"
    )
    for size, dry, runs in rows:
        seconds = [r["seconds"] for r in runs]
        queries = sorted({r["queries"] for r in runs})
        print(
            f"{size:>8,} {statistics.median(seconds):>15.2f} {', '.join(f'{s:.2f}' for s in seconds):>24} "
            f"{statistics.median(r['cpu'] for r in runs):>8.2f} {statistics.median(r['db'] for r in runs):>8.2f} "
            f"{'/'.join(map(str, queries)):>8} {dry['seconds']:>12.2f} {dry['queries']:>12}"
        )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (2 cores; other work on the machine inflates wall time)")
    all_queries = {r["queries"] for _size, _dry, runs in rows for r in runs}
    print()
    print(f"queries per import, all sizes: {sorted(all_queries)} ({'same' if len(all_queries) == 1 else 'DIFFERENT'})")
    largest = rows[-1]
    median = statistics.median(r["seconds"] for r in largest[2])
    print(f"target {largest[0]:,} rows < 30 s: {'PASS' if median < 30 else 'FAIL'} (median {median:.2f} s)")
    started = time.perf_counter()
    report = audit_verify()
    print(
        f"audit chain after the imports: {'intact' if report.ok else 'BROKEN'} ({report.checked:,} events, "
        f"verified in {time.perf_counter() - started:.1f} s); items in the bench ledger: {Item.objects.count():,}"
    )


if __name__ == "__main__":
    main()
