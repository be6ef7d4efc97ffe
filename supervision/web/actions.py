"""Which buttons the item page shows this user now. The services stay the authority — a button
shown by mistake still ends in their 403/409 with a Chinese message — but a page must not offer
what the user may not do, so these mirror the services' checks on what the page has loaded
(no queries of their own)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from supervision.choices import (
    OPEN_STATUSES,
    AssignmentRole,
    ExplanationStatus,
    ItemStatus,
    ReferralDepartment,
    RequestStatus,
)

WORKING = (ItemStatus.ASSIGNED, ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS)

# action key -> button label (item-level actions; request and explanation actions carry their id)
LABELS = {
    "assign": _("交办"),
    "acknowledge": _("签收"),
    "report": _("反馈进展"),
    "extension": _("申请延期"),
    "completion": _("申请办结"),
    "suspension": _("申请暂停"),
    "cancellation": _("申请撤销"),
    "resume": _("恢复办理"),
    "return_visit": _("回访复核"),
    "referral": _("移交"),
    "decide": _("审批"),
    "explain": _("提交超期说明"),
    "rule": _("认定"),
}


@dataclass
class ItemContext:
    """What the page loaded about the item, shared by the page and the action forms."""

    item: object
    assignments: list
    requests: list
    explanations: list
    referrals: list
    my_assignment: object | None = None
    pending_kinds: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, *, user, item, assignments, requests, explanations, referrals) -> ItemContext:
        mine = None
        if user.is_unit_user and user.unit_id:
            mine = next((a for a in assignments if a.unit_id == user.unit_id), None)
        pending = {r.kind for r in requests if r.status == RequestStatus.PENDING}
        return cls(item, assignments, requests, explanations, referrals, mine, pending)


def item_actions(user, ctx: ItemContext) -> list[str]:
    """Item-level actions the user may take now, in the order the page shows them."""
    item, mine, office = ctx.item, ctx.my_assignment, user.is_office
    lead = mine is not None and mine.role == AssignmentRole.LEAD
    signed = mine is not None and mine.acknowledged_at is not None
    actions = []
    if office and item.status == ItemStatus.DRAFT:
        actions.append("assign")
    if mine is not None and not signed and item.status in WORKING:
        actions.append("acknowledge")
    if signed and item.status in WORKING:
        actions.append("report")
    if lead and signed and item.status in WORKING and item.deadline and "extension" not in ctx.pending_kinds:
        actions.append("extension")
    if (
        lead
        and signed
        and item.status in (ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS)
        and "completion" not in ctx.pending_kinds
    ):
        actions.append("completion")
    if (lead or office) and item.status in OPEN_STATUSES and "suspension" not in ctx.pending_kinds:
        actions.append("suspension")
    if (lead or office) and item.status in (*OPEN_STATUSES, ItemStatus.SUSPENDED) and "cancellation" not in ctx.pending_kinds:
        actions.append("cancellation")
    if office and item.status == ItemStatus.SUSPENDED:
        actions.append("resume")
    if office and item.status == ItemStatus.CLOSED:
        actions.append("return_visit")
    if office and item.status != ItemStatus.DRAFT and referral_departments(ctx):
        actions.append("referral")
    return actions


def referral_departments(ctx: ItemContext) -> list[tuple[str, str]]:
    done = {r.department for r in ctx.referrals}
    return [(value, label) for value, label in ReferralDepartment.choices if value not in done]


def may_decide(user, request) -> bool:
    return user.is_office and request.status == RequestStatus.PENDING


def may_explain(user, explanation) -> bool:
    return user.is_unit_user and user.unit_id == explanation.unit_id and explanation.status == ExplanationStatus.AWAITING


def may_rule(user, explanation) -> bool:
    if not user.is_office or explanation.status == ExplanationStatus.RULED:
        return False
    return explanation.status == ExplanationStatus.SUBMITTED or timezone.localdate() > explanation.due_by
