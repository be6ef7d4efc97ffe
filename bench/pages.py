"""Benchmark: the 工作台 (/) and the first page of the 台账 (/items/) through the real HTTP stack,
next to hand-written SQL in the same run (issue 13).

    .venv/bin/python bench/generate_ledger.py --database postgres://postgres@127.0.0.1:5432/duban_bench_1m --items 1000000
    .venv/bin/python bench/generate_activity.py --database postgres://postgres@127.0.0.1:5432/duban_bench_1m
    .venv/bin/python bench/pages.py [--database duban_bench_1m] [--repeat 30]

(generate_activity.py adds the reports, comments, messages and audit events a running ledger holds;
without them the pages read empty tables.)

It starts the app under gunicorn (config.settings.production, persistent DB connections, cookies
allowed over plain HTTP on the loopback), signs two people in through the login form — a township
handler (承办人 of the township with the most items: unit scope) and a supervision office staff
member (督查员, clearance 机密: the whole ledger, drafts included) — and times, over `--repeat` calls
after `--warmup`, with one keep-alive session each:

- GET /          the workbench: every to-do list of the role (rows and count) and the unread count
- GET /items/    the ledger's first page (20 rows, newest first) and its total

Each page call is followed by the hand-written SQL of the same reads (psycopg, one connection):
the session, the user, their roles and unit, the header's unread count; per to-do list a LIMIT
query for the rows shown and a count capped as the page's (`SELECT count(*) FROM (… LIMIT 1001)`:
exact up to 1,000, "more than 1,000" beyond; supervision/selectors/counting.py), and for a unit
user whether they sign for the unit; for the ledger page the filter form's lists (units, people,
categories, leaders), its capped count, the 20 rows with lead unit, owner and light. The ratio shows what the pages cost over the bare reads. Targets: p95 < 150 ms and p50 ≤ 2× the hand SQL. A benchmark prints; it does not
assert.

`--unread N` gives each person N unread messages while they are measured (the generated ledger has
none, and every page's header counts them; bench/unread_count.py times that count alone).

Each person's block ends with the floor: the lightest signed-in page (/inbox/settings/), what any page
of this stack (HTTP, gunicorn, session, user, roles, the header) costs before its own work."""

from __future__ import annotations

import argparse
import datetime
import os
import re
import statistics
import sys
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard import OPEN, free_port, light_sql, local_now, ms, p95, pg_url, start_gunicorn, stop  # noqa: E402

WORKING = "('assigned','acknowledged','in_progress')"
ROWS = 8  # supervision.selectors.WORKBENCH_ROWS
CAP = 1000  # supervision.selectors.COUNT_CAP
PAGE = 20
FLOOR_PATH = "/inbox/settings/"
PASSWORD = "duban2026"  # generate_ledger.py's
# 合并督办: an item linked to a lead owes nothing of its own (selectors/workbench.py).
NOT_LINKED = "NOT EXISTS (SELECT 1 FROM supervision_itemlink l WHERE l.item_id = i.id AND l.unlinked_at IS NULL)"


class Person:
    def __init__(self, label, user_id, username, clearance, unit_id, unit_name, office):
        self.label, self.user_id, self.username, self.clearance = label, user_id, username, clearance
        self.unit_id, self.unit_name, self.office = unit_id, unit_name, office
        self.session_key = ""  # after sign-in

    def scope(self, alias: str = "i") -> str:
        """The visibility rule (ItemQuerySet.visible_to) for office staff or a unit user, by hand."""
        sql = f"{alias}.classification <= {int(self.clearance)}"
        if self.office:
            return sql
        return (
            f"{sql} AND {alias}.status NOT IN ('draft', 'awaiting_approval') AND EXISTS (SELECT 1 FROM supervision_itemassignment va "
            f"WHERE va.item_id = {alias}.id AND va.unit_id = {int(self.unit_id)})"
        )


