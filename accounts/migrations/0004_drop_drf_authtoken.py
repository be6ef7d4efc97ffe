"""DRF's authtoken app is gone (tokens are django-rest-knox's now, accounts/tokens.py): its table
held every user's never-expiring token in plain text, so it is dropped, not left behind."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_idempotency_keys"),
    ]

    operations = [migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop)]
