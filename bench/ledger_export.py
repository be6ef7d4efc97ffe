"""Benchmark: ledger export of 100,000 items as .xlsx and CSV (issue 5, "Export of 100,000 items:
print time and peak memory (streamed, not built whole in memory)").

    .venv/bin/python bench/ledger_export.py [--items 100000] [--repeat 1] [--skip-baseline]

Fills its own PostgreSQL database (BENCH_DATABASE_URL, default duban_bench_export; migrated first)
with --items items by INSERT … SELECT generate_series: 40 units, an owner per unit, 1 instruction
per 5 items, every item with a lead and one or two supporting units, and 0–2 progress reports;
classifications 公开/内部/秘密/机密 mixed, and the exporting office user holds a recorded 机密 export
approval, so every item is written (the approval path is exercised, nothing omitted).

Then, for each format, two child processes (a fresh interpreter each, so one run's memory does
not colour the next):
1. timing: GET /api/v1/items/export/?format=… through the real URL, view, service and
   middleware (Django's test client, token auth), consuming the streamed body; wall time (median
   of --repeat) and the process's peak RSS growth over the request (ru_maxrss after − before);
2. tracemalloc: the same request under tracemalloc, printing the peak of Python allocations.

Next to each, a baseline that builds the whole file in memory the usual way (all items as model
instances with select_related/prefetch_related, an ordinary openpyxl Workbook saved to BytesIO;
the whole CSV text in one string), measured the same way. A benchmark prints; it does not assert."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/duban_bench_export")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ["CELERY_BROKER_URL"] = os.environ["REDIS_URL"]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

BENCH_USERNAME = "bench_export_office"
MB = 1024 * 1024


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    import django

    django.setup()


# ---------------------------------------------------------------------------------------------
# Data


def _insert_select(model, exprs: dict[str, str], source_sql: str, params: dict) -> None:
    """INSERT INTO model's table (every concrete column) SELECT … FROM source_sql: columns not in
    `exprs` get NULL when nullable or their Python default, so model changes elsewhere do not break it."""
    from django.db import connection

    columns, values = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key and f.column not in exprs:
            continue
        columns.append(f.column)
        if f.column in exprs:
            values.append(exprs[f.column])
        elif f.null:
            values.append("NULL")
        elif f.has_default():
            key = f"default_{f.column}"
            default = f.get_default()
            params[key] = json.dumps(default) if isinstance(default, (dict, list)) else default
            values.append(f"%({key})s")
        else:
            raise RuntimeError(f"{model.__name__}.{f.name}: no value for a NOT NULL column")
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {source_sql}"
    with connection.cursor() as cur:
        cur.execute(sql, params)


def fill(items: int) -> float:
    """Create the bench ledger if it is not there yet; returns seconds spent."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.choices import Classification, Role, UnitKind
    from accounts.models import RoleAssignment, Unit, User
    from supervision.models import Category, ExportApproval, Instruction, Item, ItemAssignment, ProgressReport

    if Item.objects.count() == items:
        return 0.0
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cur:
            for model in (ProgressReport, ItemAssignment, Item, Instruction, ExportApproval):
                cur.execute(f"DELETE FROM {model._meta.db_table}")
        root, _ = Unit.objects.get_or_create(name="基准县委", defaults={"kind": UnitKind.PARTY_OFFICE})
        office_unit, _ = Unit.objects.get_or_create(
            name="基准县委督查室", defaults={"kind": UnitKind.SUPERVISION_OFFICE, "parent": root}
        )
        units = [Unit.objects.get_or_create(name=f"基准单位{i:02d}", defaults={"parent": root})[0] for i in range(40)]
        owners = []
        for i, unit in enumerate(units):
            user, created = User.objects.get_or_create(
                username=f"bench_owner_{i:02d}", defaults={"full_name": f"责任人{i:02d}", "unit": unit, "clearance": 1}
            )
            if created:
                RoleAssignment.objects.create(user=user, role=Role.UNIT_HANDLER)
            owners.append(user)
        office, created = User.objects.get_or_create(
            username=BENCH_USERNAME, defaults={"full_name": "基准督查员", "unit": office_unit, "clearance": 3}
        )
        approver, approver_created = User.objects.get_or_create(
            username="bench_export_approver", defaults={"full_name": "基准审批人", "unit": office_unit, "clearance": 3}
        )
        for user, is_new in ((office, created), (approver, approver_created)):
            if is_new:
                RoleAssignment.objects.create(user=user, role=Role.OFFICE_STAFF)
        leader, _ = User.objects.get_or_create(username="bench_leader", defaults={"full_name": "张建国", "clearance": 3})
        category, _ = Category.objects.get_or_create(name="基准类别")
        today = timezone.localdate()
        ExportApproval.objects.create(
            grantee=office,
            classification=Classification.CONFIDENTIAL,
            reason="基准测试",
            approved_by=approver,
            valid_from=today,
            valid_until=today + datetime.timedelta(days=300),
        )
        unit_ids = [u.pk for u in units]
        owner_ids = [u.pk for u in owners]
        instructions = max(1, items // 5)
        common = {"office": office.pk, "leader": leader.pk, "category": category.pk, "units": unit_ids, "owners": owner_ids}
        _insert_select(
            Instruction,
            {
                "title": "'关于第' || g || '项工作的批示'",
                "kind": "(ARRAY['leader_instruction','meeting_decision','assigned_from_above','inspection_finding'])[1 + mod(g, 4)]",
                "nature": "'actionable'",
                "issuing_leader_id": "CASE WHEN mod(g, 3) = 0 THEN NULL ELSE %(leader)s END",
                "issuer_name": "CASE WHEN mod(g, 3) = 0 THEN '市委督查室' ELSE '' END",
                "document_number": "'云委督〔2026〕' || g || '号'",
                "issued_on": "DATE '2025-01-01' + (mod(g, 500))",
                "text": "'请抓紧研究落实，按时报送进展。'",
                "classification": "0",
                "created_by_id": "%(office)s",
                "created_at": "now()",
                "updated_at": "now()",
                "version": "1",
            },
            "generate_series(1, %(n)s) AS g",
            {**common, "n": instructions},
        )
        first_instruction = Instruction.objects.order_by("pk").values_list("pk", flat=True).first()
        _insert_select(
            Item,
            {
                "code": "'BX-' || lpad(g::text, 7, '0')",
                "title": "'基准督办事项第' || g || '项：推进重点工作落实'",
                "requirement": "''",
                "category_id": "%(category)s",
                "instruction_id": "%(first)s + (g - 1) / 5",
                "lead_unit_id": "(%(units)s::bigint[])[1 + mod(g, 40)]",
                "owner_id": "(%(owners)s::bigint[])[1 + mod(g, 40)]",
                "deadline": "DATE '2025-06-01' + (mod(g, 700))",
                "original_deadline": "DATE '2025-06-01' + (mod(g, 700))",
                "urgency": "(ARRAY['normal','urgent','extra_urgent'])[1 + mod(g, 3)]",
                "reporting_cycle": "'none'",
                "classification": "(ARRAY[0,0,0,1,1,1,1,1,2,3])[1 + mod(g, 10)]",
                "status": "(ARRAY['assigned','acknowledged','in_progress','in_progress','closed','verified'])[1 + mod(g, 6)]",
                "status_before_suspension": "''",
                "progress": "(mod(g, 5)) * 20",
                "extension_count": "0",
                "reopen_count": "0",
                "assigned_at": "now() - interval '60 days'",
                "created_by_id": "%(office)s",
                "created_at": "now() - interval '61 days'",
                "updated_at": "now()",
                "version": "1",
            },
            "generate_series(1, %(n)s) AS g",
            {**common, "n": items, "first": first_instruction},
        )
        first_item = Item.objects.order_by("pk").values_list("pk", flat=True).first()
        span = f"generate_series({first_item}, {first_item + items - 1}) AS g"
        # Lead, one supporting unit on every item, a second on every third.
        for role, offset, where in (("lead", 0, ""), ("supporting", 7, ""), ("supporting", 19, " WHERE mod(g, 3) = 0")):
            _insert_select(
                ItemAssignment,
                {
                    "item_id": "g",
                    "unit_id": f"(%(units)s::bigint[])[1 + mod(g - {first_item} + 1 + {offset}, 40)]",
                    "role": f"'{role}'",
                    "acknowledged_at": "now() - interval '59 days'",
                    "may_view_all_reports": "false",
                },
                span + where,
                dict(common),
            )
        # Two reports on two items in five, one on another; the newer one is what the export shows.
        for k, where in ((1, " WHERE mod(g, 5) < 3"), (2, " WHERE mod(g, 5) < 2")):
            _insert_select(
                ProgressReport,
                {
                    "item_id": "g",
                    "unit_id": f"(%(units)s::bigint[])[1 + mod(g - {first_item} + 1, 40)]",
                    "kind": "'stage'",
                    "progress_text": f"'第{k}次进展：已召开专题会议部署，完成阶段任务的' || mod(g, 100) || '成'",
                    "results": "''",
                    "problems": "''",
                    "next_steps": "''",
                    "submitted_by_id": f"(%(owners)s::bigint[])[1 + mod(g - {first_item} + 1, 40)]",
                    "submitted_at": f"now() - interval '{30 - k * 10} days'",
                },
                span + where,
                dict(common),
            )
        with connection.cursor() as cur:
            for model in (Instruction, Item, ItemAssignment, ProgressReport):
                cur.execute(f"ANALYZE {model._meta.db_table}")
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# One measurement (runs in a child process)


def baseline_response(user, fmt: str):
    """The whole file built in memory, the usual way: all rows as model instances, then the file."""
    import csv
    import io

    from django.http import HttpResponse
    from openpyxl import Workbook

    from supervision.exchange.columns import LEDGER_COLUMNS
    from supervision.exchange.export.policy import exportable_classification
    from supervision.models import Item

    items = list(
        Item.objects.visible_to(user)
        .filter(classification__lte=exportable_classification(user))
        .select_related("instruction", "instruction__issuing_leader", "lead_unit", "owner", "category")
        .prefetch_related("assignments__unit", "reports")
    )
    rows = []
    for n, item in enumerate(items, 1):
        leader = item.instruction.issuing_leader
        reports = sorted(item.reports.all(), key=lambda r: (r.submitted_at, r.pk))
        rows.append(
            [
                n,
                item.code,
                item.title,
                item.instruction.title,
                f"{item.instruction.get_kind_display()}/{leader.full_name if leader else item.instruction.issuer_name}",
                item.instruction.document_number,
                item.instruction.issued_on,
                item.lead_unit.name if item.lead_unit else None,
                "、".join(a.unit.name for a in item.assignments.all() if a.role == "supporting"),
                item.owner.full_name if item.owner else None,
                item.deadline,
                item.get_urgency_display(),
                item.get_classification_display(),
                item.category.name if item.category else None,
                reports[-1].progress_text if reports else None,
                item.get_status_display(),
            ]
        )
    header = [c.header for c in LEDGER_COLUMNS]
    if fmt == "xlsx":
        wb = Workbook()
        ws = wb.active
        ws.append(["督查台账"])
        ws.append(header)
        for row in rows:
            ws.append(row)
        out = io.BytesIO()
        wb.save(out)
        return HttpResponse(out.getvalue(), content_type="application/octet-stream")
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return HttpResponse(("\ufeff" + text.getvalue()).encode("utf-8"), content_type="text/csv")


def child(fmt: str, variant: str, trace: bool, repeat: int) -> dict:
    import tracemalloc

    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from knox.models import AuthToken

    from accounts.models import User

    user = User.objects.get(username=BENCH_USERNAME)
    _, token = AuthToken.objects.create(user=user)
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token}")

    def run_once() -> tuple[int, int]:
        if variant == "streamed":
            with CaptureQueriesContext(connection) as ctx:
                response = client.get("/api/v1/items/export/", {"format": fmt})
                assert response.status_code == 200, response.content[:300]
                size = sum(len(piece) for piece in response.streaming_content)
                response.close()
            return size, len(ctx.captured_queries)
        fresh = User.objects.get(pk=user.pk)
        with CaptureQueriesContext(connection) as ctx:
            response = baseline_response(fresh, fmt)
        return len(response.content), len(ctx.captured_queries)

    # Warm up imports and connections on a tiny request, outside the measurement.
    client.get("/api/v1/items/", {"page_size": 1})
    reset_queries()
    times, cpu, size, queries = [], [], 0, 0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = None
    if trace:
        tracemalloc.start()
    for _ in range(1 if trace else repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        size, queries = run_once()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": statistics.median(times),
        "cpu_seconds": statistics.median(cpu),
        "bytes": size,
        "queries": queries,
        "rss_growth_mb": (rss_after - rss_before) / 1024,  # ru_maxrss is in KiB on Linux
        "tracemalloc_peak_mb": peak / MB if peak is not None else None,
    }


