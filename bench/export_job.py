"""Background ledger export (supervision/export_jobs.py) of a whole province-scale ledger.

    .venv/bin/python bench/export_job.py [--database duban_bench_1m] [--user lingdao00] [--formats csv,xlsx]

Uses a ledger made by bench/generate_ledger.py (migrated to the current code first). For each format, asks for
a job as the given user with no filters (the whole ledger they may see; classified rows without an export
approval are left out and counted) through `export_job_create`, then runs it in this process as the worker
would (`export_job_run`), and prints the wall and CPU time, rows, omitted rows, file size and this process's
peak RSS. Files go to a temporary MEDIA_ROOT that is removed afterwards. Prints; does not assert."""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="duban_bench_1m")
    parser.add_argument("--user", default="lingdao00")
    parser.add_argument("--formats", default="csv,xlsx")
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from accounts.models import User
    from supervision.exchange.export.jobs import export_job_create, export_job_run

    call_command("migrate", verbosity=0)
    user = User.objects.get(username=args.user)
    with tempfile.TemporaryDirectory() as media:
        settings.MEDIA_ROOT = media
        print(f"{args.database}: export jobs as {user.username} ({user}), load average {os.getloadavg()[0]:.2f}")
        print(
            f"{'format':<7} {'create s':>9} {'run s':>8} {'CPU s':>7} {'rows':>10} {'omitted':>9} {'file MB':>8} {'peak RSS MB':>12}"
        )
        for file_format in args.formats.split(","):
            with mock.patch("tasks.exports.run_export_job.delay"):  # run here, not on a worker
                started = time.perf_counter()
                job = export_job_create(actor=user, filters={}, file_format=file_format)
                created = time.perf_counter() - started
            started, cpu = time.perf_counter(), time.process_time()
            job = export_job_run(job_id=job.pk)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{file_format:<7} {created:>9.2f} {wall:>8.1f} {cpu:>7.1f} {job.rows or 0:>10,} {job.omitted or 0:>9,} "
                f"{job.file.size / 1e6 if job.file else 0:>8.1f} {rss:>12.0f}   {job.status}"
            )


if __name__ == "__main__":
    main()
