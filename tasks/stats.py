"""The leaders' dashboard figures, kept computed (supervision/stats/presenter.py: dashboards_warm)."""

from celery import shared_task

from supervision.stats.presenter import dashboards_warm


# No acks_late: a lost run is made good by the next one 20 s later. Safe to run twice at once: each
# figure is computed by one process at a time (the stats cache's single flight), the other reads it.
@shared_task(name="tasks.stats.warm_dashboards", soft_time_limit=120, time_limit=150)
def warm_dashboards() -> int:
    return dashboards_warm()
