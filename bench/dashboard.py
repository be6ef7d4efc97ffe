"""Benchmark: the statistics dashboard through the real HTTP stack, at 100k and 1M items (issue 4).

    .venv/bin/python bench/generate_ledger.py --database postgres://postgres@127.0.0.1:5432/duban_bench_100k --items 100000
    .venv/bin/python bench/generate_ledger.py --database postgres://postgres@127.0.0.1:5432/duban_bench_1m --items 1000000
    .venv/bin/python bench/dashboard.py [--databases duban_bench_100k,duban_bench_1m] [--repeat 30]

For each database it starts the app under gunicorn (config.settings.production, `--workers` sync
workers, persistent DB connections through `conn_max_age` in DATABASE_URL as a deployment would set
it), signs in two viewers with API tokens — a leader who sees the whole ledger (clearance 机密) and
the head of a county department (unit scope: items where the unit is lead or supporting) — and
times, over `--repeat` calls after `--warmup` calls, with one keep-alive HTTP session:

- GET /api/v1/stats/summary/            (the headline figures)
- GET /api/v1/stats/units/              (the unit ranking, lead and supporting apart)
- GET /api/v1/stats/trend/              (12 months: created, closed, overdue at month end)
- GET /api/v1/items/?overdue=true&ordering=deadline   (first page of the overdue list)

and the same figures computed by hand-written SQL (psycopg, one connection, timed the same way:
repeated calls, p50/p95; each API call is followed by its hand SQL, so both see the same machine). The hand SQL's numbers are compared with the API's; a mismatch is printed
loudly. Then it prints the ratio API ÷ hand SQL, the growth of each figure from the smallest to the
largest database, and the targets (leader, largest database): summary and first page p95 < 150 ms,
ranking and trend p95 < 300 ms, each p50 within 2× of the hand SQL. A benchmark prints; it does not
assert.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
TZ = datetime.timezone(datetime.timedelta(hours=8))  # Asia/Shanghai
OPEN = "('assigned','acknowledged','in_progress','pending_review')"
COUNTED = "('assigned','acknowledged','in_progress','pending_review','closed','verified','suspended')"
DONE = "('closed','verified')"
STATUSES = ["draft", "assigned", "acknowledged", "in_progress", "pending_review", "closed", "verified", "suspended", "cancelled"]
LIGHTS = ["none", "green", "yellow", "red", "overdue"]
ENDPOINTS = {
    "summary": "/api/v1/stats/summary/",
    "units": "/api/v1/stats/units/",
    "trend": "/api/v1/stats/trend/",
    "overdue page": "/api/v1/items/?overdue=true&ordering=deadline",
}
TARGETS_MS = {"summary": 150, "units": 300, "trend": 300, "overdue page": 150}


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def pg_url(db: str) -> str:
    return f"{PG}/{db}".replace("postgres://", "postgresql://")


# ---------------------------------------------------------------------------------------------
# Viewers


class Viewer:
    def __init__(self, label: str, user_id: int, username: str, clearance: int, unit_id: int | None, unit_name: str | None):
        self.label, self.user_id, self.username, self.clearance = label, user_id, username, clearance
        self.unit_id, self.unit_name = unit_id, unit_name
        self.token = ""

    def scope_sql(self, alias: str = "i") -> str:
        """The visibility rule (querysets.visible_to) for a leader or a unit user, by hand."""
        sql = f"{alias}.classification <= {int(self.clearance)} AND {alias}.status <> 'draft'"
        if self.unit_id is not None:
            sql += (
                f" AND EXISTS (SELECT 1 FROM supervision_itemassignment va WHERE va.item_id = {alias}.id "
                f"AND va.unit_id = {int(self.unit_id)})"
            )
        return sql


def viewers(conn) -> list[Viewer]:
    leader = conn.execute(
        "SELECT u.id, u.username, u.clearance FROM accounts_user u JOIN accounts_roleassignment r ON r.user_id = u.id "
        "WHERE r.role = 'leader' ORDER BY u.clearance DESC, u.id LIMIT 1"
    ).fetchone()
    # The head of the county department (a unit three levels down) with the most items.
    head = conn.execute(
        "SELECT u.id, u.username, u.clearance, un.id, un.name FROM accounts_unit un JOIN accounts_user u ON u.id = un.head_id "
        "JOIN accounts_roleassignment r ON r.user_id = u.id AND r.role = 'unit_head' "
        "WHERE length(un.path) = 21 AND un.kind = 'department' "
        "ORDER BY (SELECT count(*) FROM supervision_itemassignment a WHERE a.unit_id = un.id) DESC, un.id LIMIT 1"
    ).fetchone()
    result = [
        Viewer("leader", leader[0], leader[1], leader[2], None, None),
        Viewer("county dept head", head[0], head[1], head[2], head[3], head[4]),
    ]
    for v in result:
        v.token = token_for(conn, v.user_id)
    conn.commit()
    return result


def token_for(conn, user_id: int) -> str:
    """A fresh API token for the user, valid for a day. django-rest-knox (accounts/tokens.py) keeps
    only a token's SHA-512 digest, so a token cannot be read back: each run makes its own."""
    token = secrets.token_hex(32)
    conn.execute(
        "INSERT INTO knox_authtoken (digest, token_key, created, expiry, user_id) "
        "VALUES (%s, %s, now(), now() + interval '1 day', %s)",
        [hashlib.sha512(token.encode()).hexdigest(), token[:15], user_id],
    )
    return token


