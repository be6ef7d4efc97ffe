"""Background import jobs (ImportJob): created by the API or the admin, run by the worker
(tasks/imports.py), with their progress written on a connection of their own."""

from __future__ import annotations

import datetime
import hashlib

from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision import outbox
from supervision.audit import audit_record
from supervision.choices import (
    ImportJobStatus,
    ImportPhase,
)
from supervision.errors import DomainError, InvalidInput
from supervision.exchange.importer.reading import MAX_IMPORT_BYTES
from supervision.exchange.importer.results import RowError
from supervision.exchange.importer.writing import ledger_import
from supervision.exchange.jobs import job_claim, require_job_quota
from supervision.models import ImportJob
from supervision.services.guards import require_office
from supervision.stored_files import deleted_if_not_kept


def validate_upload(uploaded_file) -> bytes:
    if uploaded_file is None:
        raise InvalidInput(fields={"file": [_("请选择要导入的 Excel 文件（.xlsx）。")]})
    name = (getattr(uploaded_file, "name", "") or "").lower()
    if not name.endswith(".xlsx"):
        raise InvalidInput(fields={"file": [_("只能导入 .xlsx 格式的 Excel 文件（旧版 .xls 请先另存为 .xlsx）。")]})
    if uploaded_file.size > MAX_IMPORT_BYTES:
        raise InvalidInput(fields={"file": [_("文件过大，不能超过 %(mb)s MB。") % {"mb": MAX_IMPORT_BYTES // (1024 * 1024)}]})
    if uploaded_file.size == 0:
        raise InvalidInput(fields={"file": [_("文件为空。")]})
    uploaded_file.seek(0)
    data = uploaded_file.read()
    uploaded_file.seek(0)
    if not data.startswith(b"PK"):
        raise InvalidInput(fields={"file": [_("文件内容不是 Excel 工作簿（.xlsx）。")]})
    return data


@transaction.atomic
def import_job_create(*, actor: User, uploaded_file, dry_run: bool) -> ImportJob:
    """Store an uploaded ledger workbook and queue its import (after commit)."""
    require_office(actor, _("只有督查室工作人员可以导入台账。"))
    data = validate_upload(uploaded_file)
    require_job_quota(actor, ImportJob, quota_setting="DUBAN_IMPORT_JOB_QUOTA", label=_("导入任务"))
    name = uploaded_file.name.rsplit("/", 1)[-1][:200]
    job = ImportJob(
        original_name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest(), dry_run=bool(dry_run), created_by=actor
    )
    job.file.save(name, uploaded_file, save=False)
    with deleted_if_not_kept(job.file):
        job.save()
        audit_record(
            actor=actor, action="ledger_import_queued", obj=job, data={"file": name, "sha256": job.sha256, "dry_run": job.dry_run}
        )
    outbox.enqueue("tasks.imports.run_import_job", job.pk)
    return job


class ProgressWriter:
    """Writes a job's progress on a connection of its own, in autocommit, so it is visible while the
    import's transaction is still open. Best effort: progress must never fail or block the import,
    hence a short lock timeout (the import's own connection may hold the job row) and, on SQLite
    (one writer at a time), progress only between phases."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.connection = None
        self.usable = connection.vendor == "postgresql"

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.usable:
            return
        column = {
            ImportPhase.VALIDATING: "rows_validated",
            ImportPhase.WRITING: "rows_written",
            ImportPhase.DONE: "rows_written",
        }.get(phase)
        sets, params = ["phase = %s"], [str(phase)]
        if column:
            sets.append(f"{column} = %s")
            params.append(done)
        if phase == ImportPhase.VALIDATING:
            sets.append("rows_total = %s")
            params.append(total)
        try:
            if self.connection is None:
                self.connection = connections.create_connection("default")
                with self.connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '1s'")
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportJob._meta.db_table} SET {', '.join(sets)} WHERE id = %s AND status = %s",  # noqa: S608
                    [*params, self.job_id, ImportJobStatus.RUNNING],
                )
        except OperationalError:
            self.usable = False  # locked or unreachable: the final save still records the outcome

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run a queued job once. The claim (queued → running) is made under a row lock, so a repeated
    or concurrent task finds the job no longer queued and does nothing. For a real import the
    outcome is saved in the same transaction as the ledger rows: either both or neither, which is
    also why a job left "running" by a dead worker may be claimed again once it is stale."""
    job, claimed = job_claim(ImportJob, job_id, stale_after=STALE_RUNNING_AFTER, phase=ImportPhase.READING)
    if not claimed:
        return job
    writer = ProgressWriter(job.pk)
    try:
        with transaction.atomic():
            result = ledger_import(
                actor=job.created_by, file=job.file, dry_run=job.dry_run, progress=writer, file_name=job.original_name
            )
            job.rows_total = result.rows_total
            job.rows_validated = result.rows_total
            job.rows_written = len(result.item_ids)
            job.errors = result.error_dicts()
            job.summary = result.summary
            job.status = ImportJobStatus.SUCCEEDED if result.ok else ImportJobStatus.FAILED
            _finish(job)
    except DomainError as exc:
        messages = [str(m) for values in exc.fields.values() for m in values] or [str(exc.message)]
        job.errors = [RowError(None, "", m).as_dict() for m in messages]
        job.status = ImportJobStatus.FAILED
        _finish(job)
    except BaseException:
        # A fault (or the task's time limit): nothing was written; say so and let the worker log it.
        job.errors = [RowError(None, "", _("导入时发生内部错误，台账未作任何改动，请联系管理员。")).as_dict()]
        job.status = ImportJobStatus.FAILED
        _finish(job)
        raise
    finally:
        writer.close()
    return job


# Longer than the task's hard time limit (tasks/imports.py): a job still "running" after this lost
# its worker (killed, machine restarted) before its transaction committed, so nothing of it was
# written and the redelivered task may run it again.
STALE_RUNNING_AFTER = datetime.timedelta(seconds=1900)


def _finish(job: ImportJob) -> None:
    job.phase = ImportPhase.DONE
    job.finished_at = timezone.now()
    job.save()