def people(conn) -> list[Person]:
    """A handler of the median township (by items), one of the largest township (a district-sized
    unit: the worst case), and the first office staff member with the highest clearance."""
    townships = conn.execute(
        "SELECT un.id, un.name FROM accounts_unit un WHERE un.kind = 'township' "
        "ORDER BY (SELECT count(*) FROM supervision_itemassignment a WHERE a.unit_id = un.id), un.id"
    ).fetchall()
    found = []
    for label, (unit_id, unit_name) in (
        ("township handler", townships[len(townships) // 2]),
        ("largest township", townships[-1]),
    ):
        user = conn.execute(
            "SELECT u.id, u.username, u.clearance FROM accounts_user u JOIN accounts_roleassignment r ON r.user_id = u.id "
            "AND r.role = 'unit_handler' WHERE u.unit_id = %s ORDER BY u.id LIMIT 1",
            [unit_id],
        ).fetchone()
        found.append(Person(label, *user, unit_id, unit_name, office=False))
    office = conn.execute(
        "SELECT u.id, u.username, u.clearance FROM accounts_user u JOIN accounts_roleassignment r ON r.user_id = u.id "
        "WHERE r.role = 'office_staff' ORDER BY u.clearance DESC, u.id LIMIT 1"
    ).fetchone()
    return [*found, Person("office staff", office[0], office[1], office[2], None, None, office=True)]


# ---------------------------------------------------------------------------------------------
# Hand-written SQL


def capped_count(conn, tables: str, where: str) -> tuple[int, bool]:
    """(n, over): exactly n, or more than n = CAP when over — the pages' capped count."""
    n = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {tables} WHERE {where} LIMIT {CAP + 1}) s").fetchone()[0]
    return min(n, CAP), n > CAP


def rows_and_count(conn, select: str, where: str, order: str, tables: str = "supervision_item i") -> tuple[int, bool]:
    """A to-do list's first rows and capped count in one query, as the page reads it
    (selectors/counting.first_rows_and_capped_count): the matches numbered in the list's order, capped,
    counted, the first few kept; with the records the page joins (`tables`)."""
    rows = conn.execute(
        f"SELECT * FROM (SELECT capped.*, count(*) OVER () AS n FROM (SELECT {select}, row_number() OVER (ORDER BY {order}) "
        f"AS rn FROM {tables} WHERE {where} ORDER BY {order} LIMIT {CAP + 1}) capped) counted WHERE rn <= {ROWS} ORDER BY rn"
    ).fetchall()
    n = rows[0][-1] if rows else 0
    return min(n, CAP), n > CAP


def cycle_periods(today: datetime.date) -> dict[str, tuple[datetime.date, datetime.date]]:
    """Each reporting cycle's current period, first and last day (selectors/workbench.py)."""
    monday = today - datetime.timedelta(days=today.weekday())
    biweekly = monday - datetime.timedelta(days=7 * ((today.isocalendar().week + 1) % 2))
    month = today.replace(day=1)
    quarter = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)

    def last_day(first: datetime.date, days: int) -> datetime.date:
        return (first + datetime.timedelta(days=days)).replace(day=1) - datetime.timedelta(days=1)

    return {
        "weekly": (monday, monday + datetime.timedelta(days=6)),
        "biweekly": (biweekly, biweekly + datetime.timedelta(days=13)),
        "monthly": (month, last_day(month, 32)),
        "quarterly": (quarter, last_day(quarter, 95)),
    }


def hand_request(conn, p: Person) -> None:
    """What every signed-in page reads before its own: the session, the user and their roles, and
    the header's unit and unread count (the count is the caller's: its visibility rule)."""
    conn.execute(
        "SELECT session_data FROM django_session WHERE session_key = %s AND expire_date > now()", [p.session_key]
    ).fetchone()
    conn.execute(f"SELECT * FROM accounts_user WHERE id = {int(p.user_id)}").fetchone()
    conn.execute(f"SELECT id, role FROM accounts_roleassignment WHERE user_id = {int(p.user_id)}").fetchall()
    if p.unit_id:
        conn.execute(f"SELECT * FROM accounts_unit WHERE id = {int(p.unit_id)}").fetchone()


