"""Background jobs the Celery worker runs once (ImportJob, ExportJob): the claim they share.

A job is claimed from `queued` to `running` under a row lock, so a repeated or concurrent task finds
it no longer queued and does nothing. A job still `running` after `stale_after` (longer than its
task's hard time limit) lost its worker before committing anything, and may be claimed again."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from supervision.errors import QuotaExceeded

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


def require_job_quota(actor, model: type[models.Model], *, quota_setting: str, label: str) -> None:
    """At most `settings.<quota_setting>` jobs of this kind per user in the last
    DUBAN_JOB_QUOTA_WINDOW_SECONDS (a 429 with Retry-After otherwise): a job costs minutes of a
    worker, and one user queueing dozens starves everyone else. Counted from the jobs' own rows
    (index on created_by, created_at), with the user's row locked so two requests at once cannot
    both take the last place. Call inside the creating service's transaction."""
    quota = int(getattr(settings, quota_setting))
    window = datetime.timedelta(seconds=int(settings.DUBAN_JOB_QUOTA_WINDOW_SECONDS))
    get_user_model().objects.select_for_update().filter(pk=actor.pk).values_list("pk", flat=True).first()
    now = timezone.now()
    recent = list(
        model.objects.filter(created_by_id=actor.pk, created_at__gt=now - window)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:quota]
    )
    if len(recent) >= quota:
        retry_after = (recent[-1] + window - now).total_seconds()
        raise QuotaExceeded(
            _("%(label)s过于频繁：每人 %(minutes)s 分钟内最多 %(n)s 个，请 %(s)s 秒后再试。")
            % {"label": label, "minutes": int(window.total_seconds() // 60), "n": quota, "s": max(int(retry_after), 1)},
            retry_after=retry_after + 1,
        )
