"""Checks every write shares: who may act (office only, the lead unit), required text, the
version a client last saw (412), and the item re-read under its row lock through the visibility
rule, so a service never acts on an item its actor cannot see."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.choices import Classification, Role
from accounts.models import User
from supervision.choices import (
    AssignmentRole,
)
from supervision.errors import InvalidInput, NotPermitted, NotVisible, StaleVersion, TransitionNotAllowed
from supervision.models import (
    Item,
    ItemAssignment,
    UnitApprover,
)


def require_office(actor: User, message: str | None = None) -> None:
    if not actor.is_office or not actor.is_active:
        raise NotPermitted(message or _("只有督查室工作人员可以执行此操作。"), code="office_only")


def check_version(obj, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != obj.version:
        raise StaleVersion(
            _("记录已被他人修改（当前版本 %(current)s，您提交的版本 %(sent)s），请刷新后重试。")
            % {"current": obj.version, "sent": expected_version}
        )


def lock_item(item: Item, actor: User) -> Item:
    """Re-read the item under a row lock so concurrent transitions queue instead of racing.

    The service applies the same visibility rule as every read: an item the actor may not see
    does not exist for them, whoever calls the service (API, admin, task)."""
    locked = Item.objects.select_for_update().filter(pk=item.pk).first()
    if locked is None or not Item.objects.visible_to(actor).filter(pk=item.pk).exists():
        raise NotVisible()
    return locked


def bump(obj) -> None:
    obj.version += 1


def check_classification(actor: User, classification: int, field: str = "classification") -> None:
    if classification not in Classification.values:
        raise InvalidInput(fields={field: [_("密级无效。")]})
    if classification > actor.clearance:
        raise InvalidInput(fields={field: [_("不能登记高于本人密级权限的内容。")]})


def require_owner_cleared(owner: User | None, classification: int) -> None:
    """409 when the owner could not see an item of this classification: everyone who must act on
    an item can see it (an owner cleared 内部 would get 404 on her own 秘密 item)."""
    if owner is not None and owner.clearance < classification:
        raise TransitionNotAllowed(
            _("责任人“%(name)s”的密级权限为“%(clearance)s”，不能承办“%(level)s”事项，请更换责任人或调整其密级权限。")
            % {
                "name": owner.full_name or owner.username,
                "clearance": Classification(owner.clearance).label,
                "level": Classification(classification).label,
            },
            code="owner_not_cleared",
        )


def require_text(value: str | None, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(fields={field: [message]})
    return value


def actor_assignment(actor: User, item: Item) -> ItemAssignment | None:
    if not actor.is_unit_user or not actor.unit_id:
        return None
    return ItemAssignment.objects.filter(item=item, unit_id=actor.unit_id).first()


def require_lead_unit_user(actor: User, item: Item) -> ItemAssignment:
    assignment = actor_assignment(actor, item)
    if assignment is None or assignment.role != AssignmentRole.LEAD:
        raise NotPermitted(_("只有牵头单位的承办人或负责人可以执行此操作。"), code="lead_unit_only")
    return assignment


def status_conflict(item: Item, action: str) -> TransitionNotAllowed:
    return TransitionNotAllowed(
        _("事项“%(code)s”当前状态为“%(status)s”，不能%(action)s。")
        % {"code": item.code, "status": item.get_status_display(), "action": action},
        code="transition_not_allowed",
    )


# Sign-off inside a unit (rule 14). Who signs for a unit: its head (the unit's `head`, or a member
# holding Role.UNIT_HEAD) and the deputies the admin names (UnitApprover).


def unit_approvers(unit_id: int | None) -> QuerySet[User]:
    if not unit_id:
        return User.objects.none()
    return (
        User.objects.filter(
            Q(unit_id=unit_id, role_assignments__role=Role.UNIT_HEAD)
            | Q(headed_units__pk=unit_id)
            | Q(pk__in=UnitApprover.objects.filter(unit_id=unit_id).values("user_id")),
            is_active=True,
        )
        .distinct()
        .order_by("pk")
    )


def is_unit_approver(actor: User, unit_id: int | None) -> bool:
    return bool(actor.is_active and unit_id and unit_approvers(unit_id).filter(pk=actor.pk).exists())


def require_unit_approver(actor: User, unit_id: int | None) -> None:
    if not is_unit_approver(actor, unit_id):
        raise NotPermitted(_("只有本单位负责人或指定的签字人可以签字或退回。"), code="unit_approver_only")


def require_office_director(actor: User) -> None:
    if not (actor.is_active and actor.is_office_director):
        raise NotPermitted(_("只有督查室主任可以审批交办。"), code="office_director_only")