# ---------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BENCH_REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/11")


def start_gunicorn(db: str, workers: int, port: int, stats_cache: int = 0) -> subprocess.Popen:
    """stats_cache > 0: figures shared through Redis for that many seconds (supervision/stats_cache.py),
    as a deployment runs; 0: every request computes its figures (the cold cost)."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY", "bench-only-not-secret"),
        DATABASE_URL=f"{PG}/{db}?conn_max_age=600",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        # Plain HTTP on the loopback: no TLS proxy in front to redirect to.
        DJANGO_SECURE_SSL_REDIRECT="false",
    )
    env["DUBAN_STATS_CACHE_SECONDS"] = str(stats_cache)
    if stats_cache > 0:
        import redis

        redis.Redis.from_url(BENCH_REDIS).flushdb()  # start cold; the warm-up calls fill it
        env["REDIS_URL"] = BENCH_REDIS
    else:
        env.pop("REDIS_URL", None)  # no cache: the figures are computed per request
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/stats/summary/", timeout=10)  # 401 without a token: up
            return proc
        except requests.RequestException:
            time.sleep(0.5)
    stop(proc)
    raise SystemExit("gunicorn did not start")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------
# Hand-written SQL (the definitions of supervision/stats.py, written directly)


def local_now() -> tuple[datetime.date, datetime.time, datetime.datetime]:
    now = datetime.datetime.now(TZ)
    return now.date(), now.time(), now


def light_sql(today: datetime.date, time_now: datetime.time) -> str:
    return (
        f"CASE WHEN i.status IN {OPEN} AND i.deadline IS NOT NULL THEN CASE "
        f"WHEN i.deadline < '{today}' OR (i.deadline = '{today}' AND i.deadline_time < '{time_now}') THEN 'overdue' "
        f"WHEN i.deadline = '{today}' THEN 'red' WHEN i.warning_date <= '{today}' THEN 'yellow' ELSE 'green' END ELSE 'none' END"
    )


def hand_summary(conn, viewer: Viewer) -> dict:
    today, time_now, _now = local_now()
    tomorrow = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time.min, TZ)
    # Due by the ORIGINAL deadline; the current-deadline figures beside it (issue 14).
    due = f"i.status IN {COUNTED} AND i.original_deadline <= '{today}'"
    due_current = f"i.status IN {COUNTED} AND i.deadline <= '{today}'"
    closed_on = "(i.closed_at AT TIME ZONE 'Asia/Shanghai')::date"
    undone = (
        "EXISTS (SELECT 1 FROM supervision_returnvisit v WHERE v.item_id = i.id AND v.result = 'failed' "
        "AND v.reopened_closure_at < %(tomorrow)s)"
    )
    rows = conn.execute(
        f"""
        SELECT i.status, {light_sql(today, time_now)} AS light, count(*),
               count(*) FILTER (WHERE {due}),
               count(*) FILTER (WHERE {due} AND i.status IN {DONE}),
               count(*) FILTER (WHERE {due} AND i.status IN {DONE} AND {closed_on} <= i.original_deadline),
               count(*) FILTER (WHERE {due_current} AND i.status IN {DONE} AND {closed_on} <= i.deadline),
               count(*) FILTER (WHERE i.closed_at < %(tomorrow)s OR {undone}),
               count(*) FILTER (WHERE i.reopen_count > 0)
        FROM supervision_item i WHERE {viewer.scope_sql()}
        GROUP BY 1, 2
        """,
        {"tomorrow": tomorrow},
    ).fetchall()
    # Average working days to close: workdays in (assigned, closed] = index(closed) - index(assigned),
    # with index(d) = the number of working days up to d on the stored calendar.
    avg = conn.execute(
        f"""
        WITH days AS (
            SELECT d::date AS d, sum(CASE WHEN coalesce(c.is_workday, extract(isodow FROM d) < 6) THEN 1 ELSE 0 END)
                   OVER (ORDER BY d) AS n
            FROM generate_series(DATE '2000-01-01', %(today)s::date, interval '1 day') AS d
            LEFT JOIN supervision_calendarday c ON c.date = d::date
        )
        SELECT avg(dc.n - da.n)
        FROM supervision_item i
        JOIN days da ON da.d = (i.assigned_at AT TIME ZONE 'Asia/Shanghai')::date
        JOIN days dc ON dc.d = {closed_on}
        WHERE {viewer.scope_sql()} AND i.closed_at < %(tomorrow)s AND i.assigned_at IS NOT NULL
        """,
        {"today": today, "tomorrow": tomorrow},
    ).fetchone()[0]
    out = {"by_status": {}, "by_light": {}}
    keys = ("total", "due", "closed", "on_time_original", "on_time_extended", "closed_in_period", "reopened")
    sums = dict.fromkeys(keys, 0)
    for status, light, *counts in rows:
        out["by_status"][status] = out["by_status"].get(status, 0) + counts[0]
        out["by_light"][light] = out["by_light"].get(light, 0) + counts[0]
        for key, n in zip(keys, counts, strict=True):
            sums[key] += n
    out.update(sums)
    out["overdue"] = out["by_light"].get("overdue", 0)
    out["open_with_deadline"] = sum(out["by_light"].get(light, 0) for light in ("overdue", "red", "yellow", "green"))
    out["average_workdays_to_close"] = None if avg is None else round(float(avg), 2)
    return out


def api_summary(data: dict) -> dict:
    return {
        "by_status": {row["status"]: row["count"] for row in data["by_status"] if row["count"]},
        "by_light": {row["light"]: row["count"] for row in data["by_light"] if row["count"]},
        "total": data["total"]["count"],
        "due": data["due"]["count"],
        "closed": data["closed"]["count"],
        "on_time_original": data["closed_on_time_original"]["count"],
        "on_time_extended": data["closed_on_time_extended"]["count"],
        "closed_in_period": data["closed_in_period"]["count"],
        "reopened": data["reopened"]["count"],
        "overdue": data["overdue"]["count"],
        "open_with_deadline": data["open_with_deadline"]["count"],
        "average_workdays_to_close": data["average_workdays_to_close"],
    }


def hand_units(conn, viewer: Viewer) -> dict:
    today, time_now, _now = local_now()
    due = f"i.status IN {COUNTED} AND i.original_deadline <= '{today}'"
    due_current = f"i.status IN {COUNTED} AND i.deadline <= '{today}'"
    closed_on = "(i.closed_at AT TIME ZONE 'Asia/Shanghai')::date"
    overdue = f"i.status IN {OPEN} AND (i.deadline < '{today}' OR (i.deadline = '{today}' AND i.deadline_time < '{time_now}'))"
    rows = conn.execute(
        f"""
        SELECT a.unit_id, a.role, count(*),
               count(*) FILTER (WHERE {due}),
               count(*) FILTER (WHERE {due} AND i.status IN {DONE}),
               count(*) FILTER (WHERE {due} AND i.status IN {DONE} AND {closed_on} <= i.original_deadline),
               count(*) FILTER (WHERE {due_current} AND i.status IN {DONE} AND {closed_on} <= i.deadline),
               count(*) FILTER (WHERE {overdue})
        FROM supervision_itemassignment a JOIN supervision_item i ON i.id = a.item_id
        WHERE {viewer.scope_sql()}
        GROUP BY 1, 2
        """
    ).fetchall()
    return {(unit, role): tuple(counts) for unit, role, *counts in rows}


def api_units(data: dict) -> dict:
    out = {}
    for row in data["results"]:
        for role in ("lead", "supporting"):
            f = row[role]
            counts = tuple(
                f[k]["count"] for k in ("total", "due", "closed", "closed_on_time_original", "closed_on_time_extended", "overdue")
            )
            if counts[0]:
                out[(row["unit"]["id"], role)] = counts
    return out


def trend_months(today: datetime.date, n: int = 12) -> list[datetime.date]:
    months, month = [], today.replace(day=1)
    for _ in range(n):
        months.insert(0, month)
        month = (month - datetime.timedelta(days=1)).replace(day=1)
    return months


def hand_trend(conn, viewer: Viewer) -> dict:
    today, time_now, _now = local_now()
    months = trend_months(today)
    start = datetime.datetime.combine(months[0], datetime.time.min, TZ)
    end = datetime.datetime.combine((months[-1] + datetime.timedelta(days=32)).replace(day=1), datetime.time.min, TZ)
    per_month = {}
    per_month["created_at"] = dict(
        conn.execute(
            "SELECT date_trunc('month', i.created_at AT TIME ZONE 'Asia/Shanghai')::date, count(*) FROM supervision_item i "
            f"WHERE {viewer.scope_sql()} AND i.created_at >= %s AND i.created_at < %s GROUP BY 1",
            [start, end],
        ).fetchall()
    )
    # Closed in a month: items closed at least once in it, a closure later undone included.
    per_month["closed_at"] = dict(
        conn.execute(
            f"""
            SELECT m, count(DISTINCT id) FROM (
                SELECT i.id, date_trunc('month', i.closed_at AT TIME ZONE 'Asia/Shanghai')::date AS m
                FROM supervision_item i WHERE {viewer.scope_sql()} AND i.closed_at >= %(s)s AND i.closed_at < %(e)s
                UNION ALL
                SELECT i.id, date_trunc('month', v.reopened_closure_at AT TIME ZONE 'Asia/Shanghai')::date
                FROM supervision_returnvisit v JOIN supervision_item i ON i.id = v.item_id
                WHERE {viewer.scope_sql()} AND v.result = 'failed' AND v.reopened_closure_at >= %(s)s AND v.reopened_closure_at < %(e)s
            ) closures GROUP BY m
            """,
            {"s": start, "e": end},
        ).fetchall()
    )
    filters = []
    for month in months[:-1]:
        last = (month + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
        next_day = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, TZ)
        nd = next_day.isoformat()
        # The deadline then in force (the deadline history), and not closed then (a closure undone
        # only later still held at the month end).
        filters.append(
            f"count(*) FILTER (WHERE i.status IN {COUNTED} AND i.assigned_at < '{nd}' "
            f"AND EXISTS (SELECT 1 FROM supervision_deadlinespan s WHERE s.item_id = i.id AND s.valid_from < '{nd}' "
            f"AND (s.valid_until IS NULL OR s.valid_until >= '{nd}') AND s.deadline < '{last}') "
            f"AND (i.closed_at IS NULL OR i.closed_at >= '{nd}') "
            f"AND NOT EXISTS (SELECT 1 FROM supervision_returnvisit v WHERE v.item_id = i.id AND v.result = 'failed' "
            f"AND v.reopened_closure_at < '{nd}' AND v.created_at >= '{nd}'))"
        )
    filters.append(
        f"count(*) FILTER (WHERE i.status IN {OPEN} AND (i.deadline < '{today}' OR (i.deadline = '{today}' "
        f"AND i.deadline_time < '{time_now}')))"
    )
    overdue = conn.execute(f"SELECT {', '.join(filters)} FROM supervision_item i WHERE {viewer.scope_sql()}").fetchone()
    return {
        f"{m:%Y-%m}": (per_month["created_at"].get(m, 0), per_month["closed_at"].get(m, 0), overdue[i])
        for i, m in enumerate(months)
    }


def api_trend(data: dict) -> dict:
    return {m["month"]: (m["created"]["count"], m["closed"]["count"], m["overdue_at_month_end"]["count"]) for m in data["months"]}


def hand_overdue_page(conn, viewer: Viewer) -> dict:
    today, time_now, _now = local_now()
    where = (
        f"{viewer.scope_sql()} AND i.status IN {OPEN} AND i.deadline IS NOT NULL AND (i.deadline < '{today}' "
        f"OR (i.deadline = '{today}' AND i.deadline_time < '{time_now}'))"
    )
    count = conn.execute(f"SELECT count(*) FROM supervision_item i WHERE {where}").fetchone()[0]
    rows = conn.execute(
        f"""
        SELECT i.*, c.name, lu.name, o.full_name, s.title, s.kind, l.full_name
        FROM supervision_item i
        LEFT JOIN supervision_category c ON c.id = i.category_id
        LEFT JOIN accounts_unit lu ON lu.id = i.lead_unit_id
        LEFT JOIN accounts_user o ON o.id = i.owner_id
        JOIN supervision_instruction s ON s.id = i.instruction_id
        LEFT JOIN accounts_user l ON l.id = s.issuing_leader_id
        WHERE {where} ORDER BY i.deadline LIMIT 20
        """
    ).fetchall()
    ids = [r[0] for r in rows]
    conn.execute(
        "SELECT a.*, u.name, k.full_name FROM supervision_itemassignment a JOIN accounts_unit u ON u.id = a.unit_id "
        "LEFT JOIN accounts_user k ON k.id = a.acknowledged_by_id WHERE a.item_id = ANY(%s) ORDER BY a.role, a.id",
        [ids],
    ).fetchall()
    deadline_col = [d.name for d in conn.execute("SELECT * FROM supervision_item LIMIT 0").description].index("deadline")
    return {"count": count, "deadlines": [r[deadline_col].isoformat() for r in rows]}


def api_overdue_page(data: dict) -> dict:
    # Ties on the deadline may come back in any order, so the page is compared by its deadlines.
    return {"count": data["count"], "deadlines": [row["deadline"] for row in data["results"]]}


HAND = {"summary": hand_summary, "units": hand_units, "trend": hand_trend, "overdue page": hand_overdue_page}
FROM_API = {"summary": api_summary, "units": api_units, "trend": api_trend, "overdue page": api_overdue_page}


# ---------------------------------------------------------------------------------------------
# Timing


def time_pair(
    session: requests.Session, url: str, token: str, conn, fn, viewer: Viewer, repeat: int, warmup: int
) -> tuple[list[float], dict, list[float], dict]:
    """The API call and its hand SQL, alternately: on a shared machine the speed drifts by tens of
    per cent within minutes, and timing one side's calls in a block, then the other's, would put
    that drift into the ratio."""
    headers = {"Authorization": f"Token {token}"}

    def api() -> dict:
        response = session.get(url, headers=headers, timeout=120)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} → {response.status_code}: {response.text[:300]}")
        return response.json()

    for _ in range(warmup):
        api()
        fn(conn, viewer)
    api_times, hand_times = [], []
    api_data = hand_data = None
    for _ in range(repeat):
        started = time.perf_counter()
        api_data = api()
        api_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        hand_data = fn(conn, viewer)
        hand_times.append(time.perf_counter() - started)
    return api_times, api_data, hand_times, hand_data


def diff(api: dict, hand: dict) -> list[str]:
    problems = []
    for key in sorted(set(api) | set(hand), key=str):
        if api.get(key) != hand.get(key):
            problems.append(f"{key}: API {api.get(key)!r} ≠ hand SQL {hand.get(key)!r}")
    return problems


def measure(db: str, *, repeat: int, warmup: int, workers: int, endpoints: list[str], stats_cache: int = 0) -> list[dict]:
    # The same session settings as the app's connections (config/settings/base.py: no JIT).
    conn = psycopg.connect(pg_url(db), autocommit=True, options="-c jit=off")
    items = conn.execute("SELECT count(*) FROM supervision_item").fetchone()[0]
    people = viewers(conn)
    port = free_port()
    results = []
    server = start_gunicorn(db, workers, port, stats_cache)
    try:
        session = requests.Session()
        for viewer in people:
            visible = conn.execute(f"SELECT count(*) FROM supervision_item i WHERE {viewer.scope_sql()}").fetchone()[0]
            for name in endpoints:
                path = ENDPOINTS[name]
                api_times, api_data, hand_times, hand_data = time_pair(
                    session, f"http://127.0.0.1:{port}{path}", viewer.token, conn, HAND[name], viewer, repeat, warmup
                )
                problems = diff(FROM_API[name](api_data), hand_data)
                results.append(
                    {
                        "db": db,
                        "items": items,
                        "viewer": viewer.label,
                        "who": viewer.username,
                        "unit": viewer.unit_name,
                        "visible": visible,
                        "endpoint": name,
                        "api": api_times,
                        "hand": hand_times,
                        "problems": problems,
                    }
                )
                line = (
                    f"  {items:>9,} {viewer.label:<17} {name:<13} API p50 {ms(statistics.median(api_times)):>7} "
                    f"p95 {ms(p95(api_times)):>7}   hand p50 {ms(statistics.median(hand_times)):>7} p95 {ms(p95(hand_times)):>7}"
                )
                print(line + ("   MISMATCH" if problems else "   same numbers"), flush=True)
                for problem in problems[:10]:
                    print(f"    !!! MISMATCH {name} ({viewer.label}): {problem}", flush=True)
    finally:
        stop(server)
        conn.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="duban_bench_100k,duban_bench_1m")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--json", help="also write the raw timings here")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help="a comma-separated subset of: " + ", ".join(ENDPOINTS))
    parser.add_argument(
        "--stats-cache",
        type=int,
        default=0,
        help="seconds figures are shared through Redis (supervision/stats_cache.py); 0 (default) measures the cold cost",
    )
    args = parser.parse_args()
    endpoints = [name.strip() for name in args.endpoints.split(",")]
    if unknown := set(endpoints) - set(ENDPOINTS):
        parser.error(f"unknown endpoints: {', '.join(sorted(unknown))}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the server is stopped on the way out

    print(
        f"gunicorn {args.workers} sync workers, config.settings.production; {args.repeat} timed calls after {args.warmup} "
        f"warm-up calls; stats cache: {f'{args.stats_cache} s (Redis)' if args.stats_cache else 'off (cold)'}; "
        f"load average before: {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results = []
    for db in args.databases.split(","):
        results.extend(
            measure(
                db.strip(),
                repeat=args.repeat,
                warmup=args.warmup,
                workers=args.workers,
                endpoints=endpoints,
                stats_cache=args.stats_cache,
            )
        )

    print()
    viewers_seen = []
    for r in results:
        if (r["viewer"], r["who"], r["unit"]) not in viewers_seen:
            viewers_seen.append((r["viewer"], r["who"], r["unit"]))
    for label, who, unit in viewers_seen:
        print(f"viewer {label}: {who}" + (f" ({unit})" if unit else " (whole ledger, clearance 机密)"))
    print()
    print(
        f"{'items':>10} {'visible':>9} {'viewer':<17} {'endpoint':<13} {'API p50':>8} {'API p95':>8} {'SQL p50':>8} "
        f"{'SQL p95':>8} {'p50 ×':>6} {'p95 ×':>6}  numbers"
    )
    for r in results:
        a50, a95, h50, h95 = statistics.median(r["api"]), p95(r["api"]), statistics.median(r["hand"]), p95(r["hand"])
        print(
            f"{r['items']:>10,} {r['visible']:>9,} {r['viewer']:<17} {r['endpoint']:<13} {ms(a50):>8} {ms(a95):>8} {ms(h50):>8} "
            f"{ms(h95):>8} {a50 / h50:>6.2f} {a95 / h95:>6.2f}  {'MISMATCH' if r['problems'] else 'same'}"
        )

    sizes = sorted({r["items"] for r in results})
    if len(sizes) > 1:
        small, big = sizes[0], sizes[-1]
        print()
        print(f"growth {small:,} → {big:,} items (ledger ×{big / small:.0f}), p50:")
        for r in results:
            if r["items"] != big:
                continue
            base = next(
                x for x in results if x["items"] == small and x["viewer"] == r["viewer"] and x["endpoint"] == r["endpoint"]
            )
            print(
                f"  {r['viewer']:<17} {r['endpoint']:<13} API ×{statistics.median(r['api']) / statistics.median(base['api']):5.2f}"
                f"   hand SQL ×{statistics.median(r['hand']) / statistics.median(base['hand']):5.2f}"
            )

    big = max(sizes)
    print()
    print(f"targets at {big:,} items, leader:")
    for r in results:
        if r["items"] != big or r["viewer"] != "leader":
            continue
        a95 = p95(r["api"])
        ratio = statistics.median(r["api"]) / statistics.median(r["hand"])
        limit = TARGETS_MS[r["endpoint"]]
        print(
            f"  {r['endpoint']:<13} p95 {ms(a95):>7} ms < {limit} ms: {'PASS' if ms(a95) < limit else 'FAIL'};"
            f"  p50 ×{ratio:.2f} of hand SQL ≤ 2: {'PASS' if ratio <= 2 else 'FAIL'}"
        )
    mismatches = [r for r in results if r["problems"]]
    print()
    if mismatches:
        print("!!! MISMATCHES between the API and the hand SQL:")
        for r in mismatches:
            print(
                f"!!!   {r['items']:,} {r['viewer']} {r['endpoint']}: {len(r['problems'])} difference(s), e.g. {r['problems'][0]}"
            )
    else:
        print("every figure the API returned equals the hand SQL's")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
