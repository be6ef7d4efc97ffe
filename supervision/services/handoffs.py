"""Who is told at each hand-off of the office's flow, in one place (issue 12: a message at every
hand-off). The services call these after their change, inside its transaction, so a message
commits or rolls back with the change that caused it.

Exactly once: every message carries a dedup key naming the record and the step (and, where a step
can recur, the round), and the outbox's unique constraints — (recipient, dedup_key) for the
notification, (notification, channel) for each delivery — make a retried step or a task that runs
twice send nothing more. Nobody below the item's classification is told about it (rule 13), and
the person who took the step is not told of their own act. 特急 items are urgent: quiet hours do
not hold them back.

| hand-off                                   | who is told                                       |
| ------------------------------------------ | ------------------------------------------------- |
| item awaits the 督查室主任                    | the directors                                     |
| director sends an item back                | the 督查员 who asked for assignment                 |
| item assigned (交办)                         | handlers and heads of every responsible unit      |
| request awaits the unit's signature        | the unit's approvers (head, named deputies)       |
| request reaches the office                 | office staff                                      |
| request sent back by the unit / decided    | the requester and the unit's heads                |
| return visit passed or failed              | handlers and heads of every responsible unit      |
| explanation owed                           | handlers and heads of the unit that owes it       |
| explanation awaits the unit's signature    | the unit's approvers                              |
| explanation sent back by the unit          | the person who filed it                           |
| explanation reaches the office             | office staff                                      |
| explanation ruled (免责 / 问责)               | handlers and heads of the unit                    |
| referral received (移交)                     | the receiving department's users (纪检 / 组织部门)  |
| notice issued (通报)                         | heads of the units it names                       |
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import User
from supervision import outbox
from supervision.choices import ReferralDepartment, Urgency
from supervision.models import Item, ItemRequest, Notice, OverdueExplanation, Referral, ReturnVisit
from supervision.reminders import Recipients, recipients_for
from supervision.services.guards import unit_approvers

KIND = "handoff"

DEPARTMENT_ROLES = {ReferralDepartment.DISCIPLINE: Role.DISCIPLINE, ReferralDepartment.ORGANIZATION: Role.ORGANIZATION}


def _urgent(item: Item | None) -> bool:
    return item is not None and item.urgency == Urgency.EXTRA_URGENT


def _cleared(users: Iterable[User] | QuerySet[User], classification: int, *, exclude: User | None = None) -> list[User]:
    people = [u for u in users if u.is_active and u.clearance >= classification]
    return [u for u in people if exclude is None or u.pk != exclude.pk]


def _send(*, recipients, item: Item | None, title: str, body: str, key: str) -> list:
    if not recipients:
        return []
    return outbox.notify(
        recipients=recipients, title=title, body=body, kind=KIND, dedup_key=f"handoff:{key}", item=item, urgent=_urgent(item)
    )


def _stamp(moment) -> str:
    """A round of a step that can recur (filed, sent back, filed again)."""
    return str(int(moment.timestamp() * 1_000_000)) if moment else "0"


def _unit_people(item: Item, unit_ids: Iterable[int], *, exclude: User | None = None) -> list[User]:
    units = tuple(u for u in unit_ids if u)
    if not units:
        return []
    people = recipients_for(item, Recipients(unit_handlers=True, unit_head=True, units=units))
    return _cleared(people, item.classification, exclude=exclude)


def _unit_heads(item: Item, unit_id: int | None) -> list[User]:
    if not unit_id:
        return []
    return recipients_for(item, Recipients(unit_head=True, units=(unit_id,)))


def _office(classification: int, *, exclude: User | None = None) -> list[User]:
    staff = User.objects.filter(role_assignments__role=Role.OFFICE_STAFF, is_active=True).distinct().order_by("pk")
    return _cleared(staff, classification, exclude=exclude)


def _item_line(item: Item) -> str:
    deadline = item.deadline.isoformat() if item.deadline else _("无")
    return _("事项编号：%(code)s；办理时限：%(deadline)s。") % {"code": item.code, "deadline": deadline}


# --- the office's own level --------------------------------------------------------------------


def item_awaiting_approval(*, item: Item, actor: User) -> list:
    directors = User.objects.filter(role_assignments__role=Role.OFFICE_DIRECTOR, is_active=True).distinct().order_by("pk")
    return _send(
        recipients=_cleared(directors, item.classification, exclude=actor),
        item=item,
        title=_("督办事项“%(title)s”待您审批交办") % {"title": item.title},
        body=_("%(who)s 提请交办。") % {"who": actor} + _item_line(item),
        key=f"item-{item.pk}:awaiting-approval:{item.version}",
    )


def item_approval_returned(*, item: Item, actor: User, submitter: User | None, reason: str) -> list:
    return _send(
        recipients=_cleared([submitter] if submitter else [], item.classification, exclude=actor),
        item=item,
        title=_("督办事项“%(title)s”未获批准交办，已退回") % {"title": item.title},
        body=_("退回理由：%(reason)s") % {"reason": reason},
        key=f"item-{item.pk}:approval-returned:{item.version}",
    )


# --- assignment and return visits --------------------------------------------------------------


def item_assigned(*, item: Item, actor: User | None = None) -> list:
    unit_ids = item.assignments.values_list("unit_id", flat=True)
    return _send(
        recipients=_unit_people(item, unit_ids, exclude=actor),
        item=item,
        title=_("新交办督办事项：%(title)s，请及时签收") % {"title": item.title},
        body=_item_line(item),
        key=f"item-{item.pk}:assigned",
    )


def return_visit_recorded(*, visit: ReturnVisit, actor: User | None = None) -> list:
    item = visit.item
    passed = visit.result == "passed"
    title = (_("督办事项“%(title)s”回访复核通过") if passed else _("督办事项“%(title)s”回访复核未通过，已重新办理")) % {
        "title": item.title
    }
    return _send(
        recipients=_unit_people(item, item.assignments.values_list("unit_id", flat=True), exclude=actor),
        item=item,
        title=title,
        body=_("复核情况：%(findings)s") % {"findings": visit.findings},
        key=f"return-visit-{visit.pk}",
    )


# --- a unit's requests -------------------------------------------------------------------------


def request_awaiting_endorsement(*, request: ItemRequest) -> list:
    item = request.item
    return _send(
        recipients=_cleared(unit_approvers(request.unit_id), item.classification, exclude=request.requested_by),
        item=item,
        title=_("%(kind)s待您签字：%(title)s") % {"kind": request.get_kind_display(), "title": item.title},
        body=_("申请人：%(who)s；理由：%(reason)s") % {"who": request.requested_by, "reason": request.reason},
        key=f"request-{request.pk}:awaiting-endorsement",
    )


def request_awaiting_office(*, request: ItemRequest) -> list:
    item = request.item
    return _send(
        recipients=_office(item.classification),
        item=item,
        title=_("%(kind)s待督查室审批：%(title)s") % {"kind": request.get_kind_display(), "title": item.title},
        body=_("申请人：%(who)s；单位签字：%(signer)s。") % {"who": request.requested_by, "signer": request.endorsed_by or "—"}
        + _item_line(item),
        key=f"request-{request.pk}:awaiting-office",
    )


def _requester_and_heads(request: ItemRequest, actor: User | None) -> list[User]:
    item = request.item
    people = [request.requested_by, *_unit_heads(item, request.unit_id or item.lead_unit_id)]
    return _cleared(list({u.pk: u for u in people}.values()), item.classification, exclude=actor)


def request_returned_by_unit(*, request: ItemRequest, actor: User) -> list:
    item = request.item
    return _send(
        recipients=_requester_and_heads(request, actor),
        item=item,
        title=_("%(kind)s被单位负责人退回：%(title)s") % {"kind": request.get_kind_display(), "title": item.title},
        body=_("退回理由：%(reason)s") % {"reason": request.endorsement_comment},
        key=f"request-{request.pk}:returned",
    )


def request_decided(*, request: ItemRequest, actor: User) -> list:
    item = request.item
    outcome = request.get_status_display()
    return _send(
        recipients=_requester_and_heads(request, actor),
        item=item,
        title=_("%(kind)s%(outcome)s：%(title)s") % {"kind": request.get_kind_display(), "outcome": outcome, "title": item.title},
        body=_("督查室意见：%(comment)s") % {"comment": request.decision_comment or "—"},
        key=f"request-{request.pk}:decided",
    )


# --- overdue explanations ----------------------------------------------------------------------


def explanation_owed(*, explanation: OverdueExplanation) -> list:
    item = explanation.item
    return outbox.notify(
        recipients=_unit_people(item, [explanation.unit_id]),
        title=_("督办事项“%(title)s”已超期，请于 %(due)s 前提交超期说明") % {"title": item.title, "due": explanation.due_by},
        body=_("事项编号：%(code)s；原办理时限：%(deadline)s。请说明客观或主观原因。")
        % {"code": item.code, "deadline": explanation.deadline},
        kind="explanation",
        # The key this message had before hand-offs were gathered here: it must not go out twice.
        dedup_key=f"explanation:{explanation.pk}",
        item=item,
        urgent=_urgent(item),
    )


def explanation_awaiting_endorsement(*, explanation: OverdueExplanation) -> list:
    item = explanation.item
    return _send(
        recipients=_cleared(unit_approvers(explanation.unit_id), item.classification, exclude=explanation.submitted_by),
        item=item,
        title=_("超期说明待您签字：%(title)s") % {"title": item.title},
        body=_("说明人：%(who)s；%(reason)s：%(text)s")
        % {"who": explanation.submitted_by, "reason": explanation.get_reason_kind_display(), "text": explanation.text},
        key=f"explanation-{explanation.pk}:awaiting-endorsement:{_stamp(explanation.submitted_at)}",
    )


def explanation_returned_by_unit(*, explanation: OverdueExplanation, actor: User) -> list:
    item = explanation.item
    return _send(
        recipients=_cleared([explanation.submitted_by] if explanation.submitted_by else [], item.classification, exclude=actor),
        item=item,
        title=_("超期说明被单位负责人退回，请修改后重新提交：%(title)s") % {"title": item.title},
        body=_("退回理由：%(reason)s") % {"reason": explanation.endorsement_comment},
        key=f"explanation-{explanation.pk}:returned:{_stamp(explanation.submitted_at)}",
    )


def explanation_awaiting_office(*, explanation: OverdueExplanation) -> list:
    item = explanation.item
    return _send(
        recipients=_office(item.classification),
        item=item,
        title=_("超期说明待督查室认定：%(title)s（%(unit)s）") % {"title": item.title, "unit": explanation.unit},
        body=_item_line(item),
        key=f"explanation-{explanation.pk}:awaiting-office",
    )


def explanation_ruled(*, explanation: OverdueExplanation, actor: User) -> list:
    item = explanation.item
    return _send(
        recipients=_unit_people(item, [explanation.unit_id], exclude=actor),
        item=item,
        title=_("超期说明已认定为“%(ruling)s”：%(title)s") % {"ruling": explanation.get_ruling_display(), "title": item.title},
        body=_("认定意见：%(comment)s") % {"comment": explanation.ruling_comment or "—"},
        key=f"explanation-{explanation.pk}:ruled",
    )


# --- referrals and notices ---------------------------------------------------------------------


def referral_received(*, referral: Referral, actor: User | None = None) -> list:
    item = referral.item
    role = DEPARTMENT_ROLES[ReferralDepartment(referral.department)]
    receivers = User.objects.filter(role_assignments__role=role, is_active=True).distinct().order_by("pk")
    return _send(
        recipients=_cleared(receivers, item.classification, exclude=actor),
        item=item,
        title=_("督查室移交督办事项：%(title)s") % {"title": item.title},
        body=_("移交理由：%(reason)s。") % {"reason": referral.reason} + _item_line(item),
        key=f"referral-{referral.pk}",
    )


def notice_issued(*, notice: Notice, actor: User | None = None) -> list:
    """通报所在单位负责人 (rule 9): the heads of the units the notice names, each cleared for the
    notice and every item it names about their unit."""
    recipients: dict[int, User] = {}
    for entry in notice.entries.select_related("item"):
        level = max(notice.classification, entry.item.classification)
        heads = User.objects.filter(
            Q(unit_id=entry.unit_id, role_assignments__role=Role.UNIT_HEAD) | Q(headed_units__pk=entry.unit_id)
        ).distinct()
        for head in _cleared(heads, level, exclude=actor):
            recipients[head.pk] = head
    when = timezone.localdate(notice.issued_at) if notice.issued_at else timezone.localdate()
    return _send(
        recipients=sorted(recipients.values(), key=lambda u: u.pk),
        item=None,
        title=_("%(kind)s：%(title)s（%(number)s）")
        % {"kind": notice.get_kind_display(), "title": notice.title, "number": notice.number},
        body=_("督查室于 %(date)s 印发，涉及贵单位，请登录督办系统查看。") % {"date": when},
        key=f"notice-{notice.pk}:issued",
    )
