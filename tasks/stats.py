"""The figure columns checked against the ledger each night (supervision/stats/columns.py)."""

import logging

from celery import shared_task

from supervision.stats import columns

logger = logging.getLogger(__name__)


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
