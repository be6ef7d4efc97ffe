"""Excel ledger import jobs. The rules are in supervision/ledger_import.py; this only runs a job."""

from celery import shared_task

from supervision.exchange.importer import import_job_run


# A 10,000-row workbook takes well under a minute; the limits leave room for a slow machine.
@shared_task(name="tasks.imports.run_import_job", acks_late=True, soft_time_limit=1500, time_limit=1800)
def run_import_job(job_id: int) -> str | None:
    """Queued on commit by `import_job_create`. Safe to run twice: the job is claimed from `queued`
    under a row lock, so a repeat finds it running or finished and does nothing."""
    job = import_job_run(job_id=job_id)
    return job.status if job is not None else None
