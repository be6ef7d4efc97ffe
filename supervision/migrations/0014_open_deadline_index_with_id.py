"""The overdue list for a unit user (a county department head: lead or supporting on 65,000 of a
million items) joins the open items to the unit's assignments by item id. Without the id in the
covering index PostgreSQL read the items' rows from the heap (126 ms, bench/dashboard.py); with it
the join is two index-only scans. Built under a new name, then the old one dropped, CONCURRENTLY, so
the list keeps an index the whole time on a live ledger."""

from django.db import migrations

OPEN = "('assigned', 'acknowledged', 'in_progress', 'pending_review')"
WHERE = f"WHERE status IN {OPEN} AND deadline IS NOT NULL"
NEW = f"supervision_item (deadline) INCLUDE (id, classification, status, deadline_time, warning_date) {WHERE}"
OLD = f"supervision_item (deadline) INCLUDE (classification, status, deadline_time, warning_date) {WHERE}"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (the demo without servers) has none of these indexes
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS item_open_deadline_id ON {NEW}")
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS item_open_deadline")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS item_open_deadline ON {OLD}")
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS item_open_deadline_id")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("supervision", "0013_stats_indexes"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
