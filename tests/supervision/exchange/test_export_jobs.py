# ruff: noqa: F811 - `ledger` is the export tests' fixture, imported, then named as a test parameter
"""Background ledger exports (supervision/export_jobs.py, tasks/exports.py): the same file as the
immediate export, the filters checked at once, run exactly once, audited with the file's hash,
visible and downloadable only by the requester, the file deleted after its keeping time."""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import os

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from supervision.audit import audit_verify
from supervision.choices import ExportJobStatus
from supervision.exchange.export import XLSX_CONTENT_TYPE
from supervision.exchange.export.jobs import export_job_files_purge
from supervision.models import AuditEvent, ExportJob
from tasks.exports import purge_export_files, run_export_job
from tests.api_helpers import assert_error, client_for
from tests.supervision.exchange.test_export import COL, HEADER_ROW, body_of, build_ledger, export, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(world):
    """The export tests' ledger, built for each test here: a job's run writes files and audit events."""
    return build_ledger(world)


JOBS = "/api/v1/export-jobs/"


@pytest.fixture
def queued(monkeypatch):
    """Job ids passed to run_export_job.delay (nothing is published to a broker; the test runs them)."""
    ids = []
    monkeypatch.setattr(run_export_job, "delay", lambda job_id: ids.append(job_id))
    return ids


def ask(user, django_capture_on_commit_callbacks, **body) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post(JOBS, body, format="json")
    assert response.status_code == 202, response.content[:500]
    assert response["Location"].endswith(f"{JOBS}{response.json()['id']}/")
    return response.json()


def download(user, job_id) -> bytes:
    response = client_for(user).get(f"{JOBS}{job_id}/download/")
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    return b"".join(response.streaming_content)


def xlsx_rows(data: bytes) -> list[tuple]:
    ws = load_workbook(io.BytesIO(data)).active
    return [row for row in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True) if any(v is not None for v in row)]


def test_a_job_writes_what_the_immediate_export_writes(world, ledger, django_capture_on_commit_callbacks, queued):
    filters = {"status": ["in_progress", "assigned"], "ordering": ["deadline"]}
    job = ask(world.office, django_capture_on_commit_callbacks, format="xlsx", filters=filters)
    assert job["status"] == "queued" and job["download_url"] is None and queued == [job["id"]]
    # Not ready: a JSON 404, whatever the client said it accepts.
    assert_error(
        client_for(world.office).get(f"{JOBS}{job['id']}/download/", HTTP_ACCEPT=XLSX_CONTENT_TYPE),
        404,
        code="export_not_ready",
    )

    assert run_export_job(job["id"]) == ExportJobStatus.SUCCEEDED
    done = client_for(world.office).get(f"{JOBS}{job['id']}/").json()
    assert done["status"] == "succeeded" and done["download_url"].endswith(f"{JOBS}{job['id']}/download/")
    data = download(world.office, job["id"])
    assert hashlib.sha256(data).hexdigest() == done["sha256"]
    as_file = client_for(world.office).get(f"{JOBS}{job['id']}/download/", HTTP_ACCEPT=XLSX_CONTENT_TYPE)
    assert as_file.status_code == 200 and as_file["Content-Type"] == XLSX_CONTENT_TYPE
    assert b"".join(as_file.streaming_content) == data
    immediate = body_of(export(world.office, "xlsx", status=["in_progress", "assigned"], ordering="deadline"))
    assert xlsx_rows(data) == xlsx_rows(immediate)
    assert done["rows"] == len(xlsx_rows(data)) == 2 and done["omitted"] == 2  # the 秘密 and 机密 items

    csv_job = ask(world.office, django_capture_on_commit_callbacks, format="csv", filters=filters)
    run_export_job(csv_job["id"])
    text = download(world.office, csv_job["id"]).decode("utf-8-sig")
    immediate_csv = body_of(export(world.office, "csv", status=["in_progress", "assigned"], ordering="deadline"))
    assert list(csv.reader(io.StringIO(text))) == list(csv.reader(io.StringIO(immediate_csv.decode("utf-8-sig"))))


def test_classified_rows_follow_the_approval_in_force_when_the_job_runs(
    world, ledger, django_capture_on_commit_callbacks, queued
):
    job = ask(world.office, django_capture_on_commit_callbacks, filters={"status": ["in_progress"]})
    grant(world, world.office)  # granted after the request, before the run: the run decides
    run_export_job(job["id"])
    titles = xlsx_rows(download(world.office, job["id"]))
    assert ExportJob.objects.get(pk=job["id"]).omitted == 0
    assert any("秘密事项" in str(cell) for row in titles for cell in row)


