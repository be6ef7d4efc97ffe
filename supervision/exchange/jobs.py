"""Background jobs the Celery worker runs once (ImportJob, ExportJob): the claim they share.

A job is claimed from `queued` to `running` under a row lock, so a repeated or concurrent task finds
it no longer queued and does nothing. A job still `running` after `stale_after` (longer than its
task's hard time limit) lost its worker before committing anything, and may be claimed again."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

QUEUED, RUNNING = "queued", "running"  # the same values in every job's status choices


def job_claim(model: type[models.Model], job_id: int, *, stale_after: datetime.timedelta, **fields: Any):
    """(job, claimed): the job marked running with `fields` set, or as found if it may not run now
    (None when there is no such job)."""
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return None, False
        stale = job.status == RUNNING and job.started_at is not None and job.started_at < timezone.now() - stale_after
        if job.status != QUEUED and not stale:
            return job, False
        job.status, job.started_at = RUNNING, timezone.now()
        for name, value in fields.items():
            setattr(job, name, value)
        job.save(update_fields=["status", "started_at", *fields])
        return job, True
