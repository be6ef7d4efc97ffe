"""减负: tell the office when a unit passes a weekly burden limit. The rule is supervision/services/burden.py."""

from celery import shared_task

from supervision.services.burden import burden_alerts_send


@shared_task(name="tasks.burden.check_burden_limits", acks_late=True)
def check_burden_limits() -> int:
    """From beat, hourly; safe to repeat (unique per unit, week and measure)."""
    return len(burden_alerts_send())
