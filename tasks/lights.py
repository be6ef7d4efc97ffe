"""Keep warning dates in step with the thresholds and the working-day calendar."""

from celery import shared_task

from supervision.warning_dates import warning_dates_refresh


@shared_task(name="tasks.lights.refresh_warning_dates", acks_late=True)
def refresh_warning_dates() -> int:
    """Recompute every open item's warning date; idempotent (writes only dates that changed)."""
    return warning_dates_refresh()