def hand_unread(conn, p: Person) -> None:
    conn.execute(
        f"SELECT count(*) FROM tasks_notification n WHERE n.recipient_id = {int(p.user_id)} AND n.read_at IS NULL "
        f"AND (n.item_id IS NULL OR EXISTS (SELECT 1 FROM supervision_item i WHERE i.id = n.item_id AND {p.scope()}))"
    ).fetchone()


def hand_comments(conn, p: Person) -> tuple[int, bool]:
    """批示待阅: comments by others on an item or instruction the person may see, not yet marked read.

    Office staff see nearly every comment: each is tested on its own row, newest first along the
    index, until the cap. A unit gathers the comments of its own items and of their instructions (its
    items read once). The rows shown are joined to their item, instruction and author after the
    numbering, as the page reads them (supervision/querysets.comments_visible_to,
    selectors/counting.first_rows_and_capped_count)."""
    me, k = int(p.user_id), int(p.clearance)
    unread = f"c.author_id <> {me} AND NOT EXISTS (SELECT 1 FROM supervision_commentread r WHERE r.comment_id = c.id AND r.user_id = {me})"
    if p.office:
        mine = ""
        visible = (
            f"((SELECT 1 FROM supervision_item iv WHERE iv.id = c.item_id AND iv.classification <= {k}) IS NOT NULL "
            f"OR (SELECT 1 FROM supervision_instruction w WHERE w.id = c.instruction_id AND w.classification <= {k}) IS NOT NULL)"
        )
    else:
        mine = f"WITH mine AS (SELECT i.id, i.instruction_id FROM supervision_item i WHERE {p.scope()}) "
        visible = (
            "c.id IN (SELECT c2.id FROM supervision_leadercomment c2 JOIN mine ON mine.id = c2.item_id UNION ALL "
            "SELECT c3.id FROM supervision_leadercomment c3 WHERE c3.instruction_id IN (SELECT mine.instruction_id "
            f"FROM mine JOIN supervision_instruction w ON w.id = mine.instruction_id AND w.classification <= {k}))"
        )
    rows = conn.execute(
        f"""{mine}SELECT n.last, n.id, n.text, n.created_at, ci.code, ci.title, w.title, w.document_number, au.full_name
        FROM (SELECT * FROM (SELECT capped.*, max(rn) OVER () AS last FROM (
                SELECT c.id, c.text, c.created_at, c.item_id, c.instruction_id, c.author_id,
                       row_number() OVER (ORDER BY c.created_at DESC, c.id DESC) AS rn
                FROM supervision_leadercomment c WHERE {visible} AND {unread}
                ORDER BY c.created_at DESC, c.id DESC LIMIT {CAP + 1}) capped) counted
              WHERE rn <= {ROWS} OR rn = last) n
        LEFT JOIN supervision_item ci ON ci.id = n.item_id LEFT JOIN supervision_instruction w ON w.id = n.instruction_id
        JOIN accounts_user au ON au.id = n.author_id ORDER BY n.rn"""
    ).fetchall()
    n = rows[0][0] if rows else 0
    return min(n, CAP), n > CAP


