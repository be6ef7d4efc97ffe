"""Which items changed since a point in time, for the figures' column store (issue 14;
supervision/stats/columns.py).

Each process keeps the columns the figures read, one array per column, and before each request reads
only the items changed since its last read. What "changed" means is kept here, in the database, so
no service, QuerySet.update, import or admin edit can leave a process's columns stale:

- `supervision_item.stats_xid`: the id of the last transaction that changed a column the figures
  read on the item, its units, its deadline history or its failed return visits, or its
  instruction's kind or leader (a trigger on each table). Not a model field: Django never writes it,
  so a save that changes nothing the figures read cannot put an older value back.
- a reader takes the oldest transaction still running (the snapshot's xmin) before it reads, and
  next time reads the items with `stats_xid` at or above it: every transaction that had not
  committed when it read has an id at least that.
- deleting or truncating items advances the sequence `duban_stats_generation`; a reader that sees it
  move reads everything again (items are deleted only as drafts, and by test runs).

PostgreSQL only: the demo's SQLite counts the figures in SQL."""

from django.db import migrations

ITEM_COLUMNS = (
    "status",
    "classification",
    "lead_unit_id",
    "owner_id",
    "category_id",
    "instruction_id",
    "urgency",
    "reporting_cycle",
    "original_deadline",
    "deadline",
    "deadline_time",
    "warning_date",
    "closed_at",
    "assigned_at",
    "created_at",
    "last_report_at",
    "progress_streak",
    "reopen_count",
)

CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ITEM_COLUMNS)

FORWARDS = f"""
ALTER TABLE supervision_item ADD COLUMN stats_xid bigint;
CREATE INDEX item_stats_xid ON supervision_item (stats_xid);
CREATE SEQUENCE duban_stats_generation;

CREATE FUNCTION duban_stats_xid() RETURNS bigint LANGUAGE sql VOLATILE AS $$
    SELECT pg_current_xact_id()::text::bigint
$$;

CREATE FUNCTION duban_stats_item_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.stats_xid := duban_stats_xid();
    RETURN NEW;
END $$;

CREATE TRIGGER item_stats_inserted BEFORE INSERT ON supervision_item
    FOR EACH ROW EXECUTE FUNCTION duban_stats_item_changed();
CREATE TRIGGER item_stats_updated BEFORE UPDATE ON supervision_item
    FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION duban_stats_item_changed();

CREATE FUNCTION duban_stats_generation_next() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('duban_stats_generation');
    RETURN NULL;
END $$;

CREATE TRIGGER item_stats_deleted AFTER DELETE ON supervision_item
    FOR EACH STATEMENT EXECUTE FUNCTION duban_stats_generation_next();
CREATE TRIGGER item_stats_truncated AFTER TRUNCATE ON supervision_item
    FOR EACH STATEMENT EXECUTE FUNCTION duban_stats_generation_next();

-- A row of a table the figures read through its item: mark the item (old and new, should it move).
CREATE FUNCTION duban_stats_child_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE supervision_item SET stats_xid = duban_stats_xid() WHERE id = OLD.item_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE supervision_item SET stats_xid = duban_stats_xid() WHERE id = NEW.item_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER assignment_stats_changed AFTER INSERT OR DELETE OR UPDATE OF item_id, unit_id, role
    ON supervision_itemassignment FOR EACH ROW EXECUTE FUNCTION duban_stats_child_changed();
CREATE TRIGGER deadline_span_stats_changed AFTER INSERT OR DELETE OR UPDATE
    ON supervision_deadlinespan FOR EACH ROW EXECUTE FUNCTION duban_stats_child_changed();
CREATE TRIGGER return_visit_stats_changed AFTER INSERT OR DELETE OR UPDATE
    ON supervision_returnvisit FOR EACH ROW EXECUTE FUNCTION duban_stats_child_changed();

CREATE FUNCTION duban_stats_instruction_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE supervision_item SET stats_xid = duban_stats_xid() WHERE instruction_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER instruction_stats_changed AFTER UPDATE ON supervision_instruction FOR EACH ROW
    WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.issuing_leader_id IS DISTINCT FROM NEW.issuing_leader_id)
    EXECUTE FUNCTION duban_stats_instruction_changed();
"""

BACKWARDS = """
DROP TRIGGER instruction_stats_changed ON supervision_instruction;
DROP FUNCTION duban_stats_instruction_changed();
DROP TRIGGER return_visit_stats_changed ON supervision_returnvisit;
DROP TRIGGER deadline_span_stats_changed ON supervision_deadlinespan;
DROP TRIGGER assignment_stats_changed ON supervision_itemassignment;
DROP FUNCTION duban_stats_child_changed();
DROP TRIGGER item_stats_truncated ON supervision_item;
DROP TRIGGER item_stats_deleted ON supervision_item;
DROP FUNCTION duban_stats_generation_next();
DROP TRIGGER item_stats_updated ON supervision_item;
DROP TRIGGER item_stats_inserted ON supervision_item;
DROP FUNCTION duban_stats_item_changed();
DROP FUNCTION duban_stats_xid();
DROP SEQUENCE duban_stats_generation;
DROP INDEX item_stats_xid;
ALTER TABLE supervision_item DROP COLUMN stats_xid;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARDS)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARDS)


class Migration(migrations.Migration):
    dependencies = [("supervision", "0029_pool_chars_backfill")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
