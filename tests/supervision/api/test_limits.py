"""Limits (issue 11 finding 11): per-user quotas on expensive jobs answer 429 in the error shape
with Retry-After; a ruling on an explanation the user may not see is a 404, not a 403."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.choices import Classification
from supervision import services
from supervision.choices import ItemStatus
from supervision.models import ExportJob, ImportJob, Item, OverdueExplanation
from tasks.exports import run_export_job
from tasks.imports import run_import_job
from tests.api_helpers import assert_error, client_for
from tests.factories import make_item

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def nothing_queued(monkeypatch):
    monkeypatch.setattr(run_export_job, "delay", lambda job_id: None)
    monkeypatch.setattr(run_import_job, "delay", lambda job_id: None)


def test_export_jobs_beyond_the_quota_are_429_with_retry_after(world, settings, django_capture_on_commit_callbacks):
    settings.DUBAN_EXPORT_JOB_QUOTA = 3
    settings.DUBAN_JOB_QUOTA_WINDOW_SECONDS = 600
    client = client_for(world.edu_handler)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert client.post("/api/v1/export-jobs/", {"format": "csv"}, format="json").status_code == 202
        refused = client.post("/api/v1/export-jobs/", {"format": "csv"}, format="json")
    assert_error(refused, 429, code="quota_exceeded")
    assert 0 < int(refused["Retry-After"]) <= 600
    assert ExportJob.objects.filter(created_by=world.edu_handler).count() == 3
    # Someone else's quota is their own; and the window passes.
    assert client_for(world.env_handler).post("/api/v1/export-jobs/", {"format": "csv"}, format="json").status_code == 202
    ExportJob.objects.filter(created_by=world.edu_handler).update(created_at=timezone.now() - datetime.timedelta(seconds=601))
    assert client.post("/api/v1/export-jobs/", {"format": "csv"}, format="json").status_code == 202


def test_import_jobs_beyond_the_quota_are_429(world, settings):
    settings.DUBAN_IMPORT_JOB_QUOTA = 1
    client = client_for(world.office)

    def upload():
        return SimpleUploadedFile("台账.xlsx", b"PK\x03\x04 not really", content_type="application/octet-stream")

    assert client.post("/api/v1/imports/", {"file": upload()}, format="multipart").status_code == 202
    refused = client.post("/api/v1/imports/", {"file": upload()}, format="multipart")
    assert_error(refused, 429, code="quota_exceeded")
    assert int(refused["Retry-After"]) > 0
    assert ImportJob.objects.count() == 1


def test_ruling_an_explanation_one_may_not_see_is_404(world):
    item = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_head,
        supporting_units=[world.env],
    )
    past = timezone.localdate() - datetime.timedelta(days=5)
    # Overdue, and raised to 秘密 (above office_low's 内部).
    Item.objects.filter(pk=item.pk).update(deadline=past, original_deadline=past, classification=Classification.SECRET)
    services.overdue_explanations_open(item=Item.objects.get(pk=item.pk))
    edu_row = OverdueExplanation.objects.get(item=item, unit=world.edu)
    body = {"ruling": "accountability", "comment": "问责"}
    # Existing but not visible (above clearance; another unit's): the same 404 as an absent id.
    for user in (world.office_low, world.env_head):
        assert_error(
            client_for(user).post(f"/api/v1/explanations/{edu_row.pk}/rule/", body, format="json"), 404, code="not_found"
        )
    assert_error(client_for(world.office_low).post("/api/v1/explanations/999999/rule/", body, format="json"), 404)
    # Visible but not theirs to rule: 403.
    low_item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    Item.objects.filter(pk=low_item.pk).update(deadline=past, original_deadline=past)
    services.overdue_explanations_open(item=Item.objects.get(pk=low_item.pk))
    own = OverdueExplanation.objects.get(item=low_item, unit=world.edu)
    assert_error(client_for(world.edu_handler).post(f"/api/v1/explanations/{own.pk}/rule/", body, format="json"), 403)