def hand_workbench(conn, p: Person) -> dict[str, tuple[int, bool]]:
    today, time_now, _ = local_now()
    hand_request(conn, p)
    light = light_sql(today, time_now)
    item_cols = f"i.id, i.code, i.title, i.deadline, i.status, {light} AS light"
    counts = {}
    vis = p.scope()
    if p.office:
        counts["requests"] = rows_and_count(
            conn,
            "r.id, r.kind, r.requested_at, i.code, i.title",
            f"r.status = 'pending' AND r.item_id = i.id AND {vis}",
            "r.requested_at, r.id",
            "supervision_itemrequest r, supervision_item i",
        )
        counts["explanations"] = rows_and_count(
            conn,
            "e.id, e.due_by, i.code, i.title",
            f"e.item_id = i.id AND {vis} AND (e.status = 'submitted' OR (e.status = 'awaiting' AND e.due_by < '{today}'))",
            "e.due_by, e.id",
            "supervision_overdueexplanation e, supervision_item i",
        )
        counts["return_visits"] = rows_and_count(
            conn, item_cols + ", i.closed_at", f"i.status = 'closed' AND {vis}", "i.closed_at, i.id"
        )
        overdue = f"i.status IN {OPEN} AND i.deadline <= '{today}' AND (i.deadline < '{today}' OR i.deadline_time < '{time_now}')"
        counts["overdue"] = rows_and_count(conn, item_cols, f"{overdue} AND {vis}", "i.deadline, i.id")
    else:
        unit = int(p.unit_id)
        # May this person sign for the unit (its head or a named deputy)? The lists of what waits
        # for a signature are shown only then.
        conn.execute(
            f"SELECT 1 FROM accounts_user u WHERE u.id = {int(p.user_id)} AND u.is_active AND ("
            f"(u.unit_id = {unit} AND EXISTS (SELECT 1 FROM accounts_roleassignment r WHERE r.user_id = u.id "
            f"AND r.role = 'unit_head')) OR EXISTS (SELECT 1 FROM accounts_unit h WHERE h.id = {unit} AND h.head_id = u.id) "
            f"OR EXISTS (SELECT 1 FROM supervision_unitapprover a WHERE a.unit_id = {unit} AND a.user_id = u.id))"
        ).fetchone()
        counts["to_sign"] = rows_and_count(
            conn,
            item_cols,
            f"i.status IN {WORKING} AND {vis} AND EXISTS (SELECT 1 FROM supervision_itemassignment a WHERE a.item_id = i.id "
            f"AND a.unit_id = {unit} AND a.acknowledged_at IS NULL) AND {NOT_LINKED}",
            "i.deadline, i.id",
        )
        periods = cycle_periods(today)
        since = " ".join(f"WHEN '{c}' THEN '{start} 00:00:00+08:00'::timestamptz" for c, (start, _) in periods.items())
        period_end = " ".join(f"WHEN '{c}' THEN '{end}'::date" for c, (_, end) in periods.items())
        owed = (
            f"i.reporting_cycle IN ({', '.join(repr(c) for c in periods)}) AND NOT EXISTS (SELECT 1 FROM supervision_progressreport pr "
            f"WHERE pr.item_id = i.id AND pr.unit_id = {unit} AND pr.submitted_at >= CASE i.reporting_cycle {since} END)"
        )
        counts["reports_due"] = rows_and_count(
            conn,
            f"{item_cols}, CASE i.reporting_cycle {period_end} END AS period_end",
            f"i.status IN {WORKING} AND {owed} AND {vis} AND EXISTS (SELECT 1 FROM supervision_itemassignment a "
            f"WHERE a.item_id = i.id AND a.unit_id = {unit} AND a.acknowledged_at IS NOT NULL) AND {NOT_LINKED}",
            f"CASE i.reporting_cycle {period_end} END, i.deadline, i.id",
        )
        counts["explanations"] = rows_and_count(
            conn,
            "e.id, e.due_by, i.code, i.title",
            f"e.item_id = i.id AND e.unit_id = {unit} AND e.status = 'awaiting' AND {vis}",
            "e.due_by, e.id",
            "supervision_overdueexplanation e, supervision_item i",
        )
        rank = f"CASE {light} WHEN 'overdue' THEN 0 WHEN 'red' THEN 1 WHEN 'yellow' THEN 2 WHEN 'green' THEN 3 ELSE 4 END"
        counts["unit_items"] = rows_and_count(conn, item_cols, f"i.status IN {OPEN} AND {vis}", f"{rank}, i.deadline, i.id")
    counts["comments"] = hand_comments(conn, p)
    hand_unread(conn, p)
    return counts


