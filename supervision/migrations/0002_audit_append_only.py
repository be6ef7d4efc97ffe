"""On PostgreSQL the audit table refuses UPDATE and DELETE outright (TRUNCATE stays
possible for test flushes; the chain head's count catches a truncated table); the hash chain
(verify_audit) still catches anyone who disables the trigger first."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION supervision_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER supervision_auditevent_no_update
    BEFORE UPDATE OR DELETE ON supervision_auditevent
    FOR EACH ROW EXECUTE FUNCTION supervision_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS supervision_auditevent_no_update ON supervision_auditevent;
DROP FUNCTION IF EXISTS supervision_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("supervision", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
