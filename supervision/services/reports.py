"""Progress reports (进展反馈): a responsible unit that has signed reports progress; the first
report starts the work (DOMAIN.md rule 6)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.choices import (
    AssignmentRole,
    ItemStatus,
    ReportKind,
)
from supervision.errors import InvalidInput, NotPermitted, TransitionNotAllowed
from supervision.models import (
    Item,
    ProgressReport,
)
from supervision.services.attachments import link_attachments
from supervision.services.guards import actor_assignment, bump, lock_item, require_text, status_conflict
from supervision.services.links import linked_follow, refuse_if_linked


@transaction.atomic
def progress_report_create(
    *,
    actor: User,
    item: Item,
    progress_text: str,
    kind: str = ReportKind.STAGE,
    results: str = "",
    problems: str = "",
    next_steps: str = "",
    progress: int | None = None,
    attachment_ids: Sequence[int] = (),
) -> ProgressReport:
    """A responsible unit that has signed reports progress; the first report starts the work."""
    item = lock_item(item, actor)
    refuse_if_linked(item, actor)
    assignment = actor_assignment(actor, item)
    if assignment is None:
        raise NotPermitted(_("只有责任单位的承办人或负责人可以反馈进展。"), code="unit_only")
    if item.status not in (ItemStatus.ASSIGNED, ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS):
        raise status_conflict(item, _("反馈进展"))
    if assignment.acknowledged_at is None:
        raise TransitionNotAllowed(_("请先签收事项，再反馈进展。"), code="not_acknowledged")
    if progress is not None and not 0 <= progress <= 100:
        raise InvalidInput(fields={"progress": [_("进度须在 0 到 100 之间。")]})
    report = ProgressReport(
        item=item,
        unit_id=assignment.unit_id,
        kind=kind,
        progress_text=require_text(progress_text, "progress_text", _("请填写工作进展。")),
        results=results or "",
        problems=problems or "",
        next_steps=next_steps or "",
        progress=progress,
        submitted_by=actor,
        submitted_at=timezone.now(),
    )
    report.full_clean()
    report.save()
    link_attachments(actor, attachment_ids, "attachment_ids", report=report)
    from_status = item.status
    item.status = ItemStatus.IN_PROGRESS
    # The lead unit speaks for the item's overall progress. The streak counts its latest reports in
    # a row with the same percent (the stale figure: a percent that does not move).
    if progress is not None and assignment.role == AssignmentRole.LEAD:
        item.progress_streak = item.progress_streak + 1 if item.progress_streak and item.progress == progress else 1
        item.progress = progress
    item.last_report_at = report.submitted_at
    bump(item)
    item.save()
    audit_record(
        actor=actor,
        action="report_filed",
        obj=report,
        item=item,
        from_status=from_status,
        to_status=item.status,
        data={"unit_id": assignment.unit_id, "kind": kind, "progress": progress},
    )
    # Items merged under this one record the report by reference (evidence shared, not copied).
    linked_follow(
        actor=actor, lead=item, action="report_filed", record=report, data={"unit_id": assignment.unit_id, "report_id": report.pk}
    )
    return report
