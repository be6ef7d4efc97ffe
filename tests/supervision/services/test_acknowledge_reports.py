"""item_acknowledge (签收), progress_report_create (进展反馈), assignment_set_report_access."""

import pytest

from supervision import services
from supervision.choices import ItemStatus, ReportKind
from supervision.errors import InvalidInput, NotPermitted, NotVisible, StaleVersion, TransitionNotAllowed
from supervision.models import Attachment, ProgressReport
from tests.factories import JPEG, PDF, assert_one_event, audit_mark, make_item, new_events, refused, upload

pytestmark = pytest.mark.django_db


def assigned_item(world, state=ItemStatus.ASSIGNED, **kw):
    kw.setdefault("supporting_units", [world.env])
    return make_item(state, office=world.office, lead_unit=world.edu, owner=world.edu_handler, **kw)


# --- item_acknowledge ----------------------------------------------------------------------------


def test_item_is_acknowledged_only_when_every_unit_signed(world):
    item = assigned_item(world, supporting_units=[world.env, world.town])

    mark = audit_mark()
    lead = services.item_acknowledge(actor=world.edu_head, item=item, comment="已收到")
    item.refresh_from_db()
    assert item.status == ItemStatus.ASSIGNED and item.version == 3
    assert lead.acknowledged_by == world.edu_head and lead.acknowledged_at is not None
    event = assert_one_event(
        mark, action="item_acknowledged", actor=world.edu_head, item=item, from_status="assigned", to_status="assigned"
    )
    assert event.comment == "已收到" and event.data == {"unit_id": world.edu.pk, "role": "lead"}

    services.item_acknowledge(actor=world.env_handler, item=item)
    item.refresh_from_db()
    assert item.status == ItemStatus.ASSIGNED

    mark = audit_mark()
    services.item_acknowledge(actor=world.town_handler, item=item)
    item.refresh_from_db()
    assert item.status == ItemStatus.ACKNOWLEDGED
    assert_one_event(
        mark, action="item_acknowledged", actor=world.town_handler, item=item, from_status="assigned", to_status="acknowledged"
    )
    assert not item.assignments.filter(acknowledged_at__isnull=True).exists()


def test_double_sign_is_409(world):
    item = assigned_item(world)
    services.item_acknowledge(actor=world.edu_handler, item=item)
    with refused(TransitionNotAllowed, item=item, code="already_acknowledged") as info:
        services.item_acknowledge(actor=world.edu_head, item=item)  # same unit, other person
    assert info.value.status_code == 409


@pytest.mark.parametrize("who", ["office", "leader"])
def test_only_assigned_units_sign(world, who):
    item = assigned_item(world)
    with refused(NotPermitted, item=item, code="unit_only") as info:
        services.item_acknowledge(actor=getattr(world, who), item=item)
    assert info.value.status_code == 403


@pytest.mark.parametrize("who", ["town_handler", "town_sub_handler", "discipline"])
def test_uninvolved_users_cannot_even_find_the_item(world, who):
    item = assigned_item(world)
    with refused(NotVisible, item=item) as info:
        services.item_acknowledge(actor=getattr(world, who), item=item)
    assert info.value.status_code == 404