def test_bad_filters_or_format_are_a_400_at_once_and_nothing_is_queued(world, ledger, queued):
    client = client_for(world.office)
    assert_error(client.post(JOBS, {"filters": {"deadline_after": ["yesterday"]}}, format="json"), 400, field="deadline")
    assert_error(client.post(JOBS, {"format": "pdf"}, format="json"), 400, field="format")
    assert_error(client.post(JOBS, {"filters": {"status": "closed"}}, format="json"), 400, field="filters.status")
    assert not ExportJob.objects.exists() and queued == []


def test_a_job_runs_once_and_is_audited_once_with_the_files_hash(world, ledger, django_capture_on_commit_callbacks, queued):
    job = ask(world.office, django_capture_on_commit_callbacks)
    assert AuditEvent.objects.filter(action="ledger_export_queued").count() == 1
    assert run_export_job(job["id"]) == ExportJobStatus.SUCCEEDED
    first = ExportJob.objects.get(pk=job["id"])
    assert run_export_job(job["id"]) == ExportJobStatus.SUCCEEDED  # a redelivered task: nothing more
    again = ExportJob.objects.get(pk=job["id"])
    assert (again.file.name, again.sha256, again.finished_at) == (first.file.name, first.sha256, first.finished_at)
    exported = AuditEvent.objects.filter(action="ledger_exported")
    assert exported.count() == 1 and exported.get().data["sha256"] == first.sha256 == again.sha256
    assert exported.get().seq == first.audit_seq
    assert audit_verify().ok


def test_only_the_requester_sees_and_downloads_the_job(world, ledger, django_capture_on_commit_callbacks, queued):
    job = ask(world.edu_handler, django_capture_on_commit_callbacks)
    run_export_job(job["id"])
    assert [j["id"] for j in client_for(world.edu_handler).get(JOBS).json()["results"]] == [job["id"]]
    for other in (world.office, world.env_handler, world.leader):
        assert client_for(other).get(JOBS).json()["results"] == []
        assert client_for(other).get(f"{JOBS}{job['id']}/").status_code == 404
        assert client_for(other).get(f"{JOBS}{job['id']}/download/").status_code == 404
    # What a unit handler's file holds is what the unit handler may see.
    codes = {row[COL["code"]] for row in xlsx_rows(download(world.edu_handler, job["id"]))}
    assert codes == {ledger.river.code}
    assert client_for(None).get(JOBS).status_code == 401


def test_a_user_deactivated_before_the_run_gets_a_failed_job_not_a_file(
    world, ledger, django_capture_on_commit_callbacks, queued
):
    job = ask(world.edu_handler, django_capture_on_commit_callbacks)
    world.edu_handler.is_active = False
    world.edu_handler.save(update_fields=["is_active"])
    assert run_export_job(job["id"]) == ExportJobStatus.FAILED
    failed = ExportJob.objects.get(pk=job["id"])
    assert failed.error and not failed.file and failed.finished_at is not None
    assert not AuditEvent.objects.filter(action="ledger_exported").exists()


def test_files_are_deleted_after_their_keeping_time(world, ledger, django_capture_on_commit_callbacks, queued, settings):
    settings.DUBAN_EXPORT_JOB_KEEP_HOURS = 24
    job = ask(world.office, django_capture_on_commit_callbacks)
    run_export_job(job["id"])
    stored = ExportJob.objects.get(pk=job["id"])
    path = stored.file.path
    assert export_job_files_purge(now=timezone.now() + datetime.timedelta(hours=23)) == 0
    assert purge_export_files() == 0  # the beat task: nothing is old enough yet
    assert export_job_files_purge(now=timezone.now() + datetime.timedelta(hours=25)) == 1
    assert export_job_files_purge(now=timezone.now() + datetime.timedelta(hours=26)) == 0  # safe to run twice
    gone = ExportJob.objects.get(pk=job["id"])
    assert gone.file_deleted_at is not None and not gone.file
    assert not os.path.exists(path)
    body = client_for(world.office).get(f"{JOBS}{job['id']}/").json()
    assert body["download_url"] is None and body["sha256"] == stored.sha256
    assert_error(client_for(world.office).get(f"{JOBS}{job['id']}/download/"), 404, code="export_file_deleted")
