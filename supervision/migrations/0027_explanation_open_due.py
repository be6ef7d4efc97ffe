"""An index for the office's 工作台 list of overdue explanations to rule on (issue 13)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("supervision", "0026_pool_indexes")]

    operations = [
        migrations.AddIndex(
            model_name="overdueexplanation",
            index=models.Index(
                condition=models.Q(("status__in", ["awaiting", "submitted"])),
                fields=["due_by", "id"],
                name="explanation_open_due",
            ),
        ),
    ]
