"""Checks every write shares: who may act (office only, the lead unit), required text, the
version a client last saw (412), and the item re-read under its row lock through the visibility
rule, so a service never acts on an item its actor cannot see."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.choices import Classification
from accounts.models import User
from supervision.choices import (
    AssignmentRole,
)
from supervision.errors import InvalidInput, NotPermitted, NotVisible, StaleVersion, TransitionNotAllowed
from supervision.models import (
    Item,
    ItemAssignment,
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
