"""Ledger exports in the background (台账导出任务), for files too big for one request.

The immediate export (GET /api/v1/items/export/) builds the file while the request waits; at
province scale a whole ledger is a million rows, about 3 minutes of writing an .xlsx on an idle
machine and several times that on a busy one, longer than any web worker should be held. A job
takes the same filters and format, runs on the Celery worker (tasks/exports.py) under the same rule (supervision/ledger_export.py: the items list's visibility
and filters, classified rows only with an export approval in force when the file is written), and
records the export in the audit chain with the file's SHA-256 exactly as the immediate export
does. Only the person who asked sees the job and downloads the file; the file is deleted
DUBAN_EXPORT_JOB_KEEP_HOURS (24) after it was written, the job and its audit event stay."""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Mapping

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision import outbox
from supervision.audit import audit_record
from supervision.choices import ExportJobStatus
from supervision.errors import DomainError, NotVisible, require_signed_in
from supervision.exchange.export.rows import XLSX, export_scope, param_lists
from supervision.exchange.export.service import check_format, export_filenames, file_sha256, record_export
from supervision.exchange.export.writers import csv_stream, write_xlsx
from supervision.exchange.jobs import job_claim, require_job_quota
from supervision.models import ExportJob

# Longer than the task's hard time limit (tasks/exports.py): a job still "running" after this lost
# its worker, wrote nothing, and the redelivered task may run it again.
STALE_RUNNING_AFTER = datetime.timedelta(seconds=3700)


def _keep_hours() -> int:
    return int(getattr(settings, "DUBAN_EXPORT_JOB_KEEP_HOURS", 24))


def _as_query(filters: Mapping) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in filters.items():
        query.setlist(key, [str(v) for v in (values if isinstance(values, list | tuple) else [values])])
    return query


def export_job_list(*, actor: User):
    require_signed_in(actor)
    return ExportJob.objects.filter(created_by=actor).order_by("-created_at", "-id")


def export_job_get(*, actor: User, pk) -> ExportJob:
    job = export_job_list(actor=actor).filter(pk=pk).first()
    if job is None:
        raise NotVisible()
    return job


@transaction.atomic
def export_job_create(*, actor: User, filters: Mapping, file_format: str | None) -> ExportJob:
    """Check the format and the filters now (a 400 here, not a failed job later), record the request
    in the audit chain, and queue the job after commit."""
    require_signed_in(actor)
    file_format = check_format(file_format)
    require_job_quota(actor, ExportJob, quota_setting="DUBAN_EXPORT_JOB_QUOTA", label=_("导出任务"))
    query = _as_query(filters)
    scope = export_scope(user=actor, params=query)  # validates the filters; the rows are counted again when it runs
    job = ExportJob.objects.create(created_by=actor, file_format=file_format, filters=param_lists(query))
    audit_record(
        actor=actor,
        action="ledger_export_queued",
        obj=job,
        data={"format": file_format, "filters": job.filters, "rows_now": scope.rows, "omitted_now": scope.omitted},
    )
    outbox.enqueue("tasks.exports.run_export_job", job.pk)
    return job


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Run a queued job once: claimed queued → running under a row lock, so a repeated or concurrent
    task finds it no longer queued and does nothing. The file is written to a temporary file first;
    it is stored, and the export audited, in one transaction with the job's success."""
    job, claimed = job_claim(ExportJob, job_id, stale_after=STALE_RUNNING_AFTER)
    if not claimed:
        return job
    try:
        require_signed_in(job.created_by)
        scope = export_scope(user=job.created_by, params=_as_query(job.filters))
        filename, ascii_filename = export_filenames(scope, job.file_format)
        with tempfile.TemporaryFile(prefix="duban-export-job-") as out:
            if job.file_format == XLSX:
                rows = write_xlsx(scope, out)
            else:
                rows = scope.rows
                for piece in csv_stream(scope):
                    out.write(piece)
            sha256 = file_sha256(out)
            with transaction.atomic():
                job.file.save(f"{job.pk}-{ascii_filename}", File(out), save=False)
                job.filename, job.rows, job.omitted, job.sha256 = filename, rows, scope.omitted, sha256
                job.audit_seq = record_export(scope, file_format=job.file_format, filename=filename, rows=rows, sha256=job.sha256)
                job.status, job.finished_at = ExportJobStatus.SUCCEEDED, timezone.now()
                job.save()
    except DomainError as exc:
        messages = [str(m) for values in exc.fields.values() for m in values] or [str(exc.message)]
        _fail(job, "；".join(messages))
    except BaseException:
        _fail(job, _("导出时发生内部错误，请稍后重试或联系管理员。"))
        raise
    return job


def _fail(job: ExportJob, message: str) -> None:
    if job.file:
        job.file.delete(save=False)
    job.status, job.error, job.finished_at = ExportJobStatus.FAILED, message, timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "file"])


def export_job_file(*, actor: User, job: ExportJob):
    """The finished file, opened, for its requester only."""
    if job.created_by_id != getattr(actor, "pk", None):
        raise NotVisible()
    if job.status != ExportJobStatus.SUCCEEDED:
        raise NotVisible(_("导出尚未完成。"), code="export_not_ready")
    if job.file_deleted_at is not None or not job.file:
        raise NotVisible(
            _("导出文件已按规定在生成 %(h)s 小时后删除，请重新导出。") % {"h": _keep_hours()}, code="export_file_deleted"
        )
    return job.file.open("rb")


def export_job_files_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete the files of jobs finished more than DUBAN_EXPORT_JOB_KEEP_HOURS ago: a ledger file
    with classified rows must not lie on the server for ever. Safe to run twice."""
    now = now or timezone.now()
    done = 0
    stale = ExportJob.objects.filter(
        file_deleted_at__isnull=True, finished_at__lt=now - datetime.timedelta(hours=_keep_hours())
    ).exclude(file="")
    for job in stale.iterator():
        job.file.delete(save=False)
        job.file_deleted_at = now
        job.save(update_fields=["file", "file_deleted_at"])
        done += 1
    return done
