"""Indexes for the statistics and the overdue list at province scale (bench/dashboard.py, issue 4).

Raw SQL rather than Meta.indexes because they are covering (INCLUDE) or partial indexes shaped for
particular queries in supervision/stats.py and the items list, and this migration is the only place
that should know about them; built CONCURRENTLY so a live ledger keeps taking writes meanwhile.
Every one is read with index-only scans: the columns the queries need are in the index."""

from django.db import migrations

OPEN = "('assigned', 'acknowledged', 'in_progress', 'pending_review')"

INDEXES = {
    # The overdue list (?overdue=true&ordering=deadline) and its count: open items with a deadline,
    # in deadline order, with what the visibility rule and the light rule read.
    "item_open_deadline": "supervision_item (deadline) INCLUDE (classification, status, deadline_time, warning_date) "
    f"WHERE status IN {OPEN} AND deadline IS NOT NULL",
    # Trend: items created per month within the window.
    "item_created_at": "supervision_item (created_at) INCLUDE (classification, status)",
    # Trend: items closed per month; summary: closed in the period and the close-time sums.
    "item_closed_at": "supervision_item (closed_at) INCLUDE (classification, status, assigned_at)",
    # Unit ranking, supporting units: the SUPPORTING assignments by item, with their unit.
    "assignment_supporting_item": "supervision_itemassignment (item_id) INCLUDE (unit_id) WHERE role = 'supporting'",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (the demo without servers) has no INCLUDE or CONCURRENTLY, and no need of them
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("supervision", "0012_intake_records"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
