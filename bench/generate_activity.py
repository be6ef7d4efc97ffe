"""Adds a ledger's daily activity to a generated ledger (bench/generate_ledger.py): progress reports,
leader comments and who read them, messages, and the audit history of every item and request.

    .venv/bin/python bench/generate_activity.py --database postgres://postgres@127.0.0.1:5432/duban_bench_1m

generate_ledger.py writes items, assignments, requests, explanations and referrals, but none of what
accrues around them while they run, and a page that reads those tables was measured against empty
ones: the header's unread count took 11 s for office staff with messages, and no benchmark saw it
(bench/unread_count.py). With this, pages.py measures the 工作台 and the 台账 against a ledger that
looks lived in. Volumes, at a million items:

- progress reports: each running item with a reporting cycle reports once a period since it was
  assigned, for up to twelve periods, and about two in three of those still open have reported in
  the current period (本期应反馈进展 is the rest);
- leader comments: one item in twenty, and one instruction in a hundred, by its issuing leader;
  the item's owner has read half of them (批示待阅 is the other half);
- messages: two per item to its owner (nine in ten read), and two thousand to each office staff
  member (one in fifty unread);
- audit events: five per item (one for a draft), one per request, one per explanation.

Written in SQL (INSERT … SELECT), the whole in a few minutes; run again, it replaces what it wrote.
The audit events' hashes are placeholders: the chain does not verify, and nothing here checks it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate_ledger import DEFAULT_URL  # noqa: E402

# (cycle, period in days)
PERIODS = "(VALUES ('weekly', 7), ('biweekly', 14), ('monthly', 30), ('quarterly', 91))"

STEPS = [
    (
        "progress reports",
        f"""
        INSERT INTO supervision_progressreport
            (kind, progress_text, results, problems, next_steps, progress, submitted_at, item_id, submitted_by_id, unit_id)
        SELECT 'stage', '按计划推进，已完成阶段任务。', '', '', '', LEAST(10 * k, 90),
               -- the k-th period's report, a little before the period ends; a third of the running items
               -- are late this period (their last report falls in the previous one)
               LEAST(i.assigned_at + (k * p.days - (i.id % 3) * p.days / 2) * interval '1 day',
                     now() - ((i.id % 3) * p.days) * interval '1 day' - interval '1 hour'),
               i.id, COALESCE(i.owner_id, i.created_by_id), i.lead_unit_id
        FROM supervision_item i
        JOIN {PERIODS} AS p(cycle, days) ON p.cycle = i.reporting_cycle
        CROSS JOIN LATERAL generate_series(
            1, LEAST(12, GREATEST(1, (extract(epoch FROM (COALESCE(i.closed_at, now()) - i.assigned_at)) / 86400 / p.days)::int))
        ) AS k
        WHERE i.assigned_at IS NOT NULL AND i.lead_unit_id IS NOT NULL AND i.status NOT IN ('draft', 'awaiting_approval')
          AND (i.owner_id IS NOT NULL OR i.created_by_id IS NOT NULL)
        """,
    ),
    (
        "leader comments on items",
        """
        INSERT INTO supervision_leadercomment (text, created_at, author_id, item_id, instruction_id)
        SELECT '请抓紧推进，按期办结。', i.assigned_at + interval '3 days', w.issuing_leader_id, i.id, NULL
        FROM supervision_item i JOIN supervision_instruction w ON w.id = i.instruction_id
        WHERE i.id % 20 = 0 AND i.assigned_at IS NOT NULL AND w.issuing_leader_id IS NOT NULL
        """,
    ),
    (
        "leader comments on instructions",
        """
        INSERT INTO supervision_leadercomment (text, created_at, author_id, item_id, instruction_id)
        SELECT '各责任单位要高度重视。', w.created_at + interval '1 day', w.issuing_leader_id, NULL, w.id
        FROM supervision_instruction w WHERE w.id % 100 = 0 AND w.issuing_leader_id IS NOT NULL
        """,
    ),
    (
        "comments read by the item's owner",
        """
        INSERT INTO supervision_commentread (read_at, user_id, comment_id)
        SELECT c.created_at + interval '1 day', i.owner_id, c.id
        FROM supervision_leadercomment c JOIN supervision_item i ON i.id = c.item_id
        WHERE c.id % 2 = 0 AND i.owner_id IS NOT NULL
        """,
    ),
    (
        "messages to owners",
        """
        INSERT INTO tasks_notification (kind, title, body, dedup_key, created_at, read_at, item_id, recipient_id)
        SELECT CASE k WHEN 1 THEN 'assigned' ELSE 'reminder' END, '督办事项提醒：' || i.code, '请按期办理。',
               'bench-' || i.id || '-' || k, i.assigned_at + k * interval '2 days',
               CASE WHEN i.id % 10 = 0 THEN NULL ELSE i.assigned_at + k * interval '2 days' + interval '1 hour' END,
               i.id, i.owner_id
        FROM supervision_item i CROSS JOIN generate_series(1, 2) AS k
        WHERE i.owner_id IS NOT NULL AND i.assigned_at IS NOT NULL
        """,
    ),
    (
        "messages to office staff",
        """
        INSERT INTO tasks_notification (kind, title, body, dedup_key, created_at, read_at, item_id, recipient_id)
        SELECT 'request', '待审批申请：' || i.code, '请审批。', 'bench-office-' || i.id, i.updated_at,
               CASE WHEN i.id % 100000 < 2000 THEN NULL ELSE i.updated_at + interval '1 hour' END, i.id, u.id
        FROM accounts_user u JOIN accounts_roleassignment r ON r.user_id = u.id AND r.role = 'office_staff'
        JOIN supervision_item i ON i.id % 500 = u.id % 500
        """,
    ),
    (
        "audit events",
        """
        WITH events AS (
            SELECT i.id AS item_id, 'item' AS object_type, i.id AS object_id, e.action, e.from_status, e.to_status,
                   i.created_at + e.n * interval '1 day' AS occurred_at, i.created_by_id AS actor_id
            FROM supervision_item i
            CROSS JOIN LATERAL (VALUES
                (0, 'item_created', '', 'draft'),
                (1, 'item_assigned', 'draft', 'assigned'),
                (2, 'item_acknowledged', 'assigned', 'acknowledged'),
                (3, 'item_updated', '', ''),
                (4, 'leader_comment_added', '', '')
            ) AS e(n, action, from_status, to_status)
            WHERE e.n = 0 OR i.status NOT IN ('draft', 'awaiting_approval')
            UNION ALL
            SELECT r.item_id, 'itemrequest', r.id, r.kind || '_requested', '', '', r.requested_at, r.requested_by_id
            FROM supervision_itemrequest r
            UNION ALL
            SELECT e.item_id, 'overdueexplanation', e.id, 'overdue_explanation_opened', '', '', e.created_at, NULL
            FROM supervision_overdueexplanation e
        )
        INSERT INTO supervision_auditevent
            (seq, occurred_at, actor_name, action, object_type, object_id, from_status, to_status, comment, data,
             prev_hash, hash, actor_id, item_id, key_id)
        SELECT base.seq + n, occurred_at, '', action, object_type, object_id, from_status, to_status, '', '{}',
               md5('bench' || (base.seq + n - 1)), md5('bench' || (base.seq + n)), actor_id, item_id, 'bench'
        FROM (SELECT events.*, row_number() OVER (ORDER BY occurred_at, object_id) AS n FROM events) numbered,
             (SELECT COALESCE(max(seq), 0) AS seq FROM supervision_auditevent) base
        """,
    ),
]

WRITTEN = (
    "DELETE FROM supervision_commentread",
    "DELETE FROM supervision_leadercomment",
    "DELETE FROM supervision_progressreport",
    "DELETE FROM tasks_notification",
    "DELETE FROM supervision_auditevent",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_URL, help="postgres://…/duban_bench_… (a generated ledger)")
    args = parser.parse_args()
    if "duban_bench" not in args.database:
        sys.exit("a benchmark database only (its name holds duban_bench): this empties the tables it fills")
    started = time.perf_counter()
    with psycopg.connect(args.database, autocommit=True) as conn:
        for statement in WRITTEN:
            conn.execute(statement)
        for name, sql in STEPS:
            t = time.perf_counter()
            rows = conn.execute(sql).rowcount
            print(f"{name:>36}: {rows:>10,} rows in {time.perf_counter() - t:6.1f} s", flush=True)
        t = time.perf_counter()
        conn.execute(
            "ANALYZE supervision_progressreport, supervision_leadercomment, supervision_commentread, "
            "tasks_notification, supervision_auditevent"
        )
        print(f"{'analyze':>36}: {time.perf_counter() - t:6.1f} s")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
