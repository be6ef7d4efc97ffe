"""A file saved to storage by a service that then fails does not outlive its rolled-back row
(supervision/stored_files.py): no orphan evidence or ledger workbook on the server."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from supervision import services
from supervision.exchange.importer import jobs as import_jobs
from supervision.models import Attachment, ImportJob
from supervision.services import attachments

pytestmark = pytest.mark.django_db


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def refuse_audit(*args, **kwargs):
    raise RuntimeError("audit chain refused the event")


def test_an_upload_whose_row_is_rolled_back_leaves_no_file(world, monkeypatch):
    services.attachment_upload(actor=world.edu_handler, uploaded_file=SimpleUploadedFile("ok.pdf", b"%PDF-1.4 kept"))
    assert len(stored_files()) == 1  # a successful upload keeps its file
    monkeypatch.setattr(attachments, "audit_record", refuse_audit)
    with pytest.raises(RuntimeError):
        services.attachment_upload(actor=world.edu_handler, uploaded_file=SimpleUploadedFile("evidence.pdf", b"%PDF-1.4 secret"))
    assert Attachment.objects.count() == 1
    assert [p.read_bytes() for p in stored_files()] == [b"%PDF-1.4 kept"]


def test_an_import_job_whose_row_is_rolled_back_leaves_no_workbook(world, monkeypatch):
    monkeypatch.setattr(import_jobs, "audit_record", refuse_audit)
    workbook = SimpleUploadedFile("台账.xlsx", b"PK\x03\x04 not really a workbook")
    with pytest.raises(RuntimeError):
        import_jobs.import_job_create(actor=world.office, uploaded_file=workbook, dry_run=True)
    assert not ImportJob.objects.exists()
    assert stored_files() == []
