"""Load run: 20 leaders on the dashboard for 60 s, with locust, through gunicorn (issue 4).

    .venv/bin/pip install -r bench/requirements.txt      # locust, bench-only
    .venv/bin/python bench/dashboard_load.py [--database duban_bench_1m] [--users 20] [--seconds 60]

Starts the app under gunicorn (as bench/dashboard.py does: config.settings.production, sync
workers), gives `--users` distinct leaders an API token each, and runs locust headless with
bench/locustfile_dashboard.py: every leader loads summary, unit ranking, trend and the first page of
the overdue list in turn, then reads for 1–3 s. Prints, per request and in total: requests, errors,
throughput (requests/s), median, p95 and max in ms. A benchmark prints; it does not assert (the
error count must be 0)."""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard import ROOT, free_port, pg_url, start_gunicorn, stop, token_for  # noqa: E402


def leader_tokens(db: str, n: int) -> list[str]:
    with psycopg.connect(pg_url(db)) as conn:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT u.id FROM accounts_user u JOIN accounts_roleassignment r ON r.user_id = u.id "
                "WHERE r.role = 'leader' AND u.is_active ORDER BY u.id LIMIT %s",
                [n],
            ).fetchall()
        ]
        if len(ids) < n:
            raise SystemExit(f"only {len(ids)} leaders in {db}")
        return [token_for(conn, user_id) for user_id in ids]


def writer_pairs(db: str, n: int = 50) -> list[str]:
    """ "token:item" for unit handlers of the lead unit of open items (they may report on them)."""
    with psycopg.connect(pg_url(db)) as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (u.id) u.id, i.id FROM supervision_item i JOIN accounts_user u ON u.unit_id = i.lead_unit_id "
            "JOIN accounts_roleassignment r ON r.user_id = u.id AND r.role = 'unit_handler' "
            "WHERE i.status IN ('acknowledged', 'in_progress') AND u.is_active AND u.clearance >= i.classification "
            "ORDER BY u.id, i.id LIMIT %s",
            [n],
        ).fetchall()
        return [f"{token_for(conn, user_id)}:{item_id}" for user_id, item_id in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="duban_bench_1m")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--stats-cache", type=int, default=60, help="seconds figures are shared (0: every request computes)")
    parser.add_argument(
        "--writes-per-minute", type=float, default=0, help="progress reports filed meanwhile by one unit handler (0: none)"
    )
    args = parser.parse_args()

    tokens = leader_tokens(args.database, args.users)
    port = free_port()
    server = start_gunicorn(args.database, args.workers, port, args.stats_cache)
    load_before = os.getloadavg()[0]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            prefix = str(Path(tmp) / "run")
            env = dict(os.environ, BENCH_TOKENS=",".join(tokens), BENCH_WRITES_PER_MINUTE=str(args.writes_per_minute))
            if args.writes_per_minute > 0:
                env["BENCH_WRITERS"] = ",".join(writer_pairs(args.database))
            log = open(Path(tmp) / "locust.log", "w")  # noqa: SIM115 - read back below on failure
            subprocess.run(
                [
                    str(ROOT / ".venv/bin/locust"),
                    "-f",
                    str(ROOT / "bench/locustfile_dashboard.py"),
                    "--headless",
                    "-u",
                    str(args.users + (1 if args.writes_per_minute > 0 else 0)),
                    "-r",
                    str(args.users + 1),
                    "-t",
                    f"{args.seconds}s",
                    "--host",
                    f"http://127.0.0.1:{port}",
                    "--csv",
                    prefix,
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                    "--stop-timeout",
                    "30",
                ],
                env=env,
                check=False,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            log.close()
            if not Path(f"{prefix}_stats.csv").exists():
                raise SystemExit("locust wrote no statistics:\n" + (Path(tmp) / "locust.log").read_text()[-3000:])
            with open(f"{prefix}_stats.csv", newline="") as f:
                rows = list(csv.DictReader(f))
    finally:
        stop(server)

    print(
        f"{args.users} leaders (distinct tokens) for {args.seconds} s on {args.database}, gunicorn {args.workers} sync workers, "
        f"think time 1–3 s; stats cache {args.stats_cache} s; {args.writes_per_minute:g} ledger writes a minute; load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    print(f"{'request':<14} {'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for row in rows:
        print(
            f"{row['Name']:<14} {int(row['Request Count']):>9} {int(row['Failure Count']):>7} {float(row['Requests/s']):>7.2f} "
            f"{float(row['50%']):>8.0f} {float(row['95%']):>8.0f} {float(row['Max Response Time']):>8.0f}"
        )
    total = next(r for r in rows if r["Name"] == "Aggregated")
    print(
        f"\nthroughput {float(total['Requests/s']):.2f} requests/s ({float(total['Requests/s']) / 4:.2f} dashboards/s), "
        f"p95 {float(total['95%']):.0f} ms, errors {int(total['Failure Count'])}"
        f"{'' if int(total['Failure Count']) == 0 else '  !!! ERRORS'}"
    )


if __name__ == "__main__":
    main()