def spawn(fmt: str, variant: str, trace: bool, repeat: int) -> dict:
    args = [sys.executable, __file__, "--child", fmt, variant, "--repeat", str(repeat)] + (["--trace"] if trace else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "VARIANT"))
    parser.add_argument("--trace", action="store_true")
    opts = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    setup_django()
    if opts.child:
        print(json.dumps(child(opts.child[0], opts.child[1], opts.trace, opts.repeat)))
        return

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    spent = fill(opts.items)
    from supervision.models import Item

    print(
        f"database {os.environ['DATABASE_URL'].rsplit('/', 1)[1]}: {Item.objects.count():,} items"
        + (f" (filled in {spent:.1f} s)" if spent else "")
    )
    print()
    print(
        f"{'format':>6} {'variant':>9} {'time s':>8} {'cpu s':>7} {'size MB':>8} {'queries':>8} {'RSS growth MB':>14} {'tracemalloc peak MB':>20}"
    )
    variants = ["streamed"] + ([] if opts.skip_baseline else ["in-memory"])
    for fmt in ("xlsx", "csv"):
        for variant in variants:
            timed = spawn(fmt, variant, False, opts.repeat)
            traced = spawn(fmt, variant, True, 1)
            print(
                f"{fmt:>6} {variant:>9} {timed['seconds']:>8.2f} {timed['cpu_seconds']:>7.2f} {timed['bytes'] / MB:>8.1f} {timed['queries']:>8} "
                f"{timed['rss_growth_mb']:>14.1f} {traced['tracemalloc_peak_mb']:>20.1f}",
                flush=True,
            )
    print()
    print("time: one request through the real view, body consumed (median of --repeat); cpu: this process's")
    print("CPU time for it (PostgreSQL's not included); RSS growth: the process's peak RSS over the request;")
    print("tracemalloc peak: Python allocations, in a separate run.")


if __name__ == "__main__":
    main()
