"""Default warning-light thresholds, so the admin shows (and can edit) them from day one."""

from decimal import Decimal

from django.db import migrations

DEFAULTS = {"normal": (Decimal("0.67"), 3), "urgent": (Decimal("0.50"), 2), "extra_urgent": (Decimal("0.50"), 1)}


def seed(apps, schema_editor):
    WarningThreshold = apps.get_model("supervision", "WarningThreshold")
    for urgency, (share, days) in DEFAULTS.items():
        WarningThreshold.objects.get_or_create(urgency=urgency, defaults={"yellow_share": share, "yellow_workdays": days})


class Migration(migrations.Migration):
    dependencies = [("supervision", "0005_deadlines_and_lights")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
