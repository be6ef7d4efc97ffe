"""The duplicate pool's index of characters (issue 15): the table; migration 0029 fills it and keeps it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("supervision", "0027_explanation_open_due"),
    ]

    operations = [
        migrations.CreateModel(
            name="PoolChar",
            fields=[
                ("pk", models.CompositePrimaryKey("item", "key", blank=True, editable=False, primary_key=True, serialize=False)),
                ("key", models.BigIntegerField()),
                ("title_share", models.FloatField()),
                ("body_share", models.FloatField()),
                (
                    "item",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="supervision.item",
                    ),
                ),
            ],
            options={
                "verbose_name": "重复检索索引",
                "verbose_name_plural": "重复检索索引",
                "indexes": [models.Index(fields=["key"], include=("item", "title_share", "body_share"), name="poolchar_key")],
            },
        ),
    ]
