"""Background ledger exports. The rules are in supervision/ledger_export.py and
supervision/export_jobs.py; this only runs a job and deletes old files."""

from celery import shared_task

from supervision.exchange.export.jobs import export_job_files_purge, export_job_run


# 885,000 rows: .xlsx 161 s, CSV 28 s on 2 cores when idle (bench/README.md); several times that under
# load. The limits leave room for a slow, busy machine.
@shared_task(name="tasks.exports.run_export_job", acks_late=True, soft_time_limit=3300, time_limit=3600)
def run_export_job(job_id: int) -> str | None:
    """Queued on commit by `export_job_create`. Safe to run twice: the job is claimed from `queued`
    under a row lock, so a repeat finds it running or finished and does nothing."""
    job = export_job_run(job_id=job_id)
    return job.status if job is not None else None


@shared_task(name="tasks.exports.purge_export_files", acks_late=True)
def purge_export_files() -> int:
    """Delete export files past DUBAN_EXPORT_JOB_KEEP_HOURS; safe to run twice (a second run finds none)."""
    return export_job_files_purge()