def hand_ledger_page(conn, p: Person) -> tuple[int, bool]:
    today, time_now, _ = local_now()
    hand_request(conn, p)
    # The filter form's lists: units (a unit user: its subtree), its people (a unit user: of its
    # unit; the office: none until a unit is chosen), categories, leaders.
    subtree = "" if p.office else f"AND path LIKE (SELECT path FROM accounts_unit WHERE id = {int(p.unit_id)}) || '%'"
    conn.execute(f"SELECT id, name, path FROM accounts_unit WHERE is_active {subtree} ORDER BY path").fetchall()
    if not p.office:
        conn.execute(
            f"SELECT DISTINCT u.id, u.username, u.full_name FROM accounts_user u JOIN accounts_roleassignment r "
            f"ON r.user_id = u.id AND r.role IN ('unit_handler', 'unit_head') WHERE u.is_active AND u.unit_id = {int(p.unit_id)} "
            "ORDER BY u.full_name, u.id LIMIT 500"
        ).fetchall()
    conn.execute("SELECT id, name FROM supervision_category ORDER BY sort_order, name").fetchall()
    conn.execute(
        "SELECT DISTINCT u.id, u.username, u.full_name FROM accounts_user u JOIN accounts_roleassignment r "
        "ON r.user_id = u.id AND r.role = 'leader' WHERE u.is_active ORDER BY u.full_name, u.id"
    ).fetchall()
    total = capped_count(conn, "supervision_item i", p.scope())
    conn.execute(
        f"""SELECT i.id, i.code, i.title, i.deadline, i.status, {light_sql(today, time_now)}, lu.name, o.full_name
            FROM supervision_item i LEFT JOIN accounts_unit lu ON lu.id = i.lead_unit_id
            LEFT JOIN accounts_user o ON o.id = i.owner_id
            WHERE {p.scope()} ORDER BY i.id DESC LIMIT {PAGE}"""
    ).fetchall()
    hand_unread(conn, p)
    return total


# ---------------------------------------------------------------------------------------------
# The pages


def sign_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/login/")
    response = session.post(
        f"{base}/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"], "next": "/"},
        allow_redirects=False,
    )
    assert response.status_code == 302, (username, response.status_code, response.text[:300])
    return session


def page_counts(html: str) -> dict[str, tuple[int, bool]]:
    return {k: (int(n), bool(over)) for k, n, over in re.findall(r'data-section="(\w+)" data-count="(\d+)"( data-over)?', html)}


def ledger_count(html: str) -> tuple[int, bool]:
    n, over = re.search(r'id="item-count" data-count="(\d+)"( data-over)?', html).groups()
    return int(n), bool(over)


UNREAD_KEY = "bench-pages-"


def add_unread(conn, p: Person, n: int) -> None:
    """`n` unread messages for the person about items they may see (the generated ledger has none;
    every page's header counts them). Removed again by `remove_unread`."""
    if n:
        conn.execute(
            "INSERT INTO tasks_notification (kind, title, body, dedup_key, created_at, read_at, item_id, recipient_id) "
            f"SELECT 'reminder', '催办', '', '{UNREAD_KEY}' || i.id, now(), NULL, i.id, {int(p.user_id)} "
            f"FROM supervision_item i WHERE {p.scope()} ORDER BY i.id DESC LIMIT {int(n)}"
        )
        conn.execute("ANALYZE tasks_notification")


def remove_unread(conn) -> None:
    conn.execute(f"DELETE FROM tasks_notification WHERE dedup_key LIKE '{UNREAD_KEY}%'")


