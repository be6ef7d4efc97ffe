"""Which buttons the item page shows this user now. The services stay the authority — a button
shown by mistake still ends in their 403/409 with a Chinese message — but a page must not offer
what the user may not do, so these mirror the services' checks on what the page has loaded
(no queries of their own)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from supervision.choices import (
    OPEN_REQUEST_STATUSES,
    OPEN_STATUSES,
    AssignmentRole,
    ExplanationStatus,
    ItemStatus,
    ReferralDepartment,
    RequestStatus,
)
from supervision.querysets import REFERRAL_VIEWER_ROLES

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
    "endorse": _("单位签字"),
    "explain": _("提交超期说明"),
    "rule": _("认定"),
    "referral_acknowledge": _("受理"),
    "referral_outcome": _("登记处理结果"),
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
    # The units whose requests and explanations on this item the user may sign (rule 14).
    signs_for: set[int] = field(default_factory=set)
    # 合并督办 links in force that the user sees: the one putting this item under a lead item, and
    # those putting other items under this one.
    links: list = field(default_factory=list)

    @classmethod
    def build(cls, *, user, item, assignments, requests, explanations, referrals, signs_for=(), links=()) -> ItemContext:
        mine = None
        if user.is_unit_user and user.unit_id:
            mine = next((a for a in assignments if a.unit_id == user.unit_id), None)
        # A request still waiting for the unit's signature is open too: the service refuses a second one.
        pending = {r.kind for r in requests if r.status in OPEN_REQUEST_STATUSES}
        return cls(item, assignments, requests, explanations, referrals, mine, pending, set(signs_for), list(links))

    @property
    def lead_link(self):
        """The link putting this item under a lead item (the unit acts there), or None."""
        return next((link for link in self.links if link.item_id == self.item.pk), None)

    @property
    def linked_here(self) -> list:
        return [link for link in self.links if link.lead_id == self.item.pk]


def awaiting_signature_units(requests, explanations) -> set[int]:
    """The units with a request or explanation on the page that waits for their approver."""
    waiting = [r.unit_id for r in requests if r.status == RequestStatus.AWAITING_ENDORSEMENT]
    waiting += [e.unit_id for e in explanations if e.status == ExplanationStatus.AWAITING_ENDORSEMENT]
    return {unit_id for unit_id in waiting if unit_id}


def item_actions(user, ctx: ItemContext) -> list[str]:
    """Item-level actions the user may take now, in the order the page shows them."""
    item, mine, office = ctx.item, ctx.my_assignment, user.is_office
    if ctx.lead_link is not None and not office:
        # 合并督办: the unit signs, reports and requests on the lead item (the service refuses here).
        mine = None
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


def may_unlink(user) -> bool:
    """The office ends a 合并督办 link (audited on both items)."""
    return user.is_active and user.is_office


def may_decide(user, request) -> bool:
    return user.is_office and request.status == RequestStatus.PENDING


def may_endorse(ctx: ItemContext, record) -> bool:
    """The unit's approver signs (or sends back) its request or explanation (rule 14)."""
    waiting = record.status in (RequestStatus.AWAITING_ENDORSEMENT, ExplanationStatus.AWAITING_ENDORSEMENT)
    return waiting and record.unit_id in ctx.signs_for


def may_comment(user) -> bool:
    """Leaders and the office comment on (批示、点评) an item they see."""
    return user.is_active and (user.has_role(Role.LEADER) or user.is_office)


def _receives(user, referral) -> bool:
    return any(user.has_role(role) for role, dept in REFERRAL_VIEWER_ROLES.items() if dept == referral.department)


def may_acknowledge_referral(user, referral) -> bool:
    return _receives(user, referral) and referral.acknowledged_at is None


def may_record_referral_outcome(user, referral) -> bool:
    return _receives(user, referral) and referral.acknowledged_at is not None and not referral.outcome


def may_explain(user, explanation) -> bool:
    return user.is_unit_user and user.unit_id == explanation.unit_id and explanation.status == ExplanationStatus.AWAITING


def may_rule(user, explanation) -> bool:
    # Ruled already, or still waiting for the unit head's signature (the service refuses it: 409).
    if not user.is_office or explanation.status in (ExplanationStatus.RULED, ExplanationStatus.AWAITING_ENDORSEMENT):
        return False
    return explanation.status == ExplanationStatus.SUBMITTED or timezone.localdate() > explanation.due_by
