"""Export approvals (涉密事项导出审批, DOMAIN.md rule 13): granted and revoked by the office, both
audited; an approval is never edited (a change is a revocation and a new grant).

Who may grant: supervision office staff (or administrators) cleared at least to the level they
approve, never for themselves (four eyes). The level is 秘密 or 机密 and not above the grantee's
clearance. Who may revoke: the same people (office staff cleared to the approval's level).

Setting (read at call time): DUBAN_EXPORT_APPROVAL_MAX_DAYS (default 366), the longest period
one approval may run; a longer need is a new approval, with a new reason."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Classification
from accounts.models import User
from supervision.audit import audit_record
from supervision.choices import (
    APPROVABLE_CLASSIFICATIONS,
)
from supervision.errors import InvalidInput, NotPermitted, TransitionNotAllowed
from supervision.exchange.export.policy import forget_export_rights
from supervision.models import (
    ExportApproval,
)
from supervision.services.guards import require_office, require_text


def export_approval_max_days() -> int:
    return int(getattr(settings, "DUBAN_EXPORT_APPROVAL_MAX_DAYS", 366))


def _label(classification: int) -> str:
    return str(Classification(classification).label)


def _require_cleared(actor: User, classification: int) -> None:
    if actor.clearance < classification:
        raise NotPermitted(
            _("批准或撤销%(level)s事项的导出，须由密级权限不低于%(level)s的督查室工作人员办理。")
            % {"level": _label(classification)},
            code="clearance_too_low",
        )


@transaction.atomic
def export_approval_grant(
    *,
    actor: User,
    grantee: User,
    classification: int,
    reason: str,
    valid_until: datetime.date,
    valid_from: datetime.date | None = None,
) -> ExportApproval:
    """Record that `grantee` may export item details up to `classification` from `valid_from`
    (today) to `valid_until` inclusive."""
    require_office(actor)
    if grantee.pk == actor.pk:
        raise NotPermitted(_("不能批准本人的涉密导出，须由其他督查室工作人员审批。"), code="self_approval")
    errors: dict[str, list[str]] = {}
    if classification not in [c.value for c in APPROVABLE_CLASSIFICATIONS]:
        errors["classification"] = [_("只有秘密、机密事项的导出需要审批，请选择秘密或机密。")]
    elif classification > grantee.clearance:
        errors["classification"] = [_("不能高于被批准人的密级权限（%(clearance)s）。") % {"clearance": _label(grantee.clearance)}]
    if not grantee.is_active:
        errors["grantee"] = [_("该用户已停用。")]
    today = timezone.localdate()
    valid_from = valid_from or today
    if valid_until < valid_from:
        errors["valid_until"] = [_("截止日期不能早于生效日期。")]
    elif valid_until < today:
        errors["valid_until"] = [_("截止日期不能早于今天。")]
    elif (valid_until - valid_from).days + 1 > export_approval_max_days():
        errors["valid_until"] = [_("一次审批的有效期不能超过 %(days)s 天。") % {"days": export_approval_max_days()}]
    try:
        reason = require_text(reason, "reason", _("请填写批准事由。"))
    except InvalidInput as exc:
        errors.update(exc.fields)
    if errors:
        raise InvalidInput(fields=errors)
    _require_cleared(actor, classification)

    approval = ExportApproval(
        grantee=grantee,
        classification=classification,
        reason=reason,
        approved_by=actor,
        approved_at=timezone.now(),
        valid_from=valid_from,
        valid_until=valid_until,
    )
    approval.full_clean()
    approval.save()
    audit_record(
        actor=actor,
        action="export_approval_granted",
        obj=approval,
        comment=reason,
        data={
            "grantee": grantee.pk,
            "grantee_name": str(grantee),
            "classification": classification,
            "valid_from": valid_from,
            "valid_until": valid_until,
        },
    )
    forget_export_rights(grantee)
    return approval


@transaction.atomic
def export_approval_revoke(*, actor: User, approval: ExportApproval, reason: str = "") -> ExportApproval:
    """End an approval now. Revoking twice is a conflict (409), not a second record."""
    require_office(actor)
    locked = ExportApproval.objects.select_for_update().select_related("grantee").get(pk=approval.pk)
    _require_cleared(actor, locked.classification)
    if locked.revoked_at is not None:
        when = timezone.localtime(locked.revoked_at).strftime("%Y-%m-%d %H:%M")
        raise TransitionNotAllowed(_("该审批已于 %(when)s 撤销。") % {"when": when}, code="already_revoked")
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor
    locked.revoke_reason = (reason or "").strip()
    locked.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit_record(
        actor=actor,
        action="export_approval_revoked",
        obj=locked,
        comment=locked.revoke_reason,
        data={"grantee": locked.grantee_id, "classification": locked.classification},
    )
    forget_export_rights(locked.grantee)
    if ExportApproval.grantee.is_cached(approval):
        forget_export_rights(approval.grantee)
    return locked
