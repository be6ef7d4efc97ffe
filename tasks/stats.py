"""The leaders' dashboard figures: kept computed (supervision/stats/presenter.py: dashboards_warm),
and the figure columns checked against the ledger each night (supervision/stats/columns.py)."""

import logging

from celery import shared_task

from supervision.stats import columns
from supervision.stats.presenter import dashboards_warm

logger = logging.getLogger(__name__)


# No acks_late: a lost run is made good by the next one 20 s later. Safe to run twice at once: each
# figure is computed by one process at a time (the stats cache's single flight), the other reads it.
@shared_task(name="tasks.stats.warm_dashboards", soft_time_limit=120, time_limit=150)
def warm_dashboards() -> int:
    return dashboards_warm()


# Read-only and safe to repeat: a run compares, it writes nothing. The worker process keeps its
# columns from night to night, so each run checks a day of changes read incrementally.
@shared_task(name="tasks.stats.check_figure_columns", soft_time_limit=600, time_limit=660)
def check_figure_columns() -> int:
    """Recount: the columns as kept up to date against a whole fresh read of the ledger. Any item
    that differs is drift (a write the triggers of migration 0030 did not mark), logged as an error
    for the operators; the process then reads everything afresh so its figures are right again."""
    differing = columns.drift()
    if differing:
        logger.error("figure columns drifted from the ledger on %d items, e.g. %s", len(differing), differing[:20])
        columns.forget()
    return len(differing)
