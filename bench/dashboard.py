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

    .venv/bin/python bench/dashboard.py --databases duban_bench_100k --matrix [--repeat 5] [--workers 2]

`--matrix` (issue 14: p95 < 300 ms for summary, ranking and trend at any filter) times summary, units
and trend COLD (no shared figures) for both viewers over 22 combinations of the items-list filters and
the period: none; a county's subtree (the county on most items); a department of it; an issuing leader
(behind most items); an instruction kind and a category (the most common); an urgency (the most
common but normal); the current and the previous quarter; a custom period (the 10th five months back
to the 20th of last month); and combinations of 2–4 of these. The values are picked from the ledger
at start. Each combination: `--repeat` calls (default 5) after `--warmup` (default 1), each API call
followed by the hand SQL with the same filters (`Combo.where`; the unit filter also narrows the
ranking's rows to its subtree) and period (due by the original deadline, due_current, on time and the
closed-in-period and close-time figures within the period instead of up to today; the trend's months
from the period's). Prints one table per database and, per endpoint, how many (combination, viewer)
pairs meet p95 < 300 ms, the worst and the median p95.
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
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

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
            # The production settings' hooks (each worker reads the figure columns as it starts).
            "--config",
            str(ROOT / "config/gunicorn.py"),
            "--access-logfile",
            "/dev/null",
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
            # The other workers may still be reading the figure columns (seconds at 1M items): let
            # every worker be up before timing, as in a deployment that has been running.
            time.sleep(3 + 2 * workers)
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


@dataclass(frozen=True)
class Combo:
    """A combination of the items-list filters and the period, as the API gets them (`params`) and as
    the hand SQL applies them: `where` on the items (alias i), `subtree` the unit filter's path (the
    unit ranking lists only that subtree's units), and the period: `start`/`end` given (`explicit`),
    or none (as of today: no start, end = today)."""

    label: str
    params: tuple[tuple[str, str], ...] = ()
    where: str = ""
    subtree: str | None = None
    start: datetime.date | None = None
    end: datetime.date | None = None
    explicit: bool = False

    def period(self, today: datetime.date) -> tuple[datetime.date | None, datetime.date | None]:
        return (self.start, self.end) if self.explicit else (None, today)


NO_FILTER = Combo("none")


def scoped(viewer: Viewer, combo: Combo | None, alias: str = "i") -> str:
    """The viewer's items narrowed by the combination's filters (the request's ItemFilterSet)."""
    where = viewer.scope_sql(alias)
    return f"{where} AND {combo.where}" if combo and combo.where else where


def local_midnight(day: datetime.date) -> str:
    return datetime.datetime.combine(day, datetime.time.min, TZ).isoformat()


def date_in(column: str, start: datetime.date | None, end: datetime.date | None) -> str:
    """A date column within [start, end] (scope.date_range_q); no bound: not null."""
    parts = [f"{column} >= '{start}'"] if start else []
    if end:
        parts.append(f"{column} <= '{end}'")
    return " AND ".join(parts) if parts else f"{column} IS NOT NULL"


def local_date_in(column: str, start: datetime.date | None, end: datetime.date | None) -> str:
    """A timestamp column read as a local date within [start, end]."""
    parts = [f"{column} >= '{local_midnight(start)}'"] if start else []
    if end:
        parts.append(f"{column} < '{local_midnight(end + datetime.timedelta(days=1))}'")
    return " AND ".join(parts) if parts else f"{column} IS NOT NULL"


def light_sql(today: datetime.date, time_now: datetime.time) -> str:
    return (
        f"CASE WHEN i.status IN {OPEN} AND i.deadline IS NOT NULL THEN CASE "
        f"WHEN i.deadline < '{today}' OR (i.deadline = '{today}' AND i.deadline_time < '{time_now}') THEN 'overdue' "
        f"WHEN i.deadline = '{today}' THEN 'red' WHEN i.warning_date <= '{today}' THEN 'yellow' ELSE 'green' END ELSE 'none' END"
    )


def hand_summary(conn, viewer: Viewer, combo: Combo | None = None) -> dict:
    today, time_now, _now = local_now()
    start, end = (combo or NO_FILTER).period(today)
    # Due by the ORIGINAL deadline within the period; the current-deadline figures beside it (issue 14).
    due = f"i.status IN {COUNTED} AND {date_in('i.original_deadline', start, end)}"
    due_current = f"i.status IN {COUNTED} AND {date_in('i.deadline', start, end)}"
    closed_on = "(i.closed_at AT TIME ZONE 'Asia/Shanghai')::date"
    # Closed in the period: the current closure, or one a failed return visit undid later.
    closed_in_period = local_date_in("i.closed_at", start, end)
    undone = (
        "EXISTS (SELECT 1 FROM supervision_returnvisit v WHERE v.item_id = i.id AND v.result = 'failed' "
        f"AND {local_date_in('v.reopened_closure_at', start, end)})"
    )
    rows = conn.execute(
        f"""
        SELECT i.status, {light_sql(today, time_now)} AS light, count(*),
               count(*) FILTER (WHERE {due}),
               count(*) FILTER (WHERE {due} AND i.status IN {DONE}),
               count(*) FILTER (WHERE {due} AND i.status IN {DONE} AND {closed_on} <= i.original_deadline),
               count(*) FILTER (WHERE {due_current} AND i.status IN {DONE} AND {closed_on} <= i.deadline),
               count(*) FILTER (WHERE ({closed_in_period}) OR {undone}),
               count(*) FILTER (WHERE i.reopen_count > 0)
        FROM supervision_item i WHERE {scoped(viewer, combo)}
        GROUP BY 1, 2
        """
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
        WHERE {scoped(viewer, combo)} AND {closed_in_period} AND i.assigned_at IS NOT NULL
        """,
        {"today": max(today, end or today)},
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


def hand_units(conn, viewer: Viewer, combo: Combo | None = None) -> dict:
    today, time_now, _now = local_now()
    start, end = (combo or NO_FILTER).period(today)
    due = f"i.status IN {COUNTED} AND {date_in('i.original_deadline', start, end)}"
    due_current = f"i.status IN {COUNTED} AND {date_in('i.deadline', start, end)}"
    # With a unit filter the ranking lists that unit's subtree only.
    subtree = (
        f" AND a.unit_id IN (SELECT su.id FROM accounts_unit su WHERE starts_with(su.path, '{combo.subtree}'))"
        if combo and combo.subtree
        else ""
    )
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
        WHERE {scoped(viewer, combo)}{subtree}
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


def combo_trend_months(combo: Combo | None, today: datetime.date) -> list[datetime.date]:
    """The months the trend covers (stats/trend.py): the period's months when it has a start,
    otherwise 12 months up to the period's end (or this month)."""
    if combo is None or not combo.explicit:
        return trend_months(today)
    if combo.start is None:
        return trend_months(combo.end)
    months, month = [], combo.start.replace(day=1)
    while month <= (combo.end or today).replace(day=1):
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def hand_trend(conn, viewer: Viewer, combo: Combo | None = None) -> dict:
    today, time_now, _now = local_now()
    months = combo_trend_months(combo, today)
    this_month = today.replace(day=1)
    scope = scoped(viewer, combo)
    start = datetime.datetime.combine(months[0], datetime.time.min, TZ)
    end = datetime.datetime.combine((months[-1] + datetime.timedelta(days=32)).replace(day=1), datetime.time.min, TZ)
    per_month = {}
    per_month["created_at"] = dict(
        conn.execute(
            "SELECT date_trunc('month', i.created_at AT TIME ZONE 'Asia/Shanghai')::date, count(*) FROM supervision_item i "
            f"WHERE {scope} AND i.created_at >= %s AND i.created_at < %s GROUP BY 1",
            [start, end],
        ).fetchall()
    )
    # Closed in a month: items closed at least once in it, a closure later undone included.
    per_month["closed_at"] = dict(
        conn.execute(
            f"""
            SELECT m, count(DISTINCT id) FROM (
                SELECT i.id, date_trunc('month', i.closed_at AT TIME ZONE 'Asia/Shanghai')::date AS m
                FROM supervision_item i WHERE {scope} AND i.closed_at >= %(s)s AND i.closed_at < %(e)s
                UNION ALL
                SELECT i.id, date_trunc('month', v.reopened_closure_at AT TIME ZONE 'Asia/Shanghai')::date
                FROM supervision_returnvisit v JOIN supervision_item i ON i.id = v.item_id
                WHERE {scope} AND v.result = 'failed' AND v.reopened_closure_at >= %(s)s AND v.reopened_closure_at < %(e)s
            ) closures GROUP BY m
            """,
            {"s": start, "e": end},
        ).fetchall()
    )
    filters = []
    for month in (m for m in months if m < this_month):
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
    if this_month in months:  # the current month: overdue now (the light rule)
        filters.append(
            f"count(*) FILTER (WHERE i.status IN {OPEN} AND (i.deadline < '{today}' OR (i.deadline = '{today}' "
            f"AND i.deadline_time < '{time_now}')))"
        )
    overdue = conn.execute(f"SELECT {', '.join(filters)} FROM supervision_item i WHERE {scope}").fetchone() if filters else ()
    # Later months have no overdue figure yet (null).
    overdue = list(overdue) + [None] * (len(months) - len(filters))
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


# ---------------------------------------------------------------------------------------------
# The filter matrix (issue 14: p95 < 300 ms for summary, ranking and trend at any filter)


MATRIX_ENDPOINTS = ("summary", "units", "trend")
MATRIX_TARGET_MS = 300


def quarter_of(day: datetime.date) -> tuple[str, datetime.date, datetime.date]:
    q = (day.month - 1) // 3 + 1
    first = datetime.date(day.year, 3 * q - 2, 1)
    last = (datetime.date(day.year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)) - datetime.timedelta(days=1)
    return f"{day.year}Q{q}", first, last


def matrix_combos(conn) -> tuple[list[Combo], list[str]]:
    """The filter combinations, with values picked from the ledger so that they select real rows;
    and a description of the values picked."""
    county = conn.execute(
        """
        SELECT c.id, c.name, c.path, t.n FROM (
            SELECT left(u.path, 14) AS p, count(DISTINCT a.item_id) AS n
            FROM supervision_itemassignment a JOIN accounts_unit u ON u.id = a.unit_id
            WHERE length(u.path) >= 14 GROUP BY 1
        ) t JOIN accounts_unit c ON c.path = t.p
        WHERE c.kind = 'township' ORDER BY t.n DESC, c.id LIMIT 1
        """
    ).fetchone()
    department = conn.execute(
        "SELECT u.id, u.name, u.path, count(*) FROM supervision_itemassignment a JOIN accounts_unit u ON u.id = a.unit_id "
        "WHERE u.path LIKE %s AND length(u.path) = 21 GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1 LIMIT 1",
        [county[2] + "%"],
    ).fetchone()
    leader = conn.execute(
        "SELECT s.issuing_leader_id, coalesce(nullif(u.full_name, ''), u.username), count(*) FROM supervision_item i "
        "JOIN supervision_instruction s ON s.id = i.instruction_id JOIN accounts_user u ON u.id = s.issuing_leader_id "
        "GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 1"
    ).fetchone()
    kind = conn.execute(
        "SELECT s.kind, count(*) FROM supervision_item i JOIN supervision_instruction s ON s.id = i.instruction_id "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()
    category = conn.execute(
        "SELECT c.id, c.name, count(*) FROM supervision_item i JOIN supervision_category c ON c.id = i.category_id "
        "GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 1"
    ).fetchone()
    # The most common urgency but the ordinary one: a filter that narrows.
    urgency = conn.execute(
        "SELECT urgency, count(*) FROM supervision_item WHERE urgency <> 'normal' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()
    today = local_now()[0]
    current_q, current_first, current_last = quarter_of(today)
    past_q, past_first, past_last = quarter_of(current_first - datetime.timedelta(days=1))
    # A custom period whose ends are not month ends: the 10th five months back to the 20th of last month.
    month = today.replace(day=1)
    for _ in range(5):
        month = (month - datetime.timedelta(days=1)).replace(day=1)
    custom_start = month.replace(day=10)
    custom_end = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=20)

    def unit_filter(unit) -> dict:
        return {
            "params": (("unit", str(unit[0])),),
            "where": (
                "EXISTS (SELECT 1 FROM supervision_itemassignment fa JOIN accounts_unit fu ON fu.id = fa.unit_id "
                f"WHERE fa.item_id = i.id AND starts_with(fu.path, '{unit[2]}'))"
            ),
            "subtree": unit[2],
        }

    def instruction(condition: str) -> str:
        return f"EXISTS (SELECT 1 FROM supervision_instruction fs WHERE fs.id = i.instruction_id AND fs.{condition})"

    def period(start, end) -> dict:
        return {"start": start, "end": end, "explicit": True}

    parts = {
        "county": unit_filter(county),
        "dept": unit_filter(department),
        "leader": {
            "params": (("issuing_leader", str(leader[0])),),
            "where": instruction(f"issuing_leader_id = {int(leader[0])}"),
        },
        "kind": {"params": (("instruction_kind", kind[0]),), "where": instruction(f"kind = '{kind[0]}'")},
        "category": {"params": (("category", str(category[0])),), "where": f"i.category_id = {int(category[0])}"},
        "urgency": {"params": (("urgency", urgency[0]),), "where": f"i.urgency = '{urgency[0]}'"},
        current_q: {"params": (("quarter", current_q),), **period(current_first, current_last)},
        past_q: {"params": (("quarter", past_q),), **period(past_first, past_last)},
        "custom period": {
            "params": (("period_start", custom_start.isoformat()), ("period_end", custom_end.isoformat())),
            **period(custom_start, custom_end),
        },
    }
    plan = [
        [],
        ["county"],
        ["dept"],
        ["leader"],
        ["kind"],
        ["category"],
        ["urgency"],
        [current_q],
        [past_q],
        ["custom period"],
        ["county", "category"],
        ["leader", current_q],
        ["kind", "urgency", past_q],
        ["county", "leader", "category", past_q],
        ["dept", current_q],
        ["category", "custom period"],
        ["kind", "urgency"],
        ["county", "kind"],
        ["leader", "urgency", "custom period"],
        ["county", "urgency", current_q],
        ["leader", "category"],
        ["dept", "kind", "custom period"],
    ]
    combos = []
    for names in plan:
        fields: dict = {"params": (), "where": [], "subtree": None}
        for name in names:
            part = parts[name]
            fields["params"] += part["params"]
            if part.get("where"):
                fields["where"].append(part["where"])
            for key in ("subtree", "start", "end", "explicit"):
                if key in part:
                    fields[key] = part[key]
        fields["where"] = " AND ".join(fields["where"])
        combos.append(Combo("+".join(names) or "none", **fields))
    described = [
        f"county = {county[1]} (unit={county[0]}, {county[3]:,} items in its subtree, the most of any county)",
        f"dept = {department[1]} (unit={department[0]}, the department of that county on most items, {department[3]:,})",
        f"leader = {leader[1]} (issuing_leader={leader[0]}, behind the most items, {leader[2]:,})",
        f"kind = {kind[0]} (instruction_kind, the most common, {kind[1]:,} items)",
        f"category = {category[1]} (category={category[0]}, the most common, {category[2]:,} items)",
        f"urgency = {urgency[0]} (the most common but normal, {urgency[1]:,} items)",
        f"{current_q} = the current quarter ({current_first} to {current_last}); {past_q} = the previous one",
        f"custom period = period_start={custom_start}&period_end={custom_end}",
    ]
    return combos, described


def measure_matrix(db: str, *, repeat: int, warmup: int, workers: int, endpoints: list[str]) -> list[dict]:
    """Every combination × viewer × endpoint, cold (no shared figures), each API call followed by its
    hand SQL with the same filters and period."""
    conn = psycopg.connect(pg_url(db), autocommit=True, options="-c jit=off")
    items = conn.execute("SELECT count(*) FROM supervision_item").fetchone()[0]
    people = viewers(conn)
    combos, described = matrix_combos(conn)
    print(f"{db}: {items:,} items; {len(combos)} filter combinations:", flush=True)
    for line in described:
        print(f"  {line}", flush=True)
    port = free_port()
    results = []
    server = start_gunicorn(db, workers, port, stats_cache=0)
    try:
        session = requests.Session()
        for combo in combos:
            for viewer in people:
                selected = conn.execute(f"SELECT count(*) FROM supervision_item i WHERE {scoped(viewer, combo)}").fetchone()[0]
                for name in endpoints:
                    query = urlencode(combo.params)
                    url = f"http://127.0.0.1:{port}{ENDPOINTS[name]}" + (f"?{query}" if query else "")
                    api_times, api_data, hand_times, hand_data = time_pair(
                        session, url, viewer.token, conn, partial(HAND[name], combo=combo), viewer, repeat, warmup
                    )
                    problems = diff(FROM_API[name](api_data), hand_data)
                    result = {
                        "db": db,
                        "items": items,
                        "combo": combo.label,
                        "query": query,
                        "viewer": viewer.label,
                        "who": viewer.username,
                        "unit": viewer.unit_name,
                        "selected": selected,
                        "endpoint": name,
                        "api": api_times,
                        "hand": hand_times,
                        "problems": problems,
                    }
                    results.append(result)
                    a50, h50 = statistics.median(api_times), statistics.median(hand_times)
                    print(
                        f"  {combo.label:<34} {viewer.label:<17} {name:<8} API p50 {ms(a50):>7} p95 {ms(p95(api_times)):>7}"
                        f"   hand p50 {ms(h50):>7} p95 {ms(p95(hand_times)):>7}   "
                        + ("MISMATCH" if problems else "same numbers"),
                        flush=True,
                    )
                    for problem in problems[:10]:
                        print(f"    !!! MISMATCH {name} ({viewer.label}, {combo.label}: ?{query}): {problem}", flush=True)
    finally:
        stop(server)
        conn.close()
    return results


def report_matrix(results: list[dict], endpoints: list[str]) -> None:
    for db in dict.fromkeys(r["db"] for r in results):
        rows = [r for r in results if r["db"] == db]
        print()
        print(f"{db}: {rows[0]['items']:,} items, cold (no shared figures), ms")
        print(
            f"{'filters':<34} {'viewer':<17} {'selected':>8} {'endpoint':<8} {'API p50':>8} {'API p95':>8} "
            f"{'SQL p50':>8} {'SQL p95':>8} {'p50 ×':>6}  numbers"
        )
        for r in rows:
            a50, h50 = statistics.median(r["api"]), statistics.median(r["hand"])
            print(
                f"{r['combo']:<34} {r['viewer']:<17} {r['selected']:>8,} {r['endpoint']:<8} {ms(a50):>8} {ms(p95(r['api'])):>8} "
                f"{ms(h50):>8} {ms(p95(r['hand'])):>8} {a50 / h50:>6.2f}  {'MISMATCH' if r['problems'] else 'same'}"
            )
        print()
        for name in endpoints:
            of = [r for r in rows if r["endpoint"] == name]
            if not of:
                continue
            p95s = [ms(p95(r["api"])) for r in of]
            worst = max(of, key=lambda r: p95(r["api"]))
            passing = sum(1 for v in p95s if v < MATRIX_TARGET_MS)
            ratios = [statistics.median(r["api"]) / statistics.median(r["hand"]) for r in of]
            print(
                f"  {name:<8} p95 < {MATRIX_TARGET_MS} ms in {passing} of {len(of)} (filters, viewer); "
                f"worst p95 {ms(p95(worst['api']))} ms ({worst['combo']}, {worst['viewer']}); "
                f"median p95 {statistics.median(p95s):.1f} ms; median p50 ratio API ÷ SQL ×{statistics.median(ratios):.2f}"
                + (f"; {sum(1 for r in of if r['problems'])} MISMATCH" if any(r["problems"] for r in of) else "")
            )
    mismatches = [r for r in results if r["problems"]]
    print()
    if mismatches:
        print("!!! MISMATCHES between the API and the hand SQL:")
        for r in mismatches:
            print(
                f"!!!   {r['db']} {r['viewer']} {r['endpoint']} ?{r['query']}: {len(r['problems'])} difference(s), "
                f"e.g. {r['problems'][0]}"
            )
    else:
        print("every figure the API returned equals the hand SQL's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="duban_bench_100k,duban_bench_1m")
    parser.add_argument("--repeat", type=int, help="timed calls per figure (default 30; 5 with --matrix)")
    parser.add_argument("--warmup", type=int, help="untimed calls first (default 3; 1 with --matrix)")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--json", help="also write the raw timings here")
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="summary, units and trend, cold, over a matrix of filter and period combinations, for both viewers",
    )
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help="a comma-separated subset of: " + ", ".join(ENDPOINTS))
    parser.add_argument(
        "--stats-cache",
        type=int,
        default=0,
        help="seconds figures are shared through Redis (supervision/stats_cache.py); 0 (default) measures the cold cost",
    )
    args = parser.parse_args()
    if args.repeat is None:
        args.repeat = 5 if args.matrix else 30
    if args.warmup is None:
        args.warmup = 1 if args.matrix else 3
    if args.matrix and args.endpoints == ",".join(ENDPOINTS):
        args.endpoints = ",".join(MATRIX_ENDPOINTS)
    endpoints = [name.strip() for name in args.endpoints.split(",")]
    if unknown := set(endpoints) - set(MATRIX_ENDPOINTS if args.matrix else ENDPOINTS):
        parser.error(f"unknown endpoints{' for --matrix' if args.matrix else ''}: {', '.join(sorted(unknown))}")
    if args.matrix and args.stats_cache:
        parser.error("--matrix measures the cold figures: no --stats-cache")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the server is stopped on the way out

    if args.matrix:
        started = time.time()
        print(
            f"filter matrix: gunicorn {args.workers} sync workers, config.settings.production; {args.repeat} timed calls "
            f"after {args.warmup} warm-up call(s); stats cache: off (cold); load average before: "
            + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
            flush=True,
        )
        results = []
        for db in args.databases.split(","):
            results.extend(
                measure_matrix(db.strip(), repeat=args.repeat, warmup=args.warmup, workers=args.workers, endpoints=endpoints)
            )
        report_matrix(results, endpoints)
        print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; run time {time.time() - started:.0f} s")
        if args.json:
            Path(args.json).write_text(json.dumps(results, default=str))
        return

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