@pytest.mark.parametrize("state", [ItemStatus.DRAFT, ItemStatus.PENDING_REVIEW, ItemStatus.CLOSED, ItemStatus.SUSPENDED])
def test_sign_refused_outside_open_work_states(world, state):
    item = make_item(state, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    # A draft has not reached the unit yet: for the unit it does not exist.
    with refused(NotVisible if state == ItemStatus.DRAFT else TransitionNotAllowed, item=item):
        services.item_acknowledge(actor=world.edu_head, item=item)


def test_sign_with_stale_version(world):
    item = assigned_item(world)
    with refused(StaleVersion, item=item):
        services.item_acknowledge(actor=world.edu_handler, item=item, expected_version=1)


def test_unit_added_later_signs_without_changing_status(world):
    item = assigned_item(world, state=ItemStatus.IN_PROGRESS)
    services.item_update(actor=world.office, item=item, supporting_units=[world.env, world.town])
    mark = audit_mark()
    services.item_acknowledge(actor=world.town_handler, item=item)
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_PROGRESS
    assert_one_event(
        mark, action="item_acknowledged", actor=world.town_handler, from_status="in_progress", to_status="in_progress"
    )


# --- progress_report_create ---------------------------------------------------------------------


def test_first_report_starts_the_work(world):
    item = assigned_item(world, state=ItemStatus.ACKNOWLEDGED)
    mark = audit_mark()
    report = services.progress_report_create(
        actor=world.edu_handler,
        item=item,
        kind=ReportKind.THEMATIC,
        progress_text="完成全县学校排查",
        results="发现隐患12处",
        problems="资金不足",
        next_steps="分批整改",
        progress=40,
    )
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_PROGRESS and item.progress == 40
    assert (report.unit, report.submitted_by, report.kind) == (world.edu, world.edu_handler, ReportKind.THEMATIC)
    event = assert_one_event(
        mark, action="report_filed", actor=world.edu_handler, item=item, from_status="acknowledged", to_status="in_progress"
    )
    assert (event.object_type, event.object_id) == ("progressreport", report.pk)


def test_unit_must_have_signed_before_reporting(world):
    item = assigned_item(world)
    services.item_acknowledge(actor=world.edu_handler, item=item)  # lead signed, env has not
    with refused(TransitionNotAllowed, item=item, code="not_acknowledged"):
        services.progress_report_create(actor=world.env_handler, item=item, progress_text="配合开展检查")
    assert not ProgressReport.objects.exists()
    # The lead unit, which has signed, may report while the item is still ASSIGNED.
    services.progress_report_create(actor=world.edu_handler, item=item, progress_text="已部署")
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_PROGRESS


def test_only_lead_unit_sets_item_progress(world):
    item = assigned_item(world, state=ItemStatus.IN_PROGRESS)  # lead reported 50
    services.progress_report_create(actor=world.env_handler, item=item, progress_text="配合完成", progress=90)
    item.refresh_from_db()
    assert item.progress == 50
    services.progress_report_create(actor=world.edu_head, item=item, progress_text="大部分完成", progress=80)
    item.refresh_from_db()
    assert item.progress == 80
    assert ProgressReport.objects.filter(item=item).count() == 3


@pytest.mark.parametrize("progress", [101, -1])
def test_progress_out_of_range(world, progress):
    item = assigned_item(world, state=ItemStatus.ACKNOWLEDGED)
    with refused(InvalidInput, item=item, fields=["progress"]):
        services.progress_report_create(actor=world.edu_handler, item=item, progress_text="x", progress=progress)
    assert not ProgressReport.objects.exists()


def test_progress_text_required(world):
    item = assigned_item(world, state=ItemStatus.ACKNOWLEDGED)
    with refused(InvalidInput, item=item, fields=["progress_text"]):
        services.progress_report_create(actor=world.edu_handler, item=item, progress_text="  ")


@pytest.mark.parametrize("who", ["office", "leader", "town_handler"])
def test_non_unit_users_cannot_report(world, who):
    item = assigned_item(world, state=ItemStatus.ACKNOWLEDGED)
    expected = NotVisible if who == "town_handler" else NotPermitted
    with refused(expected, item=item):
        services.progress_report_create(actor=getattr(world, who), item=item, progress_text="代为反馈")


@pytest.mark.parametrize(
    "state", [ItemStatus.DRAFT, ItemStatus.PENDING_REVIEW, ItemStatus.CLOSED, ItemStatus.SUSPENDED, ItemStatus.CANCELLED]
)
def test_report_refused_outside_open_work_states(world, state):
    item = make_item(state, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    with refused(NotVisible if state == ItemStatus.DRAFT else TransitionNotAllowed, item=item):
        services.progress_report_create(actor=world.edu_handler, item=item, progress_text="继续推进")


def test_report_links_own_attachments(world):
    item = assigned_item(world, state=ItemStatus.ACKNOWLEDGED)
    photo, minutes = upload(world.edu_handler, JPEG, "photo.jpg"), upload(world.edu_handler, PDF, "minutes.pdf")
    report = services.progress_report_create(
        actor=world.edu_handler, item=item, progress_text="附现场照片", attachment_ids=[photo.pk, minutes.pk]
    )
    assert sorted(report.attachments.values_list("original_name", flat=True)) == ["minutes.pdf", "photo.jpg"]
    # A file is used once: it cannot be filed again under another report.
    with refused(InvalidInput, item=item, fields=["attachment_ids"]):
        services.progress_report_create(actor=world.edu_handler, item=item, progress_text="再次使用", attachment_ids=[photo.pk])
    assert Attachment.objects.get(pk=photo.pk).report == report


def test_someone_elses_attachment_refused(world):
    item = assigned_item(world, state=ItemStatus.ACKNOWLEDGED)
    foreign = upload(world.edu_head)  # same unit, different uploader
    with refused(InvalidInput, item=item, fields=["attachment_ids"]):
        services.progress_report_create(actor=world.edu_handler, item=item, progress_text="x", attachment_ids=[foreign.pk])
    assert not ProgressReport.objects.exists()
    assert not Attachment.objects.get(pk=foreign.pk).is_linked


def test_unknown_attachment_refused(world):
    item = assigned_item(world, state=ItemStatus.ACKNOWLEDGED)
    with refused(InvalidInput, item=item, fields=["attachment_ids"]):
        services.progress_report_create(actor=world.edu_handler, item=item, progress_text="x", attachment_ids=[999999])


def test_attachment_upload_refuses_empty_file(world):
    from django.core.files.base import ContentFile

    mark = audit_mark()
    with pytest.raises(InvalidInput) as info:
        services.attachment_upload(actor=world.edu_handler, uploaded_file=ContentFile(b"", name="empty.txt"))
    assert "file" in info.value.fields and new_events(mark) == []


def test_attachment_upload_records_hash(world):
    import hashlib

    mark = audit_mark()
    attachment = upload(world.edu_handler, PDF, "a.pdf")
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest() and attachment.size == len(PDF)
    event = assert_one_event(mark, action="attachment_uploaded", actor=world.edu_handler)
    assert event.data == {"name": "a.pdf", "sha256": attachment.sha256, "content_type": "pdf"}


# --- assignment_set_report_access ----------------------------------------------------------------


def test_report_access_switch_is_audited_once(world):
    item = assigned_item(world)
    mark = audit_mark()
    assignment = services.assignment_set_report_access(actor=world.office, item=item, unit=world.env, may_view_all_reports=True)
    assert assignment.may_view_all_reports
    assert_one_event(mark, action="report_access_changed", actor=world.office, item=item)
    mark = audit_mark()
    services.assignment_set_report_access(actor=world.office, item=item, unit=world.env, may_view_all_reports=True)
    assert new_events(mark) == []  # no change, nothing recorded


def test_report_access_refusals(world):
    item = assigned_item(world)
    with refused(NotPermitted, item=item):
        services.assignment_set_report_access(actor=world.edu_head, item=item, unit=world.env, may_view_all_reports=True)
    with refused(InvalidInput, item=item, fields=["unit_id"]):
        services.assignment_set_report_access(actor=world.office, item=item, unit=world.town, may_view_all_reports=True)
