"""Default reminder policies per urgency (editable in the admin)."""

import datetime

from django.db import migrations

# offset (working days), owner, handlers, head, office, issuing leader
STEPS = {
    "normal": [(-3, 1, 1, 0, 0, 0), (-1, 1, 1, 0, 0, 0), (0, 1, 1, 1, 0, 0), (1, 1, 1, 1, 0, 0), (3, 1, 1, 1, 1, 0), (5, 1, 1, 1, 1, 1)],
    "urgent": [(-1, 1, 1, 0, 0, 0), (0, 1, 1, 1, 0, 0), (1, 1, 1, 1, 1, 0), (3, 1, 1, 1, 1, 1)],
    "extra_urgent": [(0, 1, 1, 1, 0, 0), (1, 1, 1, 1, 1, 1)],
}
NAMES = {"normal": "一般事项催办规则", "urgent": "急件催办规则", "extra_urgent": "特急件催办规则"}
ACK_HOURS = {"normal": 24, "urgent": 4, "extra_urgent": 1}


def seed(apps, schema_editor):
    Policy = apps.get_model("supervision", "ReminderPolicy")
    Step = apps.get_model("supervision", "ReminderStep")
    for urgency, steps in STEPS.items():
        policy, created = Policy.objects.get_or_create(
            urgency=urgency,
            category=None,
            defaults={"name": NAMES[urgency], "acknowledge_within_hours": ACK_HOURS[urgency], "send_time": datetime.time(9, 0)},
        )
        if created:
            Step.objects.bulk_create(
                Step(policy=policy, offset_workdays=o, to_owner=a, to_unit_handlers=b, to_unit_head=c, to_office=d, to_issuing_leader=e)
                for o, a, b, c, d, e in steps
            )


class Migration(migrations.Migration):
    dependencies = [("supervision", "0007_reminders")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