def measure(db: str, repeat: int, warmup: int, workers: int, unread: int = 0) -> list[dict]:
    conn = psycopg.connect(pg_url(db), autocommit=True)
    items = conn.execute("SELECT count(*) FROM supervision_item").fetchone()[0]
    os.environ["DJANGO_SECURE_COOKIES"] = "false"  # plain HTTP on the loopback
    port = free_port()
    server = start_gunicorn(db, workers, port)
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        for p in people(conn):
            add_unread(conn, p, unread)
            session = sign_in(base, p.username)
            p.session_key = session.cookies["sessionid"]
            for name, path, hand in (("workbench /", "/", hand_workbench), ("ledger /items/", "/items/", hand_ledger_page)):
                page_times, hand_times, problems = [], [], []
                for n in range(warmup + repeat):
                    started = time.perf_counter()
                    response = session.get(f"{base}{path}")
                    page_time = time.perf_counter() - started
                    assert response.status_code == 200, (path, response.status_code)
                    started = time.perf_counter()
                    expected = hand(conn, p)
                    hand_time = time.perf_counter() - started
                    if n < warmup:
                        continue
                    page_times.append(page_time)
                    hand_times.append(hand_time)
                    # The page's numbers must be the hand SQL's.
                    if name.startswith("workbench"):
                        shown = {k: v for k, v in page_counts(response.text).items() if k in expected}
                        if shown != expected:
                            problems.append((shown, expected))
                    else:
                        shown = ledger_count(response.text)
                        if shown != expected:
                            problems.append((shown, expected))
                results.append(
                    {
                        "items": items,
                        "who": f"{p.label}: {p.username}" + (f" ({p.unit_name})" if p.unit_name else ""),
                        "page": name,
                        "page_times": page_times,
                        "hand_times": hand_times,
                        "problems": problems,
                        "numbers": expected,
                    }
                )
            # The floor: the lightest signed-in page (the person's message settings: session, user,
            # roles, header, three small reads). What any page of this stack costs before its own work.
            floor = []
            for n in range(warmup + repeat):
                started = time.perf_counter()
                assert session.get(f"{base}{FLOOR_PATH}").status_code == 200
                if n >= warmup:
                    floor.append(time.perf_counter() - started)
            results[-1]["floor_times"] = floor
            remove_unread(conn)
    finally:
        remove_unread(conn)
        stop(server)
        conn.close()
    return results


def shown_counts(numbers) -> str:
    """(n, over) as the page says it: "1000+" for more than 1,000."""
    text = lambda c: f"{c[0]:,}{'+' if c[1] else ''}"  # noqa: E731
    if isinstance(numbers, dict):
        return ", ".join(f"{k} {text(c)}" for k, c in numbers.items())
    return text(numbers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="duban_bench_1m")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--unread", type=int, default=0, help="unread messages each person has while measured (removed afterwards)"
    )
    args = parser.parse_args()
    print(
        f"gunicorn {args.workers} sync worker(s), config.settings.production; {args.repeat} timed calls after {args.warmup} "
        f"warm-up calls; {args.unread} unread messages each; load average before: {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results = measure(args.database, args.repeat, args.warmup, args.workers, args.unread)
    print()
    print(f"{'items':>10}  {'page':<15} {'p50':>7} {'p95':>7} {'SQL p50':>8} {'SQL p95':>8} {'p50 ×':>6}  numbers  who")
    for r in results:
        a50, a95 = statistics.median(r["page_times"]), p95(r["page_times"])
        h50, h95 = statistics.median(r["hand_times"]), p95(r["hand_times"])
        same = "MISMATCH" if r["problems"] else "same"
        print(
            f"{r['items']:>10,}  {r['page']:<15} {ms(a50):>7} {ms(a95):>7} {ms(h50):>8} {ms(h95):>8} {a50 / h50:>6.2f}  "
            f"{same:<8} {r['who']}"
        )
        print(f"{'':>12}counts: {shown_counts(r['numbers'])}")
        if "floor_times" in r:
            f = r["floor_times"]
            print(
                f"{'':>12}floor: {FLOOR_PATH} p50 {ms(statistics.median(f))} ms, p95 {ms(p95(f))} ms (the lightest signed-in page)"
            )
        if r["problems"]:
            print(f"{'':>12}MISMATCH page vs hand SQL: {r['problems'][0]}")
    print()
    for r in results:
        a95, a50, h50 = p95(r["page_times"]), statistics.median(r["page_times"]), statistics.median(r["hand_times"])
        verdict = "PASS" if a95 < 0.150 and a50 <= 2 * h50 else "FAIL"
        print(
            f"target {r['page']} for {r['who'].split(':')[0]}: p95 < 150 ms and p50 ≤ 2× hand SQL: {verdict} "
            f"(p95 {ms(a95)} ms, ×{a50 / h50:.2f})"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
