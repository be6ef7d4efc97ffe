"""The item's history in Chinese words: each audit event's action as a phrase a person reads
(who, when, what, comment). The page's own phrases first; any other action (the unit's
signatures, leader comments, the departments' handling of a referral …) reads as the audit
trail's label (choices.ACTION_LABELS); an action in neither shows its code, never an error."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from supervision.choices import ACTION_LABELS as AUDIT_ACTION_LABELS
from supervision.choices import ITEM_STATUS_LABELS

ACTION_LABELS = {
    "item_created": _("立项"),
    "item_imported": _("导入立项"),
    "item_updated": _("修改事项"),
    "item_assigned": _("交办"),
    "item_acknowledged": _("签收"),
    "report_filed": _("反馈进展"),
    "report_access_changed": _("调整配合单位查看反馈权限"),
    "extension_requested": _("申请延期"),
    "extension_approved": _("批准延期"),
    "extension_rejected": _("退回延期申请"),
    "extension_withdrawn": _("撤回延期申请"),
    "completion_requested": _("申请办结"),
    "completion_approved": _("审核通过，销号"),
    "completion_rejected": _("退回办结申请"),
    "completion_withdrawn": _("撤回办结申请"),
    "suspension_requested": _("申请暂停"),
    "suspension_approved": _("批准暂停"),
    "suspension_rejected": _("退回暂停申请"),
    "suspension_withdrawn": _("撤回暂停申请"),
    "cancellation_requested": _("申请撤销"),
    "cancellation_approved": _("批准撤销"),
    "cancellation_rejected": _("退回撤销申请"),
    "cancellation_withdrawn": _("撤回撤销申请"),
    "item_resumed": _("恢复办理"),
    "return_visit_passed": _("回访复核通过"),
    "return_visit_failed": _("回访复核未通过，重新办理"),
    "item_referred": _("移交"),
    "item_listed_for_supervision": _("挂牌督办"),
    "overdue_explanation_opened": _("超期，要求作出说明"),
    "overdue_explanation_submitted": _("提交超期说明"),
    "overdue_explanation_exemption": _("认定免责"),
    "overdue_explanation_accountability": _("认定问责"),
    "ledger_exported": _("导出台账"),
}


def timeline(events) -> list[dict]:
    """One row per event, oldest first, as the chain records them. `events` come from
    selectors.audit_history, which already leaves out events about records the viewer may not read
    (another unit's explanation, ruling, request …; DOMAIN.md rule 13), so every comment shown is
    readable."""
    rows = []
    for event in events:
        rows.append(
            {
                "seq": event.seq,
                "when": event.occurred_at,
                "who": (event.actor_name or str(event.actor)) if event.actor_id else _("系统"),
                "what": ACTION_LABELS.get(event.action) or AUDIT_ACTION_LABELS.get(event.action, event.action),
                "action": event.action,
                "from_status": ITEM_STATUS_LABELS.get(event.from_status, ""),
                "to_status": ITEM_STATUS_LABELS.get(event.to_status, ""),
                "comment": event.comment,
            }
        )
    return rows
